"""A forge simulator on loopback: the GitHub, Gitea/Forgejo and GitLab REST routes Phoenix GitOps calls.

Used by the tests, the benchmark and anyone trying pull-request reviews without a forge. One HTTP
server (127.0.0.1, a free port) answers all three APIs, each under its own root and shaped as its
documentation gives it, and records every request that arrives:

    GitHub  (API root = the server, or the server + `github_prefix` such as /api/v3 for Enterprise)
                                           POST repos/{o}/{r}/statuses/{sha}               201
                                           GET  repos/{o}/{r}/issues/{n}/comments          200, per_page (30,
                                                max 100) and page, `Link: <...>; rel="next"` when more
                                           POST repos/{o}/{r}/issues/{n}/comments          201
                                           PATCH repos/{o}/{r}/issues/comments/{id}        200
                                           Authorization: Bearer|token T; 401 "Bad credentials"
    Gitea   (server root, API under api/v1/)  the same routes; comments of an issue are one list with
                                           `X-Total-Count`; edit answers 200; Authorization: token T
    GitLab  (server root, API under api/v4/)  POST projects/{id}/statuses/{sha} (state pending,
                                           running, success, failed, canceled) 201; as GitLab's status
                                                state machine does, a `pending` over a `pending` (or a
                                                `running` over a `running`) of the same name is 400
                                                "Cannot transition status via :enqueue from :pending";
                                           GET projects/{id}/repository/commits/{sha}/statuses (?name,
                                                newest first) 200;
                                           GET/POST projects/{id}/merge_requests/{iid}/notes (per_page 20,
                                           max 100, page, X-Next-Page, X-Total, `Link`) 200/201;
                                           PUT .../notes/{note_id} 200; PRIVATE-TOKEN: T

    Bitbucket Cloud (API root = the server, API under 2.0/)
                                           POST repositories/{ws}/{slug}/commit/{sha}/statuses/build
                                                (key, state INPROGRESS/SUCCESSFUL/FAILED/STOPPED, url) 201;
                                           GET/POST repositories/{ws}/{slug}/pullrequests/{id}/comments
                                                (pagelen 10, max 100, page; `next` in the body) 200/201;
                                           PUT .../comments/{id} 200; Authorization: Bearer T

What it assumes: a repository and its pull requests exist only once added (`add_repo`), else 404;
comments are kept in creation order; `fail_next` and `down` inject faults (answers 503).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

_GITHUB_STATES = {"pending", "success", "failure", "error"}
_GITEA_STATES = {"pending", "success", "failure", "error", "warning"}
_GITLAB_STATES = {"pending", "running", "success", "failed", "canceled"}
_BITBUCKET_STATES = {"INPROGRESS", "SUCCESSFUL", "FAILED", "STOPPED"}


@dataclass
class Received:
    """One request as it arrived."""

    forge: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float = 0.0  # time.monotonic() on arrival


@dataclass
class _Repo:
    pulls: set[int] = field(default_factory=set)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # PR number -> comments
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sha -> statuses, oldest first


class ForgeSimulator:
    """Start with `start()` (or as a context manager); `url` is the server's root."""

    def __init__(self, tokens: dict[str, str] | None = None, *, github_prefix: str = "") -> None:
        self.github_prefix = github_prefix.rstrip("/")  # "/api/v3": GitHub Enterprise Server's API root
        self.tokens = tokens or {"github": "gh-token", "gitea": "gitea-token", "gitlab": "gitlab-token",
                                 "bitbucket": "bb-token"}
        self.repos: dict[tuple[str, str], _Repo] = {}
        self.received: list[Received] = []
        self.down = False
        self._fail: list[int] = []
        self._ids = itertools.count(1001)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control -------------------------------------------------------------------------------

    def start(self) -> ForgeSimulator:
        simulator = self

        class Handler(_Handler):
            sim = simulator

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=lambda: self._serve(), name="forge-simulator", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        assert self._server is not None
        self._server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ForgeSimulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the simulator first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def api_url(self, forge: str) -> str:
        """What the controller is configured with: GitHub's API root, the Gitea or GitLab server."""
        return self.url + (self.github_prefix if forge == "github" else "")

    def add_repo(self, forge: str, path: str, pulls: Iterable[int] = ()) -> None:
        with self._lock:
            repo = self.repos.setdefault((forge, path), _Repo())
            repo.pulls.update(pulls)

    def add_comment(self, forge: str, path: str, number: int, body: str, author: str = "reviewer") -> int:
        with self._lock:
            return self._new_comment(forge, self.repos[(forge, path)], number, body, author)["id"]  # type: ignore[no-any-return]

    def fail_next(self, times: int = 1, status: int = 503) -> None:
        """The next `times` requests answer `status` (recorded like any other)."""
        with self._lock:
            self._fail.extend([status] * times)

    def comments(self, forge: str, path: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self.repos[(forge, path)].comments.get(number, [])]

    def bodies(self, forge: str, path: str, number: int) -> list[str]:
        """The text of each comment, whatever the forge's shape (Bitbucket: `content.raw`)."""
        return [str(c["content"]["raw"]) if forge == "bitbucket" else str(c["body"])
                for c in self.comments(forge, path, number)]

    def statuses(self, forge: str, path: str, sha: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(s) for s in self.repos[(forge, path)].statuses.get(sha, [])]

    def everything_sent(self) -> str:
        """Every request body and query ever received, as text (for tests that grep for secrets)."""
        with self._lock:
            return "\n".join(json.dumps([r.path, r.query, r.body]) for r in self.received)

    # -- state changes (under the lock) -----------------------------------------------------------

    def _new_comment(self, forge: str, repo: _Repo, number: int, body: str, author: str) -> dict[str, Any]:
        now = _now()
        comment: dict[str, Any] = {"id": next(self._ids), "body": body, "created_at": now, "updated_at": now}
        if forge == "gitlab":
            comment.update({"author": {"username": author}, "system": False, "noteable_type": "MergeRequest",
                            "noteable_iid": number})
        elif forge == "bitbucket":
            del comment["body"]
            comment.update({"type": "pullrequest_comment", "content": {"raw": body, "markup": "markdown"},
                            "deleted": False, "user": {"display_name": author}, "created_on": now, "updated_on": now})
        else:
            comment.update({"user": {"login": author}, "html_url": f"{self.url}/pull/{number}#c{comment['id']}"})
        repo.comments.setdefault(number, []).append(comment)
        return comment


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a process ending with connections open) is no error of the forge."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            super().handle_error(request, client_address)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_ROUTES: list[tuple[str, str, re.Pattern[str], str]] = [
    ("github", "POST", re.compile(r"^/repos/([^/]+/[^/]+)/statuses/([0-9a-f]{7,64})$"), "status"),
    ("github", "GET", re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$"), "list"),
    ("github", "POST", re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$"), "create"),
    ("github", "PATCH", re.compile(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$"), "edit"),
    ("gitea", "POST", re.compile(r"^/api/v1/repos/([^/]+/[^/]+)/statuses/([0-9a-f]{7,64})$"), "status"),
    ("gitea", "GET", re.compile(r"^/api/v1/repos/([^/]+/[^/]+)/issues/(\d+)/comments$"), "list"),
    ("gitea", "POST", re.compile(r"^/api/v1/repos/([^/]+/[^/]+)/issues/(\d+)/comments$"), "create"),
    ("gitea", "PATCH", re.compile(r"^/api/v1/repos/([^/]+/[^/]+)/issues/comments/(\d+)$"), "edit"),
    ("gitlab", "POST", re.compile(r"^/api/v4/projects/([^/]+)/statuses/([0-9a-f]{7,64})$"), "status"),
    ("gitlab", "GET", re.compile(r"^/api/v4/projects/([^/]+)/repository/commits/([0-9a-f]{7,64})/statuses$"),
     "statuses"),
    ("gitlab", "GET", re.compile(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes$"), "list"),
    ("gitlab", "POST", re.compile(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes$"), "create"),
    ("gitlab", "PUT", re.compile(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes/(\d+)$"), "edit"),
    ("bitbucket", "POST", re.compile(r"^/2\.0/repositories/([^/]+/[^/]+)/commit/([0-9a-f]{7,64})/statuses/build/?$"),
     "status"),
    ("bitbucket", "GET", re.compile(r"^/2\.0/repositories/([^/]+/[^/]+)/pullrequests/(\d+)/comments$"), "list"),
    ("bitbucket", "POST", re.compile(r"^/2\.0/repositories/([^/]+/[^/]+)/pullrequests/(\d+)/comments$"), "create"),
    ("bitbucket", "PUT", re.compile(r"^/2\.0/repositories/([^/]+/[^/]+)/pullrequests/(\d+)/comments/(\d+)$"),
     "edit"),
]


class _Handler(BaseHTTPRequestHandler):
    sim: ForgeSimulator
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read `received`
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        raw_path = split.path
        prefix = self.sim.github_prefix
        if prefix and raw_path.startswith(prefix + "/repos/"):
            raw_path = raw_path[len(prefix):]
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        forge, kind, groups = self._route(method, raw_path)
        sim = self.sim
        with sim._lock:
            sim.received.append(Received(forge or "?", method, split.path, query,
                                         {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()))
            if sim.down or sim._fail:
                status = sim._fail.pop(0) if sim._fail and not sim.down else 503
                self._send(status, {"message": "Service Unavailable"})
                return
            if forge is None:
                self._send(404, {"message": "Not Found"})
                return
            if not self._authorised(forge):
                self._send(401, {"message": "401 Unauthorized" if forge == "gitlab" else "Bad credentials"})
                return
            repo = sim.repos.get((forge, unquote(groups[0])))
            if repo is None:
                self._send(404, {"message": "404 Project Not Found" if forge == "gitlab" else "Not Found"})
                return
            getattr(self, f"_{kind}")(forge, repo, groups, query, body)

    @staticmethod
    def _route(method: str, path: str) -> tuple[str | None, str, tuple[str, ...]]:
        for forge, verb, pattern, kind in _ROUTES:
            found = pattern.match(path)
            if found and verb == method:
                return forge, kind, found.groups()
        return None, "", ()

    def _authorised(self, forge: str) -> bool:
        token = self.sim.tokens.get(forge, "")
        if forge == "gitlab":
            return bool(token) and self.headers.get("PRIVATE-TOKEN") == token
        given = self.headers.get("Authorization", "")
        schemes = ("token",) if forge == "gitea" else ("Bearer",) if forge == "bitbucket" else ("token", "Bearer")
        return bool(token) and any(given == f"{scheme} {token}" for scheme in schemes)

    # -- routes ----------------------------------------------------------------------------------

    def _status(self, forge: str, repo: _Repo, groups: tuple[str, ...], query: dict[str, str], body: Any) -> None:
        body = body if isinstance(body, dict) else {}
        state = body.get("state")
        allowed = {"github": _GITHUB_STATES, "gitea": _GITEA_STATES, "gitlab": _GITLAB_STATES,
                   "bitbucket": _BITBUCKET_STATES}[forge]
        if forge == "bitbucket" and (state not in allowed or not body.get("key") or not body.get("url")):
            self._send(400, {"type": "error", "error": {"message": "key, state and url are required"}})
            return
        if state not in allowed:
            if forge == "gitlab":
                self._send(400, {"error": "state does not have a valid value"})
            else:
                self._send(422, {"message": "Validation Failed",
                                 "errors": [{"resource": "Status", "field": "state", "code": "custom"}]})
            return
        sha = groups[1]
        if forge == "gitlab":
            name = body.get("name") or body.get("context") or "default"
            latest = next((s for s in reversed(repo.statuses.get(sha, [])) if s.get("name") == name), None)
            event = {"pending": "enqueue", "running": "run"}.get(state)
            if event and latest is not None and latest["status"] == state:
                self._send(400, {"message": f"Cannot transition status via :{event} from :{state} "
                                            f'(Reason(s): Status cannot transition via "{event}")'})
                return
        record = {"id": next(self.sim._ids), "state": state, "description": body.get("description", ""),
                  "target_url": body.get("target_url"), "created_at": _now(), "sha": sha}
        if forge == "gitlab":
            record.update({"status": state, "name": body.get("name") or body.get("context") or "default"})
        elif forge == "bitbucket":
            record.update({"key": body["key"], "url": body["url"], "name": body.get("name"), "type": "commitstatus"})
        else:
            record["context"] = body.get("context") or "default"
        repo.statuses.setdefault(sha, []).append(record)
        self._send(201, record)

    def _statuses(self, forge: str, repo: _Repo, groups: tuple[str, ...], query: dict[str, str], body: Any) -> None:
        found = [s for s in reversed(repo.statuses.get(groups[1], []))
                 if not query.get("name") or s.get("name") == query["name"]]
        self._send(200, found)

    def _list(self, forge: str, repo: _Repo, groups: tuple[str, ...], query: dict[str, str], body: Any) -> None:
        number = int(groups[1])
        if number not in repo.pulls:
            self._send(404, {"message": "404 Not found" if forge == "gitlab" else "Not Found"})
            return
        items = repo.comments.get(number, [])
        if forge == "gitea":
            self._send(200, items, {"X-Total-Count": str(len(items))})
            return
        if forge == "bitbucket":
            pagelen = min(max(int(query.get("pagelen", 10)), 1), 100)
            page = max(int(query.get("page", 1)), 1)
            chunk = items[(page - 1) * pagelen: page * pagelen]
            paged: dict[str, Any] = {"size": len(items), "page": page, "pagelen": pagelen, "values": chunk}
            if page * pagelen < len(items):
                paged["next"] = self._page_url({**query, "pagelen": str(pagelen)}, page + 1)
            self._send(200, paged)
            return
        default, largest = (20, 100) if forge == "gitlab" else (30, 100)
        per_page = min(max(int(query.get("per_page", default)), 1), largest)
        page = max(int(query.get("page", 1)), 1)
        pages = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        headers: dict[str, str] = {}
        links = []
        if page < pages:
            links.append(f'<{self._page_url(query, page + 1)}>; rel="next"')
        links.append(f'<{self._page_url(query, pages)}>; rel="last"')
        headers["Link"] = ", ".join(links)
        if forge == "gitlab":
            headers.update({"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(items)),
                            "X-Total-Pages": str(pages), "X-Next-Page": str(page + 1) if page < pages else ""})
        self._send(200, chunk, headers)

    def _page_url(self, query: dict[str, str], page: int) -> str:
        return f"{self.sim.url}{urlsplit(self.path).path}?{urlencode({**query, 'page': page})}"  # as requested

    @staticmethod
    def _text(forge: str, body: Any) -> Any:
        if not isinstance(body, dict):
            return None
        if forge == "bitbucket":
            content = body.get("content")
            return content.get("raw") if isinstance(content, dict) else None
        return body.get("body")

    def _create(self, forge: str, repo: _Repo, groups: tuple[str, ...], query: dict[str, str], body: Any) -> None:
        number = int(groups[1])
        text = self._text(forge, body)
        if number not in repo.pulls:
            self._send(404, {"message": "404 Not found" if forge == "gitlab" else "Not Found"})
        elif not isinstance(text, str) or not text:
            self._send(400 if forge in ("gitlab", "bitbucket") else 422, {"message": "body is missing"})
        else:
            self._send(201, self.sim._new_comment(forge, repo, number, text, "phoenix-gitops"))

    def _edit(self, forge: str, repo: _Repo, groups: tuple[str, ...], query: dict[str, str], body: Any) -> None:
        comment_id = int(groups[-1])
        text = self._text(forge, body)
        per_pr = forge in ("gitlab", "bitbucket")  # their edit route names the pull request
        pools = [repo.comments.get(int(groups[1]), [])] if per_pr else list(repo.comments.values())
        for comment in (c for pool in pools for c in pool):
            if comment["id"] == comment_id:
                if not isinstance(text, str) or not text:
                    self._send(400 if forge in ("gitlab", "bitbucket") else 422, {"message": "body is missing"})
                    return
                if forge == "bitbucket":
                    comment["content"]["raw"] = text
                    comment["updated_on"] = _now()
                else:
                    comment["body"] = text
                    comment["updated_at"] = _now()
                self._send(200, comment)
                return
        self._send(404, {"message": "404 Note Not Found" if forge == "gitlab" else "Not Found"})

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            if value:
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
