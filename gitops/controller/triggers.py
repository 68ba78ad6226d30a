"""Triggers (poll, webhook, manual sync, rollback, suspend, resume, drift) and the one queue they share.

Everything that may start a reconcile puts a `Trigger` here: the service's timers, the API's routes,
the webhook route. The service's loop thread `take`s every trigger waiting at once, and `coalesce`
turns that burst into one `Work`: a burst of triggers is one reconcile. Only the loop thread acts, so
only one reconcile ever runs at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

TriggerKind = Literal["poll", "webhook", "manual", "rollback", "suspend", "resume", "drift", "startup"]
TRIGGER_KINDS: tuple[str, ...] = get_args(TriggerKind)


@dataclass(frozen=True)
class Trigger:
    """A request for the loop. `revision`: for `rollback` the revision to go back to; for `manual` an
    explicit commit to sync (which also lifts a pin); for `webhook` the pushed head (informational)."""

    kind: TriggerKind
    revision: str | None = None
    restore_data: bool = False
    source: str = ""  # who asked: `api`, `github`, `timer`...
    request: str = ""  # the API's id for this request: its outcome is recorded (`request-done`) for `--wait`
    targets: tuple[str, ...] = ()  # `manual` only: sync these resources (and what they depend on), not all
    once: bool = False  # `request` comes from an Idempotency-Key: queued at most once, whichever replica is asked


@dataclass
class Work:
    """What one reconcile does, decided from a burst of triggers."""

    fetch: bool = False
    drift_check: bool = False
    force: bool = False  # an operator asked: apply even if suspended, outside windows, or already failed
    trigger: str = "poll"  # the ledger's trigger name for new revisions and applies
    revision: str | None = None  # explicit target (rollback or explicit sync)
    pin: bool = False  # rollback: keep `revision` until resumed
    restore_data: bool = False
    suspend: bool | None = None  # True: suspend; False: resume (unpin, unsuspend); None: unchanged
    kinds: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # the ids of the API requests in the burst
    targets: tuple[str, ...] = ()  # a targeted sync of these resources (a full sync in the burst wins)

    @property
    def empty(self) -> bool:
        return not (self.fetch or self.drift_check or self.revision or self.suspend is not None or self.targets)


def coalesce(triggers: Iterable[Trigger]) -> Work:
    """One `Work` for a burst, in arrival order: the last rollback or explicit sync wins, a resume lifts
    an earlier rollback's pin, a suspend after a resume wins (and the other way round)."""
    work = Work()
    for t in triggers:
        work.kinds.append(t.kind)
        if t.request:
            work.requests.append(t.request)
        if t.kind in ("poll", "webhook", "startup"):
            work.fetch = True
            work.drift_check = work.drift_check or t.kind == "startup"  # after a restart, look for drift
            if work.trigger not in ("manual", "rollback"):
                work.trigger = "startup" if t.kind == "startup" else t.kind
        elif t.kind == "drift":
            work.drift_check = True
            if not work.kinds[:-1]:
                work.trigger = "drift"
        elif t.kind == "manual" and t.targets:
            work.targets = tuple(dict.fromkeys(work.targets + t.targets))
        elif t.kind == "manual":
            work.fetch = work.force = True
            work.trigger = "manual"
            if t.revision:
                work.revision, work.pin, work.restore_data = t.revision, False, False
            work.drift_check = True
        elif t.kind == "rollback" and t.revision:
            work.fetch = work.force = work.pin = True
            work.trigger = "rollback"
            work.revision, work.restore_data = t.revision, t.restore_data
        elif t.kind == "suspend":
            work.suspend = True
        elif t.kind == "resume":
            work.suspend = False
            work.fetch = work.force = True
            if work.pin:  # a rollback followed by a resume in one burst: the resume wins
                work.revision, work.pin, work.restore_data = None, False, False
            work.trigger = "manual"
    return work


def handed_over(kind: str, revision: str | None, restore_data: bool, source: str,
                request: str = "", targets: tuple[str, ...] = ()) -> Trigger | None:
    """The trigger a follower kept in the ledger (None for a kind this version does not know)."""
    if kind not in TRIGGER_KINDS:
        return None
    return Trigger(cast(TriggerKind, kind), revision=revision, restore_data=restore_data,
                   source=f"{source} (via a follower)", request=request,
                   targets=targets if kind == "manual" else ())


class TriggerQueue:
    """A thread-safe queue of triggers; `take` hands out everything waiting in one go."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._items: list[Trigger] = []
        self._cond = threading.Condition()
        self._closed = False
        self.received = 0

    def put(self, trigger: Trigger) -> None:
        with self._cond:
            self._items.append(trigger)
            self.received += 1
            self._cond.notify_all()

    def take(self, timeout: float | None = None, *, settle: float = 0.0) -> list[Trigger]:
        """Every trigger waiting, after waiting up to `timeout` seconds for the first one; then up to
        `settle` seconds more for the rest of a burst. Empty after the timeout or once closed."""
        with self._cond:
            deadline = None if timeout is None else self._clock() + timeout
            while not self._items and not self._closed:
                left = None if deadline is None else deadline - self._clock()
                if left is not None and left <= 0:
                    return []
                self._cond.wait(left)
            if settle > 0 and not self._closed:
                self._cond.wait(settle)  # let the rest of a burst arrive
            items, self._items = self._items, []
            return items

    def pending(self) -> int:
        with self._cond:
            return len(self._items)

    def holds(self, kinds: Collection[str]) -> bool:
        """Whether a trigger of one of `kinds` waits (it stays queued)."""
        with self._cond:
            return any(t.kind in kinds for t in self._items)

    def close(self) -> None:
        """Wake the taker for good: the service is stopping."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
