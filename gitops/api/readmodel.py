"""The read API's answers kept in memory: `/api/v1/status`, `/api/v1/resources` and `/metrics` are
rendered once and served as bytes until something changes.

Used by `gitops.api.app`. An answer is rendered again when the ledger was written through this
process's store (`Store.write_version`), when what the controller reports itself (leader, busy, its
counters) changed, or when it is older than `max_age` seconds (another replica may have written the
ledger). Fifty clients polling the status page cost one ledger read per change, not one per request;
one thread renders while the others wait for its result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass
class _Entry:
    key: Hashable
    at: float
    body: bytes


class ReadModel:
    """Rendered answers by name; `get(name, key, render)` renders only when `key` changed or it aged."""

    def __init__(self, max_age: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.renders = 0  # for tests and the benchmark: how often an answer was rendered

    def get(self, name: str, key: Hashable, render: Callable[[], bytes]) -> bytes:
        entry = self._fresh(name, key)
        if entry is not None:
            return entry.body
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            entry = self._fresh(name, key)  # rendered by another thread while this one waited
            if entry is not None:
                return entry.body
            started = self.clock()
            body = render()
            self.renders += 1
            self._entries[name] = _Entry(key, started, body)
            return body

    def _fresh(self, name: str, key: Hashable) -> _Entry | None:
        entry = self._entries.get(name)
        if entry is None or entry.key != key or self.clock() - entry.at > self.max_age:
            return None
        return entry
