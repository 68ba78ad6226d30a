"""Provisioning steps: each script a run ran in a guest, with its identity, exit status and output tail.

Revision ID: 0004_provisioning
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_provisioning"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "provisioning_steps",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer(),
                  sa.ForeignKey("runs.id", name="fk_provisioning_steps_run_id", ondelete="CASCADE"), nullable=False),
        sa.Column("revision_sha", sa.String(64), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("step", sa.String(255), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("identity", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exit_status", sa.Integer(), nullable=True),
        sa.Column("output_tail", sa.Text(), nullable=False),
        sa.Column("at", timestamp, nullable=False),
    )
    op.create_index("ix_provisioning_steps_run_id", "provisioning_steps", ["run_id"])
    op.create_index("ix_provisioning_steps_target", "provisioning_steps", ["target", "id"])


def downgrade() -> None:
    op.drop_index("ix_provisioning_steps_target", table_name="provisioning_steps")
    op.drop_index("ix_provisioning_steps_run_id", table_name="provisioning_steps")
    op.drop_table("provisioning_steps")
