"""Upgrades: a ledger of the first release's schema reaches head with its history and pin, through every
intermediate schema; a ledger of a newer schema is refused, untouched, with a clear message."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from typer.testing import CliRunner

from gitops import errors
from gitops.cli.main import app
from gitops.store import Store, database, open_store
from tests.e2e.conftest import free_port
from tests.store import first_release as v1

# The ledger release 0.1.0 wrote, with its own code (tests/data/ledgers/make_0.1.0.py): never remade.
RELEASED_LEDGER = Path(__file__).resolve().parents[1] / "data" / "ledgers" / "phoenix-0.1.0.sqlite"

SCRIPTS = ScriptDirectory.from_config(database.alembic_config())
HEAD = SCRIPTS.get_current_head()
# Every schema from the first to head, oldest first: each is a stop on the way up.
CHAIN = [rev.revision for rev in reversed(list(SCRIPTS.walk_revisions()))]


def current_revision(url: str) -> str | None:
    engine = database.make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def test_the_first_schema_is_the_oldest() -> None:
    assert CHAIN[0] == v1.FIRST_SCHEMA and CHAIN[-1] == HEAD


@pytest.mark.parametrize("stop", CHAIN)
def test_first_release_ledger_upgrades_with_its_history_and_pin(store_url: str, stop: str) -> None:
    v1.make_first_release_ledger(store_url)
    assert current_revision(store_url) == v1.FIRST_SCHEMA
    engine = database.make_engine(store_url)
    try:
        database.migrate(engine, stop)  # an upgrade done by an intermediate release first
    finally:
        engine.dispose()

    with open_store(store_url) as store:  # this release: upgrades to head
        assert current_revision(store_url) == HEAD
        assert_first_release_history(store)


@pytest.mark.parametrize("stop", CHAIN)
def test_the_ledger_file_release_0_1_0_wrote_upgrades(tmp_path: Path, stop: str) -> None:
    copy = tmp_path / "phoenix.db"
    shutil.copy(RELEASED_LEDGER, copy)
    url = f"sqlite:///{copy}"
    assert current_revision(url) == v1.FIRST_SCHEMA
    engine = database.make_engine(url)
    try:
        database.migrate(engine, stop)
    finally:
        engine.dispose()
    with open_store(url) as store:
        assert current_revision(url) == HEAD
        assert_first_release_history(store)


def assert_first_release_history(store: Store) -> None:
    """The first release's revisions, events and pin are all there, and the ledger takes new writes."""
    revisions = store.list_revisions(limit=100)
    assert [r.sha for r in revisions] == [r["sha"] for r in reversed(v1.REVISIONS)]
    for record in revisions:
        old = next(r for r in v1.REVISIONS if r["sha"] == record.sha)
        got: dict[str, Any] = {name: getattr(record, name) for name in old if name != "id"}
        for name in ("validation", "plan", "result"):  # typed when read, and the same JSON as stored
            got[name] = got[name].stored() if got.get(name) is not None else got.get(name)
        assert got == {k: v for k, v in old.items() if k != "id"}
    events = store.list_events(limit=100)
    assert [(e.id, e.kind, e.revision, e.level, e.message, e.data, e.at) for e in reversed(events)] == [
        (e["id"], e["kind"], e["revision_sha"], e["level"], e["message"], e["data"], e["at"]) for e in v1.EVENTS
    ]
    state = store.get_state()
    assert state.pinned and state.pinned_revision == v1.SHA_PINNED
    assert (state.applied_revision, state.suspended, state.drift, state.last_poll_at) == (
        v1.SHA_PINNED, True, True, v1.STATE["last_poll_at"])
    # the branch head the first release kept in `extra` (a later schema may give it a column of its own)
    head = getattr(state, "branch_head", None) or state.extra.get("last_seen")
    assert head == v1.SHA_SUPERSEDED
    assert state.last_drift == v1.STATE["last_drift"]  # 0010 moved it to a table of its own
    rejected = store.get_revision(v1.SHA_REJECTED[:8]).validation
    assert rejected is not None and rejected.stored() == v1.REVISIONS[1]["validation"]

    # and the upgraded ledger takes new writes (ids continue after the old ones)
    new = "5" * 40
    store.record_revision(new, "Dee", "after the upgrade")
    event = store.add_event("revision.seen", "seen", revision=new)
    assert event.id == len(v1.EVENTS) + 1
    assert store.list_revisions(1)[0].sha == new


def stamp(url: str, revision: str) -> None:
    engine = database.make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :rev"), {"rev": revision})
    finally:
        engine.dispose()


