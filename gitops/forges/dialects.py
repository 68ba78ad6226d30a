"""Each forge's REST routes as its documentation gives them: paths, bodies, auth header, words.

Pure: a dialect builds `Request`s, `client` sends them. Base URLs are the API roots:

    github   https://api.github.com (Enterprise: https://HOST/api/v3)
             POST  repos/{owner}/{repo}/statuses/{sha}          {state, target_url, description, context}
             GET   repos/{owner}/{repo}/issues/{n}/comments     ?per_page=100, next page in `Link`
             POST  repos/{owner}/{repo}/issues/{n}/comments     {body}
             PATCH repos/{owner}/{repo}/issues/comments/{id}    {body}
             Authorization: Bearer TOKEN
    gitea    https://HOST (Forgejo too), under api/v1/, the same routes as GitHub's; a PR is an issue
             Authorization: token TOKEN
    gitlab   https://gitlab.com or https://HOST, under api/v4/; the project by id or URL-encoded path
             POST  projects/{id}/statuses/{sha}                  {state, name, target_url, description}
             GET   projects/{id}/repository/commits/{sha}/statuses  ?name=NAME&all=true (a repeated `pending`
                   of one name is refused: 400 "Cannot transition status via :enqueue from :pending")
             GET   projects/{id}/merge_requests/{iid}/notes      ?per_page=100&sort=asc, next page in `Link`
             POST  projects/{id}/merge_requests/{iid}/notes      {body}
             PUT   projects/{id}/merge_requests/{iid}/notes/{note_id}  {body}
             PRIVATE-TOKEN: TOKEN
    bitbucket  https://api.bitbucket.org (Bitbucket Cloud), under 2.0/
             POST  repositories/{ws}/{slug}/commit/{sha}/statuses/build   {key, state, url, name, description}
             GET   repositories/{ws}/{slug}/pullrequests/{id}/comments    ?pagelen=100, `next` in the body
             POST  repositories/{ws}/{slug}/pullrequests/{id}/comments    {content: {raw}}
             PUT   repositories/{ws}/{slug}/pullrequests/{id}/comments/{cid}  {content: {raw}}
             Authorization: Bearer TOKEN (a repository or workspace access token)

Comment pages: the next page's URL is in the `Link` header (`rel="next"`), except on Bitbucket, whose
paged bodies carry it (`{"values": [...], "next": URL}`); `page_items`, `next_page` and `comment_text`
read each forge's shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from gitops.forges.model import CommitState, CommitStatus, ForgeKind

DESCRIPTION_MAX = 140  # GitHub refuses longer status descriptions


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # relative to the API root
    json: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)


class Dialect(Protocol):
    kind: ForgeKind
    default_url: str

    def auth_headers(self, token: str) -> dict[str, str]: ...

    def set_status(self, repo: str, sha: str, status: CommitStatus) -> Request: ...

    def list_statuses(self, repo: str, sha: str, name: str) -> Request | None:
        """The statuses of `sha` named `name`, where a forge refuses a repeated `pending` (else None)."""
        ...

    def list_comments(self, repo: str, number: int) -> Request: ...

    def create_comment(self, repo: str, number: int, body: str) -> Request: ...

    def update_comment(self, repo: str, number: int, comment_id: int, body: str) -> Request: ...

    def is_own_comment(self, item: dict[str, Any]) -> bool: ...

    def comment_text(self, item: dict[str, Any]) -> str | None: ...

    def page_items(self, data: Any) -> list[Any] | None: ...

    def next_page(self, link_next: str | None, data: Any) -> str | None: ...


def _owner_repo(repo: str) -> str:
    owner, sep, name = repo.strip("/").partition("/")
    if not sep or not owner or not name or "/" in name:
        raise ValueError(f"repository {repo!r} is not owner/name")
    return f"{quote(owner, safe='')}/{quote(name, safe='')}"


def _description(text: str) -> str:
    return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 1] + "…"


class GitHub:
    kind: ForgeKind = "github"
    default_url = "https://api.github.com"
    prefix = ""

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28"}

    def set_status(self, repo: str, sha: str, status: CommitStatus) -> Request:
        body: dict[str, Any] = {"state": str(status.state), "context": status.context,
                                "description": _description(status.description)}
        if status.target_url:
            body["target_url"] = status.target_url
        return Request("POST", f"{self.prefix}repos/{_owner_repo(repo)}/statuses/{sha}", body)

    def list_statuses(self, repo: str, sha: str, name: str) -> Request | None:
        return None  # a status of the same context is replaced, whatever its state

    def list_comments(self, repo: str, number: int) -> Request:
        return Request("GET", f"{self.prefix}repos/{_owner_repo(repo)}/issues/{number}/comments",
                       params={"per_page": 100})

    def create_comment(self, repo: str, number: int, body: str) -> Request:
        return Request("POST", f"{self.prefix}repos/{_owner_repo(repo)}/issues/{number}/comments", {"body": body})

    def update_comment(self, repo: str, number: int, comment_id: int, body: str) -> Request:
        return Request("PATCH", f"{self.prefix}repos/{_owner_repo(repo)}/issues/comments/{comment_id}",
                       {"body": body})

    def is_own_comment(self, item: dict[str, Any]) -> bool:
        return True

    def comment_text(self, item: dict[str, Any]) -> str | None:
        body = item.get("body")
        return body if isinstance(body, str) else None

    def page_items(self, data: Any) -> list[Any] | None:
        return data if isinstance(data, list) else None

    def next_page(self, link_next: str | None, data: Any) -> str | None:
        return link_next


class Gitea(GitHub):
    """Gitea and Forgejo: GitHub's routes under `api/v1/`, a `token` authorization scheme."""

    kind: ForgeKind = "gitea"
    default_url = ""
    prefix = "api/v1/"

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"token {token}", "Accept": "application/json"}

    def list_comments(self, repo: str, number: int) -> Request:
        # Gitea's issue comments are one list (no paging parameters); a `Link` header is followed if sent.
        return Request("GET", f"{self.prefix}repos/{_owner_repo(repo)}/issues/{number}/comments")


