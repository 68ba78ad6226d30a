"""The plain records the ledger hands out, and the closed vocabularies it accepts.

Returned by `gitops.store.ledger.Store`; read by the controller, the API and the CLI. Frozen
dataclasses, detached from any database session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

RevisionStatus = Literal["pending", "rejected", "applying", "applied", "failed", "superseded", "rolled_back"]
Trigger = Literal["poll", "webhook", "manual", "rollback", "startup", "drift"]
EventLevel = Literal["debug", "info", "warning", "error"]

REVISION_STATUSES: tuple[str, ...] = get_args(RevisionStatus)
TRIGGERS: tuple[str, ...] = get_args(Trigger)
EVENT_LEVELS: tuple[str, ...] = get_args(EventLevel)

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
    validation: Any = None
    plan: Any = None
    result: Any = None
    error: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    duration_s: float | None = None

    @property
    def short_sha(self) -> str:
        return self.sha[:12]


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
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pinned(self) -> bool:
        return self.pinned_revision is not None


# The fields of ControllerState that `update_state` may write.
STATE_FIELDS = frozenset(ControllerState.__dataclass_fields__) - {"updated_at"}