def test_a_ledger_from_a_newer_version_is_refused_and_left_untouched(store_url: str) -> None:
    v1.make_first_release_ledger(store_url)
    open_store(store_url).close()  # upgraded to this version's head, then "a newer version" moves it on
    stamp(store_url, "9999_from_the_future")

    with pytest.raises(errors.StoreError) as raised:
        open_store(store_url)
    message = str(raised.value)
    assert "schema 9999_from_the_future" in message and "newer than this phoenix-gitops" in message
    assert f"newest schema {HEAD}" in message and "not changed" in message
    assert current_revision(store_url) == "9999_from_the_future"
    engine = database.make_engine(store_url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM revisions")) == len(v1.REVISIONS)
    finally:
        engine.dispose()


def test_serve_refuses_to_start_on_a_newer_ledger(sqlite_url: str, tmp_path: Path) -> None:
    open_store(sqlite_url).close()
    stamp(sqlite_url, "9999_from_the_future")
    # a free port: `serve` binds its socket first (and closes it when the ledger refuses)
    result = CliRunner().invoke(app, ["serve", "--port", str(free_port())],
                                env={"PHOENIX_DATABASE_URL": sqlite_url, "PHOENIX_DATA_DIR": str(tmp_path / "data")})
    assert result.exit_code == 1
    assert "error: the ledger at" in result.stderr and "newer than this phoenix-gitops" in result.stderr


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    config = database.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_the_retry_schedule_moves_from_extra_to_its_columns_and_back(store_url: str) -> None:
    """0009: the schedule 0008 kept in `extra["retry"]` becomes the `retry` columns, other keys untouched;
    a schedule that does not parse is dropped (tried at the next poll, as before); a downgrade puts it back."""
    from gitops.planner.documents import RetrySchedule

    sha, due = "7" * 40, "2026-12-06T06:30:00+00:00"
    engine = database.make_engine(store_url)
    try:
        database.migrate(engine, "0008")
        with engine.begin() as connection:
            connection.execute(text("UPDATE controller_state SET extra = :extra WHERE id = 1"),
                               {"extra": database.json_dumps({"retry": {"sha": sha, "attempt": 3, "due_at": due},
                                                              "progress": None, "other": 1})})
    finally:
        engine.dispose()
    with open_store(store_url) as store:
        state = store.get_state()
        assert state.retry == RetrySchedule(sha=sha, attempt=3, due_at=dt.datetime.fromisoformat(due))
        assert state.extra == {"progress": None, "other": 1}
        store.update_state(retry=RetrySchedule(sha=sha, attempt=4, due_at=dt.datetime.fromisoformat(due)))

    engine = database.make_engine(store_url)
    try:
        downgrade(engine, "0008")
        with engine.connect() as connection:
            extra = connection.execute(text("SELECT extra FROM controller_state WHERE id = 1")).scalar_one()
        extra = extra if isinstance(extra, dict) else json.loads(extra)
        assert extra["retry"] == {"sha": sha, "attempt": 4, "due_at": due}
        with engine.begin() as connection:  # a damaged schedule, as the earlier code tolerated
            connection.execute(text("UPDATE controller_state SET extra = :extra WHERE id = 1"),
                               {"extra": database.json_dumps({"retry": {"sha": sha, "due_at": "garbage"}})})
    finally:
        engine.dispose()
    with open_store(store_url) as store:
        assert store.get_state().retry is None and store.get_state().extra == {}


def test_the_drift_report_moves_to_its_own_table_and_back(store_url: str) -> None:
    """0010: the report 0009 kept in `controller_state.last_drift` becomes `drift_report.report`; writes of the
    state leave it alone; a downgrade puts it back."""

    report = {"revision": "8" * 40, "counts": {"in_sync": 2}, "resources": [], "details": "eJwDAAAAAAE="}
    engine = database.make_engine(store_url)
    try:
        database.migrate(engine, "0009")
        with engine.begin() as connection:
            connection.execute(text("UPDATE controller_state SET last_drift = :report WHERE id = 1"),
                               {"report": database.json_dumps(report)})
    finally:
        engine.dispose()
    with open_store(store_url) as store:
        assert store.get_state().last_drift == report and store.get_state(drift=False).last_drift is None
        store.update_state(phase="applying")
        assert store.get_state().last_drift == report
        newer = {**report, "counts": {"in_sync": 3}}
        store.update_state(last_drift=newer, phase="idle")
        assert store.get_state().last_drift == newer and store.get_state().phase == "idle"

    engine = database.make_engine(store_url)
    try:
        downgrade(engine, "0009")
        with engine.connect() as connection:
            kept = connection.execute(text("SELECT last_drift FROM controller_state WHERE id = 1")).scalar_one()
            assert "drift_report" not in inspect(connection).get_table_names()
        assert (kept if isinstance(kept, dict) else json.loads(kept)) == {**report, "counts": {"in_sync": 3}}
    finally:
        engine.dispose()
