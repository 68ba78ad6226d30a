"""The Portainer driver (httpx): the only code that talks to Portainer's API (basePath `/api`).

`connection` (one authenticated client, errors translated at `errors`, retries in `retrying`),
`environments` and `stacks` (the routes), `compose` (the stack file as deployed), `reading` (live
state for the planner), `applying` (one planned call), `driver` (`PortainerDriver` behind the seam),
`probing` (reach Portainer and check its credentials, for `phoenix-gitops check`).

`from_settings` is what the controller registers: it imports the driver (and httpx, PyYAML) only when
Portainer is configured, so a plan without Portainer does not pay for them at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gitops.drivers.portainer.driver import PortainerDriver
    from gitops.settings import Settings


def from_settings(settings: Settings) -> PortainerDriver | None:
    """The driver for `PHOENIX_PORTAINER_*`, or None when no Portainer URL is set (stacks then wait)."""
    if not settings.portainer_url:
        return None
    from gitops.drivers.portainer.driver import connected

    return connected(settings)
