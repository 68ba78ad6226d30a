"""A guest's power state asked of the guest before a start, a stop or a destroy is sent.

Used by `driver.ProxmoxDriver`. Plans read a guest's status from `GET cluster/resources`, and PVE fills
that from the statistics pvestatd broadcasts every 10 seconds (`PVE::API2Tools::extract_vm_stats`): a guest
started, stopped or created since may show its old status, or `unknown`, and a guest the config no longer
has (an orphan) is never read in more detail. PVE refuses to destroy a running guest ("unable to destroy
CT 101 - container is running", "VM 101 is running - destroy failed") and to start a running one or stop a
stopped one. So before each such call the driver asks `GET .../status/current`, which PVE answers from the
guest itself (`vmstatus`), and:

- a start of a guest already running, or a stop (or shutdown) of one already stopped, is not sent: the
  guest is as the plan wants it;
- a destroy of a guest found running stops it first (and waits for the stop task): the plan destroys it
  either way, and a running guest cannot be destroyed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from gitops.drivers.proxmox import reading
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.planner.plan import ApiCall

_GUEST = r"nodes/[^/]+/(?:lxc|qemu)/\d+"
_DESTROY = re.compile(rf"^{_GUEST}$")
_POWER = re.compile(rf"^(?P<guest>{_GUEST})/status/(?P<verb>start|stop|shutdown)$")


def status_now(client: ProxmoxClient, guest: str) -> str:
    """The guest's status as the guest says it (`running`, `stopped`, ...)."""
    return str((reading.get(client, f"{guest}/status/current") or {}).get("status") or "")


def before(client: ProxmoxClient, call: ApiCall, stop: Callable[[str], None]) -> bool:
    """Whether `call` is still to be sent; a destroy of a running guest first calls `stop(guest path)`."""
    if call.method == "DELETE" and _DESTROY.match(call.path.strip("/")):
        guest = call.path.strip("/")
        if status_now(client, guest) == "running":
            stop(guest)
        return True
    found = _POWER.match(call.path.strip("/")) if call.method == "POST" else None
    if found is None:
        return True
    running = status_now(client, found["guest"]) == "running"
    return not running if found["verb"] == "start" else running
