"""Recording: the one writer of the controller -- revisions seen, their statuses, runs, events (the
outbox) and the controller state (`commit(Patch(...))`: phase, pins, the retry schedule, the drift
report, progress) -- and the log lines that go with them.

Called by `gitops.controller.reconciling` at the boundaries of a run (`begin` before anything is
applied, `finish` once the steps ended), by `gitops.controller.intake` for what it saw and by
`gitops.controller.service` for leadership. Steps never write: they report a phase (`phase`) and return a
`Stop`. No other module of the controller calls a writing method of the store
(tests/controller/test_one_writer.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
from collections.abc import Iterable
from typing import Any

from gitops import events
from gitops.controller import provisioned
from gitops.controller.liveness import Liveness
from gitops.controller.policy import Policy
from gitops.controller.steps import Attempt
from gitops.drivers.executing import ApplyEvent
from gitops.planner.documents import RetrySchedule, RunResult
from gitops.planner.drift import DriftReport
from gitops.source import CommitInfo
from gitops.store import RevisionRecord, RunRecord, Store

log = logging.getLogger(__name__)

class Keep(enum.Enum):
    KEEP = "keep"


KEEP = Keep.KEEP


@dataclasses.dataclass(frozen=True, kw_only=True)
class Patch:
    """A change to the controller state, field by field; a field left `KEEP` is not written. `drift` sets
    the drift flag, the report and when it was checked together; `progress` is the running apply's."""

    phase: str | Keep = KEEP
    last_error: str | Keep | None = KEEP
    target_revision: str | Keep | None = KEEP
    pinned_revision: str | Keep | None = KEEP
    suspended: bool | Keep = KEEP
    last_poll_at: dt.datetime | Keep = KEEP
    branch_head: str | Keep | None = KEEP
    retry: RetrySchedule | Keep | None = KEEP
    leader_id: str | Keep = KEEP
    leader_heartbeat_at: dt.datetime | Keep = KEEP
    drift: DriftReport | Keep = KEEP
    progress: dict[str, Any] | Keep | None = KEEP

    def fields(self) -> dict[str, Any]:
        """The controller state's fields this patch writes, as the store names them."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                               if getattr(self, f.name) is not KEEP and f.name not in ("drift", "progress")}
        if isinstance(self.drift, DriftReport):
            out.update(drift=self.drift.drifted, last_drift=self.drift.to_dict(), last_drift_at=self.drift.checked_at)
        if self.progress is not KEEP:
            out["extra"] = {"progress": self.progress}
        return out


RUN_STATUS = {"applied": "applied", "failed": "failed", "pending": "interrupted", "rejected": "failed",
              "not-corrected": "not-corrected"}


class Recorder:
    """Writes to the ledger for the reconcile; holds no state of its own."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.streak: tuple[str, int] | None = None  # while retrying: the revision and its failed attempts
        self.hushed = False  # while an auto-rollback re-applies the last applied revision
        self.progress: dict[str, Any] | None = None  # the running apply's progress
        self.liveness = Liveness()  # beaten at every phase and apply event: a reconcile making progress is alive

    def retrying(self, sha: str, failures: int) -> None:
        """From now until `retrying_done`, events repeat a failure already told (`Payload.quiet`), except
        `sha` applied at last: that one is told, with the count of failed attempts before it."""
        self.streak = (sha, failures)

    def retrying_done(self) -> None:
        self.streak = None

    # -- the outbox --------------------------------------------------------------------------

    def event(self, kind: events.EventKind, message: str, payload: events.Payload, *, level: events.Level = "info",
              revision: str | None = None) -> None:
        """One event per happening, with the typed payload of its kind."""
        events.check(kind, payload)
        if self.streak is not None and kind is events.EventKind.APPLIED and revision == self.streak[0]:
            failures = self.streak[1]
            payload = payload.model_copy(update={"recovered_after": failures})
            message += f" (recovered after {failures} failed attempt{'s' if failures != 1 else ''})"
        elif self.streak is not None or self.hushed:
            payload = payload.model_copy(update={"quiet": True})
        self.store.add_event(kind.value, message, level=level, revision=revision,
                             data=payload.model_dump(mode="json", exclude_none=True))

    # -- controller state --------------------------------------------------------------------

    def commit(self, patch: Patch) -> None:
        """Write `patch` to the controller state, in one transaction."""
        values = patch.fields()
        if values:
            self.store.update_state(**values)

    def phase(self, phase: str, *, last_error: str | Keep | None = KEEP) -> None:
        self.liveness.beat()
        self.commit(Patch(phase=phase, last_error=last_error))

    def drift(self, report: DriftReport | None, *, phase: str | None = None,
              last_error: str | Keep | None = KEEP) -> None:
        """The drift report, with the phase (and error) that follows it in the same write when given."""
        if phase is not None:
            self.liveness.beat()
            self.commit(Patch(phase=phase, last_error=last_error, drift=report if report is not None else KEEP))
        elif report is not None:
            self.commit(Patch(drift=report))

    # -- revisions seen ----------------------------------------------------------------------

    def seen(self, commit: CommitInfo, trigger: str) -> RevisionRecord:
        """A commit the controller saw (a revision already recorded is left as it is)."""
        return self.store.record_revision(commit.sha, commit.author, commit.message.strip(), commit.committed_at,
                                          trigger)

    def superseded(self, shas: Iterable[str]) -> list[str]:
        """Pending revisions a newer one replaces; returns those that were still pending."""
        return self.store.mark_superseded(shas)

    # -- runs and revision statuses ----------------------------------------------------------

    def begin(self, attempt: Attempt, policy: Policy) -> None:
        """Before anything is applied: open the run; an apply-type run marks the revision `applying`."""
        run = self.store.start_run(attempt.sha, policy.kind, policy.trigger, plan=attempt.plan)
        attempt.run_id = run.id
        if policy.writes_status:
            self.store.set_status(attempt.sha, "applying", validation=attempt.validation, plan=attempt.plan,
                                  previous_sha=attempt.previous, snapshot=attempt.snapshot)
        count = len(attempt.run.plan.actions) if attempt.run else 0
        self.progress = {"revision": attempt.sha, "run": run.id, "kind": policy.kind, "total": count, "done": 0,
                         "current": None}
        self.liveness.beat()
        self.commit(Patch(phase="applying", progress=self.progress))  # one write: the phase and its progress
        log.info("applying %d actions (%s)", count, policy.kind,
                 extra={"revision": attempt.sha, "trigger": attempt.trigger})

    def action(self, event: ApplyEvent) -> None:
        """The apply's progress (`extra["progress"]`: actions done of total, the one running), for `--wait`."""
        self.liveness.beat()
        if self.progress is None or event.kind not in ("started", "finished", "skipped"):
            return
        if event.kind == "started":
            self.progress["current"] = f"{event.target} {event.action}"
        else:
            self.progress["done"] = min(self.progress["total"], self.progress["done"] + 1)
            if self.progress["current"] == f"{event.target} {event.action}":
                self.progress["current"] = None
        self.commit(Patch(progress=self.progress))

    def finish(self, attempt: Attempt, policy: Policy, status: str, error: str | None = None, *,
               quiet: bool = False) -> None:
        """The end of an attempt: its run closed, and (apply-type runs) the revision's status written once,
        with one event."""
        ended = self.progress is not None  # the progress goes with the status's write, or alone
        self.progress = None
        if ended and not policy.writes_status:
            self.commit(Patch(progress=None))
        result = attempt.result_document()  # one document for the run and the revision (10,000 checks: 0.1 s)
        if attempt.run_id is not None:
            self.store.finish_run(attempt.run_id, RUN_STATUS.get(status, "failed"), plan=attempt.plan,
                                  result=result, error=error)
            if attempt.run is not None and attempt.result is not None:
                self.store.record_steps(attempt.run_id, provisioned.step_records(attempt.run.plan, attempt.result))
        if policy.writes_status:
            self.status(attempt, status, error=error, quiet=quiet, result=result,
                        state=Patch(progress=None).fields() if ended else None)

    def interrupted(self, run: RunRecord, error: str) -> None:
        """A run whose process is gone (found running at start-up): closed as interrupted, its result kept."""
        self.store.finish_run(run.id, "interrupted", result=run.result, error=error)

    def not_corrected(self, attempt: Attempt, policy: Policy, error: str) -> None:
        """A drift correction that could not start (plan errors, missing secrets): a run that says so."""
        run = self.store.start_run(attempt.sha, policy.kind, policy.trigger, plan=attempt.plan)
        attempt.run_id = run.id
        self.finish(attempt, policy, "not-corrected", error)

    def status(self, attempt: Attempt | str, status: str, *, error: str | None = None, quiet: bool = False,
               result: RunResult | None = None, state: dict[str, Any] | None = None,
               **extra: Any) -> RevisionRecord:
        """The one place that writes a revision's status (and the controller state that goes with it).
        `attempt` is the attempt that ends, or just a sha when only the status and error change; `result`:
        the attempt's result document when the caller made it already; `state`: more controller state
        fields to write in the same transaction."""
        sha = attempt if isinstance(attempt, str) else attempt.sha
        fields: dict[str, Any] = dict(extra)
        state = dict(state or {})
        payload = events.StatusChanged(status=status, error=error)
        if isinstance(attempt, Attempt):
            if attempt.validation is not None:
                fields["validation"] = attempt.validation
            if attempt.plan is not None:
                fields["plan"] = attempt.plan
            fields["result"] = result if result is not None else attempt.result_document()
            fields["previous_sha"] = attempt.previous
            fields["snapshot"] = attempt.snapshot
            payload = events.StatusChanged(status=status, error=error, trigger=attempt.trigger, run=attempt.run_id,
                                           errors=attempt.validation_errors(), quiet=quiet or None)
        fields["error"] = error
        if status == "applied":
            state["applied_revision"] = sha
        record = self.store.set_status(sha, status, state=state, **fields)
        level: events.Level = ("error" if status == "failed"
                               else "warning" if status in ("rejected", "rolled_back") else "info")
        self.event(events.EventKind(status), f"{sha[:12]} {status}" + (f": {error}" if error else ""), payload,
                   level=level, revision=sha)
        trigger = attempt.trigger if isinstance(attempt, Attempt) else None
        log.log(logging.ERROR if level == "error" else logging.INFO, "revision %s", status,
                extra={"revision": sha, "status": status, "error": error, "trigger": trigger})
        return record
