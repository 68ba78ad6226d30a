"""`phoenix-gitops diff [DIR]`: desired against live, field by field, with whole values.

What `plan` would change, shown as a diff rather than as actions: each target that differs, then each
field with its live and desired value in full (secrets `(secret)`), files and scripts (a stack's compose
file) as unified diffs. Colour on a terminal; without one, plain lines, never wrapped. Exit 0 when live
matches DIR, 2 when it differs, 1 on an error (as `plan --detailed-exitcode`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from gitops.cli.output import EXIT_FAILED, EXIT_OK
from gitops.cli.planning import SETTINGS_OPTION, PlanFormat, _plan, _prepare

DIFF_HELP = """Show how the live node differs from DIR, field by field, with whole values (secrets masked);
compose files and scripts as unified diffs. Exit 0 no differences, 2 differences, 1 error.

Example: phoenix-gitops diff configs-example | grep image
"""
EXIT_DIFFERENT = 2


def diff(
    directory: Path = typer.Argument(Path("."), help="config directory"),
    settings_file: Path | None = SETTINGS_OPTION,
) -> None:
    from rich.console import Console
    from rich.markup import escape

    from gitops.cli.rendering import print_diff
    from gitops.planner.showing import short

    estate, _settings, session = _prepare(directory, settings_file, PlanFormat.text)
    try:
        run = _plan(directory, estate, session, False)
    finally:
        session.close()
    console = Console()
    data = run.plan.to_dict()
    for a in data["actions"]:
        console.print(f"[bold]{escape(a['target'])}[/] ({a['action']})", highlight=False, soft_wrap=True)
        for c in a["changes"]:
            if c.get("diff"):
                continue
            if console.is_terminal:
                console.print(f"  {escape(c['field'])}: [red]{escape(short(c['old']))}[/] -> "
                              f"[green]{escape(short(c['new']))}[/]", highlight=False, soft_wrap=True)
            else:
                console.file.write(f"  {c['field']}: {short(c['old'])} -> {short(c['new'])}\n")
        for c in a["changes"]:
            if c.get("diff"):
                print_diff(f"{a['target']} {c['field']}", c["diff"], console)
    for p in data["errors"]:
        typer.echo(f"error {p['target']}: {p['message']} [{p['code']}]", err=True)
    if data["errors"]:
        raise typer.Exit(EXIT_FAILED)
    raise typer.Exit(EXIT_DIFFERENT if data["actions"] else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("diff", help=DIFF_HELP)(diff)
