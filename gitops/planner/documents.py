"""The documents the ledger keeps, typed: a validation report, a plan as shown, an apply's result, a run's
result, and the retry schedule of a failed revision.

Written by the controller (`gitops.controller.steps` fills an `Attempt` with them, the recorder hands them
to the store) and read back by `gitops.store` with `model_validate`, so the API, the pages, the CLI and
the target states read fields, not `.get()` chains. The drift report is `gitops.planner.drift.DriftReport`.

The store's records (`gitops.store.records`) read a document on first use, not when the row is read: a
record often serves only for its status, and a thousand-action plan costs ~25 ms to validate.

Stored as `model_dump(mode="json", exclude_unset=True)` (`Document.stored`): a document read from the
ledger and written again is the same JSON, and a document made here has exactly the keys its maker set,
as the dicts of earlier versions had. Every field has a default and unknown keys are kept (`extra`), so a
row an older or newer version wrote still reads; `Document.read` gives None for one that does not.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gitops.config.problems import Report
from gitops.planner.plan import Plan

log = logging.getLogger(__name__)

D = TypeVar("D", bound="Document")


class Document(BaseModel):
    """A document the ledger keeps: unknown keys kept, every field defaulted."""

    model_config = ConfigDict(extra="allow")

    def stored(self) -> dict[str, Any]:
        """The JSON the ledger keeps: the keys that were set, no more."""
        return self.model_dump(mode="json", exclude_unset=True)

    @classmethod
    def read(cls: type[D], data: Any) -> D | None:
        """`data` as stored, typed; None for nothing, or for a shape this version cannot read (logged)."""
        if data is None:
            return None
        if isinstance(data, cls):
            return data
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            log.warning("a stored %s could not be read: %s", cls.__name__, str(exc).splitlines()[0])
            return None


# -- validation ------------------------------------------------------------------------------


class ValidationProblem(Document):
    """One problem of a commit's config: where (file, JSON path, line) and which rule (`code`)."""

    file: str = ""
    path: str = ""
    code: str = ""
    message: str = ""
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return self.message


class ValidationReport(Document):
    """A commit's validation: valid, and its errors and warnings."""

    valid: bool = False
    errors: list[ValidationProblem] = Field(default_factory=list)
    warnings: list[ValidationProblem] = Field(default_factory=list)

    @field_validator("errors", "warnings", mode="before")
    @classmethod
    def _messages(cls, value: Any) -> Any:
        """Early versions kept bare messages."""
        if isinstance(value, list):
            return [{"message": v} if isinstance(v, str) else v for v in value]
        return value

    @classmethod
    def of(cls, report: Report) -> ValidationReport:
        return cls.model_validate(report.to_dict())

    @classmethod
    def refused(cls, message: str, code: str | None = None) -> ValidationReport:
        """A commit that could not be validated at all (no checkout, a broken file, a crash)."""
        problem = ValidationProblem(code=code, message=message) if code is not None else ValidationProblem(
            message=message)
        return cls(valid=False, errors=[problem], warnings=[])

    def messages(self, limit: int = 5) -> list[str]:
        return [p.message for p in self.errors[:limit]]


# -- the plan --------------------------------------------------------------------------------


class Change(Document):
    """A field that differs, as shown: secrets already `(secret)`."""

    field: str = ""
    old: Any = None
    new: Any = None
    diff: str = ""


class Call(Document):
    """An API call of an action, its parameters masked."""

    method: str = ""
    path: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    wait: bool = False
    save_secret: str = ""


class PlannedAction(Document):
    target: str = ""
    action: str = ""
    summary: str = ""
    changes: list[Change] = Field(default_factory=list)
    calls: list[Call] = Field(default_factory=list)
    restart_required: bool = False
    destructive: bool = False
    depends_on: list[str] = Field(default_factory=list)
    node: str = ""
    wait_after_s: float = 0.0
    system: str = ""
    snapshot_first: str = ""


class PlanProblem(Document):
    target: str = ""
    code: str = ""
    message: str = ""


class PlanDocument(Document):
    """A plan as shown and kept: its actions, errors, warnings, the targets waiting for a restart, what a
    config-to-config plan assumed, and (a data rollback) the snapshot restores that ran before it."""

    actions: list[PlannedAction] = Field(default_factory=list)
    errors: list[PlanProblem] = Field(default_factory=list)
    warnings: list[PlanProblem] = Field(default_factory=list)
    pending: list[str] = Field(default_factory=list)
    assumed: str = ""
    restore: list[PlannedAction] | None = None

    @classmethod
    def of(cls, plan: Plan) -> PlanDocument:
        return cls.model_validate(plan.to_dict())

    def warn_first(self, target: str, code: str, message: str) -> PlanDocument:
        """This plan with one warning put first (a data rollback's)."""
        warning = PlanProblem(target=target, code=code, message=message)
        return self.model_copy(update={"warnings": [warning, *self.warnings]})

    @property
    def targets(self) -> set[str]:
        return {a.target for a in self.actions if a.target}


# -- results ---------------------------------------------------------------------------------


class Outcome(Document):
    """One action's outcome (`gitops.drivers.executing.ActionOutcome`)."""

    index: int = 0
    target: str = ""
    action: str = ""
    summary: str = ""
    status: str = "pending"
    error: str = ""
    transient: bool = False
    stale: bool = False
    log: list[str] = Field(default_factory=list)
    upids: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    output: dict[str, list[str]] = Field(default_factory=dict)
    duration: float = 0.0
    system: str = ""


class ApplyReport(Document):
    """An apply's result: every outcome in plan order, counts by status, how long, whether cut short."""

    ok: bool = False
    duration: float = 0.0
    counts: dict[str, int] = Field(default_factory=dict)
    outcomes: list[Outcome] = Field(default_factory=list)
    cancelled: bool = False


class CheckOutcome(Document):
    target: str = ""
    check: str = ""
    ok: bool = False
    detail: str = ""


class ChecksReport(Document):
    """The post-apply checks: guests running, health checks answering."""

    ok: bool = False
    results: list[CheckOutcome] = Field(default_factory=list)


class Remaining(Document):
    """A resource still drifted or missing after an apply."""

    target: str = ""
    state: str = ""
    actions: list[str] = Field(default_factory=list)


class RunResult(Document):
    """What a run did: the revision applied before it, its pre-apply snapshot, what triggered it, the
    resources a targeted sync asked for, the drift a self-heal corrected, the data restore, the apply,
    the checks, and what was left drifted after."""

    previous: str | None = None
    snapshot: str | None = None
    trigger: str = ""
    targets: list[str] = Field(default_factory=list)
    drift: list[str] = Field(default_factory=list)
    restore: ApplyReport | None = None
    apply: ApplyReport | None = None
    checks: ChecksReport | None = None
    remaining: list[Remaining] = Field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.apply.counts) if self.apply is not None else {}


class RetrySchedule(BaseModel):
    """When a failed revision is tried again (`gitops.controller.backoff`): its sha, the attempt that
    comes next's number minus one, and when it is due. A column set of the controller state."""

    model_config = ConfigDict(frozen=True)

    sha: str
    attempt: int = 1
    due_at: dt.datetime
