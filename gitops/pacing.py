"""Pacing: at most `rate` calls a second, spread evenly (a token bucket holding one token).

Used by the Proxmox driver for the drift check's sweep (`PHOENIX_DRIFT_RPS`): every GET of the sweep takes a
slot first, so a full read of a large estate uses at most that share of the API's capacity and leaves the rest
to everything else. No dependency does this at run time (pyrate-limiter is in the lock only as a test tool's
dependency), and the need is small: one bucket, many threads, no bursts.

A slot is handed out at `max(now, next)` and `next` moves on by `1 / rate`: the calls start at least
`1 / rate` seconds apart whatever the number of threads, so any one-second window holds at most `rate + 1`
starts. Threads waiting for a later slot sleep outside the lock. Clock and sleep are injected for tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def sleep_unless(stop: Callable[[], bool], *, step: float = 0.05,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> Callable[[float], None]:
    """A `sleep` for `Pace` that wakes early, within `step` seconds, once `stop()` is true (a sweep giving way
    to waiting work does not first sleep out the slots its threads were handed)."""

    def wait(seconds: float) -> None:
        end = clock() + seconds
        while not stop():
            left = end - clock()
            if left <= 0:
                return
            sleep(min(step, left))

    return wait


class Pace:
    """At most `rate` calls a second (`rate` > 0): `wait()` before each call."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError(f"a pace needs a positive rate, not {rate!r}")
        self.rate = rate
        self.interval = 1.0 / rate
        self.clock = clock
        self.sleep = sleep
        self.waited = 0.0  # seconds spent waiting for slots, all threads together
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this caller's slot comes."""
        with self._lock:
            now = self.clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
            delay = slot - now
            self.waited += delay
        if delay > 0:
            self.sleep(delay)
