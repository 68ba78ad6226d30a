"""`ForgeClient`: commit statuses and the one PR comment we keep, on GitHub, Gitea/Forgejo, GitLab or
Bitbucket Cloud.

Used by the controller's pull-request reviews and deploy statuses (`gitops.controller.reviewing`,
`gitops.controller.statuses`; the client is chosen in `gitops.controller.forging`).
The comment is found again by a hidden marker (an HTML comment in its body) on any page of the
PR's comments, so a later push edits it in place instead of adding another. httpx errors and
HTTP statuses are translated here, at one boundary: 5xx, 429, timeouts and refused connections are
`TransientError` (retried), 401/403 `AuthenticationError`, other 4xx `PermanentError`. The token
is sent only in a header, and only to the configured host (a `Link` to another host is not followed).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from gitops import errors
from gitops.forges.dialects import DIALECTS, Dialect, Request
from gitops.forges.model import Comment, CommitStatus, ForgeKind
from gitops.retrying import FORGE, RetryPolicy, call_with_retries

log = logging.getLogger(__name__)

MAX_PAGES = 50
USER_AGENT = "phoenix-gitops"


@dataclass(frozen=True, slots=True)
class UpsertResult:
    comment_id: int
    created: bool


class ForgeClient:
    """One forge at `base_url` (its API root; empty: the forge's public one) with `token`."""

    def __init__(self, kind: ForgeKind, base_url: str, token: SecretStr | None, *,
                 timeout: float = 10.0, sleep: Callable[[float], None] = time.sleep,
                 policy: RetryPolicy = FORGE, verify: bool | str = True,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.dialect: Dialect = DIALECTS[kind]
        self.kind = kind
        root = (base_url or self.dialect.default_url).rstrip("/")
        if not root:
            raise errors.SettingsError(f"no API URL is set for the {kind} forge")
        self.base_url = root
        self.sleep = sleep
        self.policy = policy
        headers = {"User-Agent": USER_AGENT}
        if token is not None and token.get_secret_value():
            headers.update(self.dialect.auth_headers(token.get_secret_value()))
        self._http = httpx.Client(base_url=root + "/", headers=headers, timeout=timeout, verify=verify,
                                  transport=transport, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ForgeClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- operations --------------------------------------------------------------------------

    def set_status(self, repo: str, sha: str, status: CommitStatus) -> None:
        """Set (or replace: same context) the status of commit `sha`."""
        self._send(self.dialect.set_status(repo, sha, status), f"status {status.state} on {sha[:12]}")

    def find_comment(self, repo: str, number: int, marker: str) -> Comment | None:
        """Our comment on PR `number`: the first whose body holds `marker`, on any page."""
        for item in self._comments(repo, number):
            body = self.dialect.comment_text(item)
            if body is not None and marker in body and self.dialect.is_own_comment(item):
                return Comment(int(item["id"]), body)
        return None

    def upsert_comment(self, repo: str, number: int, body: str, marker: str) -> UpsertResult:
        """Edit our comment on PR `number` to `body` (which gets `marker`), or add it if there is none."""
        if marker not in body:
            body = f"{body.rstrip()}\n\n{marker}\n"
        found = self.find_comment(repo, number, marker)
        if found is not None:
            if found.body != body:
                self._send(self.dialect.update_comment(repo, number, found.id, body), f"comment on #{number}")
            return UpsertResult(found.id, created=False)
        created = self._send(self.dialect.create_comment(repo, number, body), f"comment on #{number}")
        return UpsertResult(int(created["id"]) if isinstance(created, dict) else 0, created=True)

    # -- HTTP --------------------------------------------------------------------------------

    def _comments(self, repo: str, number: int) -> Iterator[dict[str, Any]]:
        first = self.dialect.list_comments(repo, number)
        url: str | None = first.path
        params: dict[str, Any] | None = first.params
        for _ in range(MAX_PAGES):
            if url is None:
                return
            response = call_with_retries(functools.partial(self._request, "GET", url, params=params),
                                         policy=self.policy, sleep=self.sleep, what=f"comments of #{number}")
            data = _json(response)
            items = self.dialect.page_items(data)
            if items is None:
                raise errors.PermanentError(f"{self.kind}: the comments of #{number} are not a list")
            yield from (i for i in items if isinstance(i, dict))
            url, params = self._on_this_host(self.dialect.next_page(response.links.get("next", {}).get("url"),
                                                                    data)), None
        log.warning("stopped reading the comments of #%d after %d pages", number, MAX_PAGES)

    def _on_this_host(self, link: str | None) -> str | None:
        """`link` if it points at this forge's API host, else None (the token never goes elsewhere)."""
        if not link:
            return None
        target = httpx.URL(link)
        base = httpx.URL(self.base_url)
        if target.is_absolute_url and (target.host, target.port, target.scheme) != (base.host, base.port, base.scheme):
            log.warning("not following a comments page on another host (%s)", target.host)
            return None
        return str(target)

    def _send(self, request: Request, what: str) -> Any:
        response = call_with_retries(
            lambda: self._request(request.method, request.path, params=request.params or None, json=request.json),
            policy=self.policy, sleep=self.sleep, what=what)
        return _json(response) if response.content else None

    def _request(self, method: str, url: str, *, params: dict[str, Any] | None = None,
                 json: dict[str, Any] | None = None) -> httpx.Response:
        try:
            response = self._http.request(method, url, params=params, json=json)
        except httpx.TimeoutException:
            raise errors.TransientError(f"{self.kind}: {method} timed out") from None
        except httpx.TransportError as exc:
            raise errors.TransientError(f"{self.kind}: {method} failed: {type(exc).__name__}") from None
        if response.status_code < 400:
            return response
        detail = _message(response)
        where = f"{self.kind}: {method} {response.request.url.path} answered {response.status_code}"
        if response.status_code >= 500 or response.status_code == 429 or _rate_limited(response):
            raise errors.TransientError(f"{where}{detail}")
        if response.status_code in (401, 403):
            raise errors.AuthenticationError(f"{where}{detail} (check the {self.kind} token and its scopes)")
        raise errors.PermanentError(f"{where}{detail}")


def _rate_limited(response: httpx.Response) -> bool:
    return response.status_code == 403 and response.headers.get("x-ratelimit-remaining") == "0"


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    text = data.get("message") if isinstance(data, dict) else None
    if text is None and isinstance(data, dict) and isinstance(data.get("error"), dict):
        text = data["error"].get("message")  # Bitbucket: {"type": "error", "error": {"message": ...}}
    return f": {str(text)[:200]}" if text else ""


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise errors.PermanentError(f"the forge answered {response.request.url.path} with something not JSON") from None


def forge_client(kind: ForgeKind, url: str, token: SecretStr | None, **kwargs: Any) -> ForgeClient:
    """A client for `kind` at `url` (empty: the public forge)."""
    return ForgeClient(kind, url, token, **kwargs)
