"""`Store`: the ledger's reads and writes, each write one transaction, results as plain records.

Opened by the controller and the API (`open_store(settings.sqlite_url())`). The controller is the
only writer of revision statuses; the API reads. A crash between two calls leaves every revision in
a valid status: startup finds interrupted applies with `revisions_in_status("applying")`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import CursorResult, Engine, func, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from gitops import errors, secretvalues
from gitops.config.memo import PerObject
from gitops.config.secretrefs import SECRET_MASK
from gitops.planner.documents import Document, PlanDocument, RetrySchedule, RunResult, ValidationReport
from gitops.store import database, instances, leadership, records, tables

Clock = Callable[[], dt.datetime]
REVISION_FIELDS = frozenset(
    {"validation", "plan", "result", "error", "started_at", "finished_at", "duration_s", "previous_sha", "snapshot"}
)
JSON_FIELDS = frozenset({"validation", "plan", "result", "last_drift", "data", "extra"})
# The typed documents a revision or a run keeps (`gitops.planner.documents`): written as their model stores
# them (a dict given instead is validated first), read back with `model_validate`.
DOCUMENTS: dict[str, type[Document]] = {"validation": ValidationReport, "plan": PlanDocument, "result": RunResult}
# JSON fields whose values arrive as JSON values already (a document's `stored()`, `DriftReport.to_dict()`):
# dicts, lists, strings, numbers, booleans and None, as `json.loads` would give them back.
_JSON_NATIVE = frozenset({*DOCUMENTS, "last_drift"})
TIME_FIELDS = frozenset({"started_at", "finished_at", "committed_at", "last_drift_at", "last_poll_at",
                         "leader_heartbeat_at"})
_FULL_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_SHA_PREFIX = re.compile(r"^[0-9a-f]{4,64}$")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def open_store(url: str, *, clock: Clock = utc_now, instance: str = instances.DEFAULT) -> Store:
    """Connect to the ledger of `instance` at `url` (see `gitops.store.instances`) and migrate it to the newest
    schema; StoreError if impossible."""
    engine = database.make_engine(url, instance)
    try:
        database.migrate(engine, instance=instance)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, clock=clock, instance=instance)


class Store:
    """The ledger. Thread-safe: each call uses its own session."""

    def __init__(self, engine: Engine, *, clock: Clock = utc_now, instance: str = instances.DEFAULT) -> None:
        self.instance = instances.check_name(instance)
        self._engine = engine
        self._writer = engine.execution_options(**{database.WRITE_OPTION: True})
        self._clock = clock
        self._leadership = leadership.leadership_for(engine)
        # Counts this object's writes: in-memory readers (the API) re-read only when it moves. Another
        # process's writes do not move it; those readers also re-read after a short age.
        self.write_version = 0

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def backend(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._engine.dialect.name

    @property
    def url(self) -> str:
        """The database URL without its password, for logs and the status page (with the instance)."""
        return database.redacted(self._engine.url) + instances.describe(self.instance)

    def close(self) -> None:
        self._leadership.dispose()
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- revisions ---------------------------------------------------------------------------

    def record_revision(
        self,
        sha: str,
        author: str = "",
        message: str = "",
        committed_at: dt.datetime | None = None,
        trigger: str = "poll",
        *,
        status: str = "pending",
    ) -> records.RevisionRecord:
        """Record a commit the controller saw; a sha already recorded is returned unchanged."""
        sha = _full_sha(sha)
        _clean({"committed_at": committed_at})
        _check(trigger, records.TRIGGERS, "trigger")
        _check(status, records.REVISION_STATUSES, "status")
        try:
            with self._write(reraise_integrity=True) as session:
                row = session.scalar(select(tables.Revision).where(tables.Revision.sha == sha))
                if row is None:
                    row = tables.Revision(
                        sha=sha, author=_cap(author, MAX_AUTHOR), message=_cap(message, MAX_MESSAGE),
                        committed_at=committed_at,
                        received_at=self._clock(), status=status, trigger=trigger,
                    )
                    session.add(row)
                    session.flush()
                return _revision(row)
        except IntegrityError:  # another replica recorded it between our read and our insert
            return self.get_revision(sha)

    def set_status(
        self, sha: str, status: str, *, state: Mapping[str, Any] | None = None, **fields: Any
    ) -> records.RevisionRecord:
        """Move a revision to `status` and write `fields` (validation, plan, result, error, times).

        `applying` stamps `started_at`; `applied`, `failed` and `rolled_back` stamp `finished_at` and
        `duration_s`, unless given. `state` updates the controller state in the same transaction
        (e.g. `applied_revision` together with the `applied` status).
        """
        _check(status, records.REVISION_STATUSES, "status")
        unknown = set(fields) - REVISION_FIELDS
        if unknown:
            raise ValueError(f"unknown revision field(s): {', '.join(sorted(unknown))}")
        fields = _clean(fields)
        if isinstance(fields.get("error"), str):
            fields["error"] = _cap(fields["error"], MAX_EVENT)
        state_values = _state_values(state or {})
        now = self._clock()
        with self._write() as session:
            row = self._revision_row(session, sha)
            if status == "applying":
                fields.setdefault("started_at", now)
                fields.setdefault("finished_at", None)
                fields.setdefault("duration_s", None)
            elif status in records.FINISHED_STATUSES:
                finished = fields.setdefault("finished_at", now)
                started = fields.get("started_at", row.started_at)
                if started is not None and finished is not None:
                    fields.setdefault("duration_s", max(0.0, (finished - started).total_seconds()))
            row.status = status
            for name, value in fields.items():
                setattr(row, name, value)
            if state_values:
                self._write_state(session, state_values, now)
            session.flush()
            return _revision(row)

    def get_revision(self, ref: str) -> records.RevisionRecord:
        """The revision with this sha or unique sha prefix (4+ hex digits); NotFoundError otherwise."""
        with self._read() as session:
            return _revision(self._revision_row(session, ref))

    def list_revisions(
        self, limit: int = 50, offset: int = 0, *, status: str | None = None
    ) -> list[records.RevisionRecord]:
        """Revisions newest first (by the time the controller received them)."""
        query = select(tables.Revision)
        if status is not None:
            _check(status, records.REVISION_STATUSES, "status")
            query = query.where(tables.Revision.status == status)
        query = query.order_by(tables.Revision.received_at.desc(), tables.Revision.id.desc())
        with self._read() as session:
            rows = session.scalars(query.limit(max(0, limit)).offset(max(0, offset)))
            return [_revision(row) for row in rows]

    def count_revisions(self, *, status: str | None = None) -> int:
        query = select(func.count()).select_from(tables.Revision)
        if status is not None:
            query = query.where(tables.Revision.status == status)
        with self._read() as session:
            return int(session.scalar(query) or 0)

    def revisions_in_status(self, status: str) -> list[records.RevisionRecord]:
        """Every revision in `status`, oldest first (startup looks for interrupted `applying` ones)."""
        _check(status, records.REVISION_STATUSES, "status")
        query = (
            select(tables.Revision)
            .where(tables.Revision.status == status)
            .order_by(tables.Revision.received_at, tables.Revision.id)
        )
        with self._read() as session:
            return [_revision(row) for row in session.scalars(query)]

    def mark_superseded(self, shas: Iterable[str]) -> list[str]:
        """Mark the still `pending` revisions among `shas` superseded; returns the shas changed."""
        wanted = sorted({_full_sha(sha) for sha in shas})
        if not wanted:
            return []
        with self._write() as session:
            changed = list(
                session.scalars(
                    select(tables.Revision.sha).where(
                        tables.Revision.sha.in_(wanted), tables.Revision.status == "pending"
                    )
                )
            )
            if changed:
                session.execute(
                    update(tables.Revision).where(tables.Revision.sha.in_(changed)).values(status="superseded")
                )
            return sorted(changed)

    # -- runs --------------------------------------------------------------------------------

    def start_run(self, sha: str, kind: str, trigger: str, *,
                  plan: PlanDocument | None = None) -> records.RunRecord:
        """Open a run of `sha` (status `running`); `finish_run` closes it."""
        _check(kind, records.RUN_KINDS, "run kind")
        _check(trigger, records.TRIGGERS, "trigger")
        with self._write() as session:
            row = tables.Run(revision_sha=self._revision_sha(session, sha), kind=kind, trigger=trigger,
                             status="running", started_at=self._clock(), plan=_clean({"plan": plan})["plan"])
            session.add(row)
            session.flush()
            return _run(row)

    def finish_run(self, run_id: int, status: str, *, plan: PlanDocument | None = None,
                   result: RunResult | None = None,
                   error: str | None = None) -> records.RunRecord:
        _check(status, records.RUN_STATUSES, "run status")
        with self._write() as session:
            row = session.get(tables.Run, run_id)
            if row is None:
                raise errors.NotFoundError(f"run {run_id} is not in the ledger")
            row.status, row.error, row.finished_at = status, error, self._clock()
            cleaned = _clean({"plan": plan, "result": result})
            if plan is not None:
                row.plan = cleaned["plan"]
            row.result = cleaned["result"]
            session.flush()
            return _run(row)

    def list_runs(self, limit: int = 50, offset: int = 0, *, revision: str | None = None,
                  kind: str | None = None, status: str | None = None) -> list[records.RunRecord]:
        """Runs newest first, optionally of one revision, kind or status."""
        query = select(tables.Run)
        if status is not None:
            query = query.where(tables.Run.status == status)
        with self._read() as session:
            if revision is not None:
                query = query.where(tables.Run.revision_sha == self._revision_sha(session, revision))
            if kind is not None:
                query = query.where(tables.Run.kind == kind)
            query = query.order_by(tables.Run.started_at.desc(), tables.Run.id.desc())
            return [_run(row) for row in session.scalars(query.limit(max(0, limit)).offset(max(0, offset)))]

    # -- provisioning steps ------------------------------------------------------------------

    def record_steps(self, run_id: int, steps: Iterable[records.StepRecord]) -> None:
        """The scripts run `run_id` ran in guests (already scrubbed of secrets by the executor)."""
        steps = list(steps)
        if not steps:
            return
        with self._write() as session:  # the run's sha only: not its plan and result (a megabyte at 10,000 guests)
            sha = session.scalar(select(tables.Run.revision_sha).where(tables.Run.id == run_id))
            if sha is None:
                raise errors.NotFoundError(f"run {run_id} is not in the ledger")
            now = self._clock()
            for s in steps:
                session.add(tables.ProvisioningStep(
                    run_id=run_id, revision_sha=sha, target=s.target, step=s.step, script=s.script,
                    identity=s.identity, status=s.status, exit_status=s.exit_status, output_tail=s.output_tail,
                    at=s.at or now))

    def list_steps(self, *, target: str | None = None, limit: int = 100) -> list[records.StepRecord]:
        """Steps newest first, optionally of one guest (`lxc/101`)."""
        query = select(tables.ProvisioningStep)
        if target is not None:
            query = query.where(tables.ProvisioningStep.target == target)
        query = query.order_by(tables.ProvisioningStep.id.desc()).limit(max(0, limit))
        with self._read() as session:
            return [records.StepRecord(
                target=r.target, step=r.step, identity=r.identity, status=r.status, script=r.script,
                exit_status=r.exit_status, output_tail=r.output_tail, run_id=r.run_id, revision=r.revision_sha,
                at=r.at) for r in session.scalars(query)]

    # -- requests (the replicas' hand-over queue) -------------------------------------------

    def queue_request(self, kind: str, *, revision: str | None = None, restore_data: bool = False,
                      source: str = "", request: str = "", targets: Iterable[str] = ()) -> records.RequestRecord:
        """Keep a trigger for the leader (this replica is a follower)."""
        if not kind or len(kind) > 16:
            raise ValueError("a request kind is 1 to 16 characters")
        wanted = [str(t) for t in targets]
        with self._write() as session:
            row = tables.Request(at=self._clock(), kind=kind, revision=revision, restore_data=restore_data,
                                 source=source[:64], request_id=request[:16] or None, targets=wanted or None)
            session.add(row)
            session.flush()
            return _request(row)

    def queue_request_once(self, kind: str, *, request: str, revision: str | None = None, restore_data: bool = False,
                           source: str = "", targets: Iterable[str] = (),
                           taken_by: str | None = None) -> tuple[records.RequestRecord, bool]:
        """Keep a request under its id `request` unless the ledger already has one with that id (a replayed
        `Idempotency-Key`, on any replica): `(the new record, True)`, or `(the earlier one, False)` and nothing
        kept. `taken_by`: the leader keeps it as taken by itself (it queues the trigger in memory). Replicas
        are serialised on the id: an advisory lock on PostgreSQL, SQLite's write lock (`BEGIN IMMEDIATE`)."""
        if not kind or len(kind) > 16:
            raise ValueError("a request kind is 1 to 16 characters")
        if not 0 < len(request) <= 16:
            raise ValueError("a request id is 1 to 16 characters")
        wanted = [str(t) for t in targets]
        with self._write() as session:
            if self.backend == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                {"key": leadership.lock_key(f"request:{self.instance}:{request}")})
            earlier = session.scalar(select(tables.Request).where(tables.Request.request_id == request)
                                     .order_by(tables.Request.id).limit(1))
            if earlier is not None:
                return _request(earlier), False
            now = self._clock()
            row = tables.Request(at=now, kind=kind, revision=revision, restore_data=restore_data,
                                 source=source[:64], request_id=request, targets=wanted or None,
                                 taken_at=now if taken_by else None, taken_by=taken_by[:255] if taken_by else None)
            session.add(row)
            session.flush()
            return _request(row), True

    def requests_waiting(self, kinds: Iterable[str]) -> bool:
        """Whether a request of one of `kinds` waits for the leader (kept by a follower, not taken yet)."""
        query = (select(tables.Request.id)
                 .where(tables.Request.taken_at.is_(None), tables.Request.kind.in_(list(kinds))).limit(1))
        with self._read() as session:
            return session.scalar(query) is not None

    def take_requests(self, taker: str, limit: int = 100) -> list[records.RequestRecord]:
        """The waiting requests, oldest first, marked taken by `taker` in the same transaction (so two
        leaders, for a moment, never take the same one)."""
        waiting = select(tables.Request.id).where(tables.Request.taken_at.is_(None)).limit(1)
        with self._read() as session:  # the leader asks every second: no write lock when nothing waits
            if session.scalar(waiting) is None:
                return []
        query = (select(tables.Request).where(tables.Request.taken_at.is_(None))
                 .order_by(tables.Request.id).limit(max(1, limit)).with_for_update(skip_locked=True))
        with self._write() as session:
            rows = list(session.scalars(query))
            now = self._clock()
            for row in rows:
                row.taken_at, row.taken_by = now, taker[:255]
            session.flush()
            return [_request(row) for row in rows]

    # -- events ------------------------------------------------------------------------------

    def add_event(
        self,
        kind: str,
        message: str,
        *,
        level: str = "info",
        revision: str | None = None,
        data: Any = None,
    ) -> records.EventRecord:
        """Append to the journal. `revision`, when given, must be a recorded sha (or unique prefix)."""
        _check(level, records.EVENT_LEVELS, "level")
        if not kind or len(kind) > 64:
            raise ValueError("an event kind is 1 to 64 characters")
        with self._write() as session:
            sha = self._revision_sha(session, revision) if revision else None
            row = tables.Event(
                at=self._clock(), revision_sha=sha, level=level, kind=kind, message=_cap(_scrubbed(message), MAX_EVENT),
                data=_clean({"data": data})["data"],
            )
            session.add(row)
            session.flush()
            return _event(row)

    def list_events(
        self,
        limit: int = 100,
        offset: int = 0,
        *,
        revision: str | None = None,
        kind: str | None = None,
        level: str | None = None,
        after_id: int | None = None,
    ) -> list[records.EventRecord]:
        """Events newest first, optionally of one revision, kind or level, or newer than `after_id`."""
        query = select(tables.Event)
        with self._read() as session:
            if revision is not None:
                query = query.where(tables.Event.revision_sha == self._revision_sha(session, revision))
            if kind is not None:
                query = query.where(tables.Event.kind == kind)
            if level is not None:
                query = query.where(tables.Event.level == level)
            if after_id is not None:
                query = query.where(tables.Event.id > after_id)
            query = query.order_by(tables.Event.id.desc()).limit(max(0, limit)).offset(max(0, offset))
            return [_event(row) for row in session.scalars(query)]

    def events_after(self, after_id: int, limit: int = 100) -> list[records.EventRecord]:
        """Events newer than `after_id`, oldest first: what an outbox consumer has still to handle."""
        query = (select(tables.Event).where(tables.Event.id > after_id)
                 .order_by(tables.Event.id.asc()).limit(max(0, limit)))
        with self._read() as session:
            return [_event(row) for row in session.scalars(query)]

    def latest_event_id(self) -> int:
        with self._read() as session:
            return int(session.scalar(select(func.max(tables.Event.id))) or 0)

    # -- outbox cursors ----------------------------------------------------------------------

    def outbox_cursor(self, consumer: str) -> int | None:
        """The last event id `consumer` handled; None before its first run."""
        with self._read() as session:
            row = session.get(tables.OutboxCursor, consumer)
            return None if row is None else int(row.event_id)

    def set_outbox_cursor(self, consumer: str, event_id: int) -> None:
        """Remember that `consumer` handled every event up to `event_id` (it never moves back)."""
        if not consumer or len(consumer) > 128:
            raise ValueError("an outbox consumer is named in 1 to 128 characters")
        with self._write() as session:
            row = session.get(tables.OutboxCursor, consumer)
            if row is None:
                session.add(tables.OutboxCursor(consumer=consumer, event_id=event_id, updated_at=self._clock()))
            elif event_id > row.event_id:
                row.event_id = event_id
                row.updated_at = self._clock()

    def outbox_backlog(self) -> list[records.OutboxBacklog]:
        """Every consumer's backlog: the events after its cursor and the time of the oldest (for metrics)."""
        with self._read() as session:
            cursors = list(session.scalars(select(tables.OutboxCursor).order_by(tables.OutboxCursor.consumer)))
            out = []
            for row in cursors:
                pending, oldest = session.execute(
                    select(func.count(tables.Event.id), func.min(tables.Event.at))
                    .where(tables.Event.id > row.event_id)).one()
                out.append(records.OutboxBacklog(row.consumer, int(row.event_id), int(pending or 0),
                                                 oldest))
            return out

    def forget_outbox_cursors(self, keep: Iterable[str]) -> list[str]:
        """Drop the cursors of consumers not in `keep` (targets no longer configured); their names."""
        kept = set(keep)
        with self._write() as session:
            gone = [row for row in session.scalars(select(tables.OutboxCursor)) if row.consumer not in kept]
            for row in gone:
                session.delete(row)
            return [row.consumer for row in gone]

    # -- controller state --------------------------------------------------------------------

    def get_state(self, *, drift: bool = True) -> records.ControllerState:
        """The controller state. `drift=False`: without the stored drift report (`last_drift` is None; a table of
        its own, then not read): at 10,000 guests it is a megabyte of JSON, and the reconcile reads the state
        often."""
        with self._read() as session:
            row = session.get(tables.State, 1)
            report = session.get(tables.DriftReportRow, 1) if drift else None
            if row is None:
                return records.ControllerState()
            return _state(row, report.report if report is not None else None)

    def update_state(self, **fields: Any) -> None:
        """Write some fields of the controller state; `extra` is merged key by key (None deletes)."""
        values = _state_values(fields)
        with self._write() as session:
            self._write_state(session, values, self._clock())

    # -- leadership --------------------------------------------------------------------------

    def try_acquire_leadership(self, key: str | int | None = None) -> bool:
        """Become the leader of this instance (or of `key`) if no other replica is; never blocks."""
        return self._leadership.try_acquire(instances.leader_key(self.instance) if key is None else key)

    def is_leader(self) -> bool:
        """Whether the leadership taken earlier is still held (the lock's connection is alive)."""
        return self._leadership.held()

    def leadership_holder(self) -> str:
        """Who holds the leadership when this process does not (for log lines and the API)."""
        return self._leadership.holder()

    def release_leadership(self) -> None:
        self._leadership.release()

    # -- plumbing ----------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Session]:
        try:
            with Session(self._engine, expire_on_commit=False) as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise _store_error(exc, self.url) from None

    @contextmanager
    def _write(self, *, reraise_integrity: bool = False) -> Iterator[Session]:
        """One transaction: committed if the block ends normally, rolled back if it raises."""
        try:
            with Session(self._writer, expire_on_commit=False) as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            self.write_version += 1  # a failed write may still have changed something: readers re-read

            if reraise_integrity and isinstance(exc, IntegrityError):
                raise
            raise _store_error(exc, self.url) from None
        self.write_version += 1

    def _revision_row(self, session: Session, ref: str) -> tables.Revision:
        return cast(tables.Revision, _find_revision(session, ref, tables.Revision))

    def _revision_sha(self, session: Session, ref: str) -> str:
        """The full sha of the revision `ref` names, read without its documents (a run's result is a megabyte
        at 10,000 guests, and each event and run of a revision names it)."""
        return str(_find_revision(session, ref, tables.Revision.sha))

    @staticmethod
    def _write_state(session: Session, values: dict[str, Any], now: dt.datetime) -> tables.State:
        # the stored drift report (the whole estate's descriptions, compressed) has a row of its own: it is
        # neither read nor rewritten to write a phase (a commit writes the state a dozen times)
        if "last_drift" in values:  # written, never read to be written (it would decode a megabyte)
            report = {"report": values.pop("last_drift"), "updated_at": now}
            table = tables.DriftReportRow
            written = cast("CursorResult[Any]", session.execute(update(table).where(table.id == 1).values(**report)))
            if not written.rowcount:
                session.add(table(id=1, **report))
        row = session.get(tables.State, 1, with_for_update=True)
        if row is None:  # the migration inserts it; this only guards against a hand-emptied table
            row = tables.State(id=1, suspended=False, drift=False, phase="idle", extra={})
            session.add(row)
        if "extra" in values:
            merged = dict(row.extra or {})
            for key, value in (values.pop("extra") or {}).items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            row.extra = merged
        if "retry" in values:
            retry = values.pop("retry")
            row.retry_revision = retry.sha if retry is not None else None
            row.retry_attempt = retry.attempt if retry is not None else None
            row.retry_due_at = retry.due_at if retry is not None else None
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = now
        return row


