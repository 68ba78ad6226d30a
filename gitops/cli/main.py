"""`phoenix-gitops`: the Typer app and its command groups. Commands import their heavy modules lazily,
so `validate` on a large estate does not pay for the API server or the database at start-up.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import typer

from gitops.cli import checking, commenting, configuring, controlling, diffing, ledgering, output, planning, validating
from gitops.version import version

# asyncssh (provisioning) still names DSA, which cryptography 51 deprecates: its warning, not ours to show.
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"asyncssh(\..*)?")

app = typer.Typer(
    name="phoenix-gitops",
    help=(
        "GitOps for Proxmox VE: validate, plan and apply the four Phoenix JSON config files, "
        "or run the controller that follows a Git repository of them.\n\n"
        "Example: phoenix-gitops validate configs-example"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"phoenix-gitops {version()}")
        raise typer.Exit(0)


@app.callback()
def main(
    _version: bool = typer.Option(False, "--version", help="print the version and exit", is_eager=True,
                                  callback=_print_version),
    settings: Path | None = typer.Option(None, "--settings", help="TOML file of settings (beneath PHOENIX_* "
                                         "variables) for every command that reads settings; a command's own "
                                         "--settings wins"),
) -> None:
    """GitOps for Proxmox VE."""
    output.GIVEN.settings = settings


app.command("validate", help=validating.HELP)(validating.validate)
app.command("schema", help=validating.SCHEMA_HELP)(validating.schema)
app.add_typer(configuring.app, name="config")
planning.register(app)
diffing.register(app)
controlling.register(app)
ledgering.register(app)
checking.register(app)
commenting.register(app)
