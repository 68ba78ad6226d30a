"""The plan that restores guests to a pre-apply snapshot (a data rollback). Pure.

Called by the controller's data-rollback step (`gitops.controller.steps`) with a live state that holds
every guest's snapshot list. A data rollback throws away everything written since: the plan says so in
capitals.
"""

from __future__ import annotations

from gitops.planner.live import LiveState
from gitops.planner.plan import Action, ApiCall, Plan, Problem
from gitops.planner.proxmox import pve_paths

DATA_ROLLBACK_WARNING = (
    "DATA ROLLBACK: guest disks and configs are restored from snapshot {snap}; "
    "EVERYTHING WRITTEN ON THEM SINCE IS LOST"
)


def restore_plan(live: LiveState, vmids: set[int], snapshot: str) -> Plan:
    """Roll each of `vmids` that has `snapshot` back to it (stopping it first if it runs)."""
    plan = Plan()
    plan.warnings.append(Problem("*", "data-rollback", DATA_ROLLBACK_WARNING.format(snap=snapshot)))
    for vmid in sorted(vmids):
        guest = live.guest(vmid)
        if guest is None or guest.template or snapshot not in guest.snapshots:
            continue
        calls = [ApiCall("POST", pve_paths.guest_path(guest.kind, guest.node, vmid, "status/stop"), wait=True)
                 ] if guest.status == "running" else []
        calls.append(ApiCall("POST", pve_paths.guest_path(guest.kind, guest.node, vmid,
                                                          f"snapshot/{snapshot}/rollback"), wait=True))
        plan.actions.append(Action(
            target=guest.target, action="snapshot", node=guest.node, destructive=True, calls=calls,
            summary=f"DATA ROLLBACK: restore snapshot {snapshot} (data written since is lost)",
        ))
    return plan
