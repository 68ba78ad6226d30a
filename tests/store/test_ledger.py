"""The ledger on SQLite and PostgreSQL: migrations, revisions, events, state, leadership."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from typing import Protocol

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from gitops import errors
from gitops.store import Store, database, open_store, tables


class FakeClock(Protocol):
    """The `clock` fixture (see conftest)."""

    now: dt.datetime

    def __call__(self) -> dt.datetime: ...

    def advance(self, seconds: float) -> None: ...


SHA_A = "a" * 40
SHA_B = "b" * 40
SHA_C = "c" * 40
WHEN = dt.datetime(2024, 12, 31, 23, 0, tzinfo=dt.UTC)


# -- migrations --------------------------------------------------------------------------------


def test_migrates_an_empty_database_to_head(store: Store) -> None:
    engine = database.make_engine(store_url_of(store))
    try:
        names = set(inspect(engine).get_table_names())
        assert {"revisions", "runs", "events", "controller_state", "drift_report", "outbox_cursors",
                "provisioning_steps", "alembic_version"} <= names
        head = ScriptDirectory.from_config(database.alembic_config()).get_current_head()
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head == "0010"
    finally:
        engine.dispose()


def test_migrations_match_the_models(store: Store) -> None:
    engine = database.make_engine(store_url_of(store))
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), tables.Base.metadata)
        assert diffs == []
    finally:
        engine.dispose()


def test_reopening_keeps_data_and_does_not_migrate_again(store_url: str, clock: FakeClock) -> None:
    with open_store(store_url, clock=clock) as first:
        first.record_revision(SHA_A, "ann", "one", WHEN, "poll")
    with open_store(store_url, clock=clock) as second:
        assert second.get_revision(SHA_A).message == "one"


def test_sqlite_uses_wal_and_foreign_keys(sqlite_url: str) -> None:
    engine = database.make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_unreachable_database_is_a_store_error_without_the_password() -> None:
    with pytest.raises(errors.StoreError) as caught:
        open_store("postgresql://phoenix:hunter2@127.0.0.1:1/ledger")
    assert "hunter2" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


# -- revisions ---------------------------------------------------------------------------------


def test_record_revision_is_idempotent_on_sha(store: Store, clock: FakeClock) -> None:
    first = store.record_revision(SHA_A, "ann <ann@example.org>", "add CT 101", WHEN, "webhook")
    clock.advance(60)
    again = store.record_revision(SHA_A.upper(), "someone else", "other", None, "poll")
    assert again == first
    assert first.status == "pending"
    assert first.trigger == "webhook"
    assert first.committed_at == WHEN
    assert first.received_at == clock.now - dt.timedelta(seconds=60)
    assert store.count_revisions() == 1


@pytest.mark.parametrize(
    ("sha", "trigger", "status"),
    [("abc", "poll", "pending"), (SHA_A, "cron", "pending"), (SHA_A, "poll", "done")],
)
def test_record_revision_validates_its_input(store: Store, sha: str, trigger: str, status: str) -> None:
    with pytest.raises(ValueError):
        store.record_revision(sha, trigger=trigger, status=status)
    assert store.count_revisions() == 0


def test_record_revision_refuses_naive_times(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record_revision(SHA_A, committed_at=dt.datetime(2025, 1, 1))


def test_set_status_validates_status_and_fields(store: Store) -> None:
    store.record_revision(SHA_A)
    with pytest.raises(ValueError, match="invalid status"):
        store.set_status(SHA_A, "done")
    with pytest.raises(ValueError, match="unknown revision field"):
        store.set_status(SHA_A, "applied", colour="red")
    with pytest.raises(errors.NotFoundError):
        store.set_status(SHA_B, "applied")
    assert store.get_revision(SHA_A).status == "pending"


def test_a_document_of_the_wrong_shape_is_refused_and_nothing_written(store: Store) -> None:
    store.record_revision(SHA_A, "ann", "m", WHEN, "poll")
    with pytest.raises(ValueError, match="plan: not a PlanDocument"):
        store.set_status(SHA_A, "applying", plan={"actions": [1, 2]})
    assert store.get_revision(SHA_A).status == "pending" and store.get_revision(SHA_A).plan is None


def test_apply_lifecycle_stamps_times_and_keeps_results(store: Store, clock: FakeClock) -> None:
    store.record_revision(SHA_A, "ann", "m", WHEN, "poll")
    plan = {"actions": [{"target": "lxc/101", "action": "update", "changes": [{"field": "memory", "old": None,
                                                                               "new": 1024}]}]}
    store.set_status(SHA_A, "applying", validation={"valid": True, "errors": []}, plan=plan)
    clock.advance(42.5)
    result = {"apply": {"ok": True, "outcomes": [{"target": "lxc/101", "status": "ok", "upids": ["UPID:pve:1"]}]}}
    done = store.set_status(SHA_A, "applied", result=result, state={"applied_revision": SHA_A})
    assert done.status == "applied"
    assert done.started_at == clock.now - dt.timedelta(seconds=42.5)
    assert done.finished_at == clock.now
    assert done.duration_s == pytest.approx(42.5)
    # typed when read back, and kept exactly as written
    assert done.plan is not None and done.plan.actions[0].changes[0].new == 1024 and done.plan.stored() == plan
    assert done.validation is not None and done.validation.valid and done.validation.stored() == {
        "valid": True, "errors": []}
    assert done.result is not None and done.result.apply is not None
    assert done.result.apply.outcomes[0].upids == ["UPID:pve:1"] and done.result.stored() == result
    assert store.get_revision(SHA_A) == done
    assert store.get_state().applied_revision == SHA_A

    # applying again (a rollback to it) starts a new run
    clock.advance(10)
    again = store.set_status(SHA_A, "applying")
    assert again.started_at == clock.now
    assert again.finished_at is None
    assert again.duration_s is None


def test_status_and_state_change_in_one_transaction(store: Store) -> None:
    store.record_revision(SHA_A)
    with pytest.raises(errors.StoreError):
        store.set_status(SHA_A, "applied", state={"applied_revision": SHA_A, "phase": None})  # NOT NULL
    assert store.get_revision(SHA_A).status == "pending"
    assert store.get_state().applied_revision is None


def test_get_revision_by_unique_prefix(store: Store) -> None:
    store.record_revision("abcd0" + "0" * 35)
    store.record_revision("abcd1" + "0" * 35)
    assert store.get_revision("abcd0").sha == "abcd0" + "0" * 35
    assert store.get_revision("ABCD10").sha == "abcd1" + "0" * 35
    with pytest.raises(errors.NotFoundError, match="ambiguous"):
        store.get_revision("abcd")
    with pytest.raises(errors.NotFoundError, match="4"):
        store.get_revision("abc")  # too short to be a prefix
    with pytest.raises(errors.NotFoundError):
        store.get_revision("ffff")
    with pytest.raises(errors.NotFoundError):
        store.get_revision("main; drop table revisions")


def test_list_revisions_newest_first_with_paging(store: Store, clock: FakeClock) -> None:
    for sha in (SHA_A, SHA_B, SHA_C):
        store.record_revision(sha)
        clock.advance(1)
    store.set_status(SHA_B, "rejected", error="phoenix_lxc_configs.json:1:1: broken")
    assert [r.sha for r in store.list_revisions()] == [SHA_C, SHA_B, SHA_A]
    assert [r.sha for r in store.list_revisions(limit=1, offset=1)] == [SHA_B]
    assert [r.sha for r in store.list_revisions(status="rejected")] == [SHA_B]
    assert store.count_revisions(status="pending") == 2


def test_same_received_time_orders_by_arrival(store: Store) -> None:
    for sha in (SHA_A, SHA_B, SHA_C):
        store.record_revision(sha)  # the fake clock does not move
    assert [r.sha for r in store.list_revisions()] == [SHA_C, SHA_B, SHA_A]


def test_revisions_in_status_finds_interrupted_applies_oldest_first(store: Store, clock: FakeClock) -> None:
    for sha in (SHA_A, SHA_B, SHA_C):
        store.record_revision(sha)
        clock.advance(1)
    store.set_status(SHA_C, "applying")
    store.set_status(SHA_A, "applying")
    assert [r.sha for r in store.revisions_in_status("applying")] == [SHA_A, SHA_C]
    with pytest.raises(ValueError):
        store.revisions_in_status("stuck")


def test_mark_superseded_touches_only_pending(store: Store) -> None:
    for sha in (SHA_A, SHA_B, SHA_C):
        store.record_revision(sha)
    store.set_status(SHA_B, "rejected")
    assert store.mark_superseded([SHA_A, SHA_B]) == [SHA_A]
    assert store.get_revision(SHA_A).status == "superseded"
    assert store.get_revision(SHA_B).status == "rejected"
    assert store.get_revision(SHA_C).status == "pending"
    assert store.mark_superseded([]) == []


# -- events ------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Action:
    target: str
    at: dt.datetime


def test_events_round_trip_and_filter(store: Store, clock: FakeClock) -> None:
    store.record_revision(SHA_A)
    first = store.add_event("poll", "fetched", data={"head": SHA_A})
    clock.advance(1)
    second = store.add_event(
        "apply", "started", level="warning", revision=SHA_A[:8], data=[_Action("lxc/101", WHEN)]
    )
    assert second.revision == SHA_A
    assert second.data == [{"target": "lxc/101", "at": WHEN.isoformat()}]
    assert second.at == clock.now
    assert [e.id for e in store.list_events()] == [second.id, first.id]
    assert store.list_events(revision=SHA_A) == [second]
    assert store.list_events(kind="poll") == [first]
    assert store.list_events(level="warning") == [second]
    assert store.list_events(after_id=first.id) == [second]
    assert store.list_events(limit=1, offset=1) == [first]


def test_event_validation(store: Store) -> None:
    with pytest.raises(ValueError):
        store.add_event("poll", "x", level="loud")
    with pytest.raises(ValueError):
        store.add_event("", "x")
    with pytest.raises(errors.NotFoundError):
        store.add_event("apply", "x", revision=SHA_B)
    with pytest.raises(TypeError):
        store.add_event("apply", "x", data={"x": object()})
    assert store.list_events() == []


# -- controller state --------------------------------------------------------------------------


def test_state_defaults_and_persists_across_reopen(store_url: str, clock: FakeClock) -> None:
    with open_store(store_url, clock=clock) as first:
        assert first.get_state().phase == "idle"
        assert not first.get_state().suspended
        first.update_state(
            applied_revision=SHA_A, target_revision=SHA_B, pinned_revision=SHA_A, suspended=True,
            drift=True, last_drift={"lxc/101": {"memory": [2048, 4096]}}, last_drift_at=WHEN,
            phase="applying", extra={"poll_failures": 2, "note": "x"},
        )
        first.update_state(extra={"note": None})
    with open_store(store_url, clock=clock) as second:
        state = second.get_state()
    assert state.applied_revision == SHA_A
    assert state.target_revision == SHA_B
    assert state.pinned
    assert state.suspended
    assert state.drift
    assert state.last_drift == {"lxc/101": {"memory": [2048, 4096]}}
    assert state.last_drift_at == WHEN
    assert state.phase == "applying"
    assert state.extra == {"poll_failures": 2}
    assert state.updated_at == clock.now


def test_update_state_rejects_unknown_fields(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown controller state field"):
        store.update_state(colour="red")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.update_state(last_poll_at=dt.datetime(2025, 1, 1))


# -- concurrency and leadership ----------------------------------------------------------------


def test_concurrent_writers_do_not_fail(store: Store) -> None:
    failures: list[BaseException] = []

    def write(prefix: str) -> None:
        try:
            for i in range(20):
                sha = f"{prefix}{i:039x}"
                store.record_revision(sha)
                store.set_status(sha, "applying")
                store.add_event("apply", "x", revision=sha)
                store.update_state(target_revision=sha)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(p,)) for p in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert store.count_revisions() == 80


def test_sqlite_elects_one_leader_per_database_file(sqlite_url: str) -> None:
    # (It used to grant every process: two `serve` on one data dir both led. See test_single_leader_sqlite.)
    with open_store(sqlite_url) as one, open_store(sqlite_url) as two:
        assert one.try_acquire_leadership("phoenix")
        assert not two.try_acquire_leadership("phoenix")
        assert one.is_leader()
        one.release_leadership()
        assert not one.is_leader()
        assert two.try_acquire_leadership("phoenix")


def test_postgres_advisory_lock_elects_one_leader(pg_url: str) -> None:
    with open_store(pg_url) as one, open_store(pg_url) as two:
        assert one.try_acquire_leadership("phoenix")
        assert one.try_acquire_leadership("phoenix")  # asking again while leading keeps it
        assert not two.try_acquire_leadership("phoenix")
        assert two.try_acquire_leadership("another-controller")  # keys are independent
        two.release_leadership()
        assert one.is_leader()
        assert not two.is_leader()

        one.release_leadership()
        assert not one.is_leader()
        assert two.try_acquire_leadership("phoenix")
        assert not one.try_acquire_leadership("phoenix")


def test_postgres_leadership_passes_on_when_the_leader_dies(pg_url: str) -> None:
    two = open_store(pg_url)
    try:
        one = open_store(pg_url)
        assert one.try_acquire_leadership("phoenix")
        assert not two.try_acquire_leadership("phoenix")
        one.close()  # the process ends: its connection, and so its lock, goes away
        assert two.try_acquire_leadership("phoenix")
    finally:
        two.close()


def store_url_of(store: Store) -> str:
    """The store's URL with its password, for a second engine on the same database."""
    return store._engine.url.render_as_string(hide_password=False)