def _find_revision(session: Session, ref: str, what: Any) -> Any:
    """`what` (the row, or one of its columns) of the revision `ref` names: a sha, or a prefix of 4+ hex digits
    naming one revision."""
    ref = ref.strip().lower()
    if not _SHA_PREFIX.match(ref):
        raise errors.NotFoundError(f"revision {ref!r}: not a sha or a sha prefix of 4+ hex digits")
    found = session.scalar(select(what).where(tables.Revision.sha == ref))
    if found is not None:
        return found
    found_all = list(session.scalars(select(what).where(tables.Revision.sha.startswith(ref)).limit(2)))
    if not found_all:
        raise errors.NotFoundError(f"revision {ref} is not in the ledger")
    if len(found_all) > 1:
        raise errors.NotFoundError(f"revision prefix {ref} is ambiguous: give more digits")
    return found_all[0]


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"invalid {what} {value!r}: one of {', '.join(allowed)}")


def _full_sha(sha: str) -> str:
    sha = sha.strip().lower()
    if not _FULL_SHA.match(sha):
        raise ValueError(f"{sha!r} is not a full commit sha (40 or 64 hex digits)")
    return sha


def _state_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - records.STATE_FIELDS
    if unknown:
        raise ValueError(f"unknown controller state field(s): {', '.join(sorted(unknown))}")
    return _clean(fields)


