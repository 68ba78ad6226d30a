"""The retry schedule of a failed revision gets columns of its own: it was `extra["retry"]` of the
controller state (`{"sha", "attempt", "due_at"}`, the time as ISO text), now `retry_revision`,
`retry_attempt` and `retry_due_at`. A schedule that does not parse is dropped: the revision is then tried
at the next poll, as the earlier code did with a damaged schedule.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

json_data = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
timestamp = sa.DateTime(timezone=True)


def _state() -> sa.TableClause:
    return sa.table("controller_state", sa.column("id", sa.Integer()), sa.column("extra", json_data),
                    sa.column("retry_revision", sa.String()), sa.column("retry_attempt", sa.Integer()),
                    sa.column("retry_due_at", timestamp))


def _parsed(schedule: Any) -> tuple[str, int, dt.datetime] | None:
    if not isinstance(schedule, dict) or not isinstance(schedule.get("sha"), str):
        return None
    try:
        due = dt.datetime.fromisoformat(str(schedule["due_at"]))
        attempt = int(schedule.get("attempt", 1))
    except (KeyError, ValueError, TypeError):
        return None
    due = due if due.tzinfo is not None else due.replace(tzinfo=dt.UTC)
    return schedule["sha"], attempt, due.astimezone(dt.UTC)


def upgrade() -> None:
    with op.batch_alter_table("controller_state") as batch:
        batch.add_column(sa.Column("retry_revision", sa.String(64), nullable=True))
        batch.add_column(sa.Column("retry_attempt", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("retry_due_at", timestamp, nullable=True))
    bind = op.get_bind()
    state = _state()
    for row in bind.execute(sa.select(state.c.id, state.c.extra)).all():
        extra: Any = row.extra
        if not isinstance(extra, dict) or "retry" not in extra:
            continue
        rest = {k: v for k, v in extra.items() if k != "retry"}
        parsed = _parsed(extra["retry"])
        sha, attempt, due = parsed if parsed is not None else (None, None, None)
        if due is not None and bind.dialect.name == "sqlite":
            due = due.replace(tzinfo=None)  # the ledger keeps UTC without a zone in SQLite
        bind.execute(sa.update(state).where(state.c.id == row.id).values(
            extra=rest, retry_revision=sha, retry_attempt=attempt, retry_due_at=due))


def downgrade() -> None:
    bind = op.get_bind()
    state = _state()
    for row in bind.execute(sa.select(state.c.id, state.c.extra, state.c.retry_revision, state.c.retry_attempt,
                                      state.c.retry_due_at)).all():
        if row.retry_revision is None or row.retry_due_at is None:
            continue
        due = row.retry_due_at if row.retry_due_at.tzinfo is not None else row.retry_due_at.replace(tzinfo=dt.UTC)
        extra = dict(row.extra or {})
        extra["retry"] = {"sha": row.retry_revision, "attempt": row.retry_attempt or 1, "due_at": due.isoformat()}
        bind.execute(sa.update(state).where(state.c.id == row.id).values(extra=extra))
    with op.batch_alter_table("controller_state") as batch:
        batch.drop_column("retry_due_at")
        batch.drop_column("retry_attempt")
        batch.drop_column("retry_revision")
