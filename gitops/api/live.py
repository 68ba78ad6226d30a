"""Live updates: `GET /api/v1/live`, a server-sent event stream fed by the outbox (the event table).

`create_app` keeps one `LiveFeed` on `app.state.live`; the route is `gitops.api.routes.live`. The pages'
script (`static/live.js`) subscribes with `EventSource` and refreshes what it shows when something
arrives (no polling).

The stream carries three kinds of message:

    id: 42                      a ledger event, in id order; its `id` is the event's, so a reconnecting
    event: ledger               browser (EventSource sends `Last-Event-ID`) resumes after the last one it
    data: {"id": 42, ...}       saw: nothing is lost across a restart of the controller or a dropped link

    event: state                the controller's state changed without an event (phase, drift check,
    data: {"phase": ...}        resource states): carries no id, so it does not move the resume point

    event: reset                the client was too far behind to replay (over REPLAY_MAX events): reload

A first connection without `Last-Event-ID` starts after `?after=ID` (the newest event id when the page
was rendered), or at the newest event. One `LiveFeed` per app reads the ledger for every subscriber: at
once after a write through this process's store (`Store.write_version`), and at least every `max_age`
seconds for writes of other replicas, so a hundred open dashboards cost one ledger read per change.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from gitops.store import ControllerState, EventRecord, Store

REPLAY_MAX = 1000  # events replayed to a reconnecting client; further behind, it is told to reset
KEEP_ALIVE_S = 15.0  # a comment line this often keeps proxies from closing an idle stream
RETRY_MS = 1000  # how soon a browser reconnects after the stream dropped
# The state fields whose change is news (times of polls and heartbeats are not).
STATE_FIELDS = ("applied_revision", "target_revision", "pinned_revision", "suspended", "drift", "last_drift",
                "phase", "last_error", "leader_id", "branch_head")


@dataclass(frozen=True, slots=True)
class Message:
    """One server-sent event; `id` only for ledger events (the resume point)."""

    event: str
    data: dict[str, Any]
    id: int | None = None

    def encode(self) -> bytes:
        head = f"id: {self.id}\n" if self.id is not None else ""
        body = json.dumps(self.data, default=str, separators=(",", ":"))
        return f"{head}event: {self.event}\ndata: {body}\n\n".encode()


def event_message(record: EventRecord) -> Message:
    return Message("ledger", {"id": record.id, "at": record.at.isoformat(), "level": record.level,
                              "kind": record.kind, "message": record.message, "revision": record.revision,
                              "data": record.data}, id=record.id)


def state_summary(state: ControllerState) -> dict[str, Any]:
    report = state.drift_report
    return {"phase": state.phase, "applied_revision": state.applied_revision,
            "target_revision": state.target_revision, "suspended": state.suspended, "pinned": state.pinned,
            "drift": state.drift, "counts": report.counts() if report is not None else {}}


def state_fingerprint(state: ControllerState) -> str:
    text = json.dumps({name: getattr(state, name) for name in STATE_FIELDS}, default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class LiveFeed:
    """Reads the ledger for every subscriber and hands each one the new events and state changes.

    Runs as one task on the server's event loop while anyone listens; ledger reads run in a thread."""

    def __init__(self, store: Store, *, poll_s: float = 0.05, max_age: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.poll_s = poll_s
        self.max_age = max_age
        self.monotonic = monotonic
        self._queues: set[asyncio.Queue[Message]] = set()
        self._task: asyncio.Task[None] | None = None
        self.reads = 0  # ledger reads, for tests and the benchmark

    def subscribe(self) -> asyncio.Queue[Message]:
        queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=REPLAY_MAX)
        self._queues.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="phoenix-live-feed")
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Message]) -> None:
        self._queues.discard(queue)

    async def _run(self) -> None:
        position, fingerprint = await run_in_threadpool(self._start)
        seen_version, read_at = self.store.write_version, self.monotonic()
        while self._queues:
            await asyncio.sleep(self.poll_s)
            version = self.store.write_version
            if version == seen_version and self.monotonic() - read_at < self.max_age:
                continue
            seen_version, read_at = version, self.monotonic()
            try:
                records, state = await run_in_threadpool(self._read, position)
            except Exception:  # the ledger unreachable for a moment: the next round tries again
                continue
            for record in records:
                position = max(position, record.id)
                self._publish(event_message(record))
            now = state_fingerprint(state)
            if now != fingerprint:
                fingerprint = now
                self._publish(Message("state", state_summary(state)))

    def _start(self) -> tuple[int, str]:
        self.reads += 1
        return self.store.latest_event_id(), state_fingerprint(self.store.get_state())

    def _read(self, position: int) -> tuple[list[EventRecord], ControllerState]:
        self.reads += 1
        return self.store.events_after(position, REPLAY_MAX), self.store.get_state()

    def _publish(self, message: Message) -> None:
        for queue in list(self._queues):
            if queue.full():  # a subscriber that stopped reading loses its oldest message and starts over
                queue.get_nowait()
                queue.put_nowait(Message("reset", {"reason": "too far behind"}))
                continue
            queue.put_nowait(message)

    async def stream(self, after: int | None) -> AsyncIterator[bytes]:
        """The messages for one subscriber: the events after `after` (None: from now), then live ones."""
        queue = self.subscribe()
        try:
            yield f"retry: {RETRY_MS}\n\n".encode()
            if after is None:
                last = await run_in_threadpool(self.store.latest_event_id)
            else:
                backlog = await run_in_threadpool(self.store.events_after, after, REPLAY_MAX + 1)
                if len(backlog) > REPLAY_MAX:
                    last = await run_in_threadpool(self.store.latest_event_id)
                    yield Message("reset", {"reason": "too far behind", "last": last}).encode()
                else:
                    last = after
                    for record in backlog:
                        last = record.id
                        yield event_message(record).encode()
            yield Message("hello", {"last": last}).encode()
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), KEEP_ALIVE_S)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if message.id is not None:
                    if message.id <= last:
                        continue  # replayed already
                    last = message.id
                yield message.encode()
        finally:
            self.unsubscribe(queue)


def event_id(header: str | None) -> int | None:
    """The resume point a browser sent; an unreadable one means from now (never an error: it reconnects)."""
    if header is None or not header.strip().isdigit() or len(header.strip()) > 18:
        return None
    return int(header.strip())
