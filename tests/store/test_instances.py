"""Instances sharing one database: each has its own ledger (PostgreSQL schema or SQLite file) and its own
leader lock; the default instance is the ledger as it was before instances existed; `ledger export/import`
move one instance's history."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gitops.cli.main import app
from gitops.settings import Settings
from gitops.store import database, open_store, transfer
from tests.store import first_release as v1

SHA_A, SHA_B = "a" * 40, "b" * 40


def test_instances_never_see_each_others_rows(store_url: str) -> None:
    with open_store(store_url, instance="east") as east, open_store(store_url, instance="west-2") as west:
        east.record_revision(SHA_A, "Ann", "east's commit")
        east.update_state(applied_revision=SHA_A, pinned_revision=SHA_A)
        east.add_event("applied", "east applied", revision=SHA_A)
        east.queue_request("sync", source="test")
        west.record_revision(SHA_B, "Bob", "west's commit")

        assert [r.sha for r in east.list_revisions()] == [SHA_A]
        assert [r.sha for r in west.list_revisions()] == [SHA_B]
        assert west.get_state().pinned_revision is None and west.get_state().applied_revision is None
        assert [e.kind for e in west.list_events()] == []
        assert west.take_requests("w") == [] and len(east.take_requests("e")) == 1
        assert east.instance == "east" and "(instance west-2)" in west.url
    with open_store(store_url) as default:  # the default instance: neither of them
        assert default.list_revisions() == [] and default.count_revisions() == 0


def test_postgresql_keeps_each_instance_in_its_own_schema(pg_url: str) -> None:
    with open_store(pg_url, instance="prod-eu") as store:
        store.record_revision(SHA_A)
    engine = database.make_engine(pg_url)
    try:
        with engine.connect() as connection:
            schemas = set(connection.scalars(text("SELECT schema_name FROM information_schema.schemata")))
            assert "phoenix_prod_eu" in schemas
            assert connection.scalar(text("SELECT count(*) FROM phoenix_prod_eu.revisions")) == 1
            assert connection.scalar(text(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' "
                "AND table_name = 'revisions'")) == 0  # nothing of the default instance was made
    finally:
        engine.dispose()


def test_sqlite_keeps_each_instance_in_its_own_file(sqlite_url: str) -> None:
    with open_store(sqlite_url, instance="lab") as store:
        store.record_revision(SHA_A)
    folder = database.normalise_url(sqlite_url).database
    assert folder is not None and folder.endswith("phoenix.db")
    assert Path(folder).with_name("phoenix.lab.db").exists()


@pytest.mark.parametrize("name", ["Prod", "a_b", "-x", "x-", "a--b", "", "x" * 41, "a;drop"])
def test_an_invalid_instance_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="instance name"):
        Settings(instance=name)
    with pytest.raises(ValueError, match="instance name"):
        open_store("sqlite://", instance=name)


def test_one_leader_per_instance(pg_url: str) -> None:
    stores = {(name, n): open_store(pg_url, instance=name) for name in ("default", "east", "west") for n in (1, 2)}
    try:
        for name in ("default", "east", "west"):  # a leader in each instance, one only
            assert stores[(name, 1)].try_acquire_leadership() is True
            assert stores[(name, 2)].try_acquire_leadership() is False
        stores[("east", 1)].close()  # the east leader goes: its replica takes over, the others are unmoved
        assert stores[("east", 2)].try_acquire_leadership() is True
        assert stores[("west", 2)].try_acquire_leadership() is False
    finally:
        for store in stores.values():
            store.close()


def test_a_ledger_from_before_instances_is_the_default_instance_and_a_new_instance_starts_empty(
        store_url: str) -> None:
    v1.make_first_release_ledger(store_url)  # the first release's schema, with its history and pin
    with open_store(store_url) as default:  # upgraded to head, in place
        assert default.get_state().pinned_revision == v1.SHA_PINNED
        count = default.count_revisions()
        assert count > 0
    with open_store(store_url, instance="second") as second:
        assert second.count_revisions() == 0 and second.get_state().pinned_revision is None
        second.record_revision(SHA_B)
    with open_store(store_url) as default:
        assert default.count_revisions() == count


def test_export_and_import_one_instance(store_url: str, tmp_path: object) -> None:
    with open_store(store_url, instance="east") as east:
        east.record_revision(SHA_A, "Ann", "east's commit")
        east.update_state(pinned_revision=SHA_A)
    with open_store(store_url, instance="west") as west:
        west.record_revision(SHA_B)
    out = io.StringIO()
    report = transfer.export_ledger(store_url, out, instance="east")
    assert report.rows["revisions"] == 1 and '"instance": "east"' in out.getvalue().splitlines()[0]
    assert SHA_B not in out.getvalue()
    # into a new instance of the same database (moving a cluster's history under a new name)
    transfer.import_ledger(store_url, io.StringIO(out.getvalue()), instance="east-copy")
    with open_store(store_url, instance="east-copy") as copy:
        assert [r.sha for r in copy.list_revisions()] == [SHA_A]
        assert copy.get_state().pinned_revision == SHA_A
    with open_store(store_url, instance="west") as west:
        assert [r.sha for r in west.list_revisions()] == [SHA_B]


def test_the_cli_exports_the_instance_of_the_settings_or_the_option(sqlite_url: str, tmp_path: object) -> None:
    with open_store(sqlite_url, instance="east") as east:
        east.record_revision(SHA_A)
    runner = CliRunner()
    by_env = runner.invoke(app, ["ledger", "export", "-", "--database", sqlite_url],
                           env={"PHOENIX_INSTANCE": "east"})
    assert by_env.exit_code == 0, by_env.output
    assert SHA_A in by_env.stdout and "(instance east)" in by_env.stderr
    by_option = runner.invoke(app, ["ledger", "export", "-", "--database", sqlite_url, "--instance", "west"],
                              env={"PHOENIX_INSTANCE": "east"})
    assert by_option.exit_code == 0 and SHA_A not in by_option.stdout
    bad = runner.invoke(app, ["ledger", "export", "-", "--database", sqlite_url, "--instance", "West"])
    assert bad.exit_code == 1 and "invalid --instance" in bad.stderr
