"""`phoenix-gitops config get|list`: queries over a config directory, printed as JSON."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from gitops.cli.output import EXIT_FAILED, EXIT_USAGE, fail, print_json

app = typer.Typer(
    help="Query a config directory, as upstream's jq helpers did. Prints JSON.\n\n"
    "Example: phoenix-gitops config get lxc 101 cores --dir configs-example",
    no_args_is_help=True,
)


class Kind(StrEnum):
    lxc = "lxc"
    vm = "vm"
    stack = "stack"
    hypervisor = "hypervisor"


DIR_OPTION = typer.Option(Path("."), "--dir", "-d", help="config directory")


@app.command("get")
def get(
    kind: Kind = typer.Argument(..., help="lxc, vm, stack or hypervisor"),
    ident: str = typer.Argument(..., help="guest id, stack name, or for hypervisor a field path"),
    field: str | None = typer.Argument(None, help="a field of it (dotted path), e.g. network_config.ip"),
    directory: Path = DIR_OPTION,
) -> None:
    """One guest (with defaults applied, its dependency and clone chains), stack, or field.

    Example: phoenix-gitops config get vm 1001 memory_mb -d configs-example
    """
    from gitops.config import queries
    from gitops.errors import ConfigError, NotFoundError

    try:
        estate = queries.load(directory)
        print_json(queries.get(estate, kind.value, ident, field))
    except NotFoundError as exc:
        fail(str(exc), EXIT_FAILED)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)


@app.command("list")
def list_(
    kind: Kind = typer.Argument(..., help="lxc, vm, stack or hypervisor"),
    directory: Path = DIR_OPTION,
) -> None:
    """Every guest of a kind (id, name, template), every stack name, or the hypervisor file.

    Example: phoenix-gitops config list lxc -d configs-example
    """
    from gitops.config import queries
    from gitops.errors import ConfigError

    try:
        print_json(queries.describe(queries.load(directory), kind.value))
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
