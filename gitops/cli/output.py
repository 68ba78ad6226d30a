"""Printing for the CLI: JSON to stdout, messages to stderr, exit codes in one place."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import typer

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@dataclass
class _Given:
    """What the options before the command said (`phoenix-gitops --settings FILE plan`), set by the app's
    callback at every invocation."""

    settings: Path | None = None


GIVEN = _Given()


def settings_path(own: Path | None) -> Path | None:
    """The settings file a command reads: its own `--settings`, else the one given before the command
    (`phoenix-gitops --settings FILE plan`), else none (the PHOENIX_* variables alone)."""
    return own if own is not None else GIVEN.settings
