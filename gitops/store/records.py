"""The plain records the ledger hands out, and the closed vocabularies it accepts.

Returned by `gitops.store.ledger.Store`; read by the controller, the API and the CLI. Frozen
dataclasses, detached from any database session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, get_args

from gitops.planner.documents import Document, PlanDocument, RetrySchedule, RunResult, ValidationReport
from gitops.planner.drift import DriftReport

RevisionStatus = Literal["pending", "rejected", "applying", "applied", "failed", "superseded", "rolled_back"]
Trigger = Literal["poll", "webhook", "manual", "rollback", "startup", "drift"]
EventLevel = Literal["debug", "info", "warning", "error"]
# A run is one convergence of a revision under one policy (gitops.controller.policy).
RunKind = Literal["apply", "rollback", "auto-rollback", "self-heal"]
RunStatus = Literal["running", "applied", "failed", "interrupted", "not-corrected"]

REVISION_STATUSES: tuple[str, ...] = get_args(RevisionStatus)
TRIGGERS: tuple[str, ...] = get_args(Trigger)
EVENT_LEVELS: tuple[str, ...] = get_args(EventLevel)
RUN_KINDS: tuple[str, ...] = get_args(RunKind)
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)

# Statuses after which a revision's apply is over: `set_status` stamps `finished_at` for them.
FINISHED_STATUSES = frozenset({"applied", "failed", "rolled_back"})


@dataclass(frozen=True, slots=True)
class RevisionRecord:
    """One commit of the config repo as the controller saw it, and what it did with it."""

    sha: str
    author: str
    message: str
    committed_at: dt.datetime | None
    received_at: dt.datetime
    status: str
    trigger: str
    stored_validation: Any = field(default=None, repr=False)  # as the ledger keeps it: see `validation`
    stored_plan: Any = field(default=None, repr=False)
    stored_result: Any = field(default=None, repr=False)
    error: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    duration_s: float | None = None
    previous_sha: str | None = None  # the revision applied when this one's apply began
    snapshot: str | None = None  # the pre-apply snapshot its apply took (`phx-<sha12>`)
    _read: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def short_sha(self) -> str:
        return self.sha[:12]

    @property
    def validation(self) -> ValidationReport | None:
        """The commit's validation report, typed (read on first use: a record often serves for its status)."""
        return _document(self._read, "validation", ValidationReport, self.stored_validation)

    @property
    def plan(self) -> PlanDocument | None:
        return _document(self._read, "plan", PlanDocument, self.stored_plan)

    @property
    def result(self) -> RunResult | None:
        return _document(self._read, "result", RunResult, self.stored_result)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One convergence of a revision: an apply, a rollback, an auto-rollback or a drift correction."""

    id: int
    revision: str
    kind: str
    trigger: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    stored_plan: Any = field(default=None, repr=False)  # as the ledger keeps it: see `plan`
    stored_result: Any = field(default=None, repr=False)
    error: str | None = None
    _read: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def plan(self) -> PlanDocument | None:
        """The run's plan, typed (read on first use)."""
        return _document(self._read, "plan", PlanDocument, self.stored_plan)

    @property
    def result(self) -> RunResult | None:
        return _document(self._read, "result", RunResult, self.stored_result)


D = TypeVar("D", bound=Document)


def _document(cache: dict[str, Any], name: str, model: type[D], stored: Any) -> D | None:
    if name not in cache:
        cache[name] = model.read(stored)
    found: D | None = cache[name]
    return found


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """A trigger a follower replica received, waiting in the ledger for the leader."""

    id: int
    at: dt.datetime
    kind: str
    revision: str | None = None
    restore_data: bool = False
    source: str = ""
    request: str = ""  # the API's id of the request
    targets: tuple[str, ...] = ()  # a sync of these resources only


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One line of the controller's journal, optionally about one revision."""

    id: int
    at: dt.datetime
    level: str
    kind: str
    message: str
    revision: str | None = None
    data: Any = None


@dataclass(frozen=True, slots=True)
class OutboxBacklog:
    """How far one outbox consumer is behind: events after its cursor, and when the oldest was written."""

    consumer: str
    cursor: int
    pending: int
    oldest_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ControllerState:
    """The controller's own state, one row: what is applied, what is wanted, and why not."""

    applied_revision: str | None = None
    target_revision: str | None = None
    pinned_revision: str | None = None
    suspended: bool = False
    drift: bool = False
    last_drift: Any = None
    last_drift_at: dt.datetime | None = None
    phase: str = "idle"
    last_error: str | None = None
    last_poll_at: dt.datetime | None = None
    leader_id: str | None = None
    leader_heartbeat_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    branch_head: str | None = None  # the newest commit of the followed branch, as last fetched
    retry: RetrySchedule | None = None  # a failed revision's next attempt (`gitops.controller.backoff`)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pinned(self) -> bool:
        return self.pinned_revision is not None

    @property
    def drift_report(self) -> DriftReport | None:
        """The last drift check as the one drift model (None before the first check)."""
        return DriftReport.parse(self.last_drift)


# The fields of ControllerState that `update_state` may write.
STATE_FIELDS = frozenset(ControllerState.__dataclass_fields__) - {"updated_at"}


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One script a run ran in a guest (`provisioning_steps`): `status` ok or failed."""

    target: str
    step: str
    identity: str
    status: str
    script: str = ""
    exit_status: int | None = None
    output_tail: str = ""
    run_id: int | None = None
    revision: str = ""
    at: dt.datetime | None = None
