"""One call of a planned stack action, sent to Portainer: `send(client, method, path, params)`.

Called by `driver.PortainerDriver.run` with the params as the executor resolved them (secrets included:
nothing here logs them). The calls are the ones `gitops.planner.portainer.comparing` writes:

    POST   endpoints                              register an agent environment (`endpoint`, `URL`)
    POST   stacks/create/standalone/string        deploy from content (`name`, `stackFileContent`, `env.*`)
    POST   stacks/create/standalone/repository    deploy from Git (`repositoryURL`, `repositoryReferenceName`,
                                                  `composeFile`, `env.*`)
    PUT    stacks/ID                              redeploy with new content and variables
    PUT    stacks/ID/git/redeploy                 pull and redeploy a Git stack
    POST   stacks/ID/start                        start a stopped stack
    DELETE stacks/ID                              delete a stack (its named volumes are kept)

Every call names its environment by name (`endpoint`); a create looks its id up when it runs (the
environment may have been registered by an earlier action of the same plan). A 409 on create is never
taken as success: the stack holding the name is read back and redeployed only if the controller made it
for this very config entry (an earlier create whose answer was lost); otherwise `ConflictError`, and the
hand-made stack is left alone.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gitops import errors
from gitops.drivers.portainer import environments, stacks
from gitops.drivers.portainer.connection import PortainerClient
from gitops.planner.portainer.comparing import ENV_PREFIX
from gitops.planner.portainer.desired import MARKER
from gitops.planner.portainer.live import LiveStack

log = logging.getLogger(__name__)
_STACK = re.compile(r"^stacks/(\d+)(/git/redeploy|/start)?$")


def send(client: PortainerClient, method: str, path: str, params: dict[str, Any], *, target: str | None = None) -> str:
    """Send one planned call; returns what was done, in words. Raises `gitops.errors` types."""
    endpoint = str(params.get("endpoint") or "")
    env = [{"name": key[len(ENV_PREFIX):], "value": str(value)} for key, value in params.items()
           if key.startswith(ENV_PREFIX)]
    if (method, path) == ("POST", "endpoints"):
        registered = environments.register_agent(client, endpoint, str(params["URL"]), target=target)
        return f"registered environment '{registered.name}' (id {registered.id})"
    if method == "POST" and path.startswith("stacks/create/standalone/"):
        created = _create(client, path, params, endpoint, env, target)
        return f"deployed stack '{created.name}' (id {created.id}) on '{endpoint}'"
    found = _STACK.match(path)
    if found is None:
        raise errors.PermanentError(f"{method} {path}: not a call the Portainer driver makes", target=target)
    stack_id, endpoint_id, suffix = int(found.group(1)), int(params["endpointId"]), found.group(2) or ""
    if method == "DELETE" and not suffix:
        stacks.delete(client, stack_id, endpoint_id, target=target)
        return f"deleted stack {stack_id} from '{endpoint}'"
    if method == "POST" and suffix == "/start":
        stacks.start(client, stack_id, endpoint_id, target=target)
        return f"started stack {stack_id} on '{endpoint}'"
    if method == "PUT" and suffix == "/git/redeploy":
        stacks.redeploy_git(client, stack_id, endpoint_id, reference=str(params["repositoryReferenceName"]),
                            env=env, target=target)
        return f"redeployed stack {stack_id} from Git on '{endpoint}'"
    if method == "PUT" and not suffix:
        stacks.update_content(client, stack_id, endpoint_id, str(params["stackFileContent"]), env, target=target)
        return f"redeployed stack {stack_id} on '{endpoint}'"
    raise errors.PermanentError(f"{method} {path}: not a call the Portainer driver makes", target=target)


def _create(client: PortainerClient, path: str, params: dict[str, Any], endpoint: str, env: list[dict[str, str]],
            target: str | None) -> LiveStack:
    found = environments.find_environment(client, endpoint)
    if found is None:
        raise errors.PermanentError(f"Portainer has no environment '{endpoint}'", target=target)
    name = str(params["name"])
    git = path.endswith("/repository")
    try:
        if git:
            return stacks.create_from_git(client, found.id, name, url=str(params["repositoryURL"]),
                                          reference=str(params["repositoryReferenceName"]),
                                          compose_path=str(params["composeFile"]), env=env, target=target)
        return stacks.create_from_content(client, found.id, name, str(params["stackFileContent"]), env, target=target)
    except errors.ConflictError as conflict:
        existing = next((s for s in stacks.list_stacks(client) if s.endpoint_id == found.id and s.name == name), None)
        owner = str(params.get(ENV_PREFIX + MARKER) or "")
        if existing is None or not owner or existing.owner(MARKER) != owner:
            raise errors.ConflictError(
                f"environment '{endpoint}' already has a stack '{name}' that Phoenix GitOps did not create "
                f"for this config entry: it is left alone ({conflict})", target=target) from None
    # Ours (an earlier create whose answer was lost): bring it to the config instead.
    log.info("stack %s on %s already exists and is ours: redeploying it", name, endpoint)
    if git:
        return stacks.redeploy_git(client, existing.id, found.id, reference=str(params["repositoryReferenceName"]),
                                   env=env, target=target)
    return stacks.update_content(client, existing.id, found.id, str(params["stackFileContent"]), env, target=target)
