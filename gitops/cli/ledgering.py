"""`phoenix-gitops ledger export FILE` / `ledger import FILE`: back up the ledger, restore it, move it.

JSON lines (see `gitops.store.transfer`); FILE `-` is stdout or stdin. The database is the one the
controller uses (`PHOENIX_DATABASE_URL`, or the SQLite file in `PHOENIX_DATA_DIR`), or `--database`;
the ledger of the instance `PHOENIX_INSTANCE`, or `--instance` (controllers sharing one database).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import typer

from gitops.cli.output import EXIT_OK, fail

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
        settings = load_settings(settings_file, **({"instance": instance} if instance else {}))
    except (PhoenixError, ValueError) as exc:
        fail(f"invalid settings: {exc}")
    return database or settings.sqlite_url(), settings.instance


@contextlib.contextmanager
def _opened(path: str, mode: str) -> Iterator[IO[str]]:
    if path == "-":
        yield sys.stdout if mode == "w" else sys.stdin
        return
    try:
        if mode == "w":  # the ledger describes the estate: readable by its owner only, like the database
            handle = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8")
        else:
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
    from gitops.errors import PhoenixError
    from gitops.store.database import redacted
    from gitops.store.instances import describe
    from gitops.store.transfer import export_ledger

    url, instance = _ledger(database, settings_file, instance)
    target = Path(file) if file != "-" else None
    partial = target.with_name(target.name + ".partial") if target else None
    try:
        with _opened(str(partial) if partial else "-", "w") as out:
            report = export_ledger(url, out, instance=instance)
    except PhoenixError as exc:
        if partial:
            partial.unlink(missing_ok=True)
        fail(str(exc))
    if target and partial:
        partial.replace(target)  # a cut export never takes the name of a complete one
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
        with _opened(file, "r") as source:
            report = import_ledger(url, source, replace=replace, instance=instance)
    except PhoenixError as exc:
        fail(str(exc))
    typer.echo(f"imported {report.summary()} from {file} into {redacted(url)}{describe(instance)}", err=True)
    raise typer.Exit(EXIT_OK)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="ledger")
