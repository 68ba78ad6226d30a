"""A ledger as the first release wrote it: schema 0001 (the first migration), with revisions, events and a pin.

The rows are written through the tables as that schema made them (reflected from the database, not
today's models), so the fixture stays the first release's ledger however the models change later.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import MetaData, text

from gitops.store import database

FIRST_SCHEMA = "0001"
T0 = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
SHA_APPLIED = "1" * 40
SHA_REJECTED = "2" * 40
SHA_PINNED = "3" * 40
SHA_SUPERSEDED = "4" * 64  # a SHA-256 repository's sha


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


REVISIONS: list[dict[str, Any]] = [
    {"id": 1, "sha": SHA_APPLIED, "author": "Ann <ann@example.org>", "message": "first estate",
     "committed_at": at(-1), "received_at": at(0), "status": "applied", "trigger": "poll",
     "validation": {"valid": True, "errors": [], "warnings": []},
     "plan": {"actions": [{"kind": "create", "target": "lxc/101"}], "errors": []},
     "result": {"apply": {"ok": True, "actions": 1}}, "error": None,
     "started_at": at(0.1), "finished_at": at(1.1), "duration_s": 60.0},
    {"id": 2, "sha": SHA_REJECTED, "author": "Bob <bob@example.org>", "message": "typo",
     "committed_at": at(9), "received_at": at(10), "status": "rejected", "trigger": "webhook",
     "validation": {"valid": False, "errors": [{"code": "clone-source-missing", "message": "CT 950 does not exist"}]},
     "plan": None, "result": None, "error": "invalid", "started_at": None, "finished_at": None, "duration_s": None},
    {"id": 3, "sha": SHA_PINNED, "author": "Ann <ann@example.org>", "message": "more memory\n\nfor the web",
     "committed_at": at(19), "received_at": at(20), "status": "rolled_back", "trigger": "rollback",
     "validation": {"valid": True, "errors": [], "warnings": []}, "plan": {"actions": []},
     "result": {"apply": {"ok": True}}, "error": None,
     "started_at": at(20.5), "finished_at": at(21), "duration_s": 30.0},
    {"id": 4, "sha": SHA_SUPERSEDED, "author": "Cy <cy@example.org>", "message": "burst",
     "committed_at": None, "received_at": at(30), "status": "superseded", "trigger": "poll",
     "validation": None, "plan": None, "result": None, "error": None,
     "started_at": None, "finished_at": None, "duration_s": None},
]
EVENTS: list[dict[str, Any]] = [
    {"id": 1, "at": at(0), "revision_sha": SHA_APPLIED, "level": "info", "kind": "revision.applied",
     "message": "applied 111111111111", "data": {"actions": 1}},
    {"id": 2, "at": at(10), "revision_sha": SHA_REJECTED, "level": "error", "kind": "revision.rejected",
     "message": "CT 950 does not exist", "data": None},
    {"id": 3, "at": at(21), "revision_sha": SHA_PINNED, "level": "warning", "kind": "rollback",
     "message": "rolled back and pinned", "data": {"restore_data": False}},
    {"id": 4, "at": at(22), "revision_sha": None, "level": "info", "kind": "controller.started",
     "message": "replica a started", "data": None},
]
STATE: dict[str, Any] = {
    "applied_revision": SHA_PINNED, "target_revision": SHA_PINNED, "pinned_revision": SHA_PINNED,
    "suspended": True, "drift": True, "last_drift": {"counts": {"in_sync": 3, "drifted": 1}},
    "last_drift_at": at(25), "phase": "idle", "last_error": None, "last_poll_at": at(31),
    "leader_id": "replica-a", "leader_heartbeat_at": at(31), "updated_at": at(31),
    "extra": {"last_seen": SHA_SUPERSEDED},
}


def make_first_release_ledger(url: str) -> None:
    """Create the schema of revision 0001 at `url` and fill it with the rows above."""
    engine = database.make_engine(url)
    try:
        database.migrate(engine, FIRST_SCHEMA)
        metadata = MetaData()
        metadata.reflect(engine)
        naive = engine.dialect.name == "sqlite"  # 0001 stores UTC without a zone on SQLite
        with engine.begin() as connection:
            connection.execute(metadata.tables["revisions"].insert(), [_times(r, naive) for r in REVISIONS])
            connection.execute(metadata.tables["events"].insert(), [_times(e, naive) for e in EVENTS])
            state = metadata.tables["controller_state"]
            connection.execute(state.update().where(state.c.id == 1).values(**_times(STATE, naive)))
            if not naive:  # rows written by the first release took their ids from the sequences
                for name in ("revisions", "events"):
                    connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) "
                                            f"FROM {name}"))
    finally:
        engine.dispose()


def _times(row: dict[str, Any], naive: bool) -> dict[str, Any]:
    if not naive:
        return dict(row)
    return {k: v.astimezone(dt.UTC).replace(tzinfo=None) if isinstance(v, dt.datetime) else v
            for k, v in row.items()}