# Longest texts kept: a commit can carry megabytes in its message or in a value echoed by an error.
MAX_AUTHOR, MAX_MESSAGE, MAX_EVENT = 512, 16_384, 2048


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}...({len(text) - limit} more characters)"


def _scrubbed(text: str) -> str:
    """`text` without any secret the process holds (`gitops.secretvalues`): the ledger, its events and the
    API and pages that read them never keep one, whatever wrote it."""
    return secretvalues.scrub_held(text, SECRET_MASK)


def _clean(fields: Mapping[str, Any]) -> dict[str, Any]:
    """JSON fields as they will read back (so records equal what is stored), scrubbed of held secrets;
    times must be aware."""
    cleaned = dict(fields)
    for name, value in cleaned.items():
        made = None
        if name in DOCUMENTS and value is not None:
            made = _MADE.get(value)
            value = made[0] if made is not None else _stored(DOCUMENTS[name], name, value)
        if name in JSON_FIELDS and value is not None:
            native = name in _JSON_NATIVE
            if made is not None:
                text = made[1]
                database.hand(value, text)
            else:
                text = database.dumped(value) if native else database.json_dumps(value)
                if name in DOCUMENTS and isinstance(fields[name], Document):
                    _MADE.put(fields[name], (value, text))
            scrubbed = _scrubbed(text)
            # A document (or the drift report) is JSON already: read back, it is itself, unless scrubbed; the
            # write then takes the text made here (`database.dumped`).
            cleaned[name] = value if scrubbed == text and native else json.loads(scrubbed)
        elif isinstance(value, str):
            cleaned[name] = _scrubbed(value)
        elif name in TIME_FIELDS and value is not None and (
            not isinstance(value, dt.datetime) or value.tzinfo is None
        ):
            raise ValueError(f"{name} must be a timezone-aware datetime, not {value!r}")
    return cleaned


