"""Inside the guests: feature and application scripts run as root in containers (SSH to the node,
`pct push` / `pct exec`) and VMs (QEMU guest agent over the PVE API), and containers' host-side settings
(raw `lxc.*` lines, id maps, bind-mount folders) in their node's config file. The only code that knows
SSH (asyncssh) or the guest agent's calls. Off unless `PHOENIX_PROVISIONING` is set.

`from_settings` is what the controller registers: it imports the driver (and asyncssh) only when
provisioning is on, so a plan without it does not pay for them at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gitops.drivers.guests.driver import GuestsDriver
    from gitops.settings import Settings


def from_settings(settings: Settings) -> GuestsDriver | None:
    """The driver, when provisioning is on (`PHOENIX_PROVISIONING`); None otherwise."""
    if not settings.provisioning:
        return None
    from gitops.drivers.guests.driver import GuestsDriver

    return GuestsDriver(settings)
