"""Pull-request webhook events of each provider, and which kind of event a webhook carries.

Called by the API's webhook route after `verify_webhook`: `event_type` says whether the body is a
push, a pull-request event or something to ignore (a ping, an issue...), then `parse_pull_request`
reads the PR. Its head is fetched from the config repository by `head_ref` (GitHub and Gitea keep
`refs/pull/N/head`, GitLab `refs/merge-requests/N/head`, Bitbucket only the source branch).

    github     X-GitHub-Event: pull_request      action opened, synchronize, reopened, closed...
    gitea      X-Gitea-Event (X-Forgejo-Event): pull_request   action opened, synchronized, reopened...
    gitlab     X-Gitlab-Event: Merge Request Hook   object_attributes.action open, update, reopen...
    bitbucket  X-Event-Key: pullrequest:created, pullrequest:updated, pullrequest:fulfilled...

Actions are normalised to `opened`, `updated`, `reopened`, `closed` or `other`; only the first three
ask for a review.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from gitops import errors
from gitops.source.webhooks import PROVIDERS

EventType = Literal["push", "pull_request", "ignored"]
PrAction = Literal["opened", "updated", "reopened", "closed", "other"]
REVIEWED_ACTIONS: frozenset[str] = frozenset({"opened", "updated", "reopened"})

_ACTIONS: dict[str, dict[str, PrAction]] = {
    "github": {"opened": "opened", "synchronize": "updated", "reopened": "reopened", "closed": "closed",
               "ready_for_review": "updated"},
    "gitea": {"opened": "opened", "synchronized": "updated", "reopened": "reopened", "closed": "closed"},
    "gitlab": {"open": "opened", "update": "updated", "reopen": "reopened", "close": "closed", "merge": "closed"},
    "bitbucket": {"pullrequest:created": "opened", "pullrequest:updated": "updated",
                  "pullrequest:fulfilled": "closed", "pullrequest:rejected": "closed"},
}


@dataclass(frozen=True, slots=True)
class PullRequestEvent:
    """One pull (merge) request event, as the provider reported it."""

    provider: str
    action: PrAction
    number: int
    repo: str  # owner/name; GitLab: the project's path_with_namespace
    head_sha: str | None  # Bitbucket sends a 12-digit abbreviation
    head_branch: str | None
    base_branch: str | None
    head_ref: str  # what to fetch from the config repository
    title: str = ""
    url: str | None = None
    draft: bool = False

    @property
    def wants_review(self) -> bool:
        return self.action in REVIEWED_ACTIONS


def event_type(provider: str, headers: Mapping[str, str]) -> EventType:
    """What the webhook carries, from the provider's event header. Without one, a push (as before)."""
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    name = provider.strip().lower()
    if name == "github":
        event = lowered.get("x-github-event")
        return _kind(event, push="push", pr="pull_request")
    if name == "gitea":
        event = lowered.get("x-gitea-event") or lowered.get("x-forgejo-event") or lowered.get("x-gogs-event")
        return _kind(event, push="push", pr="pull_request")
    if name == "gitlab":
        return _kind(lowered.get("x-gitlab-event"), push="Push Hook", pr="Merge Request Hook")
    if name == "bitbucket":
        event = lowered.get("x-event-key")
        if event is not None and event.startswith("pullrequest:"):
            return "pull_request"
        return _kind(event, push="repo:push", pr="")
    return "push"


def _kind(event: str | None, *, push: str, pr: str) -> EventType:
    if event is None or event == push:
        return "push"
    return "pull_request" if pr and event == pr else "ignored"


def parse_pull_request(provider: str, headers: Mapping[str, str], body: bytes | str) -> PullRequestEvent:
    """The pull-request event in `body`. SourceError when it is not JSON or lacks the PR's number."""
    name = provider.strip().lower()
    if name not in PROVIDERS or name == "generic":
        raise errors.SourceError(f"{provider} webhooks carry no pull-request events")
    try:
        payload = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise errors.SourceError(f"{name} webhook: the body is not JSON") from None
    if not isinstance(payload, dict):
        raise errors.SourceError(f"{name} webhook: the body is not a JSON object")
    try:
        if name == "gitlab":
            return _gitlab(payload)
        if name == "bitbucket":
            key = {k.lower(): v for k, v in headers.items()}.get("x-event-key", "")
            return _bitbucket(payload, key.strip())
        return _github_like(name, payload)
    except (KeyError, TypeError, ValueError) as exc:
        raise errors.SourceError(f"{name} pull-request webhook: missing or malformed field {exc}") from None