# What `_clean` made of a document in this thread, its stored JSON and its text: a run's result goes to its run
# and to its revision, a plan to four writes (10,000 checks: 40 ms to make). The ledger's writers never change a
# document they handed in.
_MADE: PerObject[tuple[Any, str]] = PerObject(4)


def _stored(model: type[Document], name: str, value: Any) -> Any:
    if not isinstance(value, model):
        try:
            value = model.model_validate(value)
        except ValidationError as exc:
            raise ValueError(f"{name}: not a {model.__name__}: {str(exc).splitlines()[0]}") from None
    return value.stored()


def _store_error(exc: SQLAlchemyError, url: str) -> errors.StoreError:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return errors.StoreError(f"ledger database {url}: {detail[0] if detail else type(exc).__name__}")


def _revision(row: tables.Revision) -> records.RevisionRecord:
    return records.RevisionRecord(
        sha=row.sha, author=row.author, message=row.message, committed_at=row.committed_at,
        received_at=row.received_at, status=row.status, trigger=row.trigger,
        stored_validation=row.validation, stored_plan=row.plan, stored_result=row.result, error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at, duration_s=row.duration_s, previous_sha=row.previous_sha,
        snapshot=row.snapshot,
    )


def _request(row: tables.Request) -> records.RequestRecord:
    targets = row.targets if isinstance(row.targets, list) else []
    return records.RequestRecord(id=row.id, at=row.at, kind=row.kind, revision=row.revision,
                                 restore_data=row.restore_data, source=row.source, request=row.request_id or "",
                                 targets=tuple(str(t) for t in targets))


