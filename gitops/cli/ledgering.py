"""`phoenix-gitops ledger export FILE` / `ledger import FILE`: back up the ledger, restore it, move it.

JSON lines (see `gitops.store.transfer`); FILE `-` is stdout or stdin. The database is the one the
controller uses (`PHOENIX_DATABASE_URL`, or the SQLite file in `PHOENIX_DATA_DIR`), or `--database`;
the ledger of the instance `PHOENIX_INSTANCE`, or `--instance` (controllers sharing one database).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import typer

from gitops.cli.output import EXIT_OK, fail, settings_path

app = typer.Typer(help="Back up, restore and move the ledger (revisions, events, controller state).\n\n"
                  "Example: phoenix-gitops ledger export ledger.jsonl", no_args_is_help=True)

DATABASE_OPTION = typer.Option(None, "--database", help="SQLAlchemy URL of the ledger (default: the controller's)")
SETTINGS_OPTION = typer.Option(None, "--settings", help="TOML file of settings (beneath PHOENIX_* variables)")
INSTANCE_OPTION = typer.Option(None, "--instance", help="whose ledger, among controllers sharing the database "
                               "(default: PHOENIX_INSTANCE, else `default`)")

EXPORT_HELP = """Write every revision, event and the controller's state to FILE as JSON lines (`-`: stdout).

The ledger is upgraded to this version's schema first. Stop the controller for an exact copy; a
running one keeps working, and the export is one consistent snapshot.

Example: phoenix-gitops ledger export /var/backups/phoenix-ledger.jsonl
"""

IMPORT_HELP = """Load FILE (made by `ledger export`) into an empty ledger, in one transaction (`-`: stdin).

Moves a ledger between SQLite and PostgreSQL: export from one, import into the other. Refuses a
ledger that already holds revisions unless --replace, and a file from a newer schema.

Example: phoenix-gitops ledger import ledger.jsonl --database postgresql://phoenix@db/phoenix
"""


def _ledger(database: str | None, settings_file: Path | None, instance: str | None) -> tuple[str, str]:
    """The database URL and the instance whose ledger is meant: the options, else the settings."""
    from gitops.errors import PhoenixError
    from gitops.settings import INSTANCE_NAME, INSTANCE_RULE, load_settings

    if instance is not None and not INSTANCE_NAME.match(instance):
        fail(f"invalid --instance {instance!r}: {INSTANCE_RULE}")
    try:
        settings = load_settings(settings_path(settings_file), **({"instance": instance} if instance else {}))
    except (PhoenixError, ValueError) as exc:
        fail(f"invalid settings: {exc}")
    return database or settings.sqlite_url(), settings.instance


@contextlib.contextmanager
def _reading(path: str) -> Iterator[IO[str]]:
    if path == "-":
        yield sys.stdin
        return
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed by this context manager
    except OSError as exc:
        fail(f"cannot open {path}: {exc.strerror}")
    with handle:
        yield handle


@app.command("export", help=EXPORT_HELP)
def export(
    file: str = typer.Argument(..., help="where to write (`-`: stdout)"),
    database: str | None = DATABASE_OPTION,
    settings_file: Path | None = SETTINGS_OPTION,
    instance: str | None = INSTANCE_OPTION,
) -> None:
    from gitops import privatefiles
    from gitops.errors import PhoenixError
    from gitops.store.database import redacted
    from gitops.store.instances import describe
    from gitops.store.transfer import export_ledger

    url, instance = _ledger(database, settings_file, instance)
    try:
        # `-`: stdout; a device or FIFO: streamed to it; a symlink: followed; a regular file: replaced
        # only once the export is complete, 0600 (the ledger describes the estate)
        with contextlib.nullcontext(sys.stdout) if file == "-" else privatefiles.written(Path(file)) as out:
            report = export_ledger(url, out, instance=instance)
    except PhoenixError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {file}: {exc.strerror}")
    typer.echo(f"exported {report.summary()} from {redacted(url)}{describe(instance)} to {file}", err=True)
    raise typer.Exit(EXIT_OK)


@app.command("import", help=IMPORT_HELP)
def import_(
    file: str = typer.Argument(..., help="an export made by `ledger export` (`-`: stdin)"),
    database: str | None = DATABASE_OPTION,
    settings_file: Path | None = SETTINGS_OPTION,
    instance: str | None = INSTANCE_OPTION,
    replace: bool = typer.Option(False, "--replace", help="delete what the ledger holds first"),
) -> None:
    from gitops.errors import PhoenixError
    from gitops.store.database import redacted
    from gitops.store.instances import describe
    from gitops.store.transfer import import_ledger

    url, instance = _ledger(database, settings_file, instance)
    try:
        with _reading(file) as source:
            report = import_ledger(url, source, replace=replace, instance=instance)
    except PhoenixError as exc:
        fail(str(exc))
    typer.echo(f"imported {report.summary()} from {file} into {redacted(url)}{describe(instance)}", err=True)
    raise typer.Exit(EXIT_OK)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="ledger")
