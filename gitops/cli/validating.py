"""`phoenix-gitops validate` and `phoenix-gitops schema`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from gitops.cli.output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail, print_json, settings_path

HELP = """Check the four config files of DIR: schema, then cross-file references.

Prints every problem as FILE:LINE:COLUMN: JSON.PATH: message [code]. Exit 0 when valid (warnings
allowed), 1 when invalid, 2 on a usage error.

Example: phoenix-gitops validate configs-example --format json
"""

SCHEMA_HELP = """Write the JSON Schema of each config file, generated from the models, for editors and CI.

Example: phoenix-gitops schema --out schemas/
"""


class Format(StrEnum):
    text = "text"
    json = "json"


def validate(
    directory: Path = typer.Argument(Path("."), help="config directory holding the four JSON files"),
    format: Format = typer.Option(Format.text, "--format", "-f", help="text for people, json for machines"),
    settings_file: Path | None = typer.Option(None, "--settings", help="TOML file of settings: its host `policy` "
                                              "(beneath PHOENIX_* variables)"),
) -> None:
    from pydantic import ValidationError

    from gitops.config.validation import validate_directory
    from gitops.errors import ConfigError
    from gitops.settings import load_settings

    try:
        policy = load_settings(settings_path(settings_file)).policy
    except (ValidationError, OSError) as exc:
        fail(f"settings: {exc}", EXIT_USAGE)
    try:
        _, report = validate_directory(directory, policy)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    if format is Format.json:
        print_json(report.to_dict())
    else:
        prefix = "" if directory == Path(".") else f"{directory}/"
        for problem in report.errors:
            typer.echo(f"{prefix}{problem} [{problem.code}]")
        for problem in report.warnings:
            where = f"{prefix}{problem}".replace(f": {problem.message}", f": warning: {problem.message}", 1)
            typer.echo(f"{where} [{problem.code}]")
        verdict = "valid" if report.valid else "INVALID"
        typer.echo(f"{directory}: {verdict}: {len(report.errors)} errors, {len(report.warnings)} warnings",
                   err=True)
    raise typer.Exit(EXIT_OK if report.valid else EXIT_FAILED)


def schema(
    out: Path | None = typer.Option(None, "--out", "-o", help="folder to write the four schemas into; "
                                    "without it, print them as one JSON object"),
) -> None:
    from gitops.config.schema import MODELS, json_schema, write_schemas

    if out is None:
        print_json({name: json_schema(name) for name in MODELS})
        return
    for path in write_schemas(out):
        typer.echo(str(path))
