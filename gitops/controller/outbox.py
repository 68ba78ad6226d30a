"""The outbox dispatcher: every event in the ledger reaches each consumer at least once, in order.

Started by the service (`serve`) beside the reconcile loop, in a thread of its own, so a slow or
dead notification target or forge never holds up a reconcile. Consumers are the notification
targets (`gitops.notify`) and the forge's deploy statuses (`gitops.controller.statuses`). For each
consumer the ledger keeps a cursor (`outbox_cursors`): the last event it handled. An event is
handed over, and only then the cursor moves, so a crash between the two sends it again after a
restart (at least once, never lost). A transient failure stops that consumer for a while (backoff,
doubling up to `max_backoff`), the others go on; a permanent one (the target refuses the message
for good) is logged and passed over. A new consumer starts at the newest event, not at the
beginning of history. Only the leader delivers, so replicas do not send twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from gitops import errors, secretvalues
from gitops.notify import Notification
from gitops.settings import Settings
from gitops.store import EventRecord, Store

log = logging.getLogger(__name__)
BATCH = 100


class Consumer(Protocol):
    label: str
    consumer: str

    def wants(self, kind: str) -> bool: ...

    def send(self, notification: Notification) -> None: ...


class OutboxDispatcher:
    def __init__(self, store: Store, consumers: Iterable[Consumer], *, secrets: Iterable[str] = (),
                 public_url: str = "", interval: float = 1.0, max_backoff: float = 300.0,
                 is_leader: Callable[[], bool] = lambda: True,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.consumers = list(consumers)
        self.secrets = [s for s in secrets if s]
        self.public_url = public_url.rstrip("/")
        self.interval = interval
        self.max_backoff = max_backoff
        self.is_leader = is_leader
        self.monotonic = monotonic
        self.stopping = threading.Event()
        self.wake = threading.Event()
        self._resume_at: dict[str, float] = {}
        self._backoff: dict[str, float] = {}
        self._thread: threading.Thread | None = None

    # -- one round ------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Hand every new event to every consumer that is not backing off; how many were delivered."""
        delivered = 0
        for consumer in self.consumers:
            if self.monotonic() < self._resume_at.get(consumer.consumer, 0.0):
                continue
            try:
                delivered += self._drain(consumer)
            except errors.StoreError as exc:
                log.warning("outbox: the ledger is unreachable: %s", exc)
                return delivered
            except Exception as exc:  # a bug in one consumer: it backs off, the others go on
                log.exception("outbox: %s crashed", consumer.label)
                self._back_off(consumer, exc)
        return delivered

    def _drain(self, consumer: Consumer) -> int:
        cursor = self.store.outbox_cursor(consumer.consumer)
        if cursor is None:  # a new consumer starts now, not at the beginning of history
            self.store.set_outbox_cursor(consumer.consumer, self.store.latest_event_id())
            return 0
        delivered = 0
        for event in self.store.events_after(cursor, BATCH):
            if consumer.wants(event.kind) and not _quiet(event):
                try:
                    consumer.send(self._notification(event))
                    delivered += 1
                except errors.TransientError as exc:
                    self._back_off(consumer, exc)
                    return delivered
                except errors.PhoenixError as exc:
                    log.error("outbox: %s refused event %d (%s) for good: %s", consumer.label, event.id,
                              event.kind, exc)
            self.store.set_outbox_cursor(consumer.consumer, event.id)
        self._backoff.pop(consumer.consumer, None)
        return delivered

    def _back_off(self, consumer: Consumer, exc: Exception) -> None:
        wait = min(self.max_backoff, max(self.interval, self._backoff.get(consumer.consumer, 0.0) * 2))
        self._backoff[consumer.consumer] = wait
        self._resume_at[consumer.consumer] = self.monotonic() + wait
        log.warning("outbox: %s failed, trying again in %.0fs: %s", consumer.label, wait, exc)

    def _notification(self, event: EventRecord) -> Notification:
        url = f"{self.public_url}/revisions/{event.revision}" if self.public_url and event.revision else None
        data = event.data if isinstance(event.data, dict) else None
        return Notification(event.id, event.kind, event.level, event.message, event.at, event.revision,
                            url, data).scrubbed([*self.secrets, *secretvalues.REGISTRY.values()])

    # -- the thread -------------------------------------------------------------------------------

    def prime(self) -> None:
        """Give every new consumer its cursor at the newest event, so it gets what happens from now on
        (called at start, before the loop can record anything). The cursors of consumers no longer
        configured are dropped: their backlog would only grow (and keep the outbox-backlog alert firing)."""
        gone = self.store.forget_outbox_cursors(c.consumer for c in self.consumers)
        if gone:
            log.info("outbox: forgot the cursors of %s (no longer configured)", ", ".join(gone))
        for consumer in self.consumers:
            if self.store.outbox_cursor(consumer.consumer) is None:
                self.store.set_outbox_cursor(consumer.consumer, self.store.latest_event_id())

    def start(self) -> None:
        try:
            self.prime()
        except errors.StoreError as exc:
            log.warning("outbox: the ledger is unreachable: %s", exc)
        if not self.consumers:
            return
        self._thread = threading.Thread(target=self.run, name="phoenix-outbox", daemon=True)
        self._thread.start()

    def run(self) -> None:
        while not self.stopping.is_set():
            if self.is_leader():
                try:
                    self.run_once()
                except Exception:  # a bug in one consumer must not end deliveries
                    log.exception("outbox round crashed")
            self.wake.wait(self.interval)
            self.wake.clear()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for consumer in self.consumers:  # a webhook target's connections
            close = getattr(consumer, "close", None)
            if callable(close):
                close()


def _quiet(event: EventRecord) -> bool:
    """An event notifications skip (an event payload's `quiet`, see `gitops.events`): a retry's, an
    auto-rollback's step."""
    return isinstance(event.data, dict) and event.data.get("quiet") is True


def known_secret_values(settings: Settings) -> list[str]:
    """Every secret value the controller holds (settings, secret files, PHOENIX_SECRET_* variables), registered
    in the process's one registry (`gitops.secretvalues`), which the logs read too. Scrubbed out of anything
    that leaves for a forge or a notification target."""
    return secretvalues.register_settings(settings)
