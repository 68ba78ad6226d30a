"""`phoenix-gitops plan` and `phoenix-gitops apply`: desired config vs live Proxmox, and converging it."""

from __future__ import annotations

import contextlib
import sys
import tempfile
import threading
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gitops.cli.output import EXIT_FAILED, EXIT_OK, fail, print_json, settings_path

if TYPE_CHECKING:

    from rich.console import Console

    from gitops.config.estate import Estate
    from gitops.controller.converging import PlanRun
    from gitops.controller.systems import Session
    from gitops.drivers.executing import ApplyEvent, ApplyResult
    from gitops.settings import Settings

PLAN_HELP = """Compare DIR with the live Proxmox node and show what `apply` would do, in order.

Reads PHOENIX_PVE_* settings. With --detailed-exitcode: 0 no changes, 2 changes, 1 error.

With --base REF --head REF: what merging head onto base would change, both read from the git
checkout DIR is in (config to config; against the live node when PHOENIX_PVE_HOST is set). For CI.

Example: phoenix-gitops plan configs-example --format markdown

Example: phoenix-gitops plan . --base origin/main --head HEAD --format markdown
"""

APPLY_HELP = """Converge the live Proxmox node to DIR: create, clone, reconfigure, resize, firewall, start.

Shows the plan and asks first unless --yes. Guests removed from the config are deleted only with
--allow-destroy, and only those Phoenix GitOps created (tag `phoenix-gitops`). Exit 0 converged, 1 failed.

Given a FILE saved by `plan --out FILE`, applies exactly that plan without asking, and refuses (exit 1,
saying what changed) when the config or the live state it was made from changed since.

Example: phoenix-gitops apply configs-example --yes

Example: phoenix-gitops plan configs-example --out lab.plan && phoenix-gitops apply lab.plan
"""


class PlanFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


SETTINGS_OPTION = typer.Option(None, "--settings", help="TOML file of settings (beneath PHOENIX_* variables)")


def _prepare(directory: Path, settings_file: Path | None, fmt: PlanFormat) -> tuple[Estate, Settings, Session]:
    from gitops.config.validation import validate_directory
    from gitops.controller.systems import Convergence
    from gitops.errors import ConfigError, PhoenixError
    from gitops.secretvalues import register_settings
    from gitops.settings import load_settings

    try:
        settings = load_settings(settings_path(settings_file))
    except (PhoenixError, ValueError) as exc:
        fail(f"invalid settings: {exc}", 2)
    register_settings(settings)  # its credentials are never handed to a config's `${secret:...}`
    try:
        estate, report = validate_directory(directory, settings.policy)
    except ConfigError as exc:
        fail(str(exc), 2)
    if not report.valid:
        if fmt is PlanFormat.json:
            print_json({"actions": [], "errors": [p.to_dict() for p in report.errors],
                        "warnings": [p.to_dict() for p in report.warnings]})
        else:
            for p in report.errors:
                typer.echo(f"{p} [{p.code}]", err=True)
        fail(f"{directory} is not valid ({len(report.errors)} errors); nothing was planned")
    try:
        session = Convergence(settings).open()
    except PhoenixError as exc:
        fail(str(exc))
    return estate, settings, session


def _plan(directory: Path, estate: Estate, session: Session, allow_destroy: bool) -> PlanRun:
    from gitops.controller.converging import content_revision
    from gitops.errors import PhoenixError

    try:
        with _committed(directory, session.settings) as earlier:
            return session.plan(estate, revision=content_revision(directory), allow_destroy=allow_destroy,
                                earlier=earlier)
    except PhoenixError as exc:
        fail(str(exc))


@contextlib.contextmanager
def _committed(directory: Path, settings: Settings) -> Iterator[Path | None]:
    """With provisioning on and DIR in a git work tree: DIR as committed (HEAD), exported to a temporary
    folder. A script the guest ran from it (its identity says so) and that DIR has changed since is
    shown as a diff; else (not in git, or what ran is not HEAD's) a changed script is shown by its hash."""
    if not settings.provisioning:
        yield None
        return
    from gitops.errors import PhoenixError
    from gitops.source.revisions import export_revision

    with tempfile.TemporaryDirectory(prefix="phoenix-head-") as tmp:
        try:
            export_revision(directory, "HEAD", Path(tmp) / "head", max_file_bytes=settings.git_max_file_bytes,
                            script_folders=("bin", settings.scripts_dir))
        except PhoenixError:
            yield None
            return
        yield Path(tmp) / "head"


def plan(
    directory: Path = typer.Argument(Path("."), help="config directory"),
    format: PlanFormat = typer.Option(PlanFormat.text, "--format", "-f", help="text, json or markdown"),
    detailed_exitcode: bool = typer.Option(False, "--detailed-exitcode",
                                           help="exit 0 when there is nothing to do, 2 when there is"),
    allow_destroy: bool = typer.Option(False, "--allow-destroy", help="plan deleting guests removed from DIR"),
    settings_file: Path | None = SETTINGS_OPTION,
    base: str | None = typer.Option(None, "--base", help="git revision to compare from (with --head)"),
    head: str | None = typer.Option(None, "--head", help="git revision whose config is planned (with --base)"),
    out: Path | None = typer.Option(None, "--out", "-out", help="save the plan to FILE for `apply FILE`"),
) -> None:
    if base is not None or head is not None:
        from gitops.cli.comparing import plan_between

        if base is None or head is None:
            fail("--base and --head go together", 2)
        plan_between(directory, base, head, format.value, detailed_exitcode, allow_destroy, settings_file)
    estate, _settings, session = _prepare(directory, settings_file, format)
    try:
        run = _plan(directory, estate, session, allow_destroy)
    finally:
        session.close()
    _show(run, format)
    if run.plan.errors:
        raise typer.Exit(EXIT_FAILED)
    if out is not None:
        from gitops.cli import savedplans

        savedplans.save(out, directory, run, allow_destroy=allow_destroy)
        typer.echo(f"saved the plan to {out}: `phoenix-gitops apply {out}` applies exactly it", err=True)
    if detailed_exitcode and run.plan.actions:
        raise typer.Exit(2)
    raise typer.Exit(EXIT_OK)


