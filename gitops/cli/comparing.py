"""`phoenix-gitops plan --base REF --head REF [DIR]`: what merging head onto base would change.

For CI jobs without a running controller (deploy/ci/ has ready workflows). DIR is the config folder
in a git checkout; both refs are exported from it. With PHOENIX_PVE_* settings the head is planned
against the live node (read-only), otherwise against the state the base config converges to.
Exit codes as `plan`: 1 when the head is invalid or the plan has errors; with --detailed-exitcode 2
when there are changes.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gitops.cli.output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail, print_json, settings_path

if TYPE_CHECKING:
    from gitops.planner.reviews import Review


def plan_between(directory: Path, base: str, head: str, fmt: str, detailed_exitcode: bool, allow_destroy: bool,
                 settings_file: Path | None) -> None:
    from gitops.controller.reviewing import review_config
    from gitops.controller.systems import Convergence
    from gitops.errors import PhoenixError
    from gitops.secretvalues import register_settings
    from gitops.settings import load_settings
    from gitops.source.revisions import export_revision

    try:
        settings = load_settings(settings_path(settings_file))
    except PhoenixError as exc:
        fail(str(exc), EXIT_USAGE)
    register_settings(settings)
    with tempfile.TemporaryDirectory(prefix="phoenix-plan-") as tmp:
        try:
            limit, folders = settings.git_max_file_bytes, ("bin", settings.scripts_dir)
            base_commit = export_revision(directory, base, Path(tmp) / "base", max_file_bytes=limit,
                                          script_folders=folders)
            head_commit = export_revision(directory, head, Path(tmp) / "head", max_file_bytes=limit,
                                          script_folders=folders)
        except PhoenixError as exc:
            fail(str(exc), EXIT_USAGE)
        convergence = Convergence(settings)
        review = review_config(
            Path(tmp) / "head", head_commit.sha, convergence, live=convergence.reads_live,
            base_dir=Path(tmp) / "base", base_label=f"base {base_commit.short_sha} ({base})",
            policy=settings.policy, allow_destroy=allow_destroy)
    _show(review, fmt, base, head)
    if review.state != "success":
        raise typer.Exit(EXIT_FAILED)
    if detailed_exitcode and review.plan is not None and review.plan.actions:
        raise typer.Exit(2)
    raise typer.Exit(EXIT_OK)


def _show(review: Review, fmt: str, base: str, head: str) -> None:
    from rich.console import Console

    from gitops.cli import rendering

    if fmt == "json":
        print_json({"base": base, "head": head, "head_sha": review.head_sha, "against": review.against,
                    "state": review.state, "error": review.error,
                    "validation": review.report.to_dict() if review.report else None,
                    "plan": review.plan.to_dict() if review.plan else None})
        return
    if fmt == "markdown":
        sys.stdout.write(review.markdown())
        return
    console = Console()
    console.print(f"{head} ({review.head_sha[:12]}) against {review.against}", highlight=False)
    for problem in review.report.problems if review.report else []:
        level = "error" if problem.severity == "error" else "warning"
        console.print(f"{level}: {problem} [{problem.code}]", highlight=False)
    if review.error:
        console.print(f"[bold red]error[/] {review.error}", highlight=False)
    if review.plan is not None:
        rendering.print_text(review.plan, console)
