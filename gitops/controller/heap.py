"""The service's heap between two pieces of work: what survives a reconcile is frozen out of the collector.

A controller of a large estate holds millions of long-lived objects: the live-state cache, the estate and its
plan, the memos. CPython's cyclic collector walks every tracked object at each full collection, and a commit
allocates enough to cause two or three of them: 1.2 s of a one-guest commit's 3.7 s at 10,000 guests
(`tests/perf/bench_cluster.py` prints the pauses per commit). Those objects are not garbage; walking them finds
nothing.

`Heap.settle`, called by the service's loop after each reconcile (the outcome recorded, nothing waiting on
it): collects what that work left (only the objects created since the last settle are walked) and freezes the
rest (`gc.freeze`), so the next work's collections walk only what it creates. Objects still freed by their
reference count are unaffected; the cost is a cycle that dies while frozen waits to be collected until the
next full settle, which unfreezes everything first, every `full_every_s` seconds (so such garbage is bounded
by what one period makes). While it holds the heap frozen, the oldest generation is collected less often
(`OLDEST_EVERY`); `release`, when the service stops, unfreezes and restores CPython's thresholds, leaving
the process as it was. Measured at 10,000 guests: the collector's pauses in a one-guest commit 1.27 s ->
0.14 s, the commit 3.7 s -> 2.5 s (docs/performance.md).

The approach CPython's documentation of `gc.freeze` describes for long-lived, mostly read-only heaps.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

FULL_EVERY_S = 600.0  # a full collection (everything unfrozen first) at most this often
# While frozen, the oldest generation is collected after this many collections of the middle one (CPython's
# default is 10): its own rule, a full collection only once the objects waiting in it are a quarter of those
# that survived the last, would otherwise hold every time (the survivors are frozen, so they count nothing),
# and a commit would walk what it made a dozen times. What is left is collected by the next settle.
OLDEST_EVERY = 100

# Freezing and the thresholds are the process's, not one Heap's: two services in a process (tests, replicas)
# share them; the last to release restores them.
_process_lock = threading.Lock()
_holders = 0
_saved: tuple[int, int, int] | None = None


def _hold() -> None:
    global _holders, _saved
    with _process_lock:
        if _holders == 0:
            _saved = gc.get_threshold()
            young, middle, oldest = _saved
            gc.set_threshold(young, middle, max(oldest, OLDEST_EVERY))
        _holders += 1


def _let_go() -> None:
    global _holders, _saved
    with _process_lock:
        _holders -= 1
        if _holders == 0:
            gc.unfreeze()
            if _saved is not None:
                gc.set_threshold(*_saved)
            _saved = None


class Heap:
    """Collect and freeze after each piece of work; a full collection every `full_every_s` seconds."""

    def __init__(self, full_every_s: float = FULL_EVERY_S, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.full_every_s = full_every_s
        self._clock = clock
        self._last_full: float | None = None
        self._lock = threading.Lock()
        self._holding = False
        self.settled = 0  # how many times, and the last settle's numbers (for tests and the log)
        self.last: tuple[bool, int, float] = (False, 0, 0.0)  # (full, objects collected, seconds)

    def settle(self) -> None:
        with self._lock:
            started = self._clock()
            full = self._last_full is None or started - self._last_full >= self.full_every_s
            if full:
                gc.unfreeze()
                self._last_full = started
            if not self._holding:
                _hold()
                self._holding = True
            collected = gc.collect()
            gc.freeze()
            took = self._clock() - started
            self.settled += 1
            self.last = (full, collected, took)
        log.debug("heap settled: %s collection, %d collected in %.3f s, %d objects frozen",
                  "full" if full else "young", collected, took, gc.get_freeze_count())

    def release(self) -> None:
        """The service stopped: once no other holds them, everything is unfrozen and the thresholds are
        CPython's again (the collector walks the whole heap as before)."""
        with self._lock:
            if self._holding:
                _let_go()
                self._holding = False
            self._last_full = None
