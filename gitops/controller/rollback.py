"""Rollback: which pre-apply snapshot holds a revision's data (the plan that restores it is the planner's,
`gitops.planner.proxmox.restoring`).

Called by the controller's data-rollback step when a rollback asks for data too (`restore_data`). Going
back to revision A means restoring, on each guest, the snapshot taken just before the revision that
followed A was applied (`phx-<sha12>` of that revision): the chain of applies is read from the ledger,
where each applied revision names its `previous_sha` and its `snapshot` (columns of the ledger).
"""

from __future__ import annotations

from gitops import errors
from gitops.store import Store

MAX_CHAIN = 500


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
        if record.previous_sha == target:
            return record.snapshot
        current = record.previous_sha
    return None