def same_repository(event_repo: str, git_url: str, forge_repo: str = "") -> bool:
    """Whether a PR event is about the config repository the controller follows: `forge_repo` when set,
    else the path of `git_url` (a local or file:// URL cannot tell, and is taken on trust)."""
    wanted = event_repo.strip("/").lower()
    if forge_repo:
        return forge_repo.strip("/").lower() == wanted
    if "://" not in git_url and "@" not in git_url:
        return True  # a local path
    if git_url.startswith("file://"):
        return True
    path = git_url.split("://", 1)[-1]
    path = path.split(":", 1)[1] if "://" not in git_url and ":" in path else path.split("/", 1)[-1]
    path = path.strip("/").lower().removesuffix(".git")
    return path == wanted or path.endswith("/" + wanted)


def _github_like(provider: str, payload: dict[str, Any]) -> PullRequestEvent:
    pr = payload["pull_request"]
    number = int(payload.get("number") or pr["number"])
    head, base = pr.get("head") or {}, pr.get("base") or {}
    repo = payload.get("repository") or base.get("repo") or {}
    return PullRequestEvent(
        provider=provider, action=_ACTIONS[provider].get(str(payload.get("action")), "other"), number=number,
        repo=str(repo["full_name"]), head_sha=_sha(head.get("sha")), head_branch=_text(head.get("ref")),
        base_branch=_text(base.get("ref")), head_ref=f"refs/pull/{number}/head", title=str(pr.get("title") or ""),
        url=_text(pr.get("html_url")), draft=bool(pr.get("draft", False)),
    )


def _gitlab(payload: dict[str, Any]) -> PullRequestEvent:
    attrs = payload["object_attributes"]
    number = int(attrs["iid"])
    project = payload.get("project") or {}
    last = attrs.get("last_commit") or {}
    action = _ACTIONS["gitlab"].get(str(attrs.get("action")), "other")
    if action == "updated" and not attrs.get("oldrev"):
        action = "other"  # GitLab sends `oldrev` only when commits were pushed; a title or label edit is no news
    return PullRequestEvent(
        provider="gitlab", action=action, number=number,
        repo=str(project.get("path_with_namespace") or attrs["target"]["path_with_namespace"]),
        head_sha=_sha(last.get("id")), head_branch=_text(attrs.get("source_branch")),
        base_branch=_text(attrs.get("target_branch")), head_ref=f"refs/merge-requests/{number}/head",
        title=str(attrs.get("title") or ""), url=_text(attrs.get("url")),
        draft=bool(attrs.get("draft") or attrs.get("work_in_progress")),
    )


def _bitbucket(payload: dict[str, Any], key: str) -> PullRequestEvent:
    pr = payload["pullrequest"]
    source, destination = pr.get("source") or {}, pr.get("destination") or {}
    branch = _text((source.get("branch") or {}).get("name"))
    if branch is None:
        raise ValueError("'pullrequest.source.branch.name'")
    repo = payload.get("repository") or destination.get("repository") or {}
    links = pr.get("links") or {}
    return PullRequestEvent(
        provider="bitbucket", action=_ACTIONS["bitbucket"].get(key, "other"), number=int(pr["id"]),
        repo=str(repo["full_name"]), head_sha=_sha((source.get("commit") or {}).get("hash")), head_branch=branch,
        base_branch=_text((destination.get("branch") or {}).get("name")), head_ref=f"refs/heads/{branch}",
        title=str(pr.get("title") or ""), url=_text((links.get("html") or {}).get("href")),
    )


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _sha(value: Any) -> str | None:
    text = _text(value)
    return text.lower() if text and all(c in "0123456789abcdefABCDEF" for c in text) else None
