"""`gitops.pacing.Pace`: calls start at least 1/rate apart, from any number of threads."""

from __future__ import annotations

import threading

import pytest

from gitops.pacing import Pace, sleep_unless


def test_slots_are_spread_evenly() -> None:
    now = [10.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pace = Pace(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        pace.wait()
    assert slept == [0.25] * 5  # the first call at once, then one every quarter second
    now[0] += 5.0  # idle for a while: no credit saved up beyond the next call
    pace.wait()
    pace.wait()
    assert slept == [0.25] * 6
    assert pace.waited == pytest.approx(1.5)


def test_threads_share_one_budget() -> None:
    pace = Pace(200.0)
    starts: list[float] = []
    lock = threading.Lock()

    def caller() -> None:
        for _ in range(10):
            pace.wait()
            with lock:
                starts.append(pace.clock())

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts.sort()
    assert len(starts) == 80
    assert starts[-1] - starts[0] >= 79 / 200 * 0.95  # 80 calls at 200 a second take ~0.4 s, not ~0
    assert max(sum(1 for s in starts if a <= s < a + 0.1) for a in starts) <= 200 * 0.1 + 2


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Pace(0)


def test_a_sleep_unless_wakes_early_once_told() -> None:
    now = [0.0]
    naps: list[float] = []
    stop = [False]

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        now[0] += seconds
        stop[0] = now[0] >= 0.3  # told to stop 0.3 s into a 2 s wait

    sleep_unless(lambda: stop[0], step=0.1, clock=lambda: now[0], sleep=sleep)(2.0)
    assert naps == pytest.approx([0.1, 0.1, 0.1])  # woke within one step of being told, not after 2 s
    naps.clear()
    stop[0] = False
    sleep_unless(lambda: False, step=0.5, clock=lambda: now[0], sleep=sleep)(1.2)
    assert naps == pytest.approx([0.5, 0.5, 0.2])  # untold: the whole wait, in steps
