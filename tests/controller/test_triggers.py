"""Triggers coalesce: a burst is one reconcile; the queue hands out everything waiting."""

from __future__ import annotations

import threading

from gitops.controller.triggers import Trigger, TriggerQueue, coalesce


def test_a_burst_of_polls_and_webhooks_is_one_fetch() -> None:
    work = coalesce([Trigger("poll"), Trigger("webhook"), Trigger("poll")])
    assert work.fetch and not work.force and work.revision is None
    assert work.trigger == "poll"


def test_manual_sync_forces_and_checks_drift() -> None:
    work = coalesce([Trigger("poll"), Trigger("manual")])
    assert work.fetch and work.force and work.drift_check and work.trigger == "manual"


def test_the_last_rollback_wins_and_pins() -> None:
    work = coalesce([Trigger("rollback", revision="aaaa"), Trigger("poll"), Trigger("rollback", revision="bbbb")])
    assert work.revision == "bbbb" and work.pin and work.trigger == "rollback"


def test_resume_after_rollback_in_one_burst_lifts_the_pin() -> None:
    work = coalesce([Trigger("rollback", revision="aaaa"), Trigger("resume")])
    assert work.revision is None and not work.pin and work.suspend is False


def test_suspend_and_resume_keep_their_order() -> None:
    assert coalesce([Trigger("resume"), Trigger("suspend")]).suspend is True
    assert coalesce([Trigger("suspend"), Trigger("resume")]).suspend is False


def test_explicit_sync_names_the_revision_without_pinning() -> None:
    work = coalesce([Trigger("manual", revision="cccc")])
    assert work.revision == "cccc" and not work.pin and work.force


def test_drift_alone_only_checks_drift() -> None:
    work = coalesce([Trigger("drift")])
    assert work.drift_check and not work.fetch and work.trigger == "drift"
    assert coalesce([]).empty


def test_queue_hands_out_everything_waiting_and_times_out_empty() -> None:
    queue = TriggerQueue()
    assert queue.take(0) == []
    for kind in ("poll", "webhook", "manual"):
        queue.put(Trigger(kind))  # type: ignore[arg-type]
    assert [t.kind for t in queue.take(0)] == ["poll", "webhook", "manual"]
    assert queue.pending() == 0 and queue.received == 3


def test_queue_wakes_the_taker_and_close_ends_waiting() -> None:
    queue = TriggerQueue()
    got: list[list[Trigger]] = []
    taker = threading.Thread(target=lambda: got.append(queue.take(10)))
    taker.start()
    queue.put(Trigger("manual"))
    taker.join(5)
    assert [t.kind for t in got[0]] == ["manual"]
    closer = threading.Thread(target=lambda: got.append(queue.take(10)))
    closer.start()
    queue.close()
    closer.join(5)
    assert got[1] == [] and queue.closed
