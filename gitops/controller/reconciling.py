"""One reconcile: fetch, choose the target, validate, plan, apply, verify, record.

Called by `gitops.controller.service` (the loop thread, one reconcile at a time) with the `Work`
coalesced from a burst of triggers, and by tests directly. Each step takes the `Attempt` and returns
None to go on or a `Stop` saying how the attempt ends and with which status: `rejected` (invalid,
never applied), `failed`, or `pending` (waiting: Proxmox unreachable, or the controller stopping; the
revision is tried again). `_record` is the one place that writes a revision's status; steps never do.

After an apply that fails, or whose post-apply checks fail, the last applied revision is applied
again (`settings.auto_rollback`), and both are recorded: the bad one as `rolled_back`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops import errors
from gitops.config.estate import Estate
from gitops.config.secretrefs import SecretResolver
from gitops.config.validation import validate_directory
from gitops.controller import checks, converging, drift, rollback, systems
from gitops.controller.triggers import Work
from gitops.drivers.executing import ApplyEvent, ApplyResult
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.drivers.seam import CancelToken, Drivers
from gitops.planner import desired as desired_mod
from gitops.planner import restoring
from gitops.settings import Settings
from gitops.source import CommitInfo, ConfigRepo
from gitops.store import RevisionRecord, Store

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
AUTOMATIC_STATUSES = frozenset({"pending", "applying"})


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Stop:
    """How an attempt ends early: the status to record and why."""

    status: str  # rejected, failed, pending
    error: str
    changed_live: bool = False  # something was applied: a rollback is worth it


@dataclass
class Attempt:
    """One revision being converged, and what each step found."""

    sha: str
    trigger: str
    previous: str | None  # the applied revision when the attempt began
    restore_data: bool = False
    directory: Path | None = None
    estate: Estate | None = None
    validation: dict[str, Any] | None = None
    drivers: Drivers | None = None
    run: converging.PlanRun | None = None
    plan: dict[str, Any] | None = None
    restore: ApplyResult | None = None
    result: ApplyResult | None = None
    checks: checks.CheckReport | None = None
    drift: drift.DriftReport | None = None
    snapshot: str | None = None

    def result_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"previous": self.previous, "snapshot": self.snapshot, "trigger": self.trigger}
        if self.restore is not None:
            out["restore"] = self.restore.to_dict()
        if self.result is not None:
            out["apply"] = self.result.to_dict()
        if self.checks is not None:
            out["checks"] = self.checks.to_dict()
        if self.drift is not None:
            out["remaining"] = [asdict_resource(r) for r in self.drift.resources if r.state in ("drifted", "missing")]
        return out


def asdict_resource(r: drift.Resource) -> dict[str, Any]:
    return {"target": r.target, "state": r.state, "actions": r.actions}


@dataclass
class Outcome:
    """What a reconcile did, for the loop, the logs and the tests."""

    action: str = "none"  # none, applied, rejected, failed, rolled_back, waiting, skipped, healed, interrupted
    revision: str | None = None
    detail: str = ""
    records: list[str] = field(default_factory=list)  # shas whose status was written


class Reconciler:
    """Converges Proxmox to the config repo, recording everything in the ledger."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        repo: ConfigRepo,
        connect: Callable[[], ProxmoxClient],
        *,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        dial: Callable[..., str | None] | None = None,
        stopping: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.repo = repo
        self.connect = connect
        self.clock = clock
        self.sleep = sleep
        self.dial = dial
        self.stopping = stopping or threading.Event()
        self.cancel = CancelToken(self.stopping)  # checked by the executor before each action
        self.stats: dict[str, float] = {}

    # -- the entry point ---------------------------------------------------------------------

    def reconcile(self, work: Work) -> Outcome:
        self._count("reconciles")
        if work.suspend is not None:
            self._suspend(work.suspend)
        head: CommitInfo | None = None
        if work.fetch:
            try:
                head = self._fetch(work.trigger)
            except errors.PhoenixError as exc:
                self._phase("idle", last_error=str(exc))
                self.store.add_event("fetch-error", str(exc), level="error")
                log.error("fetch failed: %s", exc)
                return Outcome("waiting", detail=str(exc))
        state = self.store.get_state()
        target, forced, reason = self._choose(work, head, state.pinned_revision)
        if target is None:
            return self._maybe_drift(work, reason)
        record = self.store.get_revision(target)
        if work.pin and work.revision:
            self.store.update_state(pinned_revision=target)
            self.store.add_event("rollback", f"rollback to {target[:12]} requested; pinned until resumed",
                                 revision=target, data={"restore_data": work.restore_data})
        elif work.revision and state.pinned_revision and not work.pin:
            self.store.update_state(pinned_revision=None)
            self.store.add_event("unpin", f"explicit sync of {target[:12]} lifts the pin", revision=target)
        if record.sha == state.applied_revision and record.status == "applied":
            return self._maybe_drift(work, "up to date")
        if not forced:
            if record.status not in AUTOMATIC_STATUSES:
                return self._maybe_drift(work, f"{record.short_sha} is {record.status}")
            if state.suspended:
                self._phase("suspended")
                return Outcome("skipped", target, "suspended: new revisions are recorded, not applied")
            if not self.settings.sync_allowed(self.clock()):
                self._phase("waiting_window")
                return Outcome("skipped", target, "outside the sync windows")
        trigger = work.trigger if work.trigger in ("poll", "webhook", "manual", "rollback", "startup") else "poll"
        outcome = self._converge(target, trigger, restore_data=work.restore_data and work.pin)
        if outcome.action == "rejected" and work.pin:
            self.store.update_state(pinned_revision=None)
        if outcome.action == "applied" and not work.pin and not state.pinned_revision:
            self.store.mark_superseded([r.sha for r in self.store.revisions_in_status("pending") if r.sha != target])
        return outcome

    # -- fetch and choose --------------------------------------------------------------------

    def _fetch(self, trigger: str) -> CommitInfo:
        """Fetch; record the commits new to the ledger (only the newest is a target, the others are
        `superseded`); remember the head."""
        self._phase("fetching")
        fetched = self.repo.fetch()
        head = fetched.head
        state = self.store.get_state()
        now = self.clock()
        try:
            self.store.get_revision(head.sha)
            known = True
        except errors.NotFoundError:
            known = False
        if not known:
            last_seen = state.extra.get("last_seen")
            commits = [head]
            if isinstance(last_seen, str):
                try:
                    commits = self.repo.commits_between(last_seen, head.sha, limit=200) or [head]
                except errors.PhoenixError:
                    commits = [head]
            ledger_trigger = trigger if trigger in ("poll", "webhook", "startup") else "manual"
            for commit in commits:
                self.store.record_revision(commit.sha, commit.author, commit.message.strip(),
                                           commit.committed_at, ledger_trigger)
            older = [r.sha for r in self.store.revisions_in_status("pending") if r.sha != head.sha]
            superseded = self.store.mark_superseded(older)
            self.store.add_event("revision", f"new head {head.short_sha}: {head.subject}", revision=head.sha,
                                 data={"commits": len(commits), "superseded": superseded})
            log.info("new head %s (%d commits, %d superseded)", head.short_sha, len(commits), len(superseded),
                     extra={"revision": head.sha, "trigger": trigger})
        if fetched.forced and fetched.previous_sha:
            message = (f"the branch was force-pushed: {fetched.previous_sha[:12]} is no longer in its history; "
                       f"following {head.short_sha}")
            log.warning(message, extra={"revision": head.sha, "trigger": trigger})
            self.store.add_event("force-push", message, level="warning", revision=head.sha,
                                 data={"previous": fetched.previous_sha})
        self.store.update_state(last_poll_at=now, extra={"last_seen": head.sha}, phase="idle")
        return head

    def _choose(self, work: Work, head: CommitInfo | None, pinned: str | None) -> tuple[str | None, bool, str]:
        """(target sha, forced by an operator, why none)."""
        if work.revision:
            try:
                return self._resolve(work.revision), True, ""
            except errors.NotFoundError as exc:
                self.store.add_event("rollback-error" if work.pin else "sync-error", str(exc), level="error")
                return None, False, str(exc)
        if pinned:
            applied = self.store.get_state().applied_revision
            return pinned, work.force or applied != pinned, ""
        if head is None:
            state = self.store.get_state()
            last = state.extra.get("last_seen")
            if not isinstance(last, str):
                return None, False, "nothing fetched yet"
            return last, work.force, ""
        return head.sha, work.force, ""

    def _resolve(self, ref: str) -> str:
        """A ledger revision, or a commit of the repo (recorded on the way)."""
        try:
            return self.store.get_revision(ref).sha
        except errors.NotFoundError:
            commit = self.repo.commit(ref)
            self.store.record_revision(commit.sha, commit.author, commit.message.strip(), commit.committed_at,
                                       "manual")
            return commit.sha

    # -- converge one revision ---------------------------------------------------------------

    def _converge(self, sha: str, trigger: str, *, restore_data: bool = False,
                  auto_rollback: bool = True) -> Outcome:
        state = self.store.get_state()
        attempt = Attempt(sha, trigger, state.applied_revision if state.applied_revision != sha else
                          self._previous_of(sha), restore_data=restore_data)
        self.store.update_state(target_revision=sha)
        started = time.monotonic()
        try:
            stop = self._run_steps(attempt)
        finally:
            if attempt.drivers is not None:
                attempt.drivers.close()
        self.stats["last_reconcile_s"] = time.monotonic() - started
        if stop is None:
            self._record(attempt, "applied")
            self._phase("idle", last_error=None)
            self._store_drift(attempt.drift)
            if state.applied_revision and state.applied_revision != sha:
                self._mark_left(state.applied_revision, sha, trigger)
            self._count("applied")
            return Outcome("applied", sha, records=[sha])
        self._record(attempt, stop.status, error=stop.error)
        self._count(stop.status)
        if stop.status == "pending":
            self._phase("idle", last_error=stop.error)
            return Outcome("interrupted" if self.stopping.is_set() else "waiting", sha, stop.error, [sha])
        self._phase("failed" if stop.status == "failed" else "idle", last_error=stop.error)
        if stop.status == "failed" and stop.changed_live and auto_rollback:
            return self._auto_rollback(attempt, stop)
        return Outcome(stop.status, sha, stop.error, [sha])

    def _previous_of(self, sha: str) -> str | None:
        """For an attempt re-running the applied revision: keep the previous it recorded."""
        try:
            result = self.store.get_revision(sha).result
        except errors.NotFoundError:
            return None
        previous = result.get("previous") if isinstance(result, dict) else None
        return str(previous) if previous else None

    def _run_steps(self, attempt: Attempt) -> Stop | None:
        steps: list[Callable[[Attempt], Stop | None]] = [
            self._step_checkout, self._step_validate, self._step_connect, self._step_plan,
            self._step_mark_applying, self._step_restore_data, self._step_apply, self._step_verify,
        ]
        for step in steps:
            if self.stopping.is_set() and step in (self._step_mark_applying, self._step_apply):
                return Stop("pending", "interrupted: the controller stopped; it is applied again at the next start",
                            changed_live=False)
            try:
                stop = step(attempt)
            except errors.TransientError as exc:
                stop = Stop("pending", f"waiting: {exc}")
            except errors.DriverError as exc:
                stop = Stop("failed", str(exc), changed_live=attempt.result is not None)
            except errors.PhoenixError as exc:
                stop = Stop("failed", str(exc), changed_live=attempt.result is not None)
            if stop is not None:
                return stop
        return None

    def _step_checkout(self, attempt: Attempt) -> Stop | None:
        self._phase("validating")
        try:
            attempt.directory = self.repo.checkout(attempt.sha)
        except errors.SourceError as exc:
            return Stop("rejected", str(exc))
        return None

    def _step_validate(self, attempt: Attempt) -> Stop | None:
        assert attempt.directory is not None
        try:
            estate, report = validate_directory(attempt.directory)
        except errors.ConfigError as exc:
            attempt.validation = {"valid": False, "errors": [{"message": str(exc)}], "warnings": []}
            return Stop("rejected", str(exc))
        attempt.estate, attempt.validation = estate, report.to_dict()
        if not report.valid:
            first = report.errors[0]
            more = f" (and {len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
            self.store.add_event("rejected", f"{attempt.sha[:12]} is invalid: {first}{more}", level="warning",
                                 revision=attempt.sha, data=attempt.validation)
            log.warning("revision rejected: %s%s", first, more, extra={"revision": attempt.sha})
            return Stop("rejected", f"invalid config: {first}{more}")
        return None

    def _step_connect(self, attempt: Attempt) -> Stop | None:
        self._phase("planning")
        attempt.drivers = systems.drivers_for(self.settings, self.connect(), cancel=self.cancel)
        return None

    def _step_plan(self, attempt: Attempt) -> Stop | None:
        assert attempt.drivers is not None and attempt.estate is not None
        options = converging.plan_options(self.settings, systems.proxmox(attempt.drivers).node, revision=attempt.sha)
        attempt.snapshot = options.snapshot_name
        attempt.run = converging.read_and_plan(attempt.drivers, attempt.estate, options,
                                               SecretResolver(self.settings.secrets_dir))
        plan = attempt.run.plan.to_dict()
        if attempt.restore_data:
            plan["warnings"].insert(0, {"target": "*", "code": "data-rollback", "message":
                                        restoring.DATA_ROLLBACK_WARNING.format(snap="(see restore)")})
        attempt.plan = plan
        if attempt.run.plan.errors:
            first = attempt.run.plan.errors[0]
            return Stop("failed", f"the plan has errors: {first.target}: {first.message}")
        return None

    def _step_mark_applying(self, attempt: Attempt) -> Stop | None:
        self._record(attempt, "applying")
        self._phase("applying")
        log.info("applying %d actions", len(attempt.run.plan.actions) if attempt.run else 0,
                 extra={"revision": attempt.sha, "trigger": attempt.trigger})
        return None

    def _step_restore_data(self, attempt: Attempt) -> Stop | None:
        if not attempt.restore_data:
            return None
        assert attempt.drivers is not None and attempt.estate is not None and attempt.run is not None
        state = self.store.get_state()
        snap = rollback.snapshot_for(self.store, state.applied_revision, attempt.sha)
        if snap is None:
            return Stop("failed", f"no pre-apply snapshot leads back to {attempt.sha[:12]}: data not restored")
        options = attempt.run.options
        ids = {d.vmid for d in desired_mod.desired_guests(attempt.estate, options.node)}
        live = converging.read_live(attempt.drivers, attempt.estate, options, full=True)
        plan = restoring.restore_plan(live, ids, snap)
        log.warning(plan.warnings[0].message, extra={"revision": attempt.sha})
        self.store.add_event("data-rollback", plan.warnings[0].message, level="warning", revision=attempt.sha,
                             data=plan.to_dict())
        attempt.restore = converging.execute_plan(attempt.drivers, plan, self.settings,
                                                  _action_logger(attempt.sha))
        if not attempt.restore.ok:
            return Stop("failed", "restoring snapshots failed: " + "; ".join(
                f"{o.target}: {o.error}" for o in attempt.restore.failed), changed_live=True)
        # the guests changed under the plan: plan again from what they are now
        assert attempt.run is not None
        attempt.run = converging.read_and_plan(attempt.drivers, attempt.estate, attempt.run.options)
        restored = attempt.run.plan.to_dict()
        restored["warnings"].insert(0, {"target": "*", "code": "data-rollback", "message": plan.warnings[0].message})
        restored["restore"] = plan.to_dict()["actions"]
        attempt.plan = restored
        return None

    def _step_apply(self, attempt: Attempt) -> Stop | None:
        assert attempt.drivers is not None and attempt.run is not None
        attempt.result = converging.apply(attempt.drivers, attempt.run, self.settings, _action_logger(attempt.sha))
        if attempt.result.cancelled and not attempt.result.ok:
            return Stop("pending", "interrupted: the controller stopped during the apply; "
                        "it is applied again at the next start")
        if not attempt.result.ok:
            failed = attempt.result.failed or attempt.result.skipped
            detail = "; ".join(f"{o.target} {o.action}: {o.error}" for o in failed[:3])
            return Stop("failed", f"apply failed: {detail}", changed_live=True)
        return None

    def _step_verify(self, attempt: Attempt) -> Stop | None:
        assert attempt.drivers is not None and attempt.estate is not None and attempt.run is not None
        self._phase("verifying")
        after = converging.read_and_plan(attempt.drivers, attempt.estate, attempt.run.options)
        attempt.drift = drift.compare(attempt.estate, after.live, after.plan, revision=attempt.sha, now=self.clock())
        report = checks.run_checks(attempt.estate, after.live, sleep=self.sleep, dial=self.dial)
        attempt.checks = report
        if not report.ok:
            return Stop("failed", f"post-apply checks failed: {report.summary()}", changed_live=True)
        return None

    # -- recording ---------------------------------------------------------------------------

    def _record(self, attempt: Attempt | str, status: str, *, error: str | None = None,
                **extra: Any) -> RevisionRecord:
        """The one place that writes a revision's status (and the controller state that goes with it).
        `attempt` is the attempt that ends, or just a sha when only the status and error change."""
        sha = attempt if isinstance(attempt, str) else attempt.sha
        fields: dict[str, Any] = dict(extra)
        state: dict[str, Any] = {}
        if isinstance(attempt, Attempt):
            if attempt.validation is not None:
                fields["validation"] = attempt.validation
            if attempt.plan is not None:
                fields["plan"] = attempt.plan
            if status != "applying":
                fields["result"] = attempt.result_dict()
        if status != "applying":
            fields["error"] = error
        if status == "applied":
            state = {"applied_revision": sha}
        record = self.store.set_status(sha, status, state=state, **fields)
        level = "error" if status == "failed" else "warning" if status in ("rejected", "rolled_back") else "info"
        if status != "applying":
            self.store.add_event(status, f"{sha[:12]} {status}" + (f": {error}" if error else ""),
                                 level=level, revision=sha)
        trigger = attempt.trigger if isinstance(attempt, Attempt) else None
        log.log(logging.ERROR if level == "error" else logging.INFO, "revision %s", status,
                extra={"revision": sha, "status": status, "error": error, "trigger": trigger})
        return record

    def recover_interrupted(self) -> list[str]:
        """At start-up (or on becoming leader): revisions left `applying` by a crash go back to `pending`,
        so this reconcile applies them again (or supersedes them if the head moved on)."""
        shas = [r.sha for r in self.store.revisions_in_status("applying")]
        for sha in shas:
            self._record(sha, "pending", error="interrupted: the controller stopped during its apply; applied again")
        return shas

    def _mark_left(self, left: str, now_applied: str, trigger: str) -> None:
        """The revision that was applied before a rollback: `rolled_back`."""
        if trigger != "rollback":
            return
        record = self.store.get_revision(left)
        if record.status == "applied":
            self._record(left, "rolled_back", error=f"rolled back to {now_applied[:12]}",
                         finished_at=record.finished_at)

    def _auto_rollback(self, attempt: Attempt, stop: Stop) -> Outcome:
        previous = attempt.previous
        if not self.settings.auto_rollback or previous is None or previous == attempt.sha:
            return Outcome("failed", attempt.sha, stop.error, [attempt.sha])
        message = f"{attempt.sha[:12]} failed; rolling back to {previous[:12]}"
        log.warning(message, extra={"revision": attempt.sha})
        self.store.add_event("auto-rollback", message, level="warning", revision=attempt.sha,
                             data={"to": previous, "error": stop.error})
        self._phase("rolling_back")
        back = self._converge(previous, "rollback", auto_rollback=False)
        if back.action == "applied":
            self._record(attempt.sha, "rolled_back", error=f"{stop.error} -- rolled back to {previous[:12]}")
            self._count("auto_rollbacks")
            return Outcome("rolled_back", attempt.sha, stop.error, [attempt.sha, previous])
        self.store.add_event("auto-rollback-failed", f"rollback to {previous[:12]} failed: {back.detail}",
                             level="error", revision=attempt.sha)
        return Outcome("failed", attempt.sha, f"{stop.error}; the rollback failed too: {back.detail}",
                       [attempt.sha, previous])

    # -- drift -------------------------------------------------------------------------------

    def _maybe_drift(self, work: Work, reason: str) -> Outcome:
        if not (work.drift_check or work.force):
            return Outcome("none", detail=reason)
        return self.check_drift(heal=work.force or self.settings.self_heal, forced=work.force)

    def check_drift(self, *, heal: bool, forced: bool = False) -> Outcome:
        """A no-op plan of the applied revision; record the drift; correct it when `heal` allows."""
        state = self.store.get_state()
        sha = state.applied_revision
        if sha is None:
            return Outcome("none", detail="nothing applied yet")
        self._phase("drift_check")
        drivers: Drivers | None = None
        try:
            estate, report = validate_directory(self.repo.checkout(sha))
            if not report.valid:
                return Outcome("none", sha, "the applied revision no longer validates")
            drivers = systems.drivers_for(self.settings, self.connect(), cancel=self.cancel)
            options = converging.plan_options(self.settings, systems.proxmox(drivers).node, revision=sha)
            run = converging.read_and_plan(drivers, estate, options)
            found = drift.compare(estate, run.live, run.plan, revision=sha, now=self.clock())
            self._store_drift(found)
            if not found.drifted:
                self._phase("idle")
                return Outcome("none", sha, "in sync")
            drifted = [r.target for r in found.resources if r.state in ("drifted", "missing")]
            self.store.add_event("drift", f"drift on {', '.join(drifted[:10])}", level="warning", revision=sha,
                                 data=found.to_dict())
            log.warning("drift on %s", ", ".join(drifted[:10]), extra={"revision": sha})
            allowed = forced or (not state.suspended and self.settings.sync_allowed(self.clock()))
            if not heal or not allowed:
                self._phase("suspended" if state.suspended else "idle")
                return Outcome("none", sha, "drift recorded, not corrected")
            self._phase("applying")
            result = converging.apply(drivers, run, self.settings)
            after = converging.read_and_plan(drivers, estate, options)
            healed = drift.compare(estate, after.live, after.plan, revision=sha, now=self.clock())
            self._store_drift(healed)
            self.store.add_event("self-heal", f"corrected drift on {', '.join(drifted[:10])}"
                                 + ("" if result.ok else " (with failures)"),
                                 level="info" if result.ok else "error", revision=sha, data=result.to_dict())
            self._count("heals")
            self._phase("idle")
            return Outcome("healed", sha, ", ".join(drifted))
        except errors.PhoenixError as exc:
            self._phase("idle", last_error=str(exc))
            return Outcome("waiting", sha, str(exc))
        finally:
            if drivers is not None:
                drivers.close()

    def _store_drift(self, found: drift.DriftReport | None) -> None:
        if found is None:
            return
        self.store.update_state(drift=found.drifted, last_drift=found.to_dict(), last_drift_at=found.checked_at)

    # -- small things ------------------------------------------------------------------------

    def _suspend(self, suspend: bool) -> None:
        if suspend:
            self.store.update_state(suspended=True, phase="suspended")
            self.store.add_event("suspend", "automatic applies suspended")
        else:
            self.store.update_state(suspended=False, pinned_revision=None, phase="idle")
            self.store.add_event("resume", "automatic applies resumed; any pin lifted")

    def _phase(self, phase: str, **more: Any) -> None:
        self.store.update_state(phase=phase, **more)

    def _count(self, name: str) -> None:
        self.stats[name] = self.stats.get(name, 0) + 1


def _action_logger(revision: str) -> Callable[[ApplyEvent], None]:
    """A listener that logs every action's outcome with its guest and revision."""
    def on_event(event: ApplyEvent) -> None:
        if event.kind in ("finished", "skipped"):
            level = logging.INFO if event.status == "ok" else logging.WARNING
            log.log(level, f"{event.action} {event.status}" + (f": {event.message}" if event.message else ""),
                    extra={"revision": revision, "guest": event.target, "status": event.status})
    return on_event
