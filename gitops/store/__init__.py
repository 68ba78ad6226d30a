"""The ledger: every revision the controller saw, what it did with it, its events and its own state.

Callers (the controller, the API, the CLI's `serve`) open it with `open_store(url)` and receive plain
records, never ORM objects, so no session outlives a call. Only this package talks to the database.

    database     engine (SQLite pragmas, PostgreSQL via psycopg 3) and Alembic migrations to head
    tables       the ORM mapping (revisions, runs, events, controller_state, provisioning_steps)
    records      the plain dataclasses handed out, and the allowed statuses, triggers and levels
    ledger       `Store`: the transactional reads and writes
    leadership   PostgreSQL advisory-lock leader election (always granted on SQLite)
"""

from __future__ import annotations

from gitops.store.ledger import Store, open_store
from gitops.store.records import (
    EVENT_LEVELS,
    REVISION_STATUSES,
    TRIGGERS,
    ControllerState,
    EventRecord,
    OutboxBacklog,
    RequestRecord,
    RevisionRecord,
    RunRecord,
    StepRecord,
)

__all__ = [
    "EVENT_LEVELS",
    "REVISION_STATUSES",
    "TRIGGERS",
    "ControllerState",
    "EventRecord",
    "OutboxBacklog",
    "RequestRecord",
    "RevisionRecord",
    "RunRecord",
    "StepRecord",
    "Store",
    "open_store",
]
