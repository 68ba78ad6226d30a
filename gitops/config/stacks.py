"""Model of `phoenix_stacks_config.json`: Docker stacks with their environments (deployed via Portainer).

Loaded by `gitops.config.loading`; read by the checks and the queries.
"""

from __future__ import annotations

import re

from pydantic import Field

from gitops.config.common import ConfigModel


class StackVariable(ConfigModel):
    name: str
    value: str


class StackFile(ConfigModel):
    source: str
    destination_in_container: str


class StackService(ConfigModel):
    traefik_labels: list[str] = Field(default_factory=list)


class StackEnvironment(ConfigModel):
    variables: list[StackVariable] = Field(default_factory=list)
    files: list[StackFile] = Field(default_factory=list)
    services: dict[str, StackService] = Field(default_factory=dict)


class NginxProxy(ConfigModel):
    hostname: str


class Stack(ConfigModel):
    name: str | None = Field(None, description="deprecated (2025-10-06): the stack's key is its name")
    description: str | None = None
    compose_file_path: str
    git_url: str | None = Field(None, description="repository holding the compose file (new)")
    git_ref: str | None = None
    nginx_proxy: NginxProxy | None = None
    environments: dict[str, StackEnvironment] = Field(default_factory=dict)


class StacksFile(ConfigModel):
    schema_: str | None = Field(None, alias="$schema")
    docker_stacks: dict[str, Stack] = Field(default_factory=dict)


def portainer_stack_name(stack: str, environment: str) -> str:
    """A stack environment's name in Portainer: `<stack>-<environment>` (as upstream named them), normalised
    as Portainer (docker compose) does: lower case, only [a-z0-9_-]."""
    return re.sub(r"[^a-z0-9_-]", "", f"{stack}-{environment}".lower()).lstrip("_-")
