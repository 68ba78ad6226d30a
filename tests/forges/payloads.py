"""Pull-request webhook bodies shaped as each forge documents and sends them (trimmed to the fields a
receiver reads plus their neighbours), and the headers that come with them, signed as pushes are."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any


def github(action: str, number: int, sha: str, branch: str, base: str = "main",
           repo: str = "ann/config") -> dict[str, Any]:
    owner, name = repo.split("/")
    repository = {"id": 1296269, "name": name, "full_name": repo, "private": False,
                  "owner": {"login": owner, "id": 1}, "html_url": f"https://github.com/{repo}",
                  "clone_url": f"https://github.com/{repo}.git", "default_branch": base}
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "url": f"https://api.github.com/repos/{repo}/pulls/{number}", "id": 1, "number": number,
            "state": "open", "locked": False, "title": "Give the gateway more memory",
            "user": {"login": "octocat", "id": 1}, "body": "Please", "draft": False,
            "html_url": f"https://github.com/{repo}/pull/{number}",
            "head": {"label": f"{owner}:{branch}", "ref": branch, "sha": sha, "user": {"login": owner},
                     "repo": repository},
            "base": {"label": f"{owner}:{base}", "ref": base, "sha": "1" * 40, "user": {"login": owner},
                     "repo": repository},
            "merged": False, "commits": 1,
        },
        "repository": repository,
        "sender": {"login": "octocat", "id": 1},
    }


def gitea(action: str, number: int, sha: str, branch: str, base: str = "main",
          repo: str = "ann/config") -> dict[str, Any]:
    owner, name = repo.split("/")
    repository = {"id": 3, "owner": {"id": 1, "login": owner, "username": owner}, "name": name,
                  "full_name": repo, "private": False, "html_url": f"https://gitea.example.org/{repo}",
                  "clone_url": f"https://gitea.example.org/{repo}.git", "default_branch": base}
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "id": 7, "url": f"https://gitea.example.org/{repo}/pulls/{number}", "number": number,
            "user": {"id": 1, "login": "ann"}, "title": "Give the gateway more memory", "body": "",
            "state": "open", "html_url": f"https://gitea.example.org/{repo}/pulls/{number}",
            "mergeable": True, "merged": False, "merge_base": "1" * 40,
            "base": {"label": base, "ref": base, "sha": "1" * 40, "repo_id": 3, "repo": repository},
            "head": {"label": branch, "ref": branch, "sha": sha, "repo_id": 3, "repo": repository},
        },
        "requested_reviewer": None,
        "repository": repository,
        "sender": {"id": 1, "login": "ann", "username": "ann"},
        "commit_id": "",
        "review": None,
    }


def gitlab(action: str, iid: int, sha: str, branch: str, base: str = "main",
           repo: str = "ann/config") -> dict[str, Any]:
    project = {"id": 1, "name": repo.split("/")[-1], "web_url": f"https://gitlab.example.org/{repo}",
               "git_http_url": f"https://gitlab.example.org/{repo}.git", "namespace": repo.split("/")[0],
               "path_with_namespace": repo, "default_branch": base}
    return {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": {"id": 1, "name": "Ann Operator", "username": "ann"},
        "project": project,
        "repository": {"name": project["name"], "url": project["git_http_url"], "homepage": project["web_url"]},
        "object_attributes": {
            "id": 99, "iid": iid, "target_branch": base, "source_branch": branch, "source_project_id": 1,
            "target_project_id": 1, "title": "Give the gateway more memory", "state": "opened",
            "merge_status": "unchecked", "draft": False, "work_in_progress": False,
            "url": f"https://gitlab.example.org/{repo}/-/merge_requests/{iid}",
            "source": project, "target": project,
            "last_commit": {"id": sha, "message": "more memory", "title": "more memory",
                            "author": {"name": "Ann Operator", "email": "ann@example.org"}},
            "action": action,
            **({"oldrev": "1" * 40} if action == "update" else {}),
        },
        "labels": [],
        "changes": {},
    }


def bitbucket(number: int, sha: str, branch: str, base: str = "main", repo: str = "ann/config") -> dict[str, Any]:
    repository = {"type": "repository", "full_name": repo, "name": repo.split("/")[1],
                  "links": {"html": {"href": f"https://bitbucket.org/{repo}"}}, "uuid": "{1}"}
    return {
        "actor": {"type": "user", "display_name": "Ann Operator"},
        "repository": repository,
        "pullrequest": {
            "type": "pullrequest", "id": number, "title": "Give the gateway more memory", "state": "OPEN",
            "source": {"branch": {"name": branch}, "commit": {"hash": sha[:12], "type": "commit"},
                       "repository": repository},
            "destination": {"branch": {"name": base}, "commit": {"hash": "111111111111", "type": "commit"},
                            "repository": repository},
            "links": {"html": {"href": f"https://bitbucket.org/{repo}/pull-requests/{number}"}},
        },
    }


def signed(provider: str, body: bytes, secret: str, event: str) -> dict[str, str]:
    """The headers each provider sends with `body`: its event header and its signature."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "github": {"X-GitHub-Event": event, "X-Hub-Signature-256": f"sha256={digest}",
                   "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
        "gitea": {"X-Gitea-Event": event, "X-Gitea-Signature": digest, "X-Gitea-Delivery": "1"},
        "gitlab": {"X-Gitlab-Event": event, "X-Gitlab-Token": secret},
        "bitbucket": {"X-Event-Key": event, "X-Hub-Signature": f"sha256={digest}"},
    }[provider] | {"Content-Type": "application/json"}


EVENT = {"github": "pull_request", "gitea": "pull_request", "gitlab": "Merge Request Hook",
         "bitbucket": "pullrequest:updated"}


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()
