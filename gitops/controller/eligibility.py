"""Which revisions may be rolled back to: only one that was applied at some time.

Read by the API (`POST /api/v1/rollback` answers 409 with the reason), the dashboard (the button is
offered only where a rollback would be accepted and changes something) and the reconcile itself
(`gitops.controller.intake` puts the reason in the facts, so a rollback request handed over by another
replica is refused the same way). A rollback converges to a state the estate was in; a revision that
never applied (rejected, failed, superseded, still pending) was never such a state, and pinning it would
only fail again.

A revision was applied at some time when the ledger holds an applied run of it, or its status is
`applied`, or it is on the chain of applies that leads to the applied revision: each revision's
`previous_sha` names the revision applied when its apply began (ledgers older than runs have only that).
"""

from __future__ import annotations

from gitops import errors
from gitops.store import RevisionRecord, Store

MAX_CHAIN = 500


def was_applied(store: Store, record: RevisionRecord) -> bool:
    """True when `record` was applied at some time (see the module's docstring)."""
    if record.status == "applied":
        return True
    if store.list_runs(1, revision=record.sha, status="applied"):
        return True
    return record.sha in _applied_chain(store)


def rollback_refusal(store: Store, record: RevisionRecord) -> str | None:
    """Why a rollback to `record` is refused, or None when it would be accepted."""
    if record.status == "rejected":
        return f"{record.short_sha} was rejected as invalid: it cannot be rolled back to"
    return never_applied(store, record)


def rollback_offer(store: Store, record: RevisionRecord) -> str | None:
    """Why the dashboard offers no rollback button for `record` (None: it offers one). A rollback to the
    applied revision is accepted (it pins it), but offers nothing to go back to."""
    state = store.get_state(drift=False)
    if record.sha == state.applied_revision and state.pinned_revision in (None, record.sha):
        return f"{record.short_sha} is the applied revision: there is nothing to roll back to"
    return rollback_refusal(store, record)


def never_applied(store: Store, record: RevisionRecord) -> str | None:
    """Why `record` cannot be a rollback's target because it never applied, or None."""
    if was_applied(store, record):
        return None
    return (f"{record.short_sha} was never applied (it is {record.status}): only a revision that was applied "
            "can be rolled back to")


def _applied_chain(store: Store) -> set[str]:
    """The applied revision and every revision applied before it, by `previous_sha`."""
    chain: set[str] = set()
    current = store.get_state(drift=False).applied_revision
    for _ in range(MAX_CHAIN):
        if current is None or current in chain:
            break
        chain.add(current)
        try:
            current = store.get_revision(current).previous_sha
        except errors.NotFoundError:
            break
    return chain
