"""`phoenix-gitops comment`: post a plan on a pull request from CI, edited in place on later runs.

For the ready workflows in deploy/ci/ (teams that do not expose the controller to the forge). Uses
the same forge adapter as the controller: one comment per PR, found again by its marker; with
`--sha`, a commit status as well. The token comes from PHOENIX_GITHUB_TOKEN, PHOENIX_GITEA_TOKEN or
PHOENIX_GITLAB_TOKEN (never from an option, so it stays out of shell history and process lists).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from gitops.cli.output import EXIT_OK, EXIT_USAGE, fail, settings_path

HELP = """Post BODY_FILE as the one Phoenix GitOps comment of pull request PR (editing it if it exists).

Token from PHOENIX_GITHUB_TOKEN / PHOENIX_GITEA_TOKEN / PHOENIX_GITLAB_TOKEN / PHOENIX_BITBUCKET_TOKEN;
API URL from PHOENIX_GITHUB_API_URL / PHOENIX_GITEA_URL / PHOENIX_GITLAB_URL / PHOENIX_BITBUCKET_API_URL.
With --sha and --state, also a commit status (context PHOENIX_STATUS_CONTEXT).

Example: phoenix-gitops comment --forge github --repo ann/config --pr 7 plan.md --sha $SHA --state success
"""


class Forge(StrEnum):
    github = "github"
    gitea = "gitea"
    forgejo = "forgejo"
    gitlab = "gitlab"
    bitbucket = "bitbucket"


class State(StrEnum):
    pending = "pending"
    success = "success"
    failure = "failure"
    error = "error"


def comment(
    body_file: Path = typer.Argument(..., help="markdown file, e.g. the output of plan --format markdown"),
    forge: Forge = typer.Option(..., "--forge", help="github, gitea, forgejo, gitlab or bitbucket"),
    repo: str = typer.Option(..., "--repo", help="owner/name, or a GitLab group/project"),
    pr: int = typer.Option(..., "--pr", help="pull (merge) request number"),
    sha: str | None = typer.Option(None, "--sha", help="commit to set a status on"),
    state: State | None = typer.Option(None, "--state", help="status state (with --sha)"),
    description: str = typer.Option("", "--description", help="status description"),
) -> None:
    from gitops.controller.forging import Forges
    from gitops.errors import PhoenixError
    from gitops.forges import CommitState, CommitStatus
    from gitops.planner.reviews import MARKER
    from gitops.settings import load_settings

    try:
        body = body_file.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {body_file}: {exc.strerror}", EXIT_USAGE)
    settings = load_settings(settings_path(None))
    forges = Forges(settings)
    client = forges.for_provider(forge.value)
    if client is None:
        kind = "gitea" if forge is Forge.forgejo else forge.value
        fail(f"no token or URL for {forge.value}: set PHOENIX_{kind.upper()}_TOKEN", EXIT_USAGE)
    try:
        result = client.upsert_comment(repo, pr, body, MARKER)
        if sha and state:
            client.set_status(repo, sha, CommitStatus(CommitState(state.value), settings.status_context,
                                                      description or f"plan: {state.value}"))
    except PhoenixError as exc:
        fail(str(exc))
    finally:
        forges.close()
    typer.echo(f"{'created' if result.created else 'updated'} comment {result.comment_id} on {repo}#{pr}")
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("comment", help=HELP)(comment)