def _show(run: PlanRun, fmt: PlanFormat) -> None:
    from rich.console import Console

    from gitops.cli import rendering
    from gitops.planner.showing import plan_markdown

    if fmt is PlanFormat.json:
        print_json(run.plan.to_dict())
    elif fmt is PlanFormat.markdown:
        sys.stdout.write(plan_markdown(run.plan))
    else:
        rendering.print_text(run.plan, Console())


def apply(
    directory: Path = typer.Argument(Path("."), help="config directory, or a plan saved by `plan --out`"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask before applying"),
    allow_destroy: bool = typer.Option(False, "--allow-destroy", help="delete guests removed from DIR "
                                       "(only those Phoenix GitOps created)"),
    settings_file: Path | None = SETTINGS_OPTION,
) -> None:
    import datetime as dt

    from rich.console import Console

    from gitops.cli import rendering
    from gitops.controller.converging import content_revision
    from gitops.errors import PhoenixError

    console = Console(stderr=False)
    saved = None
    if directory.is_file():  # a saved plan: its folder, its options; applied only if nothing changed
        from gitops.cli import savedplans
        from gitops.errors import PhoenixError as _Error

        try:
            saved = savedplans.load(directory)
        except _Error as exc:
            fail(str(exc))
        directory, yes, allow_destroy = Path(saved["directory"]), True, bool(saved.get("allow_destroy"))
    estate, _settings, session = _prepare(directory, settings_file, PlanFormat.text)
    try:
        run = _plan(directory, estate, session, allow_destroy)
        if saved is not None:
            changed = savedplans.changes_since(saved, directory, run)
            if changed:
                fail("the saved plan is stale, nothing was applied: " + "; ".join(changed)
                     + f". Make a new one: phoenix-gitops plan {directory} --out FILE")
        rendering.print_text(run.plan, console)
        if run.plan.errors:
            fail("the plan has errors; nothing was applied")
        if not run.plan.actions:
            raise typer.Exit(EXIT_OK)
        if not yes:
            try:
                confirmed = typer.confirm(f"Apply {len(run.plan.actions)} actions?", default=False)
            except typer.Abort:
                confirmed = False
            if not confirmed:
                fail("cancelled; nothing was applied (answer y, or pass --yes)", EXIT_FAILED)
        result = _apply_with_progress(session, run, console)
        failed = result.failed
        for outcome in failed:
            console.print(f"[bold red]failed[/] {outcome.target} {outcome.action}: {outcome.error}", highlight=False)
        for outcome in result.skipped:
            console.print(f"[yellow]skipped[/] {outcome.target} {outcome.action}: {outcome.error}", highlight=False)
        if failed or result.skipped:
            fail(f"{len(failed)} actions failed, {len(result.skipped)} skipped, "
                 f"{len(result.outcomes) - len(failed) - len(result.skipped)} done in {result.duration:.1f}s")
        try:  # the controller's own verify step: plan again, then the post-apply checks
            verified = session.verify(estate, run.options, revision=content_revision(directory),
                                      now=dt.datetime.now(dt.UTC))
        except PhoenixError as exc:
            fail(f"applied in {result.duration:.1f}s, but it could not be verified: {exc}")
    finally:
        session.close()
    left = verified.run.plan
    if left.actions:
        fail(f"applied in {result.duration:.1f}s, but {len(left.actions)} changes remain: "
             + ", ".join(f"{a.target} {a.action}" for a in left.actions[:5]))
    for check in verified.checks.failures:
        console.print(f"[bold red]check failed[/] {check.target} {check.check}: {check.detail}", highlight=False)
    if not verified.checks.ok:
        fail(f"applied in {result.duration:.1f}s, but post-apply checks failed: {verified.checks.summary()}")
    pending = f"; waiting for a restart: {', '.join(left.pending)}" if left.pending else ""
    console.print(f"Converged: {len(result.outcomes)} actions in {result.duration:.1f}s{pending}.", highlight=False)
    raise typer.Exit(EXIT_OK)


def _apply_with_progress(session: Session, run: PlanRun, console: Console) -> ApplyResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    lock = threading.Lock()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False, disable=not console.is_terminal) as progress:
        task = progress.add_task("applying", total=len(run.plan.actions))

        def on_event(event: ApplyEvent) -> None:
            with lock:
                if event.kind in ("finished", "skipped"):
                    progress.advance(task)
                    if not console.is_terminal:
                        console.print(f"{event.status:>7} {event.target} {event.action}"
                                      + (f": {event.message}" if event.message and event.status != "ok" else ""),
                                      highlight=False)
                elif event.kind == "started":
                    progress.update(task, description=f"{event.target} {event.action}")

        return session.apply(run, on_event)


def register(app: typer.Typer) -> None:
    app.command("plan", help=PLAN_HELP)(plan)
    app.command("apply", help=APPLY_HELP)(apply)
