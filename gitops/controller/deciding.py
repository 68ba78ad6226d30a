"""`decide(work, facts) -> Decision`: what one reconcile does with the queue's work. Pure.

Called by `gitops.controller.reconciling` after intake (`gitops.controller.intake` fetched and gathered
the `Facts`). It weighs the operator's request, the pin, suspend, the sync windows and the branch
head, and returns what to converge and under which policy, or why nothing is applied (then, if the
work asks for it, a drift check). Table-tested in `tests/controller/test_deciding.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gitops.controller import backoff
from gitops.controller import policy as policies
from gitops.controller.triggers import Work

AUTOMATIC_STATUSES = frozenset({"pending", "applying"})
LEDGER_TRIGGERS = ("poll", "webhook", "manual", "rollback", "startup")


@dataclass(frozen=True)
class Facts:
    """What intake found: the controller state, the requested and head revisions and their statuses."""

    applied: str | None = None
    pinned: str | None = None
    suspended: bool = False
    head: str | None = None  # fetched now, or the branch head fetched last time
    requested: str | None = None  # the work's explicit revision, resolved to a full sha
    requested_error: str = ""  # why the explicit revision could not be resolved
    statuses: dict[str, str] = field(default_factory=dict)  # sha -> revision status, for the candidates
    window_open: bool = True  # the sync windows allow an automatic apply now
    self_heal: bool = True  # settings.self_heal
    auto_rollback: bool = True  # settings.auto_rollback
    retry_due: bool = False  # the pinned revision or else the head failed, and its backoff has run out


@dataclass(frozen=True)
class Decision:
    do: Literal["converge", "drift-check", "skip", "nothing"]
    target: str | None = None
    reason: str = ""
    policy: policies.Policy | None = None  # converge and drift-check
    pin: bool = False  # pin `target` (a rollback)
    unpin: bool = False  # lift the pin (an explicit sync of another revision)
    phase: str | None = None  # skip: the phase to show (suspended, waiting_window)
    unpin_if_rejected: bool = False  # a rollback to an invalid revision does not stay pinned
    supersede_on_success: bool = False  # once the head applied, older pending revisions are superseded
    retry: bool = False  # converging a failed head again, its backoff over


def decide(work: Work, facts: Facts) -> Decision:
    if work.targets and not (work.revision or work.force):
        return _targeted(work, facts)
    if work.revision:
        if facts.requested is None:
            return _otherwise(work, facts, facts.requested_error or f"{work.revision} is unknown")
        target, forced = facts.requested, True
    elif facts.pinned:  # a pinned revision that failed waits for its backoff like a failed head
        failed = facts.statuses.get(facts.pinned, "pending") in backoff.RETRIED_STATUSES
        target, forced = facts.pinned, work.force or (facts.applied != facts.pinned and not failed)
    elif facts.head is None:
        return _otherwise(work, facts, "nothing fetched yet")
    else:
        target, forced = facts.head, work.force
    pin = work.pin and bool(work.revision)
    unpin = bool(work.revision) and bool(facts.pinned) and not work.pin
    status = facts.statuses.get(target, "pending")
    if target == facts.applied and status == "applied":
        return _otherwise(work, facts, "up to date", pin=pin, unpin=unpin)
    retry = (not forced and target == (facts.pinned or facts.head) and status in backoff.RETRIED_STATUSES
             and facts.retry_due)
    if not forced:
        if status not in AUTOMATIC_STATUSES and not retry:
            return _otherwise(work, facts, f"{target[:12]} is {status}", pin=pin, unpin=unpin)
        if facts.suspended:
            return Decision("skip", target, "suspended: new revisions are recorded, not applied",
                            phase="suspended", pin=pin, unpin=unpin)
        if not facts.window_open:
            return Decision("skip", target, "outside the sync windows", phase="waiting_window", pin=pin, unpin=unpin)
    trigger = work.trigger if work.trigger in LEDGER_TRIGGERS else "poll"
    if trigger == "rollback":
        policy = policies.rollback(restore_data=work.restore_data and work.pin, auto_rollback=facts.auto_rollback)
    else:
        policy = policies.apply(trigger, auto_rollback=facts.auto_rollback)
    return Decision("converge", target, policy=policy, unpin_if_rejected=work.pin,
                    supersede_on_success=not work.pin and not facts.pinned, pin=pin, unpin=unpin, retry=retry)


def _otherwise(work: Work, facts: Facts, reason: str, *, pin: bool = False, unpin: bool = False) -> Decision:
    """No revision to converge: a drift check of the applied one if the work asks for it, else nothing."""
    if not (work.drift_check or work.force):
        return Decision("nothing", reason=reason, pin=pin, unpin=unpin)
    if facts.applied is None:
        return Decision("nothing", reason="nothing applied yet", pin=pin, unpin=unpin)
    wanted = work.force or facts.self_heal
    allowed = work.force or (not facts.suspended and facts.window_open)
    why = ("" if wanted and allowed else "self-heal is off" if not wanted
           else "suspended" if facts.suspended else "outside the sync windows")
    # nobody waits for the timer's check: its sweep gives way to a push, sync or rollback arriving meanwhile
    give_way = not (work.force or work.requests)
    return Decision("drift-check", facts.applied, reason,
                    policy=policies.self_heal(heal=not why, not_healed=why, give_way=give_way),
                    pin=pin, unpin=unpin, phase="suspended" if facts.suspended else "idle")


def _targeted(work: Work, facts: Facts) -> Decision:
    """A sync of some resources: the applied revision for them and what they depend on, asked for (so
    even when suspended or outside the windows); a new head waits for its own apply."""
    if facts.applied is None:
        return Decision("nothing", reason="nothing applied yet: sync the whole estate first")
    return Decision("drift-check", facts.applied, f"sync of {', '.join(work.targets)}",
                    policy=policies.sync_targets(work.targets), phase="suspended" if facts.suspended else "idle")
