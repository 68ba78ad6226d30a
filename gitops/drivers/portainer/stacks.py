"""Portainer stacks (standalone compose, `Type` 2): listed, read, created, redeployed, started, deleted.

Called by `reading` and `applying`. Routes, as the spec names them:
`GET /api/stacks`, `GET /api/stacks/{id}/file`, `POST /api/stacks/create/standalone/string` (file
content) or `/repository` (Git), `PUT /api/stacks/{id}` (new file and env: a redeploy),
`PUT /api/stacks/{id}/git/redeploy`, `POST /api/stacks/{id}/start`, `DELETE /api/stacks/{id}`. Answers
are parsed here into `gitops.planner.portainer.live` types, casing tolerated both ways (Portainer emits Go
field names, its spec shows some in camelCase).
"""

from __future__ import annotations

from typing import Any

from gitops import errors
from gitops.drivers.portainer.connection import PortainerClient
from gitops.planner.portainer.live import COMPOSE_STACK, LiveGit, LiveStack


def list_stacks(client: PortainerClient) -> list[LiveStack]:
    """Every standalone compose stack (swarm and kubernetes stacks are not ours to manage)."""
    raw = client.request("GET", "stacks") or []
    stacks = [parse_stack(item) for item in raw if isinstance(item, dict)]
    return [s for s in stacks if s.type == COMPOSE_STACK]


def stack_file(client: PortainerClient, stack_id: int, *, target: str | None = None) -> str | None:
    """The stack file's content, None when the stack is gone."""
    raw = client.request("GET", f"stacks/{stack_id}/file", target=target, missing_ok=True)
    return None if raw is None else str(_get(raw, "StackFileContent") or "")


def create_from_content(client: PortainerClient, endpoint_id: int, name: str, content: str,
                        env: list[dict[str, str]], *, target: str | None = None) -> LiveStack:
    body = {"name": name, "stackFileContent": content, "env": env}
    return parse_stack(client.request("POST", "stacks/create/standalone/string", params={"endpointId": endpoint_id},
                                      json_body=body, target=target))


def create_from_git(client: PortainerClient, endpoint_id: int, name: str, *, url: str, reference: str,
                    compose_path: str, env: list[dict[str, str]], target: str | None = None) -> LiveStack:
    body = {"name": name, "repositoryURL": url, "repositoryReferenceName": reference, "composeFile": compose_path,
            "env": env, "repositoryAuthentication": False}
    return parse_stack(client.request("POST", "stacks/create/standalone/repository",
                                      params={"endpointId": endpoint_id}, json_body=body, target=target))


def update_content(client: PortainerClient, stack_id: int, endpoint_id: int, content: str,
                   env: list[dict[str, str]], *, target: str | None = None) -> LiveStack:
    """A new stack file and variables; Portainer redeploys the stack (`prune` drops removed services)."""
    body = {"stackFileContent": content, "env": env, "prune": True, "pullImage": False}
    return parse_stack(client.request("PUT", f"stacks/{stack_id}", params={"endpointId": endpoint_id},
                                      json_body=body, target=target))


def redeploy_git(client: PortainerClient, stack_id: int, endpoint_id: int, *, reference: str,
                 env: list[dict[str, str]], target: str | None = None) -> LiveStack:
    body = {"repositoryReferenceName": reference, "env": env, "prune": True, "pullImage": False,
            "repositoryAuthentication": False}
    return parse_stack(client.request("PUT", f"stacks/{stack_id}/git/redeploy", params={"endpointId": endpoint_id},
                                      json_body=body, target=target))


def start(client: PortainerClient, stack_id: int, endpoint_id: int, *, target: str | None = None) -> None:
    client.request("POST", f"stacks/{stack_id}/start", params={"endpointId": endpoint_id}, json_body={},
                   target=target)


def delete(client: PortainerClient, stack_id: int, endpoint_id: int, *, target: str | None = None) -> None:
    """Delete the stack (its named volumes are kept); a stack already gone is not an error."""
    client.request("DELETE", f"stacks/{stack_id}", params={"endpointId": endpoint_id}, target=target,
                   missing_ok=True)


def parse_stack(raw: Any) -> LiveStack:
    if not isinstance(raw, dict) or not isinstance(_get(raw, "Id"), int):
        raise errors.PermanentError(f"Portainer answered a stack without an Id: {str(raw)[:200]}")
    env = {str(_get(p, "name")): str(_get(p, "value") or "") for p in (_get(raw, "Env") or []) if isinstance(p, dict)}
    git_raw = _get(raw, "GitConfig")
    git = None
    if isinstance(git_raw, dict) and _get(git_raw, "URL"):
        git = LiveGit(url=str(_get(git_raw, "URL")), reference=str(_get(git_raw, "ReferenceName") or ""),
                      compose_path=str(_get(git_raw, "ConfigFilePath") or ""),
                      commit=str(_get(git_raw, "ConfigHash") or ""))
    return LiveStack(id=int(_get(raw, "Id")), name=str(_get(raw, "Name") or ""),
                     endpoint_id=int(_get(raw, "EndpointId") or 0), type=int(_get(raw, "Type") or 0),
                     status=int(_get(raw, "Status") or 0), env=env, git=git)


def _get(raw: Any, name: str) -> Any:
    """A field by name, whatever its casing (`GitConfig` or `gitConfig`, `URL` or `url`)."""
    if not isinstance(raw, dict):
        return None
    if name in raw:
        return raw[name]
    lowered = name.lower()
    return next((v for k, v in raw.items() if k.lower() == lowered), None)
