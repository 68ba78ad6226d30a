"""Live state of Portainer, as plain data: what `gitops.drivers.portainer.reading` returns, what
`gitops.planner.portainer.comparing` compares.

Environment variables are kept as Portainer returns them, secret values included: this object is read
by the planner and dropped; it is never stored, logged or shown (plans show `(secret)`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

STACK_ACTIVE = 1
STACK_INACTIVE = 2
COMPOSE_STACK = 2  # Portainer's stack `Type`: 1 swarm, 2 standalone compose, 3 kubernetes


@dataclass(frozen=True)
class LiveEnvironment:
    """One Portainer environment (endpoint)."""

    id: int
    name: str
    url: str = ""
    type: int = 0
    status: int = 1  # Portainer's last check of it: 1 up, 2 down


@dataclass(frozen=True)
class LiveGit:
    """The Git settings of a stack deployed from a repository."""

    url: str
    reference: str
    compose_path: str
    commit: str = ""


@dataclass
class LiveStack:
    """One Portainer stack. `file` is the stack file's content, None when it was not read (not ours)."""

    id: int
    name: str
    endpoint_id: int
    type: int = COMPOSE_STACK
    status: int = STACK_ACTIVE
    env: dict[str, str] = field(default_factory=dict, repr=False)
    file: str | None = field(default=None, repr=False)
    git: LiveGit | None = None

    def owner(self, marker: str) -> str:
        """The `<stack>/<environment>` of the config entry the controller made it for; empty when not ours."""
        return self.env.get(marker, "").strip()


@dataclass
class LiveStacks:
    """Everything the stack planner needs besides the JSON config, read in one go by the Portainer driver.

    Besides Portainer's environments and stacks, the driver reads what planning needs and the planner may
    not read itself: `sources`, the stack file of each (stack, environment) as it would be deployed from
    this revision (the compose file from the config repo, labels and files merged in), with the problems
    that kept one from rendering; `secret_digests`, for each variable value that holds `${secret:...}`,
    the fingerprint of its value now (never the value), so a changed secret redeploys its stack.
    """

    environments: dict[str, LiveEnvironment] = field(default_factory=dict)  # by name
    stacks: list[LiveStack] = field(default_factory=list)
    sources: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    source_problems: dict[tuple[str, str], str] = field(default_factory=dict)  # (stack, environment) -> why
    secret_digests: dict[str, str] = field(default_factory=dict, repr=False)
    unreadable: str = ""  # why Portainer could not be read (then environments and stacks are unknown, not empty)

    def environment(self, name: str) -> LiveEnvironment | None:
        return self.environments.get(name)

    def stack(self, endpoint_id: int, name: str) -> LiveStack | None:
        for s in self.stacks:
            if s.endpoint_id == endpoint_id and s.name == name:
                return s
        return None

    def environment_name(self, endpoint_id: int) -> str:
        for e in self.environments.values():
            if e.id == endpoint_id:
                return e.name
        return str(endpoint_id)
