"""Recording: the one place that writes what the reconcile did -- revision statuses, runs, events (the
outbox), the drift report and the controller's phase -- and logs it.

Called by `gitops.controller.reconciling` at the boundaries of a run (`begin` before anything is
applied, `finish` once the steps ended) and by `gitops.controller.intake` for what it saw. Steps never
write a status: they report a phase (`phase`) and return a `Stop`.
"""

from __future__ import annotations

import logging
from typing import Any

from gitops import events
from gitops.controller import provisioned
from gitops.controller.liveness import Liveness
from gitops.controller.policy import Policy
from gitops.controller.steps import Attempt
from gitops.drivers.executing import ApplyEvent
from gitops.planner.drift import DriftReport
from gitops.store import RevisionRecord, Store

log = logging.getLogger(__name__)

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

    def phase(self, phase: str, **more: Any) -> None:
        self.liveness.beat()
        self.store.update_state(phase=phase, **more)

    def drift(self, report: DriftReport | None) -> None:
        if report is not None:
            self.store.update_state(drift=report.drifted, last_drift=report.to_dict(), last_drift_at=report.checked_at)

    # -- runs and revision statuses ----------------------------------------------------------

    def begin(self, attempt: Attempt, policy: Policy) -> None:
        """Before anything is applied: open the run; an apply-type run marks the revision `applying`."""
        run = self.store.start_run(attempt.sha, policy.kind, policy.trigger, plan=attempt.plan)
        attempt.run_id = run.id
        if policy.writes_status:
            self.store.set_status(attempt.sha, "applying", validation=attempt.validation, plan=attempt.plan,
                                  previous_sha=attempt.previous, snapshot=attempt.snapshot)
        self.phase("applying")
        count = len(attempt.run.plan.actions) if attempt.run else 0
        self.progress = {"revision": attempt.sha, "run": run.id, "kind": policy.kind, "total": count, "done": 0,
                         "current": None}
        self.store.update_state(extra={"progress": self.progress})
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
        self.store.update_state(extra={"progress": self.progress})

    def finish(self, attempt: Attempt, policy: Policy, status: str, error: str | None = None, *,
               quiet: bool = False) -> None:
        """The end of an attempt: its run closed, and (apply-type runs) the revision's status written once,
        with one event."""
        if self.progress is not None:
            self.progress = None
            self.store.update_state(extra={"progress": None})
        if attempt.run_id is not None:
            self.store.finish_run(attempt.run_id, RUN_STATUS.get(status, "failed"), plan=attempt.plan,
                                  result=attempt.result_dict(), error=error)
            if attempt.run is not None and attempt.result is not None:
                self.store.record_steps(attempt.run_id, provisioned.step_records(attempt.run.plan, attempt.result))
        if policy.writes_status:
            self.status(attempt, status, error=error, quiet=quiet)

    def not_corrected(self, attempt: Attempt, policy: Policy, error: str) -> None:
        """A drift correction that could not start (plan errors, missing secrets): a run that says so."""
        run = self.store.start_run(attempt.sha, policy.kind, policy.trigger, plan=attempt.plan)
        attempt.run_id = run.id
        self.finish(attempt, policy, "not-corrected", error)

    def status(self, attempt: Attempt | str, status: str, *, error: str | None = None, quiet: bool = False,
               **extra: Any) -> RevisionRecord:
        """The one place that writes a revision's status (and the controller state that goes with it).
        `attempt` is the attempt that ends, or just a sha when only the status and error change."""
        sha = attempt if isinstance(attempt, str) else attempt.sha
        fields: dict[str, Any] = dict(extra)
        state: dict[str, Any] = {}
        payload = events.StatusChanged(status=status, error=error)
        if isinstance(attempt, Attempt):
            if attempt.validation is not None:
                fields["validation"] = attempt.validation
            if attempt.plan is not None:
                fields["plan"] = attempt.plan
            fields["result"] = attempt.result_dict()
            fields["previous_sha"] = attempt.previous
            fields["snapshot"] = attempt.snapshot
            payload = events.StatusChanged(status=status, error=error, trigger=attempt.trigger, run=attempt.run_id,
                                           errors=attempt.validation_errors(), quiet=quiet or None)
        fields["error"] = error
        if status == "applied":
            state = {"applied_revision": sha}
        record = self.store.set_status(sha, status, state=state, **fields)
        level: events.Level = ("error" if status == "failed"
                               else "warning" if status in ("rejected", "rolled_back") else "info")
        self.event(events.EventKind(status), f"{sha[:12]} {status}" + (f": {error}" if error else ""), payload,
                   level=level, revision=sha)
        trigger = attempt.trigger if isinstance(attempt, Attempt) else None
        log.log(logging.ERROR if level == "error" else logging.INFO, "revision %s", status,
                extra={"revision": sha, "status": status, "error": error, "trigger": trigger})
        return record
