"""The backoff decision for failed revisions, as a table, and the loop retrying a failed revision until
it succeeds (or a newer commit arrives)."""

from __future__ import annotations

import datetime as dt

import pytest

from gitops.controller import backoff
from gitops.controller.deciding import Facts, decide
from gitops.controller.triggers import Trigger, coalesce
from tests.controller.conftest import Ctl
from tests.controller.support import estate_with_api, small_estate

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
SHA, OTHER = "a" * 40, "b" * 40


@pytest.mark.parametrize(("attempt", "seconds"), [(1, 30), (2, 60), (3, 120), (6, 960), (7, 1800), (50, 1800)])
def test_delays_double_up_to_the_cap(attempt: int, seconds: float) -> None:
    assert backoff.delay(attempt, 30, 1800) == seconds


def test_schedule_after_failures_and_when_due() -> None:
    first = backoff.after_failure(None, SHA, T0, 30, 1800)
    assert first.attempt == 1
    assert not backoff.due(first, SHA, T0 + dt.timedelta(seconds=29))
    assert backoff.due(first, SHA, T0 + dt.timedelta(seconds=30))
    assert not backoff.due(first, OTHER, T0 + dt.timedelta(days=1))  # a newer head is not this schedule
    second = backoff.after_failure(first, SHA, T0 + dt.timedelta(seconds=30), 30, 1800)
    assert second.attempt == 2 and not backoff.due(second, SHA, T0 + dt.timedelta(seconds=89))
    assert backoff.after_failure(second, OTHER, T0, 30, 1800).attempt == 1
    assert not backoff.due(None, SHA, T0)


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def test_a_failed_revision_is_retried_with_backoff_until_it_succeeds(ctl: Ctl, pve) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    ctl.reconciler.clock = clock
    first = ctl.remote.commit(small_estate(memory=512), "first")
    assert ctl.run().action == "applied"
    files = estate_with_api()
    pve.fail("POST", "/nodes/pve1/lxc/102/status/start", error="quotas_not_supported_unprivileged_containers")
    second = ctl.remote.commit(files, "add api")
    assert ctl.run().action == "rolled_back"
    assert ctl.store.get_state().applied_revision == first
    assert ctl.run().action == "none"  # not before its time
    clock.now += dt.timedelta(seconds=ctl.settings.retry_interval + 1)
    assert ctl.run().action == "rolled_back"  # tried again, failed again: the next wait doubles
    schedule = ctl.store.get_state().retry
    assert schedule is not None and schedule.sha == second and schedule.attempt == 2
    clock.now += dt.timedelta(seconds=ctl.settings.retry_interval + 1)
    assert ctl.run().action == "none"
    pve.fake.failures.clear()
    clock.now += dt.timedelta(seconds=2 * ctl.settings.retry_interval)
    assert ctl.run().action == "applied"
    assert ctl.status(second) == "applied"
    assert ctl.store.get_state().retry is None
    assert [e.kind for e in ctl.store.list_events(50)].count("retry") == 2


def test_a_newer_commit_replaces_the_retries(ctl: Ctl, pve) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    ctl.reconciler.clock = clock
    ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    files = estate_with_api()
    pve.fail("POST", "/nodes/pve1/lxc/102/status/start", error="quotas_not_supported_unprivileged_containers")
    ctl.remote.commit(files, "add api")
    assert ctl.run().action == "rolled_back"
    third = ctl.remote.commit(small_estate(memory=640), "drop api again")
    assert ctl.run().action == "applied"
    assert ctl.status(third) == "applied"
    assert ctl.store.get_state().retry is None


@pytest.mark.parametrize(("facts", "converge"), [
    (Facts(applied=OTHER, head=SHA, statuses={SHA: "failed"}, retry_due=True), True),
    (Facts(applied=OTHER, head=SHA, statuses={SHA: "rolled_back"}, retry_due=True), True),
    (Facts(applied=OTHER, head=SHA, statuses={SHA: "failed"}, retry_due=False), False),
    (Facts(applied=OTHER, head=SHA, statuses={SHA: "rejected"}, retry_due=True), False),  # invalid: never
    (Facts(applied=OTHER, head=SHA, pinned=OTHER, statuses={SHA: "failed", OTHER: "applied"}, retry_due=True),
     False),  # a rollback's pin holds
    (Facts(applied=OTHER, head=SHA, statuses={SHA: "failed"}, retry_due=True, suspended=True), False),
])
def test_decide_tries_a_failed_head_again_only_when_its_backoff_is_over(facts: Facts, converge: bool) -> None:
    decision = decide(coalesce([Trigger("poll")]), facts)
    assert (decision.do == "converge" and decision.retry) is converge
