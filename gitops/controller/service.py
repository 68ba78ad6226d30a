"""The controller service: one loop thread that takes triggers, coalesces them and reconciles.

Started by the CLI's `serve` (and `demo`), which also runs the HTTP API; the API only `request`s
triggers and reads the ledger. The loop:

- takes leadership (PostgreSQL advisory lock; always granted on SQLite) before doing anything, and
  heartbeats it; a replica that is not the leader waits and tries again;
- on becoming leader, puts back to `pending` the revisions a crash left `applying`, and reconciles;
- polls every `poll_interval` seconds and runs a drift check every `drift_interval` seconds, both as
  triggers in the same queue as the API's; the timer's drift check gives way: when a push, a sync or a
  rollback (`GIVE_WAY_TO`) arrives during its full read (to this replica, or to a follower, which keeps it
  in the ledger), the read stops, that work runs, and the drift check runs right after it;
- after each reconcile, collects what it left and freezes the rest out of the collector (`heap`), so a
  large estate's cache is not walked by every collection of the next commit;
- beats its `liveness` at every turn (and the apply at every step): `wedged` tells the liveness probe
  when it has not for longer than `liveness.wedged_after` (the loop is stuck: restart the process);
- stops when asked (SIGTERM through uvicorn's shutdown): the actions already running finish, no new
  one starts, the revision is recorded, the thread ends;
- on a follower, a trigger the API receives (sync, rollback, suspend, resume, webhook) is kept in the
  ledger's requests queue; the leader takes those at least every REQUEST_POLL_S seconds, so a load
  balancer may send writes to any replica.

Beside the loop, in threads of their own so neither can hold it up: pull-request reviews
(`pullrequests`, fed by the API's webhook route through `review`) and the outbox dispatcher
(`outbox`: notifications and deploy statuses, delivered by the leader).

Clock and queue are injected, so tests drive the loop with short intervals and no real waiting.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from gitops import errors, events
from gitops.controller import liveness
from gitops.controller.forging import Forges
from gitops.controller.heap import Heap
from gitops.controller.outbox import Consumer, OutboxDispatcher, known_secret_values
from gitops.controller.pullrequests import PullRequestReviews
from gitops.controller.reconciling import Outcome, Reconciler
from gitops.controller.recording import Patch
from gitops.controller.statuses import DeployStatuses
from gitops.controller.systems import Convergence
from gitops.controller.triggers import Trigger, TriggerQueue, coalesce, handed_over
from gitops.notify import targets_from
from gitops.retrying import RetryPolicy
from gitops.settings import Settings
from gitops.source import ConfigRepo, PullRequestEvent
from gitops.store import RequestRecord, Store

log = logging.getLogger(__name__)

FOLLOWER_RETRY_S = 2.0
REQUEST_POLL_S = 1.0  # how often the leader looks for requests handed over by followers
SETTLE_S = 0.05  # a burst of triggers arriving within this is one reconcile
GIVE_WAY_TO = ("webhook", "manual", "rollback", "resume", "suspend")  # what a timer's drift check stops for


class Service:
    """The reconcile loop in a thread of its own, and the port the API talks to."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        repo: ConfigRepo,
        convergence: Convergence,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        identity: str | None = None,
        settle_s: float = SETTLE_S,
        reconciler: Reconciler | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.repo = repo
        self.monotonic = monotonic
        self.identity = identity or f"{socket.gethostname()}:{os.getpid()}"
        self.settle_s = settle_s
        self.stopping = threading.Event()
        self.queue = TriggerQueue(monotonic)
        self.reconciler = reconciler or Reconciler(settings, store, repo, convergence, stopping=self.stopping)
        # the timer's drift check stops its full read for waiting work, and for a stop
        self.reconciler.live_cache.yield_to = self._work_waits
        self._asked_lock = threading.Lock()
        self._asked_at: float | None = None  # when the ledger was last asked for a follower's request
        self._ledger_waits = False  # ... and what it answered
        self.leader = False
        self._said_follower = False
        self.ready = False
        self.busy = False
        self.last_outcome: Outcome | None = None
        # what survives a reconcile is frozen out of the collector's walks (controller/heap.py; PHOENIX_GC_FREEZE)
        self.heap = Heap() if settings.gc_freeze else None
        self._thread: threading.Thread | None = None
        self.liveness = self.reconciler.recorder.liveness  # the loop beats it at every turn, the apply in between
        self.wedged_after = liveness.wedged_after(settings)
        secrets = known_secret_values(settings)
        self.forges = Forges(settings)
        self.reviews = (PullRequestReviews(settings, store, repo, convergence, self.forges, secrets=secrets)
                        if settings.pr_reviews else None)
        # the outbox retries by itself: its forge calls give up fast instead of holding the other consumers
        self.status_forges = Forges(settings, policy=RetryPolicy(attempts=2, max_delay=10.0))
        self.outbox = OutboxDispatcher(store, outbox_consumers(settings, self.status_forges), secrets=secrets,
                                       public_url=settings.public_url, is_leader=lambda: self.leader)

    # -- the API's port ----------------------------------------------------------------------

    def request(self, trigger: Trigger) -> RequestRecord | None:
        """The leader queues the trigger; a follower hands it to the leader through the ledger
        (StoreError when the ledger cannot be reached: the API answers 503). A `once` trigger is first kept
        in the ledger under its request id: when one with that id is there already (a replay, sent to any
        replica), nothing is queued and that earlier request is returned."""
        if trigger.once:
            earlier, fresh = self.store.queue_request_once(
                trigger.kind, request=trigger.request, revision=trigger.revision, restore_data=trigger.restore_data,
                source=trigger.source, targets=trigger.targets, taken_by=self.identity if self.leader else None)
            if not fresh:
                return earlier
            if not self.leader:
                return None
        if self.leader:
            self.queue.put(trigger)
            self.outbox.wake.set()
            return None
        self.store.queue_request(trigger.kind, revision=trigger.revision, restore_data=trigger.restore_data,
                                 source=trigger.source, request=trigger.request, targets=trigger.targets)
        return None

    def review(self, event: PullRequestEvent) -> bool:
        """Queue a read-only review of a pull request (any replica reviews: nothing is applied);
        False when reviews are turned off."""
        if self.reviews is None:
            return False
        self.reviews.submit(event)
        return True

    @property
    def stats(self) -> dict[str, float]:
        return dict(self.reconciler.stats)

    def wedged(self) -> str | None:
        """Why the loop counts as wedged (the liveness probe fails), or None while it is alive."""
        return liveness.wedged(self.liveness, self.wedged_after, self._thread, self.stopping)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="phoenix-reconcile", daemon=True)
        self._thread.start()
        if self.reviews is not None:
            self.reviews.start()
        self.outbox.start()

    def stop(self, timeout: float = 120.0) -> bool:
        """Ask the loop to end after the actions running now; True when it ended within `timeout`."""
        self.stopping.set()
        self.queue.close()
        if self.reviews is not None:
            self.reviews.stop(timeout=min(timeout, 30.0))
        self.outbox.stop()
        self.forges.close()
        self.status_forges.close()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        ended = not self._thread.is_alive()
        if ended and self.leader:
            self.store.release_leadership()
            self.leader = False
        return ended

    def run(self) -> None:
        """The loop; returns once `stop` was called."""
        next_poll = self.monotonic()
        next_drift = self.monotonic() + self.settings.drift_interval
        gave_way = False  # the last drift check stopped for waiting work: it runs once that work is done
        while not self.stopping.is_set():
            self.liveness.beat()
            if not self._lead():
                self.queue.take(FOLLOWER_RETRY_S)  # triggers sent to a follower are dropped
                continue
            now = self.monotonic()
            wait = max(0.0, min(next_poll, next_drift, now + REQUEST_POLL_S) - now)
            batch = self.queue.take(wait, settle=self.settle_s)
            if self.stopping.is_set():
                break
            batch += self._handed_over()
            now = self.monotonic()
            if now >= next_poll:
                batch.append(Trigger("poll", source="timer"))
            if now >= next_drift and not gave_way:
                batch.append(Trigger("drift", source="timer"))
                next_drift = now + self.settings.drift_interval
            work = coalesce(batch)
            if work.empty:
                continue
            outcome = self._reconcile(work)
            if work.fetch:
                next_poll = self.monotonic() + self.settings.poll_interval
            if work.drift_check:
                next_drift = self.monotonic() + self.settings.drift_interval
            if gave_way:  # what the drift check gave way to is done: the check is due now
                gave_way, next_drift = False, self.monotonic()
            if outcome is not None and outcome.action == "yielded":
                gave_way = True  # the waiting work first: the heap settles after it
            elif self.heap is not None:
                self.heap.settle()
        if self.heap is not None:
            self.heap.release()
        log.info("controller loop stopped")

    # -- parts -------------------------------------------------------------------------------

    def _lead(self) -> bool:
        """Whether this replica leads (taking the lead when free); heartbeats while it does."""
        try:
            if self.leader and not self.store.is_leader():
                log.warning("lost the leadership")
                self.leader = False
            if not self.leader and not self.store.try_acquire_leadership():
                if not self._said_follower:  # once, not on every heartbeat
                    self._said_follower = True
                    holder = self.store.leadership_holder()
                    log.warning("another controller leads (%s): this one applies nothing and hands what it is "
                                "asked to the leader until the leader stops", holder)
                    self.reconciler.recorder.event(
                        events.EventKind.FOLLOWER, f"{self.identity} does not lead: {holder}",
                        events.Following(replica=self.identity, holder=holder), level="warning")
            elif not self.leader:
                self._said_follower = False
                self.leader = True
                log.info("leading as %s", self.identity)
                self.reconciler.recorder.event(events.EventKind.LEADER, f"{self.identity} leads",
                                               events.LeaderElected(identity=self.identity))
                interrupted = self.reconciler.recover_interrupted()
                if interrupted:
                    log.warning("%d revision(s) were interrupted while applying; applying again", len(interrupted))
                self.queue.put(Trigger("startup", source="leader"))
            if self.leader:
                self.reconciler.recorder.commit(Patch(leader_id=self.identity,
                                                      leader_heartbeat_at=self.reconciler.clock()))
            self.ready = True
        except errors.StoreError as exc:
            log.error("ledger unreachable: %s", exc)
            self.ready = False
            self.leader = False
        return self.leader

    def _work_waits(self) -> bool:
        """Whether the timer's drift check gives way (asked at each GET of its sweep): the service stops, or a
        push, sync, rollback, suspend or resume waits, queued here or kept in the ledger by a follower (the
        ledger is asked at most once every REQUEST_POLL_S seconds, whatever the sweep's threads)."""
        if self.stopping.is_set() or self.queue.holds(GIVE_WAY_TO):
            return True
        with self._asked_lock:
            now = self.monotonic()
            if self._asked_at is None or now - self._asked_at >= REQUEST_POLL_S:
                self._asked_at = now
                try:
                    self._ledger_waits = self.store.requests_waiting(GIVE_WAY_TO)
                except errors.StoreError:
                    self._ledger_waits = False  # the loop says the ledger is unreachable; the sweep goes on
            return self._ledger_waits

    def _handed_over(self) -> list[Trigger]:
        """The triggers followers kept in the ledger for the leader."""
        try:
            taken = self.store.take_requests(self.identity)
        except errors.StoreError as exc:
            log.error("ledger unreachable: %s", exc)
            return []
        if taken:
            with self._asked_lock:  # taken: the drift check that runs after them must not give way to them
                self._ledger_waits = False
        out = [t for r in taken
               if (t := handed_over(r.kind, r.revision, r.restore_data, r.source, r.request, r.targets)) is not None]
        if out:
            log.info("%d request(s) handed over by followers", len(out))
        return out

    def _reconcile(self, work: Any) -> Outcome | None:
        """One reconcile of `work`; its outcome (None when it raised: logged, the loop goes on)."""
        self.busy = True
        try:
            outcome = self.last_outcome = self.reconciler.reconcile(work)
            if outcome.action != "none":
                log.info("reconcile: %s %s", outcome.action, outcome.detail,
                         extra={"revision": outcome.revision, "trigger": work.trigger})
            return outcome
        except errors.PhoenixError as exc:
            log.error("reconcile failed: %s", exc)
        except Exception:  # a bug must not end the loop: the next trigger tries again
            log.exception("reconcile crashed")
            with contextlib.suppress(errors.StoreError):
                self.reconciler.recorder.phase("idle", last_error="internal error; see the logs")
        finally:
            self.busy = False
        return None


def outbox_consumers(settings: Settings, forges: Forges) -> list[Consumer]:
    """The notification targets of PHOENIX_NOTIFY, and deploy statuses when PHOENIX_FORGE is set."""
    consumers: list[Consumer] = list(targets_from(settings))
    if settings.forge:
        forge = forges.for_provider(settings.forge)
        if forge is not None:
            consumers.append(DeployStatuses(forge, settings.forge_repo, settings.status_context))
    return consumers
