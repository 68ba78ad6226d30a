"""Rollback helpers: which pre-apply snapshot holds a revision's data, and the plan that restores it.

Called by `gitops.controller.reconciling` when a rollback asks for data too (`restore_data`). Going
back to revision A means restoring, on each guest, the snapshot taken just before the revision that
followed A was applied (`phx-<sha12>` of that revision): the chain of applies is read from the ledger,
where each applied revision's result names its `previous` revision and its `snapshot`.
A data rollback throws away everything written since: the plan says so in capitals.
"""

from __future__ import annotations

from gitops import errors
from gitops.planner.live import LiveState
from gitops.planner.plan import Action, ApiCall, Plan, Problem
from gitops.store import Store

MAX_CHAIN = 500
DATA_ROLLBACK_WARNING = (
    "DATA ROLLBACK: guest disks and configs are restored from snapshot {snap}; "
    "EVERYTHING WRITTEN ON THEM SINCE IS LOST"
)


def snapshot_for(store: Store, applied: str | None, target: str) -> str | None:
    """The snapshot taken before the first revision applied after `target`, walking back from
    `applied`; None when the chain does not reach `target` or that apply took no snapshot."""
    current = applied
    for _ in range(MAX_CHAIN):
        if current is None:
            return None
        try:
            record = store.get_revision(current)
        except errors.NotFoundError:
            return None
        result = record.result if isinstance(record.result, dict) else {}
        previous = result.get("previous")
        if previous == target:
            snap = result.get("snapshot")
            return str(snap) if snap else None
        current = str(previous) if previous else None
    return None


def restore_plan(live: LiveState, vmids: set[int], snapshot: str) -> Plan:
    """Roll each of `vmids` that has `snapshot` back to it (stopping it first if it runs)."""
    plan = Plan()
    plan.warnings.append(Problem("*", "data-rollback", DATA_ROLLBACK_WARNING.format(snap=snapshot)))
    for vmid in sorted(vmids):
        guest = live.guest(vmid)
        if guest is None or guest.template or snapshot not in guest.snapshots:
            continue
        base = f"nodes/{guest.node}/{'lxc' if guest.kind == 'lxc' else 'qemu'}/{vmid}"
        calls = [ApiCall("POST", f"{base}/status/stop", wait=True)] if guest.status == "running" else []
        calls.append(ApiCall("POST", f"{base}/snapshot/{snapshot}/rollback", wait=True))
        plan.actions.append(Action(
            target=guest.target, action="snapshot", node=guest.node, destructive=True, calls=calls,
            summary=f"DATA ROLLBACK: restore snapshot {snapshot} (data written since is lost)",
        ))
    return plan
