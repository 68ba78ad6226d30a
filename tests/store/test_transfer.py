"""`ledger export` / `ledger import`: every table, in order, between SQLite and PostgreSQL, all or nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from gitops import errors
from gitops.cli.main import app
from gitops.store import Store, database, open_store, tables, transfer
from tests.store import first_release as v1


def export_text(url: str) -> str:
    out = io.StringIO()
    transfer.export_ledger(url, out)
    return out.getvalue()


def body(export: str) -> list[str]:
    """The data lines (the header carries the backend and the export time)."""
    return export.splitlines()[1:]


def snapshot(store: Store) -> tuple[Any, ...]:
    return (store.list_revisions(1000), store.list_events(1000), store.get_state())


def table_counts(url: str) -> dict[str, int]:
    engine = database.make_engine(url)
    try:
        with engine.connect() as connection:
            return {t.name: int(connection.scalar(select(func.count()).select_from(t)) or 0)
                    for t in tables.Base.metadata.sorted_tables}
    finally:
        engine.dispose()


@pytest.mark.parametrize("direction", ["sqlite->postgresql", "postgresql->sqlite"])
def test_moves_a_ledger_between_backends_unchanged(direction: str, sqlite_url: str, pg_url: str) -> None:
    source, target = (sqlite_url, pg_url) if direction.startswith("sqlite") else (pg_url, sqlite_url)
    v1.make_first_release_ledger(source)
    exported = export_text(source)
    with open_store(source) as store:
        before = snapshot(store)

    report = transfer.import_ledger(target, io.StringIO(exported))
    assert report.rows == table_counts(target) == table_counts(source)
    with open_store(target) as store:
        assert snapshot(store) == before
        store.record_revision("6" * 40, "Eve", "after the move")  # ids continue after the imported ones
        assert store.add_event("k", "m").id == len(v1.EVENTS) + 1


def test_every_table_of_the_metadata_is_exported_in_dependency_order(sqlite_url: str) -> None:
    v1.make_first_release_ledger(sqlite_url)
    lines = [json.loads(line) for line in export_text(sqlite_url).splitlines()]
    header, rows, end = lines[0], lines[1:-1], lines[-1]
    names = [t.name for t in tables.Base.metadata.sorted_tables]
    assert header["format"] == "phoenix-gitops-ledger" and header["tables"] == names
    seen = list(dict.fromkeys(r["table"] for r in rows))
    assert seen == [n for n in names if table_counts(sqlite_url)[n]]  # parents first
    assert end == {"end": True, "rows": table_counts(sqlite_url)}
    for table in tables.Base.metadata.sorted_tables:  # every column of every table is carried
        for r in rows:
            if r["table"] == table.name:
                assert set(r["row"]) == set(table.columns.keys())


def test_export_import_export_is_identical(sqlite_url: str, tmp_path: Path) -> None:
    v1.make_first_release_ledger(sqlite_url)
    first = export_text(sqlite_url)
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    transfer.import_ledger(copy, io.StringIO(first))
    assert body(export_text(copy)) == body(first)


def test_refuses_a_ledger_in_use_unless_replace(sqlite_url: str, tmp_path: Path) -> None:
    v1.make_first_release_ledger(sqlite_url)
    exported = export_text(sqlite_url)
    used = f"sqlite:///{tmp_path / 'used.db'}"
    with open_store(used) as store:
        store.record_revision("7" * 40)
    with pytest.raises(errors.StoreError, match=r"not empty \(revisions 1\).*--replace"):
        transfer.import_ledger(used, io.StringIO(exported))
    transfer.import_ledger(used, io.StringIO(exported), replace=True)
    with open_store(used) as store:
        assert [r.sha for r in store.list_revisions()] == [r["sha"] for r in reversed(v1.REVISIONS)]


@pytest.mark.parametrize(("damage", "message"), [
    (lambda lines: lines[:-1], "incomplete"),
    (lambda lines: lines[:-2] + lines[-1:], "rows but"),
    (lambda lines: [*lines[:2], '{"table": "nope", "row": {}}', *lines[2:]], "unknown table 'nope'"),
    (lambda lines: [*lines[:2], json.dumps({"table": "events", "row": {"id": 99, "colour": "red"}}), *lines[2:]],
     "no column colour"),
    (lambda lines: [*lines[:2], "{not json", *lines[2:]], "not JSON"),
    (lambda lines: [json.dumps({**json.loads(lines[0]), "schema": "9999"}), *lines[1:]], "newer than this"),
    (lambda lines: ["{}", *lines[1:]], "not a ledger export"),
])
def test_a_bad_file_imports_nothing(sqlite_url: str, tmp_path: Path, damage: Any, message: str) -> None:
    v1.make_first_release_ledger(sqlite_url)
    lines = export_text(sqlite_url).splitlines()
    target = f"sqlite:///{tmp_path / 'target.db'}"
    with pytest.raises(errors.StoreError, match=message):
        transfer.import_ledger(target, io.StringIO("\n".join(damage(lines)) + "\n"))
    if (tmp_path / "target.db").exists():
        assert table_counts(target)["revisions"] == 0 and table_counts(target)["events"] == 0


def test_the_cli_round_trip(sqlite_url: str, tmp_path: Path) -> None:
    v1.make_first_release_ledger(sqlite_url)
    runner = CliRunner()
    backup = tmp_path / "ledger.jsonl"
    result = runner.invoke(app, ["ledger", "export", str(backup), "--database", sqlite_url])
    assert result.exit_code == 0, result.output
    # the first release's nine rows, its drift report now in a row of its own (0010)
    assert "exported 10 rows" in result.stderr and not (tmp_path / "ledger.jsonl.partial").exists()
    assert backup.stat().st_mode & 0o777 == 0o600
    restored = tmp_path / "restored" / "phoenix.db"
    result = runner.invoke(app, ["ledger", "import", str(backup)],
                           env={"PHOENIX_DATA_DIR": str(restored.parent), "PHOENIX_DATABASE_URL": ""})
    assert result.exit_code == 0, result.output
    with open_store(f"sqlite:///{restored}") as store:
        assert store.get_state().pinned_revision == v1.SHA_PINNED
    again = runner.invoke(app, ["ledger", "import", str(backup), "--database", f"sqlite:///{restored}"])
    assert again.exit_code == 1 and "not empty" in again.stderr
    missing = runner.invoke(app, ["ledger", "import", str(tmp_path / "nope.jsonl"), "--database", sqlite_url])
    assert missing.exit_code == 1 and "cannot open" in missing.stderr


def test_an_export_target_is_written_as_the_operator_expects(sqlite_url: str, tmp_path: Path) -> None:
    """Issue 18: `ledger export FILE` wrote FILE.partial and renamed it over FILE whatever FILE was: as root,
    `ledger export /dev/null` replaced the device with a regular file, and a symlink to the real backup
    place was replaced instead of written through."""
    import os
    import stat
    import threading

    v1.make_first_release_ledger(sqlite_url)
    runner = CliRunner()

    def export(target: Path) -> Any:
        return runner.invoke(app, ["ledger", "export", str(target), "--database", sqlite_url])

    # a regular file: replaced whole, 0600 whatever its mode was
    old = tmp_path / "old.jsonl"
    old.write_text("stale\n")
    old.chmod(0o644)
    assert export(old).exit_code == 0
    assert stat.S_IMODE(old.stat().st_mode) == 0o600 and old.read_text().startswith("{")

    # a symlink: followed; the link stays a link, the file it names gets the export
    backups = tmp_path / "backups"
    backups.mkdir()
    link = tmp_path / "latest.jsonl"
    link.symlink_to(backups / "ledger.jsonl")
    assert export(link).exit_code == 0
    assert link.is_symlink() and (backups / "ledger.jsonl").read_text().startswith("{")
    dangling = tmp_path / "dangling.jsonl"
    dangling.symlink_to(tmp_path / "nowhere" / "x.jsonl")
    result = export(dangling)
    assert result.exit_code == 1 and "does not exist" in result.stderr and dangling.is_symlink()

    # a FIFO: streamed to its reader, never replaced
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    assert export(fifo).exit_code == 0
    reader.join(30)
    assert stat.S_ISFIFO(fifo.stat().st_mode) and got and got[0].startswith("{")

    # a device node (the null device, made privately): written through, still a device
    if os.geteuid() == 0:
        null = tmp_path / "null"
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        assert export(null).exit_code == 0
        assert stat.S_ISCHR(null.stat().st_mode) and not (tmp_path / "null.partial").exists()


def test_the_sqlite_ledger_is_owner_only_whatever_existed(tmp_path: Path) -> None:
    """Issue 18: the demo's `phoenix.db` was 0644 in a 0755 folder."""
    import stat

    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    url = f"sqlite:///{folder / 'phoenix.db'}"
    with open_store(url):
        pass
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "phoenix.db").stat().st_mode) == 0o600
    (folder / "phoenix.db").chmod(0o644)
    with open_store(url):
        pass
    assert stat.S_IMODE((folder / "phoenix.db").stat().st_mode) == 0o600


def test_an_export_of_the_older_schema_brings_its_drift_report(sqlite_url: str, tmp_path: Path) -> None:
    """An export made before 0010 keeps the drift report in `controller_state.last_drift`: it imports into the
    table of its own (`transfer.MOVED_COLUMNS`)."""
    v1.make_first_release_ledger(sqlite_url)
    lines = [json.loads(line) for line in export_text(sqlite_url).splitlines()]
    report = next(r["row"]["report"] for r in lines if r.get("table") == "drift_report")
    older: list[dict[str, Any]] = []
    for record in lines:
        if record.get("table") == "drift_report":
            continue
        if record.get("table") == "controller_state":
            record["row"]["last_drift"] = report
        if "schema" in record:
            record["schema"] = "0009"
        if record.get("end"):
            record["rows"] = {k: v for k, v in record["rows"].items() if k != "drift_report"}
        older.append(record)
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    transfer.import_ledger(copy, io.StringIO("\n".join(json.dumps(r) for r in older) + "\n"))
    with open_store(copy) as store, open_store(sqlite_url) as source:
        assert store.get_state().last_drift == report == v1.STATE["last_drift"]
        assert snapshot(store) == snapshot(source)
