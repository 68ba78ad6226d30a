"""The ORM mapping of the ledger's tables: revisions, runs, events, requests, controller_state, drift_report,
outbox_cursors.

Used only inside `gitops.store` (the ledger and the migrations' metadata); nothing outside this
package sees these classes. Times are stored in UTC and always come back timezone-aware.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SHA_LENGTH = 64  # SHA-256 repositories; SHA-1 shas are 40


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC, returned aware (SQLite drops the zone, so it is put back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the ledger stores aware times only")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


JsonData = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


class Revision(Base):
    __tablename__ = "revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha: Mapped[str] = mapped_column(String(SHA_LENGTH))
    author: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[str] = mapped_column(Text, default="")
    committed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), index=True)
    trigger: Mapped[str] = mapped_column(String(16))
    validation: Mapped[Any | None] = mapped_column(JsonData)
    plan: Mapped[Any | None] = mapped_column(JsonData)
    result: Mapped[Any | None] = mapped_column(JsonData)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    duration_s: Mapped[float | None] = mapped_column(Float)
    previous_sha: Mapped[str | None] = mapped_column(String(SHA_LENGTH))  # applied when this one's apply began
    snapshot: Mapped[str | None] = mapped_column(String(128))  # the pre-apply snapshot its apply took

    __table_args__ = (
        UniqueConstraint("sha", name="uq_revisions_sha"),
        Index("ix_revisions_received", "received_at", "id"),
    )


class Run(Base):
    """One convergence of a revision: an apply, a rollback, an auto-rollback or a drift correction."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    revision_sha: Mapped[str] = mapped_column(
        String(SHA_LENGTH),
        ForeignKey("revisions.sha", name="fk_runs_revision_sha", ondelete="CASCADE"),
        index=True,
    )
    kind: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    plan: Mapped[Any | None] = mapped_column(JsonData)
    result: Mapped[Any | None] = mapped_column(JsonData)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_runs_started", "started_at", "id"),)


class Request(Base):
    """A write (sync, rollback, suspend, resume) or webhook that a follower replica received: the leader
    takes it (`taken_at`) and acts on it."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    revision: Mapped[str | None] = mapped_column(String(SHA_LENGTH))
    restore_data: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(64), default="")
    request_id: Mapped[str | None] = mapped_column(String(16))  # the API's id of the request (`--wait`)
    targets: Mapped[Any | None] = mapped_column(JsonData)  # a sync of some resources only (a list of targets)
    taken_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, index=True)
    taken_by: Mapped[str | None] = mapped_column(String(255))


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)
    revision_sha: Mapped[str | None] = mapped_column(
        String(SHA_LENGTH),
        ForeignKey("revisions.sha", name="fk_events_revision_sha", ondelete="SET NULL"),
        index=True,
    )
    level: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(64), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[Any | None] = mapped_column(JsonData)


class ProvisioningStep(Base):
    """One script run in one guest by a run (`gitops.drivers.guests`): its identity (hash of script and
    input), exit status and the tail of its output (scrubbed of secrets), per guest target."""

    __tablename__ = "provisioning_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, ForeignKey("runs.id", name="fk_provisioning_steps_run_id",
                                                            ondelete="CASCADE"), index=True)
    revision_sha: Mapped[str] = mapped_column(String(SHA_LENGTH))
    target: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(255))
    script: Mapped[str] = mapped_column(Text, default="")
    identity: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    exit_status: Mapped[int | None] = mapped_column(Integer)
    output_tail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_provisioning_steps_target", "target", "id"),)


class State(Base):
    """A single row (id 1); `extra` holds any further key/value the controller wants to keep."""

    __tablename__ = "controller_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    applied_revision: Mapped[str | None] = mapped_column(String(SHA_LENGTH))
    target_revision: Mapped[str | None] = mapped_column(String(SHA_LENGTH))
    pinned_revision: Mapped[str | None] = mapped_column(String(SHA_LENGTH))
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    drift: Mapped[bool] = mapped_column(Boolean, default=False)
    last_drift_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    phase: Mapped[str] = mapped_column(String(32), default="idle")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_poll_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    leader_id: Mapped[str | None] = mapped_column(String(255))
    leader_heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    branch_head: Mapped[str | None] = mapped_column(String(SHA_LENGTH))  # the newest commit fetched
    # A failed revision's next attempt (`gitops.controller.backoff`): which, its number, when.
    retry_revision: Mapped[str | None] = mapped_column(String(SHA_LENGTH))
    retry_attempt: Mapped[int | None] = mapped_column(Integer)
    retry_due_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    extra: Mapped[Any | None] = mapped_column(JsonData)


class DriftReportRow(Base):
    """The last drift report (`DriftReport.to_dict()`), one row (id 1), apart from the controller state: a
    megabyte at 10,000 guests, it is not rewritten with every write of the phase (migration 0010)."""

    __tablename__ = "drift_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    report: Mapped[Any | None] = mapped_column(JsonData)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class OutboxCursor(Base):
    """The last event id one consumer of the outbox has handled (delivered, or given up on for good)."""

    __tablename__ = "outbox_cursors"

    consumer: Mapped[str] = mapped_column(String(128), primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