def test_postgres_leader_whose_connection_is_killed_loses_leadership(pg_url: str) -> None:
    with open_store(pg_url) as one, open_store(pg_url) as two:
        assert one.try_acquire_leadership("phoenix")
        engine = database.make_engine(pg_url)
        try:
            with engine.connect() as admin:
                killed = admin.exec_driver_sql(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l "
                    "JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' "
                    "AND d.datname = current_database() AND l.pid <> pg_backend_pid()"
                ).scalars().all()
        finally:
            engine.dispose()
        assert killed == [True]
        assert not one.is_leader()
        assert two.try_acquire_leadership("phoenix")
        assert not one.try_acquire_leadership("phoenix")


def test_replicas_starting_together_migrate_once(pg_url: str) -> None:
    opened: list[Store] = []
    failures: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(open_store(pg_url))
        except BaseException as exc:  # reported in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == []
        assert len(opened) == 4
        assert opened[0].get_state().phase == "idle"
    finally:
        for store in opened:
            store.close()


def test_in_memory_sqlite_works() -> None:
    with open_store("sqlite://") as store:
        store.record_revision(SHA_A)
        assert store.get_revision(SHA_A).status == "pending"


def test_an_unreachable_database_is_an_error_of_the_election_not_a_lost_one() -> None:
    """A leader election that cannot reach PostgreSQL says so (StoreError) instead of answering 'not leader'."""
    from gitops.store import leadership

    engine = database.make_engine("postgresql+psycopg://phoenix@127.0.0.1:1/none?connect_timeout=2")
    election = leadership.AdvisoryLeadership(engine)
    try:
        with pytest.raises(errors.StoreError, match=r"leader election on .*127\.0\.0\.1:1"):
            election.try_acquire("phoenix-gitops")
        assert not election.held()
    finally:
        election.dispose()
        engine.dispose()