_GITLAB_STATES = {CommitState.pending: "pending", CommitState.success: "success",
                  CommitState.failure: "failed", CommitState.error: "failed"}


class GitLab(GitHub):
    kind: ForgeKind = "gitlab"
    default_url = "https://gitlab.com"

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"PRIVATE-TOKEN": token, "Accept": "application/json"}

    @staticmethod
    def _project(repo: str) -> str:
        return quote(repo.strip("/"), safe="")

    def set_status(self, repo: str, sha: str, status: CommitStatus) -> Request:
        body: dict[str, Any] = {"state": _GITLAB_STATES[status.state], "name": status.context,
                                "description": _description(status.description)}
        if status.target_url:
            body["target_url"] = status.target_url
        return Request("POST", f"api/v4/projects/{self._project(repo)}/statuses/{sha}", body)

    def list_statuses(self, repo: str, sha: str, name: str) -> Request | None:
        return Request("GET", f"api/v4/projects/{self._project(repo)}/repository/commits/{sha}/statuses",
                       params={"name": name, "all": "true", "per_page": 100})

    def _notes(self, repo: str, number: int) -> str:
        return f"api/v4/projects/{self._project(repo)}/merge_requests/{number}/notes"

    def list_comments(self, repo: str, number: int) -> Request:
        return Request("GET", self._notes(repo, number),
                       params={"per_page": 100, "sort": "asc", "order_by": "created_at"})

    def create_comment(self, repo: str, number: int, body: str) -> Request:
        return Request("POST", self._notes(repo, number), {"body": body})

    def update_comment(self, repo: str, number: int, comment_id: int, body: str) -> Request:
        return Request("PUT", f"{self._notes(repo, number)}/{comment_id}", {"body": body})

    def is_own_comment(self, item: dict[str, Any]) -> bool:
        return not item.get("system", False)  # GitLab lists its own system notes ("added 1 commit") too


_BITBUCKET_STATES = {CommitState.pending: "INPROGRESS", CommitState.success: "SUCCESSFUL",
                     CommitState.failure: "FAILED", CommitState.error: "FAILED"}


class Bitbucket(GitHub):
    """Bitbucket Cloud's API 2.0; a pull request's comments are paged in the body."""

    kind: ForgeKind = "bitbucket"
    default_url = "https://api.bitbucket.org"

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def set_status(self, repo: str, sha: str, status: CommitStatus) -> Request:
        # `url` is required: without a page of ours, the commit's own page
        url = status.target_url or f"https://bitbucket.org/{repo.strip('/')}/commits/{sha}"
        return Request("POST", f"2.0/repositories/{_owner_repo(repo)}/commit/{sha}/statuses/build",
                       {"key": status.context, "name": status.context, "state": _BITBUCKET_STATES[status.state],
                        "description": _description(status.description), "url": url})

    def _comments(self, repo: str, number: int) -> str:
        return f"2.0/repositories/{_owner_repo(repo)}/pullrequests/{number}/comments"

    def list_comments(self, repo: str, number: int) -> Request:
        return Request("GET", self._comments(repo, number), params={"pagelen": 100})

    def create_comment(self, repo: str, number: int, body: str) -> Request:
        return Request("POST", self._comments(repo, number), {"content": {"raw": body}})

    def update_comment(self, repo: str, number: int, comment_id: int, body: str) -> Request:
        return Request("PUT", f"{self._comments(repo, number)}/{comment_id}", {"content": {"raw": body}})

    def is_own_comment(self, item: dict[str, Any]) -> bool:
        return not item.get("deleted", False)

    def comment_text(self, item: dict[str, Any]) -> str | None:
        content = item.get("content")
        raw = content.get("raw") if isinstance(content, dict) else None
        return raw if isinstance(raw, str) else None

    def page_items(self, data: Any) -> list[Any] | None:
        values = data.get("values") if isinstance(data, dict) else None
        return values if isinstance(values, list) else None

    def next_page(self, link_next: str | None, data: Any) -> str | None:
        following = data.get("next") if isinstance(data, dict) else None
        return following if isinstance(following, str) and following else None


DIALECTS: dict[ForgeKind, Dialect] = {"github": GitHub(), "gitea": Gitea(), "gitlab": GitLab(),
                                      "bitbucket": Bitbucket()}
