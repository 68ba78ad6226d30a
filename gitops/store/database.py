"""Engine creation and schema migration for the ledger.

Called by `gitops.store.ledger.open_store` only. SQLite gets WAL, foreign keys, a busy timeout and
real transactions (pysqlite's own transaction handling is switched off: BEGIN is emitted by us, and
writes take `BEGIN IMMEDIATE` so two writers queue instead of failing). PostgreSQL is reached with
psycopg 3; a plain `postgresql://` URL is rewritten to `postgresql+psycopg://`.

Migrations are the Alembic scripts inside this package (`migrations/`), run in code to head: no
alembic.ini at run time. On PostgreSQL a transaction-scoped advisory lock serialises replicas that
start together, and the whole upgrade is one transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import json
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from gitops import errors, privatefiles
from gitops.config.memo import PerObject
from gitops.store import compatibility, instances

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 0x70686F656E6978  # "phoenix": serialises migrations of replicas starting together
WRITE_OPTION = "phoenix_write"  # execution option marking a transaction that will write
SQLITE_BUSY_TIMEOUT_MS = 15_000


def normalise_url(url: str | URL) -> URL:
    """Parse `url`; choose psycopg 3 for PostgreSQL; make a SQLite file's folder exist."""
    try:
        parsed = make_url(url)
    except SQLAlchemyError as exc:
        raise errors.StoreError(f"invalid database URL: {exc}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not parsed.database.startswith("file:"):
        _private_sqlite_file(Path(parsed.database).expanduser())
    return parsed


def _private_sqlite_file(path: Path) -> None:
    """The ledger describes the estate: its file 0600 in a 0700 folder, whatever existed (SQLite gives its
    journal files the database file's mode)."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise errors.StoreError(f"cannot prepare the ledger file {path}: {exc.strerror}") from None
    with contextlib.suppress(OSError):  # tightened where we may (a folder of someone else's stays as it is)
        privatefiles.private_folder(path.parent)
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)


def redacted(url: str | URL) -> str:
    """The URL as it may appear in messages: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "(unparsable URL)"


def _json_default(value: Any) -> Any:
    """Let callers hand the ledger their plain data (plans, reports) without converting it first."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    dump = getattr(value, "model_dump", None)  # pydantic models
    if callable(dump):
        return dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_dumps(value: Any) -> str:
    """`value` as JSON text: what the engine writes to a JSON column (its `json_serializer`). A text handed
    over by `dumped` for this very object, in this thread, is taken instead of serializing it again."""
    handed = _HANDED.take(value)
    return handed if handed is not None else json.dumps(value, default=_json_default)


def dumped(value: Any) -> str:
    """`json_dumps(value)`, also handed to the next `json_dumps` of the same object in this thread: the
    ledger serializes a document to scrub it, then writes that very object (a run's result at 10,000 guests
    is a megabyte of JSON, not to be made twice). The caller does not change `value` meanwhile."""
    text = json.dumps(value, default=_json_default)
    hand(value, text)
    return text


def hand(value: Any, text: str) -> None:
    """Hand `text`, the JSON of `value` made earlier, to the next `json_dumps` of `value` in this thread."""
    _HANDED.put(value, text)


_HANDED: PerObject[str] = PerObject(4)


def make_engine(url: str | URL, instance: str = instances.DEFAULT) -> Engine:
    """An engine for the ledger of `instance` at `url` (see `gitops.store.instances`), with the SQLite
    settings described in the module docstring."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        schema = instances.schema(instance)
        # The search path is set when the session starts (libpq `options`), so no transaction can undo it.
        connect_args = {"options": f"-c search_path={schema}"} if schema else {}
        return create_engine(parsed, json_serializer=json_dumps, pool_pre_ping=True, connect_args=connect_args)
    parsed = instances.sqlite_file(parsed, instance)
    in_memory = parsed.database in (None, "", ":memory:")
    engine = create_engine(
        parsed,
        json_serializer=json_dumps,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        **({"poolclass": StaticPool} if in_memory else {}),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see _on_begin
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def alembic_config() -> Config:
    """The Alembic configuration, built in code, pointing into the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def migrate(engine: Engine, revision: str = "head", *, instance: str = instances.DEFAULT) -> None:
    """Bring the schema to `revision` in one transaction; StoreError when that is not possible. On PostgreSQL
    the instance's own schema is created first (the engine's connections already search it alone)."""
    config = alembic_config()
    try:
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                schema = instances.schema(instance)
                if schema:  # a checked name: lowercase letters, digits and underscores only
                    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            config.attributes["connection"] = connection
            compatibility.refuse_newer(connection, config, redacted(engine.url))
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        raise errors.StoreError(
            f"cannot migrate the ledger at {redacted(engine.url)}: {first_line(exc)}"
        ) from None


def first_line(exc: BaseException) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__