def test_migration_0002_moves_json_values_into_their_columns(store_url: str) -> None:
    """A ledger written by 0001 (previous/snapshot inside `result`, the branch head in `extra`) reads
    the same through the new columns after the upgrade."""
    from sqlalchemy import text

    engine = database.make_engine(store_url)
    try:
        database.migrate(engine, "0001")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO revisions (sha, author, message, received_at, status, trigger, result) "
                "VALUES (:sha, '', '', :at, 'applied', 'poll', :result)"),
                {"sha": SHA_B, "at": WHEN.replace(tzinfo=None), "result": json.dumps(
                    {"previous": SHA_A, "snapshot": "phx-bbbbbbbbbbbb", "trigger": "poll"})})
            conn.execute(text("UPDATE controller_state SET extra = :extra WHERE id = 1"),
                         {"extra": json.dumps({"last_seen": SHA_B, "kept": 1})})
    finally:
        engine.dispose()
    with open_store(store_url) as upgraded:
        record = upgraded.get_revision(SHA_B)
        assert (record.previous_sha, record.snapshot) == (SHA_A, "phx-bbbbbbbbbbbb")
        state = upgraded.get_state()
        assert state.branch_head == SHA_B and state.extra == {"kept": 1}


def test_requests_handed_over_are_taken_once_in_order(store: Store) -> None:
    first = store.queue_request("suspend", source="api")
    second = store.queue_request("rollback", revision=SHA_A, restore_data=True, source="api")
    assert store.take_requests("leader-1") == [first, second]
    assert store.take_requests("leader-2") == []  # taken once, by whoever took them first
    assert (second.kind, second.revision, second.restore_data) == ("rollback", SHA_A, True)


