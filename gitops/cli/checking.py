"""`phoenix-gitops check`: validate the settings and reach every configured system, one line each.

The same checks `serve` runs and logs at start (`gitops.controller.preflight`). Exit 0 when nothing
failed (warnings and skipped systems allowed), 1 otherwise, 2 when the settings cannot be read.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gitops.cli.output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, print_json, settings_path

if TYPE_CHECKING:
    from gitops.controller.preflight import Check

CHECK_HELP = """Check the settings and reach every configured system: database, Proxmox, Git, Portainer.

One line per system: ok, warning, skipped or FAILED, with what failed and how to fix it. Proxmox
also says which privileges of the PhoenixGitOps role the API token lacks; `config` whether the files
at the branch's head are valid and ask for anything no API token may set (bind mounts, GPUs).
Exit 0 nothing failed, 1 failed.

With --env-file FILE: the settings of that systemd EnvironmentFile (deploy/phoenix-gitops.env.example's
format), read as the service reads them, instead of this shell's PHOENIX_* variables.

Example: phoenix-gitops check --settings /etc/phoenix-gitops/settings.toml

Example: phoenix-gitops check --env-file /etc/phoenix-gitops/env
"""


class CheckFormat(StrEnum):
    text = "text"
    json = "json"


def check(
    settings_file: Path | None = typer.Option(None, "--settings", help="TOML file of settings (beneath PHOENIX_*)"),
    output: CheckFormat = typer.Option(CheckFormat.text, "--format", help="text (one line per system) or json"),
    env_file: Path | None = typer.Option(None, "--env-file", help="systemd EnvironmentFile to read the settings from"),
) -> None:
    with _environment(env_file, output):
        _check(settings_file, output)


@contextlib.contextmanager
def _environment(env_file: Path | None, output: CheckFormat) -> Iterator[None]:
    """The process environment as the service would see it: this shell's without its PHOENIX_* variables,
    and the file's on top (restored afterwards)."""
    if env_file is None:
        yield
        return
    from gitops.settings import read_environment_file

    try:
        variables = read_environment_file(env_file)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        from gitops.controller import preflight

        _print([preflight.Check("settings", "failed", f"cannot read {env_file}: {exc}",
                                "write it as KEY=VALUE lines (deploy/phoenix-gitops.env.example)")], output)
        raise typer.Exit(EXIT_USAGE) from None
    saved = dict(os.environ)
    try:
        for name in [n for n in os.environ if n.upper().startswith("PHOENIX_")]:
            del os.environ[name]
        os.environ.update(variables)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _check(settings_file: Path | None, output: CheckFormat) -> None:
    from pydantic import ValidationError

    from gitops.controller import preflight
    from gitops.errors import PhoenixError
    from gitops.settings import load_settings

    try:
        settings = load_settings(settings_path(settings_file))
    except (PhoenixError, ValidationError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()
        line = preflight.Check("settings", "failed", " ".join(first[:3]),
                               "fix the PHOENIX_* variables or the --settings file (docs/configuration.md: Settings)")
        _print([line], output)
        raise typer.Exit(EXIT_USAGE) from None
    checks = preflight.run_checks(settings)
    _print(checks, output)
    raise typer.Exit(EXIT_FAILED if preflight.failed(checks) else EXIT_OK)


def _print(checks: list[Check], output: CheckFormat) -> None:
    if output == CheckFormat.json:
        print_json({"ok": not any(c.outcome == "failed" for c in checks), "checks": [c.to_dict() for c in checks]})
    else:
        for c in checks:
            typer.echo(c.line())


def register(app: typer.Typer) -> None:
    app.command("check", help=CHECK_HELP)(check)
