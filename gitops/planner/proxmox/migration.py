"""Moving a guest to the node its config names: the `migrate` action and how long it will take.

VMs migrate online when they run (`online=1`; disks on node-local storage go with them,
`with-local-disks=1`); stopped VMs migrate offline. Containers cannot migrate live in PVE: a running one
is migrated in restart mode (`restart=1`: shut down, moved, started). A node-local storage must exist on
the target node (a storage limited by `nodes` to others is an error in the plan), and a running VM with
PCI passthrough (`hostpciN`), which PVE refuses to migrate online, is an error too. The time is estimated
from what has to be copied -- the disks on node-local storage, and a running VM's memory -- at
`COPY_BYTES_PER_S`, plus a container's restart. Pure; used by `gitops.planner.proxmox.planning`.
"""

from __future__ import annotations

import re

from gitops.planner.live import LiveGuest, LiveState
from gitops.planner.plan import Action, ApiCall, FieldChange, Problem
from gitops.planner.proxmox import pve_paths
from gitops.planner.proxmox.normalize import format_gib, parse_size, split_props

COPY_BYTES_PER_S = 110 * 1000**2  # a 1 Gbit/s migration network, copied at line rate (assumed)
CT_RESTART_S = 30.0                # shutdown and start of a container (assumed)
_VM_DISK = re.compile(r"^(scsi|virtio|sata|ide|efidisk|tpmstate)\d+$")
_CT_DISK = re.compile(r"^(rootfs|mp\d+)$")
_PASSTHROUGH = re.compile(r"^hostpci\d+$")


def migrate_action(target: str, live_guest: LiveGuest, node: str, live: LiveState) -> Action | Problem:
    """The `migrate` action taking `live_guest` to `node`, or the error that keeps it where it is."""
    local, local_bytes = _local_disks(live_guest, live, node)
    if isinstance(local, Problem):
        return local
    running = live_guest.status == "running"
    passthrough = sorted(k for k in live_guest.config if _PASSTHROUGH.match(k))
    if live_guest.kind == "vm" and running and passthrough:
        return Problem(target, "migrate-passthrough",
                       f"{target} runs with PCI passthrough ({', '.join(passthrough)}), which PVE cannot migrate "
                       "online: stop it first (a stopped VM migrates offline)")
    params: dict[str, object] = {"target": node}
    if live_guest.kind == "vm":
        copy = local_bytes
        if running:
            params["online"] = 1
            copy += (parse_size(f"{live_guest.config.get('memory', 512)}M") or 0)
            if local:
                params["with-local-disks"] = 1
        mode = "online" if running else "offline"
        seconds = copy / COPY_BYTES_PER_S
    else:
        if running:
            params["restart"] = 1
        mode = "restart mode" if running else "offline"
        seconds = local_bytes / COPY_BYTES_PER_S + (CT_RESTART_S if running else 0.0)
    what = f"{format_gib(local_bytes)} of local disk" if local_bytes else "no local disk"
    path = pve_paths.guest_path(live_guest.kind, live_guest.node, live_guest.vmid, "migrate")
    return Action(
        target=target, action="migrate", node=live_guest.node,
        summary=f"migrate from {live_guest.node} to {node} ({mode}; {what}; about {estimate(seconds)})",
        changes=[FieldChange("node", live_guest.node, node)],
        calls=[ApiCall("POST", path, params, wait=True)],
    )


def estimate(seconds: float) -> str:
    """`10 s`, `3 min`, `1 h 20 min`: a plan's time estimate, rounded up."""
    if seconds < 60:
        return f"{max(1, int(seconds + 0.999))} s"
    minutes = int(seconds / 60 + 0.999)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _local_disks(guest: LiveGuest, live: LiveState, node: str) -> tuple[list[str] | Problem, int]:
    """The disks on node-local storage and their bytes; an error when such a storage is not on `node`."""
    pattern = _VM_DISK if guest.kind == "vm" else _CT_DISK
    local: list[str] = []
    total = 0
    for key, value in sorted(guest.config.items()):
        if not pattern.match(key):
            continue
        volume, props = split_props(str(value))
        if not volume or volume.startswith("/") or ":" not in volume or props.get("media") == "cdrom":
            continue  # bind mounts, CD-ROMs and cloud-init drives are not copied
        sid = volume.split(":", 1)[0]
        storage = live.storages.get(sid)
        if storage is not None and storage.shared:
            continue
        limited = [n for n in str((storage.config if storage else {}).get("nodes") or "").split(",") if n]
        if limited and node not in limited:
            return Problem(guest.target, "migrate-storage",
                           f"{key} is on storage {sid}, which is not available on node {node} "
                           f"(nodes: {', '.join(limited)}): {guest.target} cannot move there"), 0
        local.append(key)
        total += parse_size(props.get("size")) or 0
    return local, total