def test_outbox_cursors_remember_and_never_move_back(store: Store) -> None:
    first = store.add_event("applied", "one")
    second = store.add_event("failed", "two", level="error")
    assert store.outbox_cursor("notify:x") is None
    assert [e.id for e in store.events_after(0)] == [first.id, second.id]
    store.set_outbox_cursor("notify:x", second.id)
    store.set_outbox_cursor("notify:x", first.id)
    assert store.outbox_cursor("notify:x") == second.id == store.latest_event_id()
    assert store.events_after(second.id) == []


def test_outbox_backlog_counts_what_each_consumer_has_left(store: Store, clock: FakeClock) -> None:
    first = store.add_event("applied", "one")
    clock.advance(30)
    store.add_event("failed", "two", level="error")
    store.set_outbox_cursor("notify:late", first.id)
    store.set_outbox_cursor("notify:done", store.latest_event_id())
    backlog = {b.consumer: b for b in store.outbox_backlog()}
    assert (backlog["notify:late"].pending, backlog["notify:done"].pending) == (1, 0)
    assert backlog["notify:late"].oldest_at == clock.now  # the second event's time, as an aware datetime
    assert backlog["notify:done"].oldest_at is None
    assert store.forget_outbox_cursors(["notify:done"]) == ["notify:late"]
    assert [b.consumer for b in store.outbox_backlog()] == ["notify:done"]
