"""The one policy object: how a run of the reconcile steps behaves. Apply, rollback, auto-rollback and
self-heal are the same steps (`gitops.controller.steps`) under different policies.

Made by `gitops.controller.deciding.decide` (apply, rollback, self-heal) and by the reconciler (the
auto-rollback after a failure); read by the steps and by `gitops.controller.recording`. Every policy
gets the same checks: validation, the plan-error stop, the secret check, cancellation between
actions, action logs, post-apply checks and a record.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitops.store.records import RunKind


@dataclass(frozen=True)
class Policy:
    kind: RunKind  # apply, rollback, auto-rollback, self-heal: the run's kind in the ledger
    trigger: str  # the ledger's trigger (poll, webhook, manual, rollback, startup, drift)
    restore_data: bool = False  # roll the guests back to their pre-apply snapshots first
    roll_back_on_failure: bool = False  # after a failed apply or failed checks, apply the previous revision
    writes_status: bool = True  # the revision's status follows the run; a self-heal leaves it `applied`
    heal: bool = True  # self-heal: correct the drift found (False: record it only)
    not_healed: str = ""  # self-heal: why the drift is not corrected when `heal` is False
    targets: frozenset[str] = frozenset()  # a targeted sync: only these and what they depend on (empty: all)
    give_way: bool = False  # self-heal: the sweep stops when other work waits (the timer's check, nobody asked)

    @property
    def self_heal(self) -> bool:
        return self.kind == "self-heal"


def apply(trigger: str, *, auto_rollback: bool) -> Policy:
    """A new revision (poll, webhook, startup) or an explicit sync."""
    return Policy("apply", trigger, roll_back_on_failure=auto_rollback)


def rollback(*, restore_data: bool, auto_rollback: bool) -> Policy:
    """An operator's rollback to an earlier revision (pinned by the reconciler)."""
    return Policy("rollback", "rollback", restore_data=restore_data, roll_back_on_failure=auto_rollback)


AUTO_ROLLBACK = Policy("auto-rollback", "rollback")  # never rolls back itself: no loop


def self_heal(*, heal: bool, not_healed: str = "", give_way: bool = False) -> Policy:
    """The applied revision again, because the live state drifted from it. With `give_way` (the drift timer's
    check, which nobody is waiting for) its full read stops for a push, a sync or a rollback that arrives."""
    return Policy("self-heal", "drift", writes_status=False, heal=heal, not_healed=not_healed, give_way=give_way)


def sync_targets(targets: tuple[str, ...] | frozenset[str]) -> Policy:
    """An operator's sync of some resources (the dashboard's per-resource button): the applied revision
    again, for those resources and what they depend on only; a self-heal run of its own, asked for."""
    return Policy("self-heal", "manual", writes_status=False, heal=True, targets=frozenset(targets))
