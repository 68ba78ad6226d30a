"""Export the whole ledger to JSON lines and import it again: backups, and moving between SQLite and PostgreSQL.

Called by the CLI's `phoenix-gitops ledger export|import`. Generic over every table of the store's
metadata (`tables.Base.metadata`), in dependency order, so a table added by a later migration is
carried without a change here. The file is one JSON object per line:

    {"format": "phoenix-gitops-ledger", "format_version": 1, "schema": "0001", "phoenix_gitops": "0.1.0", ...}
    {"table": "revisions", "row": {"id": 1, "sha": "...", "received_at": "2025-01-01T12:00:00+00:00", ...}}
    ...
    {"end": true, "rows": {"revisions": 120, "events": 900, "controller_state": 1}}

The last line lets an import tell a complete file from a cut one. An import is one transaction: it
either brings every row or changes nothing. It needs an empty ledger (a fresh one holds only the
state row its migration made) unless `replace` is given, and refuses files from a newer schema.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Connection, Table, TypeDecorator, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from gitops import errors, version
from gitops.store import database, instances, tables

FORMAT = "phoenix-gitops-ledger"
FORMAT_VERSION = 1
BATCH = 1000
# Tables whose rows a fresh ledger already has (made by a migration): an import replaces them.
SEEDED_TABLES = frozenset({"controller_state"})
# Columns a later migration moved to a table of their own, as (table, column) -> (table, column): an export of
# an older schema still imports (0010: the drift report left the controller state, which keeps its id).
MOVED_COLUMNS = {("controller_state", "last_drift"): ("drift_report", "report")}


@dataclass(frozen=True, slots=True)
class TransferReport:
    """What an export wrote or an import read: the schema of the file and the rows per table."""

    schema: str
    rows: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        total = sum(self.rows.values())
        parts = ", ".join(f"{name} {count}" for name, count in self.rows.items())
        return f"{total} rows (schema {self.schema}: {parts})"


def ordered_tables() -> list[Table]:
    """Every table of the ledger, parents before the tables that refer to them."""
    return list(tables.Base.metadata.sorted_tables)


def export_ledger(url: str, out: IO[str], *, instance: str = instances.DEFAULT) -> TransferReport:
    """Write the ledger of `instance` at `url` (migrated to this version's schema first) to `out` as JSON lines."""
    engine = database.make_engine(url, instance)
    try:
        database.migrate(engine, instance=instance)
        head = _head()
        counts: dict[str, int] = {}
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":  # one snapshot for every table
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                _write(out, {"format": FORMAT, "format_version": FORMAT_VERSION, "schema": head,
                             "phoenix_gitops": version.version(), "backend": engine.dialect.name,
                             "instance": instance,
                             "exported_at": dt.datetime.now(dt.UTC).isoformat(),
                             "tables": [t.name for t in ordered_tables()]})
                for table in ordered_tables():
                    counts[table.name] = 0
                    for row in _rows(connection, table):
                        _write(out, {"table": table.name, "row": row})
                        counts[table.name] += 1
                _write(out, {"end": True, "rows": counts})
        return TransferReport(head, counts)
    except SQLAlchemyError as exc:
        raise errors.StoreError(f"cannot export the ledger at {database.redacted(url)}: {_first_line(exc)}") from None
    finally:
        engine.dispose()


def import_ledger(url: str, source: IO[str], *, replace: bool = False,
                  instance: str = instances.DEFAULT) -> TransferReport:
    """Load an export into the ledger of `instance` at `url` in one transaction; StoreError (nothing changed)
    if it cannot. The export may come from another instance (moving a cluster's history is allowed)."""
    lines = _lines(source)
    header = _header(next(lines, None))
    engine = database.make_engine(url, instance)
    try:
        database.migrate(engine, instance=instance)
        writer = engine.execution_options(**{database.WRITE_OPTION: True})
        with writer.begin() as connection:
            _make_room(connection, replace=replace, where=database.redacted(url))
            counts = _load(connection, lines)
            _reset_sequences(connection)
        return TransferReport(str(header["schema"]), counts)
    except SQLAlchemyError as exc:
        raise errors.StoreError(
            f"cannot import into the ledger at {database.redacted(url)}: {_first_line(exc)} (nothing was imported)"
        ) from None
    finally:
        engine.dispose()


# -- export --------------------------------------------------------------------------------------


def _rows(connection: Connection, table: Table) -> Iterator[dict[str, Any]]:
    query = select(table).order_by(*table.primary_key.columns)
    result = connection.execution_options(yield_per=BATCH).execute(query)
    for row in result.mappings():
        yield {name: _encode(value) for name, value in row.items()}


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value


def _write(out: IO[str], record: dict[str, Any]) -> None:
    out.write(database.json_dumps(record))
    out.write("\n")


# -- import --------------------------------------------------------------------------------------


def _lines(source: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise errors.StoreError(f"line {number}: not JSON ({exc.msg}); nothing was imported") from None
        if not isinstance(record, dict):
            raise errors.StoreError(f"line {number}: expected a JSON object; nothing was imported")
        yield number, record


def _header(first: tuple[int, dict[str, Any]] | None) -> dict[str, Any]:
    if first is None:
        raise errors.StoreError("the file is empty: not a ledger export")
    _, header = first
    if header.get("format") != FORMAT:
        raise errors.StoreError(f"not a ledger export (the first line has no \"format\": \"{FORMAT}\")")
    if header.get("format_version") != FORMAT_VERSION:
        raise errors.StoreError(
            f"export format version {header.get('format_version')!r} is not {FORMAT_VERSION}: "
            f"it was written by a different phoenix-gitops ({header.get('phoenix_gitops', 'unknown')})"
        )
    known = {rev.revision for rev in ScriptDirectory.from_config(database.alembic_config()).walk_revisions()}
    if header.get("schema") not in known:
        raise errors.StoreError(
            f"the export has schema {header.get('schema')!r}, newer than this phoenix-gitops "
            f"({version.version()}, newest schema {_head()}) knows: import it with phoenix-gitops "
            f"{header.get('phoenix_gitops', 'of that version')} or newer"
        )
    return header


def _make_room(connection: Connection, *, replace: bool, where: str) -> None:
    in_use = {t.name: n for t in ordered_tables() if t.name not in SEEDED_TABLES
              and (n := int(connection.scalar(select(func.count()).select_from(t)) or 0))}
    if in_use and not replace:
        counts = ", ".join(f"{name} {n}" for name, n in in_use.items())
        raise errors.StoreError(
            f"the ledger at {where} is not empty ({counts}): import into a fresh database, "
            "or give --replace to delete what it holds first"
        )
    for table in reversed(ordered_tables()):
        connection.execute(table.delete())


def _load(connection: Connection, lines: Iterator[tuple[int, dict[str, Any]]]) -> dict[str, int]:
    by_name = {t.name: t for t in ordered_tables()}
    counts = dict.fromkeys(by_name, 0)
    batch: list[dict[str, Any]] = []
    batch_table: Table | None = None
    moved: dict[str, list[dict[str, Any]]] = {}
    for number, record in lines:
        if record.get("end") is True:
            if batch_table is not None:
                _insert(connection, batch_table, batch)
            _check_end(record, counts)
            for name, rows in moved.items():
                _insert(connection, by_name[name], [_decode_row(by_name[name], row, 0) for row in rows])
            return counts
        table = by_name.get(str(record.get("table")))
        row = record.get("row")
        if table is None or not isinstance(row, dict):
            raise errors.StoreError(
                f"line {number}: unknown table {record.get('table')!r} (this version has "
                f"{', '.join(by_name)}); nothing was imported"
            )
        if batch_table is not None and (table is not batch_table or len(batch) >= BATCH):
            _insert(connection, batch_table, batch)
            batch = []
        batch_table = table
        batch.append(_decode_row(table, _move_columns(table.name, row, moved), number))
        counts[table.name] += 1
    raise errors.StoreError("the export ends before its last line: the file is incomplete; nothing was imported")


def _move_columns(table: str, row: dict[str, Any], moved: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """`row` without the columns a later migration moved (`MOVED_COLUMNS`); each moved value that is set goes
    to a row of its new table, under the same id."""
    kept = dict(row)
    for (source, column), (target, to) in MOVED_COLUMNS.items():
        if source == table and column in kept:
            value = kept.pop(column)
            if value is not None:
                moved.setdefault(target, []).append({"id": row.get("id"), to: value})
    return kept


def _check_end(record: dict[str, Any], counts: dict[str, int]) -> None:
    expected = {name: n for name, n in (record.get("rows") or {}).items() if n}
    found = {name: n for name, n in counts.items() if n}
    if expected != found:
        raise errors.StoreError(f"the export says it holds {expected} rows but {found} were read; nothing was imported")


def _decode_row(table: Table, row: dict[str, Any], number: int) -> dict[str, Any]:
    unknown = set(row) - set(table.columns.keys())
    if unknown:
        raise errors.StoreError(
            f"line {number}: {table.name} has no column {', '.join(sorted(unknown))} in this version; "
            "nothing was imported"
        )
    decoded: dict[str, Any] = {}
    for name, value in row.items():
        decoded[name] = _decode(table.columns[name].type, value, f"line {number}: {table.name}.{name}")
    return decoded


def _decode(type_: Any, value: Any, what: str) -> Any:
    if isinstance(type_, TypeDecorator):  # e.g. the ledger's UtcDateTime: decode as what it stores
        type_ = type_.impl_instance
    if value is None or isinstance(type_, JSON):
        return value
    try:
        python_type = type_.python_type
    except NotImplementedError:
        return value
    try:
        if python_type is dt.datetime:
            return dt.datetime.fromisoformat(value)
        if python_type is dt.date:
            return dt.date.fromisoformat(value)
        if python_type is dt.time:
            return dt.time.fromisoformat(value)
    except (TypeError, ValueError):
        raise errors.StoreError(f"{what}: {value!r} is not an ISO time; nothing was imported") from None
    return value


def _insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows`; a JSON value that is None stays SQL NULL (not the JSON `null`), as the ledger writes it."""
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        kept = {k: v for k, v in row.items() if not (v is None and k in json_columns)}
        groups.setdefault(frozenset(kept), []).append(kept)
    for group in groups.values():
        connection.execute(table.insert(), group)


def _reset_sequences(connection: Connection) -> None:
    """PostgreSQL: the id sequences continue after the imported ids (SQLite takes max(id) + 1 by itself)."""
    if connection.dialect.name != "postgresql":
        return
    for table in ordered_tables():
        column = table.autoincrement_column
        if column is None:
            continue
        connection.execute(
            text(f'SELECT setval(pg_get_serial_sequence(:table, :column), COALESCE(MAX("{column.name}"), 0) + 1, '
                 f'false) FROM "{table.name}"'),
            {"table": table.name, "column": column.name},
        )


def _head() -> str:
    return ScriptDirectory.from_config(database.alembic_config()).get_current_head() or "base"


def _first_line(exc: BaseException) -> str:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return detail[0] if detail else type(exc).__name__

