"""The controller's events: one kind per happening, each with a typed payload. The event table is the outbox.

Written once per happening by `gitops.controller.recording` (the one writer), stored by `gitops.store`
(`add_event(kind, message, level=, revision=, data=payload)`), read by the API (`/api/v1/events`), and by
the forges and notification work, which read the outbox and never block a reconcile:

    for record in store.list_events(after_id=last_seen):
        payload = events.parse(record.kind, record.data)   # the typed payload, or None for unknown kinds

Kinds are stable strings (`EventKind`); payloads only gain optional fields. Core: pydantic only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Level = Literal["debug", "info", "warning", "error"]


class EventKind(StrEnum):
    # source: the config repository
    REVISION = "revision"  # new commits on the branch were recorded (the newest is the head)
    FORCE_PUSH = "force-push"  # the branch no longer contains the commit it had
    HISTORY_GAP = "history-gap"  # the commits between the last head and the new one could not be listed
    FETCH_ERROR = "fetch-error"  # the repository could not be fetched
    # operators
    SUSPEND = "suspend"
    RESUME = "resume"
    ROLLBACK = "rollback"  # a rollback was asked for (the revision is pinned)
    UNPIN = "unpin"  # an explicit sync lifted the pin
    SYNC_ERROR = "sync-error"  # an explicit sync named an unknown revision
    ROLLBACK_ERROR = "rollback-error"  # a rollback named an unknown revision
    # a revision's status changed (one event per change)
    PENDING = "pending"  # back to pending: interrupted, applied again later
    REJECTED = "rejected"  # invalid: never applied
    APPLIED = "applied"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    # convergence
    DATA_ROLLBACK = "data-rollback"  # guests are being restored to a pre-apply snapshot
    AUTO_ROLLBACK = "auto-rollback"  # a failed revision is being rolled back to the last applied one
    AUTO_ROLLBACK_FAILED = "auto-rollback-failed"
    RETRY = "retry"  # a failed head is tried again, its backoff over
    DRIFT = "drift"  # live state differs from the applied revision
    SELF_HEAL = "self-heal"  # a drift correction run ended (see `ok`)
    # replicas
    LEADER = "leader"  # this replica became the leader
    FOLLOWER = "follower"  # this replica found another leading (said once per stretch of following)
    # pull requests (read-only reviews; nothing in them is applied)
    PR_REVIEW = "pr-review"  # a pull request's head was validated and planned
    # requests of the API (sync, rollback, resume): what the reconcile that took them did
    REQUEST_DONE = "request-done"


class Payload(BaseModel):
    """Base of every payload: frozen, unknown fields kept (a newer writer may add some)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    # Notifications skip a quiet event: a retry's repeat of a failure already told (a failure streak is sent
    # once, and once more when it recovers), or a step of an auto-rollback told by its `auto-rollback` and
    # `rolled_back` events.
    quiet: bool | None = None


class RevisionRecorded(Payload):
    head: str
    subject: str = ""
    commits: int = 1
    superseded: list[str] = Field(default_factory=list)


class ForcePushed(Payload):
    previous: str
    head: str


class HistoryGap(Payload):
    since: str
    head: str
    error: str


class FetchFailed(Payload):
    error: str


class Suspended(Payload):
    pass


class Resumed(Payload):
    unpinned: str | None = None


class RollbackRequested(Payload):
    to: str
    restore_data: bool = False


class Unpinned(Payload):
    revision: str


class RequestFailed(Payload):
    ref: str
    error: str


class StatusChanged(Payload):
    """A revision's status changed; `run` is the run (apply, rollback...) that changed it, if any."""

    status: str
    error: str | None = None
    trigger: str | None = None
    run: int | None = None
    errors: list[str] = Field(default_factory=list)  # rejected: the first validation errors
    recovered_after: int | None = None  # applied: the failed attempts of this revision before it


class RequestDone(Payload):
    """The reconcile that took the API's request `request` ended: `action` is its outcome (applied, none,
    failed, rolled_back, rejected, refused, skipped, waiting, interrupted, error), `revision` the one it
    converged or checked."""

    request: str
    action: str
    revision: str | None = None
    detail: str = ""


class DataRollback(Payload):
    snapshot: str
    targets: list[str] = Field(default_factory=list)


class AutoRollback(Payload):
    to: str
    error: str


class AutoRollbackFailed(Payload):
    to: str
    error: str


class DriftFound(Payload):
    revision: str
    targets: list[str]
    counts: dict[str, int] = Field(default_factory=dict)
    corrected: bool = False  # a correction run follows
    reason: str = ""  # why it is not corrected: self-heal off, suspended, plan errors, missing secrets...


class DriftCorrected(Payload):
    revision: str
    run: int
    targets: list[str]
    ok: bool
    error: str | None = None


class LeaderElected(Payload):
    identity: str


class RetryStarted(Payload):
    attempt: int
    error: str = ""


class Following(Payload):
    replica: str
    holder: str


class PullRequestReviewed(Payload):
    """A pull request's review: its head validated and planned read-only (`state` success, failure, error)."""

    provider: str
    repo: str
    number: int
    head_sha: str
    state: str
    against: str = ""
    error: str | None = None
    validation: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    markdown: str = ""


PAYLOADS: dict[EventKind, type[Payload]] = {
    EventKind.REVISION: RevisionRecorded,
    EventKind.FORCE_PUSH: ForcePushed,
    EventKind.HISTORY_GAP: HistoryGap,
    EventKind.FETCH_ERROR: FetchFailed,
    EventKind.SUSPEND: Suspended,
    EventKind.RESUME: Resumed,
    EventKind.ROLLBACK: RollbackRequested,
    EventKind.UNPIN: Unpinned,
    EventKind.SYNC_ERROR: RequestFailed,
    EventKind.ROLLBACK_ERROR: RequestFailed,
    EventKind.REQUEST_DONE: RequestDone,
    EventKind.PENDING: StatusChanged,
    EventKind.REJECTED: StatusChanged,
    EventKind.APPLIED: StatusChanged,
    EventKind.FAILED: StatusChanged,
    EventKind.ROLLED_BACK: StatusChanged,
    EventKind.DATA_ROLLBACK: DataRollback,
    EventKind.AUTO_ROLLBACK: AutoRollback,
    EventKind.AUTO_ROLLBACK_FAILED: AutoRollbackFailed,
    EventKind.DRIFT: DriftFound,
    EventKind.SELF_HEAL: DriftCorrected,
    EventKind.LEADER: LeaderElected,
    EventKind.FOLLOWER: Following,
    EventKind.RETRY: RetryStarted,
    EventKind.PR_REVIEW: PullRequestReviewed,
}


def check(kind: EventKind, payload: Payload) -> None:
    """Raise TypeError when `payload` is not the model of `kind` (a programming error)."""
    expected = PAYLOADS[kind]
    if type(payload) is not expected:
        raise TypeError(f"event {kind.value} takes a {expected.__name__}, not a {type(payload).__name__}")


def parse(kind: str, data: Any) -> Payload | None:
    """The typed payload of a stored event; None for a kind this version does not know or a payload
    that does not fit it (events written before payloads were typed)."""
    try:
        model = PAYLOADS[EventKind(kind)]
    except ValueError:
        return None
    try:
        return model.model_validate(data if isinstance(data, dict) else {})
    except ValidationError:
        return None