def _run(row: tables.Run) -> records.RunRecord:
    return records.RunRecord(
        id=row.id, revision=row.revision_sha, kind=row.kind, trigger=row.trigger, status=row.status,
        started_at=row.started_at, finished_at=row.finished_at, stored_plan=row.plan,
        stored_result=row.result, error=row.error,
    )


def _event(row: tables.Event) -> records.EventRecord:
    return records.EventRecord(
        id=row.id, at=row.at, level=row.level, kind=row.kind, message=row.message,
        revision=row.revision_sha, data=row.data,
    )


def _retry(row: tables.State) -> RetrySchedule | None:
    if row.retry_revision is None or row.retry_due_at is None:
        return None
    return RetrySchedule(sha=row.retry_revision, attempt=row.retry_attempt or 1, due_at=row.retry_due_at)


def _state(row: tables.State, last_drift: Any = None) -> records.ControllerState:
    return records.ControllerState(
        applied_revision=row.applied_revision, target_revision=row.target_revision,
        pinned_revision=row.pinned_revision, suspended=row.suspended, drift=row.drift,
        last_drift=last_drift, last_drift_at=row.last_drift_at, phase=row.phase,
        last_error=row.last_error, last_poll_at=row.last_poll_at, leader_id=row.leader_id,
        leader_heartbeat_at=row.leader_heartbeat_at, updated_at=row.updated_at, branch_head=row.branch_head,
        retry=_retry(row), extra=dict(row.extra or {}),
    )
