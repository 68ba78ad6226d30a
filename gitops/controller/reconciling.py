"""One reconcile: intake, decide, run the steps under a policy, record.

Called by `gitops.controller.service` (the loop thread, one reconcile at a time) with the `Work`
coalesced from a burst of triggers, and by tests directly. The path of one revision:

    intake.Intake.fetch        new commits recorded in the ledger, the branch head remembered
    intake.Intake.facts        the state, the head, the requested revision, the windows
    deciding.decide            converge which revision under which policy, or a drift check, or nothing
    steps.run_steps            checkout, validate, connect, plan | begin | restore data, apply, verify
    recording.Recorder         the run, the revision's status, the events (the outbox), the drift

Apply, rollback, auto-rollback and self-heal are the same steps under different `policy.Policy`s. After
an apply that fails, or whose post-apply checks fail, the last applied revision is applied again
under the auto-rollback policy (`settings.auto_rollback`), and both are recorded: the bad one as
`rolled_back`. A drift correction is a run of its own (kind `self-heal`) of the applied revision.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gitops import errors, events
from gitops.controller import backoff, steps
from gitops.controller import policy as policies
from gitops.controller.connecting import Ahead
from gitops.controller.deciding import Decision, decide
from gitops.controller.intake import Intake
from gitops.controller.recording import Patch, Recorder
from gitops.controller.steps import Attempt, Stop
from gitops.controller.systems import Convergence, LiveCache, Session
from gitops.controller.triggers import Work
from gitops.drivers.executing import ApplyEvent
from gitops.drivers.seam import CancelToken
from gitops.planner.plan import Plan
from gitops.settings import Settings
from gitops.source import CommitInfo, ConfigRepo
from gitops.store import Store

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
# Outcomes that fail an operator's request (`phoenix-gitops rollback --wait` exits 1 on them).
FAILED_ACTIONS = frozenset({"failed", "rolled_back", "rejected", "refused", "skipped", "waiting", "interrupted",
                            "error"})


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Outcome:
    """What a reconcile did, for the loop, the logs and the tests."""

    action: str = "none"  # none, applied, rejected, failed, rolled_back, waiting, skipped, healed, interrupted,
    #                       yielded (a drift check that gave way to waiting work)
    revision: str | None = None
    detail: str = ""
    records: list[str] = field(default_factory=list)  # shas whose status was written


class Reconciler:
    """Converges the registered systems to the config repo, recording everything in the ledger."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        repo: ConfigRepo,
        convergence: Convergence,
        *,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        dial: Callable[..., str | None] | None = None,
        stopping: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.repo = repo
        self.convergence = convergence
        self.clock = clock
        self.sleep = sleep
        self.dial = dial
        self.stopping = stopping or threading.Event()
        self.cancel = CancelToken(self.stopping)  # checked by the executor before each action
        self.recorder = Recorder(store)
        self.stats: dict[str, float] = {}
        # What the last reads found, per guest: a revision reads only what can have changed; a drift check
        # (every drift interval) reads everything.
        self.live_cache = LiveCache(max_age=settings.drift_interval, sweep_rps=settings.drift_rps)
        self._refused = ""  # this reconcile's explicit revision could not be taken: why

    # -- the entry point ---------------------------------------------------------------------

    def reconcile(self, work: Work) -> Outcome:
        """One reconcile of `work`; the API requests in it get their outcome recorded (`request-done`)."""
        self._refused = ""
        try:
            outcome = self._reconcile(work)
        except Exception as exc:
            self._requests_done(work, Outcome("error", detail=str(exc)[:500] or type(exc).__name__))
            raise
        self._requests_done(work, outcome)
        return outcome

    def _requests_done(self, work: Work, outcome: Outcome) -> None:
        action, detail = ("refused", self._refused) if self._refused else (outcome.action, outcome.detail)
        for request in work.requests:
            self.recorder.event(events.EventKind.REQUEST_DONE, f"request {request}: {action}"
                                + (f" ({detail[:200]})" if detail else ""),
                                events.RequestDone(request=request, action=action, revision=outcome.revision,
                                                   detail=detail[:2000]),
                                level="error" if action in FAILED_ACTIONS else "info", revision=outcome.revision)

    def _reconcile(self, work: Work) -> Outcome:
        self._count("reconciles")
        early = self._connect_early(work)
        try:
            return self._decide_and_run(work, early)
        finally:
            if early is not None and not early.handed:
                early.ahead.release()

    def _connect_early(self, work: Work) -> _Early | None:
        """A push was announced (a webhook): the systems' session is opened, and `cluster/resources` read,
        while the commit is fetched and recorded, not after (at 10,000 guests that read is the longest wait
        before the plan). Not when nothing would be applied anyway (suspended, pinned); a reconcile that
        converges nothing closes it unused."""
        if not work.fetch or work.trigger != "webhook" or work.revision or work.suspend is not None:
            return None
        state = self.store.get_state(drift=False)
        if state.suspended or state.pinned_revision:
            return None
        return _Early(steps.open_ahead(self._step_context()))

    def _decide_and_run(self, work: Work, early: _Early | None) -> Outcome:
        intake = Intake(self.settings, self.store, self.repo, self.recorder, self.clock)
        if work.suspend is not None:
            intake.suspend(work.suspend)
        head: CommitInfo | None = None
        if work.fetch:
            try:
                head = intake.fetch(work.trigger)
            except errors.PhoenixError as exc:
                self.recorder.phase("idle", last_error=str(exc))
                self.recorder.event(events.EventKind.FETCH_ERROR, str(exc), events.FetchFailed(error=str(exc)),
                                    level="error")
                log.error("fetch failed: %s", exc)
                return Outcome("waiting", detail=str(exc))
        facts = intake.facts(work, head)
        if work.revision and facts.requested is None:
            self._refused = facts.requested_error or f"{work.revision} is unknown"
        candidate = facts.pinned or facts.head  # what the loop converges to unless asked otherwise
        failed = candidate if facts.statuses.get(candidate or "") in backoff.RETRIED_STATUSES else None
        if failed and not self._scheduled(failed):
            self._schedule_retry(failed)  # it failed before any schedule was kept (e.g. before an upgrade)
        decision = decide(work, facts)
        self._pin(decision)
        if decision.do == "nothing":
            return Outcome("none", detail=decision.reason)
        if decision.do == "skip":
            self.recorder.phase(decision.phase or "idle")
            return Outcome("skipped", decision.target, decision.reason)
        assert decision.target is not None and decision.policy is not None
        if decision.do == "drift-check":
            return self._drift_check(decision.target, decision.policy, decision.phase or "idle")
        if decision.retry:
            self.recorder.retrying(decision.target, self._announce_retry(decision.target))
        try:
            outcome = self._converge(decision.target, decision.policy, early)
        finally:
            self.recorder.retrying_done()
        if outcome.action in ("failed", "rolled_back"):
            self._schedule_retry(decision.target)
        elif outcome.action == "applied" and self.store.get_state(drift=False).retry is not None:
            self.recorder.commit(Patch(retry=None))
        if outcome.action == "rejected" and decision.unpin_if_rejected:
            self.recorder.commit(Patch(pinned_revision=None))
        if outcome.action == "applied" and decision.supersede_on_success:
            self.recorder.superseded([r.sha for r in self.store.revisions_in_status("pending")
                                      if r.sha != decision.target])
        return outcome

    # -- failed revisions, tried again ------------------------------------------------------

    def _scheduled(self, sha: str) -> bool:
        schedule = self.store.get_state(drift=False).retry
        return schedule is not None and schedule.sha == sha

    def _schedule_retry(self, sha: str) -> None:
        """Back off before trying the failed `sha` again (a newer head makes the schedule moot)."""
        schedule = backoff.after_failure(self.store.get_state(drift=False).retry, sha, self.clock(),
                                         self.settings.retry_interval, self.settings.retry_max_interval)
        self.recorder.commit(Patch(retry=schedule))
        log.info("%s failed: trying again after %s", sha[:12], schedule.due_at.isoformat(), extra={"revision": sha})

    def _announce_retry(self, sha: str) -> int:
        """The retry event; returns how many attempts failed before this one."""
        schedule = self.store.get_state(drift=False).retry
        failures = schedule.attempt if schedule is not None else 1
        error = self.store.get_revision(sha).error or ""
        self.recorder.event(events.EventKind.RETRY,
                            f"trying {sha[:12]} again (attempt {failures + 1}) after: {error}",
                            events.RetryStarted(attempt=failures + 1, error=error, quiet=True),
                            revision=sha)
        return failures

    # -- converge one revision ---------------------------------------------------------------

    def _converge(self, sha: str, policy: policies.Policy, early: _Early | None = None) -> Outcome:
        state = self.store.get_state(drift=False)
        previous = state.applied_revision if state.applied_revision != sha else self._previous_of(sha)
        attempt = Attempt(sha, policy.trigger, previous, restore_data=policy.restore_data)
        if early is not None and not early.handed and not policy.self_heal:
            attempt.connecting, early.handed = early.ahead, True  # the attempt takes it, or releases it
        self.recorder.commit(Patch(target_revision=sha))
        stop = self._run(attempt, policy)
        if stop is None:
            self.recorder.finish(attempt, policy, "applied")
            self.recorder.drift(attempt.drift, phase="idle", last_error=None)  # one write
            if policy.kind == "rollback" and state.applied_revision and state.applied_revision != sha:
                self._mark_left(state.applied_revision, sha)
            self._count("applied")
            return Outcome("applied", sha, records=[sha])
        rolls_back = (stop.status == "failed" and stop.changed_live and policy.roll_back_on_failure
                      and attempt.previous not in (None, sha))
        # an auto-rollback follows: its `auto-rollback` and `rolled_back` events tell this failure
        self.recorder.finish(attempt, policy, stop.status, error=stop.error, quiet=rolls_back)
        self._count(stop.status)
        if stop.status == "pending":
            self.recorder.phase("idle", last_error=stop.error)
            return Outcome("interrupted" if self.stopping.is_set() else "waiting", sha, stop.error, [sha])
        self.recorder.phase("failed" if stop.status == "failed" else "idle", last_error=stop.error)
        if rolls_back:
            return self._auto_rollback(attempt, stop)
        return Outcome(stop.status, sha, stop.error, [sha])

    def _run(self, attempt: Attempt, policy: policies.Policy) -> Stop | None:
        started = time.monotonic()
        try:
            return steps.run_steps(self._step_context(), attempt, policy,
                                   lambda a: self.recorder.begin(a, policy))
        finally:
            steps.release(attempt)
            self.stats["last_reconcile_s"] = time.monotonic() - started

    def _previous_of(self, sha: str) -> str | None:
        """For an attempt re-running the applied revision: keep the previous it recorded."""
        try:
            return self.store.get_revision(sha).previous_sha
        except errors.NotFoundError:
            return None

    def _auto_rollback(self, attempt: Attempt, stop: Stop) -> Outcome:
        previous = attempt.previous
        if previous is None or previous == attempt.sha:
            return Outcome("failed", attempt.sha, stop.error, [attempt.sha])
        message = f"{attempt.sha[:12]} failed; rolling back to {previous[:12]}"
        log.warning(message, extra={"revision": attempt.sha})
        self.recorder.event(events.EventKind.AUTO_ROLLBACK, message,
                            events.AutoRollback(to=previous, error=stop.error), level="warning", revision=attempt.sha)
        self.recorder.phase("rolling_back")
        self.recorder.hushed = True  # the re-apply of `previous` is told by this event and `rolled_back`
        try:
            back = self._converge(previous, policies.AUTO_ROLLBACK)
        finally:
            self.recorder.hushed = False
        if back.action == "applied":
            self.recorder.status(attempt.sha, "rolled_back", error=f"{stop.error} -- rolled back to {previous[:12]}")
            self._count("auto_rollbacks")
            return Outcome("rolled_back", attempt.sha, stop.error, [attempt.sha, previous])
        self.recorder.event(events.EventKind.AUTO_ROLLBACK_FAILED, f"rollback to {previous[:12]} failed: {back.detail}",
                            events.AutoRollbackFailed(to=previous, error=back.detail), level="error",
                            revision=attempt.sha)
        return Outcome("failed", attempt.sha, f"{stop.error}; the rollback failed too: {back.detail}",
                       [attempt.sha, previous])

    def _mark_left(self, left: str, now_applied: str) -> None:
        """The revision that was applied before a rollback: `rolled_back`."""
        record = self.store.get_revision(left)
        if record.status == "applied":
            self.recorder.status(left, "rolled_back", error=f"rolled back to {now_applied[:12]}",
                                 finished_at=record.finished_at)

    def recover_interrupted(self) -> list[str]:
        """At start-up (or on becoming leader): revisions left `applying` by a crash go back to `pending`,
        so this reconcile applies them again (or supersedes them if the head moved on). What this replica
        read before (while another led) is forgotten: the first plan reads everything."""
        self.live_cache.expire()
        shas = [r.sha for r in self.store.revisions_in_status("applying")]
        for sha in shas:
            self.recorder.status(sha, "pending", error="interrupted: the controller stopped during its apply; "
                                 "applied again")
        for run in self.store.list_runs(1000, status="running"):  # their process is gone
            self.recorder.interrupted(run, "interrupted: the controller stopped during this run")
        return shas

    # -- drift -------------------------------------------------------------------------------

    def _drift_check(self, sha: str, policy: policies.Policy, idle_phase: str) -> Outcome:
        """The self-heal policy through the same steps: a plan of the applied revision (secrets checked);
        no drift: nothing; drift: recorded, and corrected as a run of its own unless the policy or the
        plan forbids it (plan errors, missing secrets: recorded, never applied)."""
        attempt = Attempt(sha, policy.trigger, self._previous_of(sha))
        stop = self._run(attempt, policy)
        if stop is not None and stop.status == "yielded":  # other work waits: it goes first, this comes after
            self.recorder.phase(idle_phase)
            return Outcome("yielded", sha, stop.error)
        found = attempt.found
        if stop is not None and found is None:  # the check itself could not run
            if stop.status == "rejected":
                self.recorder.phase(idle_phase)
                return Outcome("none", sha, "the applied revision no longer validates")
            self.recorder.phase("idle", last_error=stop.error)
            return Outcome("waiting", sha, stop.error)
        assert found is not None
        if stop is not None and stop.status == "in-sync":
            self.recorder.drift(found)
            self.recorder.phase(idle_phase)
            return Outcome("none", sha, "in sync")
        targets = attempt.corrected()
        began = attempt.run_id is not None  # a correction run began: something may be applied
        if began:
            reason = ""
        elif stop is not None and stop.status == "not-corrected":
            reason = stop.error if policy.heal else policy.not_healed
        else:
            reason = stop.error if stop is not None else ""
        self.recorder.drift(found)
        self.recorder.event(events.EventKind.DRIFT, f"drift on {', '.join(targets[:10])}",
                            events.DriftFound(revision=sha, targets=targets, counts=found.counts(),
                                              corrected=began, reason=reason),
                            level="warning", revision=sha)
        log.warning("drift on %s", ", ".join(targets[:10]), extra={"revision": sha})
        if stop is not None and stop.status == "not-corrected":
            if policy.heal:  # wanted, but the plan cannot be applied: a run that says why
                self.recorder.not_corrected(attempt, policy, stop.error)
            self.recorder.phase(idle_phase, last_error=stop.error if policy.heal else None)
            return Outcome("none", sha, "drift recorded, not corrected" + (f": {stop.error}" if policy.heal else ""))
        if stop is not None and not began:  # stopped (SIGTERM) or unreachable before the correction began
            self.recorder.phase("idle", last_error=stop.error)
            return Outcome("interrupted" if self.stopping.is_set() else "waiting", sha, stop.error)
        assert attempt.run_id is not None
        error = None if stop is None else stop.error
        self.recorder.finish(attempt, policy, "applied" if stop is None else stop.status, error)
        self.recorder.drift(attempt.drift)
        self.recorder.event(events.EventKind.SELF_HEAL,
                            f"corrected drift on {', '.join(targets[:10])}" + (f" (failed: {error})" if error else ""),
                            events.DriftCorrected(revision=sha, run=attempt.run_id, targets=targets,
                                                  ok=stop is None, error=error),
                            level="info" if stop is None else "error", revision=sha)
        self._count("heals")
        self.recorder.phase("idle", last_error=error)
        if stop is None:
            return Outcome("healed", sha, ", ".join(targets))
        if stop.status == "pending":
            return Outcome("interrupted" if self.stopping.is_set() else "waiting", sha, stop.error)
        return Outcome("failed", sha, stop.error)

    # -- small things ------------------------------------------------------------------------

    def _step_context(self) -> steps.StepContext:
        return steps.StepContext(
            settings=self.settings, repo=self.repo, store=self.store,
            convergence=self.convergence.using(self.settings), cancel=self.cancel,
            clock=self.clock, sleep=self.sleep, dial=self.dial, phase=self.recorder.phase,
            on_action=self._on_action, on_data_rollback=self._data_rollback, live_cache=self.live_cache,
        )

    def _on_action(self, revision: str) -> Callable[[ApplyEvent], None]:
        log_event = _action_logger(revision)

        def on_event(event: ApplyEvent) -> None:
            log_event(event)
            self.recorder.action(event)
        return on_event

    def _data_rollback(self, sha: str, snapshot: str, plan: Plan) -> None:
        message = plan.warnings[0].message
        log.warning(message, extra={"revision": sha})
        self.recorder.event(events.EventKind.DATA_ROLLBACK, message,
                            events.DataRollback(snapshot=snapshot, targets=[a.target for a in plan.actions]),
                            level="warning", revision=sha)

    def _pin(self, decision: Decision) -> None:
        if decision.pin and decision.target:
            self.recorder.commit(Patch(pinned_revision=decision.target))
            self.recorder.event(events.EventKind.ROLLBACK,
                                f"rollback to {decision.target[:12]} requested; pinned until resumed",
                                events.RollbackRequested(to=decision.target, restore_data=bool(
                                    decision.policy and decision.policy.restore_data)),
                                revision=decision.target)
        elif decision.unpin and decision.target:
            self.recorder.commit(Patch(pinned_revision=None))
            self.recorder.event(events.EventKind.UNPIN, f"explicit sync of {decision.target[:12]} lifts the pin",
                                events.Unpinned(revision=decision.target), revision=decision.target)

    def _count(self, name: str) -> None:
        self.stats[name] = self.stats.get(name, 0) + 1


@dataclass
class _Early:
    """A session opened at the start of a reconcile (`Reconciler._connect_early`), until an attempt takes it."""

    ahead: Ahead[Session]
    handed: bool = False


def _action_logger(revision: str) -> Callable[[ApplyEvent], None]:
    """A listener that logs every action's outcome with its guest and revision."""
    def on_event(event: ApplyEvent) -> None:
        if event.kind in ("finished", "skipped"):
            level = logging.INFO if event.status == "ok" else logging.WARNING
            log.log(level, f"{event.action} {event.status}" + (f": {event.message}" if event.message else ""),
                    extra={"revision": revision, "guest": event.target, "status": event.status})
    return on_event
