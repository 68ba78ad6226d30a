"""The stored drift report gets a table of its own: it was `controller_state.last_drift`, now
`drift_report.report` (one row, id 1, made at its first write).

Why: the report holds every resource of the estate (at 10,000 guests, a megabyte of JSON). A database
rewrites a whole row to change one of its columns, so every write of the controller state (its phase,
the apply's progress: a dozen a commit) rewrote the report too; in SQLite, 8 ms a write against 1 ms.
The flag and the time of the last check (`drift`, `last_drift_at`) stay in the controller state.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

json_data = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    report = op.create_table(
        "drift_report",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("report", json_data, nullable=True),
        sa.Column("updated_at", timestamp, nullable=True),
    )
    bind = op.get_bind()
    state = sa.table("controller_state", sa.column("id", sa.Integer()), sa.column("last_drift", json_data),
                     sa.column("updated_at", timestamp))
    row = bind.execute(sa.select(state.c.last_drift, state.c.updated_at).where(state.c.id == 1)).first()
    if row is not None and row.last_drift is not None:
        bind.execute(sa.insert(report).values(id=1, report=row.last_drift, updated_at=row.updated_at))
    with op.batch_alter_table("controller_state") as batch:
        batch.drop_column("last_drift")


def downgrade() -> None:
    with op.batch_alter_table("controller_state") as batch:
        batch.add_column(sa.Column("last_drift", json_data, nullable=True))
    bind = op.get_bind()
    report = sa.table("drift_report", sa.column("id", sa.Integer()), sa.column("report", json_data))
    state = sa.table("controller_state", sa.column("id", sa.Integer()), sa.column("last_drift", json_data))
    found = bind.execute(sa.select(report.c.report).where(report.c.id == 1)).first()
    if found is not None and found.report is not None:
        bind.execute(sa.update(state).where(state.c.id == 1).values(last_drift=found.report))
    op.drop_table("drift_report")
