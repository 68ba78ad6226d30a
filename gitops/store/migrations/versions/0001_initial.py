"""The initial ledger: revisions, events and the controller's state row.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

json_data = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("author", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("committed_at", timestamp, nullable=True),
        sa.Column("received_at", timestamp, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("validation", json_data, nullable=True),
        sa.Column("plan", json_data, nullable=True),
        sa.Column("result", json_data, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", timestamp, nullable=True),
        sa.Column("finished_at", timestamp, nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.UniqueConstraint("sha", name="uq_revisions_sha"),
    )
    op.create_index("ix_revisions_status", "revisions", ["status"])
    op.create_index("ix_revisions_received", "revisions", ["received_at", "id"])

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", timestamp, nullable=False),
        sa.Column(
            "revision_sha",
            sa.String(64),
            sa.ForeignKey("revisions.sha", name="fk_events_revision_sha", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", json_data, nullable=True),
    )
    op.create_index("ix_events_at", "events", ["at"])
    op.create_index("ix_events_revision_sha", "events", ["revision_sha"])
    op.create_index("ix_events_kind", "events", ["kind"])

    state = op.create_table(
        "controller_state",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("applied_revision", sa.String(64), nullable=True),
        sa.Column("target_revision", sa.String(64), nullable=True),
        sa.Column("pinned_revision", sa.String(64), nullable=True),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("drift", sa.Boolean(), nullable=False),
        sa.Column("last_drift", json_data, nullable=True),
        sa.Column("last_drift_at", timestamp, nullable=True),
        sa.Column("phase", sa.String(32), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_poll_at", timestamp, nullable=True),
        sa.Column("leader_id", sa.String(255), nullable=True),
        sa.Column("leader_heartbeat_at", timestamp, nullable=True),
        sa.Column("updated_at", timestamp, nullable=True),
        sa.Column("extra", json_data, nullable=True),
    )
    op.bulk_insert(state, [{"id": 1, "suspended": False, "drift": False, "phase": "idle", "extra": {}}])


def downgrade() -> None:
    op.drop_table("controller_state")
    op.drop_table("events")
    op.drop_table("revisions")
