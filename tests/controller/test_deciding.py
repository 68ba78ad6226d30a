"""decide(work, facts): a table of (work, facts) -> what one reconcile does."""

from __future__ import annotations

import pytest

from gitops.controller.deciding import Decision, Facts, decide
from gitops.controller.triggers import Trigger, Work, coalesce

A, B, C = "a" * 40, "b" * 40, "c" * 40


def work(*triggers: Trigger) -> Work:
    return coalesce(triggers)


def summary(d: Decision) -> tuple[str, str | None, str | None, bool, bool]:
    return (d.do, d.target, d.policy.kind if d.policy else None, d.pin, d.unpin)


CASES = [
    # a poll finds a new head: apply it
    ("new head", work(Trigger("poll")), Facts(applied=A, head=B, statuses={B: "pending"}),
     ("converge", B, "apply", False, False)),
    # the head is what is applied: nothing (a poll does not look for drift)
    ("up to date", work(Trigger("poll")), Facts(applied=A, head=A, statuses={A: "applied"}),
     ("nothing", None, None, False, False)),
    # ... but a drift trigger checks the applied revision under the self-heal policy
    ("drift", work(Trigger("drift")), Facts(applied=A, head=A, statuses={A: "applied"}),
     ("drift-check", A, "self-heal", False, False)),
    # a failed head is not retried by polls
    ("failed head", work(Trigger("poll")), Facts(applied=A, head=B, statuses={B: "failed"}),
     ("nothing", None, None, False, False)),
    # ... but a manual sync forces it
    ("manual", work(Trigger("manual")), Facts(applied=A, head=B, statuses={B: "failed"}),
     ("converge", B, "apply", False, False)),
    # suspended: recorded, not applied
    ("suspended", work(Trigger("poll")), Facts(applied=A, head=B, suspended=True, statuses={B: "pending"}),
     ("skip", B, None, False, False)),
    # outside the windows: held
    ("window", work(Trigger("poll")), Facts(applied=A, head=B, window_open=False, statuses={B: "pending"}),
     ("skip", B, None, False, False)),
    # a rollback pins its revision and converges it under the rollback policy, whatever the windows say
    ("rollback", work(Trigger("rollback", revision=A)),
     Facts(applied=B, head=B, requested=A, window_open=False, statuses={A: "applied", B: "applied"}),
     ("converge", A, "rollback", True, False)),
    # pinned: the pin is the target, the head waits
    ("pinned", work(Trigger("poll")), Facts(applied=A, pinned=A, head=C, statuses={A: "applied", C: "pending"}),
     ("nothing", None, None, False, False)),
    # an explicit sync of another revision lifts the pin
    ("explicit sync", work(Trigger("manual", revision=C)),
     Facts(applied=A, pinned=A, head=C, requested=C, statuses={A: "applied", C: "pending"}),
     ("converge", C, "apply", False, True)),
    # an unknown revision: nothing converged (the manual sync still looks for drift)
    ("unknown", work(Trigger("manual", revision="deadbeef")),
     Facts(applied=A, head=A, requested=None, requested_error="not in the ledger", statuses={A: "applied"}),
     ("drift-check", A, "self-heal", False, False)),
    # nothing fetched, nothing applied
    ("empty", work(Trigger("drift")), Facts(), ("nothing", None, None, False, False)),
]


@pytest.mark.parametrize(("work_", "facts", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decide(work_: Work, facts: Facts, expected: tuple[str, str | None, str | None, bool, bool]) -> None:
    assert summary(decide(work_, facts)) == expected


def test_a_drift_check_heals_only_when_allowed() -> None:
    facts = Facts(applied=A, head=A, statuses={A: "applied"})
    assert decide(work(Trigger("drift")), facts).policy.heal  # type: ignore[union-attr]
    off = decide(work(Trigger("drift")), Facts(**{**facts.__dict__, "self_heal": False}))
    assert off.policy is not None and not off.policy.heal and off.policy.not_healed == "self-heal is off"
    held = decide(work(Trigger("drift")), Facts(**{**facts.__dict__, "suspended": True}))
    assert held.policy is not None and not held.policy.heal and held.phase == "suspended"
    closed = decide(work(Trigger("drift")), Facts(**{**facts.__dict__, "window_open": False}))
    assert closed.policy is not None and closed.policy.not_healed == "outside the sync windows"
    # a manual sync heals even when suspended
    forced = decide(work(Trigger("manual")), Facts(**{**facts.__dict__, "suspended": True}))
    assert forced.policy is not None and forced.policy.heal


def test_a_rollback_with_data_and_auto_rollback_settings_reach_the_policy() -> None:
    facts = Facts(applied=B, head=B, requested=A, statuses={A: "applied", B: "applied"}, auto_rollback=False)
    decision = decide(work(Trigger("rollback", revision=A, restore_data=True)), facts)
    assert decision.policy is not None and decision.policy.restore_data and not decision.policy.roll_back_on_failure
    assert decision.unpin_if_rejected and not decision.supersede_on_success
    applied = decide(work(Trigger("poll")), Facts(applied=A, head=B, statuses={B: "pending"}))
    assert applied.policy is not None and applied.policy.roll_back_on_failure and applied.supersede_on_success


def test_a_sync_of_some_resources_is_a_targeted_correction_of_the_applied_revision() -> None:
    facts = Facts(applied=A, head=B, statuses={A: "applied", B: "pending"}, suspended=True)
    decision = decide(work(Trigger("manual", targets=("lxc/101",))), facts)
    assert (decision.do, decision.target) == ("drift-check", A)  # the suspended head waits
    assert decision.policy is not None and decision.policy.heal and decision.policy.kind == "self-heal"
    assert decision.policy.targets == {"lxc/101"} and decision.policy.trigger == "manual"
    # two buttons in one burst: both resources; a full sync in the same burst wins
    both = work(Trigger("manual", targets=("lxc/101",)), Trigger("manual", targets=("vm/1001", "lxc/101")))
    assert both.targets == ("lxc/101", "vm/1001") and not both.force
    full = decide(work(Trigger("manual", targets=("lxc/101",)), Trigger("manual")), facts)
    assert full.policy is not None and not full.policy.targets and full.do == "converge"
    assert decide(work(Trigger("manual", targets=("lxc/101",))), Facts()).do == "nothing"


@pytest.mark.parametrize(("triggers", "gives_way"), [
    ((Trigger("drift"),), True),  # the timer's check: nobody waits for it
    ((Trigger("startup"),), True),  # after a restart, nothing new: a check nobody asked for either
    ((Trigger("manual"),), False),  # an operator's sync that found nothing new: it is their request
    ((Trigger("manual", request="r1"),), False),
    ((Trigger("drift"), Trigger("manual", request="r2")), False),  # a request in the burst: seen through
])
def test_only_a_check_nobody_asked_for_gives_way(triggers: tuple[Trigger, ...], gives_way: bool) -> None:
    decision = decide(work(*triggers), Facts(applied=A, head=A, statuses={A: "applied"}))
    assert decision.do == "drift-check" and decision.policy is not None
    assert decision.policy.give_way is gives_way
