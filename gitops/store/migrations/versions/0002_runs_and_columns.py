"""Runs (each apply, rollback, auto-rollback and drift correction of a revision), a revision's previous
revision and pre-apply snapshot as columns, the branch head as a column of the controller state, and
the requests queue (writes and webhooks a follower replica hands to the leader).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

json_data = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "revision_sha",
            sa.String(64),
            sa.ForeignKey("revisions.sha", name="fk_runs_revision_sha", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", timestamp, nullable=False),
        sa.Column("finished_at", timestamp, nullable=True),
        sa.Column("plan", json_data, nullable=True),
        sa.Column("result", json_data, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_runs_revision_sha", "runs", ["revision_sha"])
    op.create_index("ix_runs_started", "runs", ["started_at", "id"])
    op.create_table(
        "requests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", timestamp, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("revision", sa.String(64), nullable=True),
        sa.Column("restore_data", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("taken_at", timestamp, nullable=True),
        sa.Column("taken_by", sa.String(255), nullable=True),
    )
    op.create_index("ix_requests_taken_at", "requests", ["taken_at"])
    with op.batch_alter_table("revisions") as batch:
        batch.add_column(sa.Column("previous_sha", sa.String(64), nullable=True))
        batch.add_column(sa.Column("snapshot", sa.String(128), nullable=True))
    with op.batch_alter_table("controller_state") as batch:
        batch.add_column(sa.Column("branch_head", sa.String(64), nullable=True))

    # Move what earlier versions kept inside JSON into the new columns.
    bind = op.get_bind()
    revisions = sa.table("revisions", sa.column("id", sa.Integer()), sa.column("result", json_data),
                         sa.column("previous_sha", sa.String()), sa.column("snapshot", sa.String()))
    for row in bind.execute(sa.select(revisions.c.id, revisions.c.result)).all():
        result: Any = row.result
        if not isinstance(result, dict):
            continue
        previous, snap = result.get("previous"), result.get("snapshot")
        if isinstance(previous, str) or isinstance(snap, str):
            bind.execute(sa.update(revisions).where(revisions.c.id == row.id).values(
                previous_sha=previous if isinstance(previous, str) else None,
                snapshot=snap if isinstance(snap, str) else None))
    state = sa.table("controller_state", sa.column("id", sa.Integer()), sa.column("extra", json_data),
                     sa.column("branch_head", sa.String()))
    for row in bind.execute(sa.select(state.c.id, state.c.extra)).all():
        extra: Any = row.extra
        if isinstance(extra, dict) and isinstance(extra.get("last_seen"), str):
            rest = {k: v for k, v in extra.items() if k != "last_seen"}
            bind.execute(sa.update(state).where(state.c.id == row.id).values(branch_head=extra["last_seen"],
                                                                           extra=rest))


def downgrade() -> None:
    with op.batch_alter_table("controller_state") as batch:
        batch.drop_column("branch_head")
    with op.batch_alter_table("revisions") as batch:
        batch.drop_column("snapshot")
        batch.drop_column("previous_sha")
    op.drop_index("ix_requests_taken_at", table_name="requests")
    op.drop_table("requests")
    op.drop_index("ix_runs_started", table_name="runs")
    op.drop_index("ix_runs_revision_sha", table_name="runs")
    op.drop_table("runs")
