"""Portainer environments (endpoints): listed, and registered for a VM that runs a Portainer agent.

Called by `reading` (the list) and `applying` (registration). Portainer creates environments from a
multipart form (`POST /api/endpoints`); an agent environment is type 2 and must use TLS (the agent's
own certificate, hence the skip-verify flags, as Portainer's UI sets them).
"""

from __future__ import annotations

from typing import Any

from gitops import errors
from gitops.drivers.portainer.connection import PortainerClient
from gitops.planner.portainer.live import LiveEnvironment

AGENT_ENVIRONMENT = 2


def list_environments(client: PortainerClient) -> list[LiveEnvironment]:
    """Every environment the credentials can see (without their Docker snapshots)."""
    raw = client.request("GET", "endpoints", params={"excludeSnapshots": "true"}) or []
    return [parse_environment(item) for item in raw if isinstance(item, dict)]


def find_environment(client: PortainerClient, name: str) -> LiveEnvironment | None:
    for env in list_environments(client):
        if env.name == name:
            return env
    return None


def register_agent(client: PortainerClient, name: str, url: str, *, target: str | None = None) -> LiveEnvironment:
    """Register the agent at `url` (`tcp://host:9001`) as environment `name`.

    A 409 (name taken) is not success by itself: the existing environment is read back, and it is
    accepted only if it points at the same agent; otherwise the conflict is raised, naming both URLs.
    """
    form = {"Name": name, "EndpointCreationType": str(AGENT_ENVIRONMENT), "URL": url, "GroupID": "1",
            "TLS": "true", "TLSSkipVerify": "true", "TLSSkipClientVerify": "true"}
    try:
        return parse_environment(client.request("POST", "endpoints", form=form, target=target))
    except errors.ConflictError:
        existing = find_environment(client, name)
        if existing is not None and existing.url == url:
            return existing
        where = existing.url if existing else "an environment this user cannot see"
        raise errors.ConflictError(
            f"Portainer already has an environment named '{name}' at {where}, not {url}: "
            "rename one of them", target=target) from None


def parse_environment(raw: Any) -> LiveEnvironment:
    if not isinstance(raw, dict) or not isinstance(raw.get("Id"), int):
        raise errors.PermanentError(f"Portainer answered an environment without an Id: {str(raw)[:200]}")
    return LiveEnvironment(id=int(raw["Id"]), name=str(raw.get("Name") or ""), url=str(raw.get("URL") or ""),
                           type=int(raw.get("Type") or 0), status=int(raw.get("Status") or 1))
