"""What the config asks of Portainer, as plain data: the environments VMs provide and the stacks placed on them.

`desired_environments(estate)` and `desired_stacks(estate, composes)`; called by `comparing` and by the
callers that build a plan (controller, CLI). Pure: the compose files are read and rendered before and
arrive as `composes` ((stack, environment) -> the stack file as deployed).

Rules:
- A VM with `portainer_role` `agent` provides an environment named `portainer_environment_name` (or
  the VM's name), reached at `tcp://<portainer_agent_hostname or the VM's IP>:<portainer_agent_port>`
  (9001 by default); the controller registers it. A VM with `portainer_role` `primary` runs Portainer:
  its environment is Portainer's own local one (named `portainer_environment_name`, `local` by
  default), which Portainer makes at install; the controller waits for it and never registers it.
- A VM's `docker_stacks` entry places one environment of a stack on that VM's environment. In
  Portainer the stack is named `<stack>-<environment>` (as upstream named them), normalised the
  way Portainer normalises names; its target is `stack/<stack>@<portainer environment>`.
- Every stack the controller creates carries the variable `PHOENIX_GITOPS_STACK=<stack>/<environment>`:
  that is how it is recognised afterwards (and which config entry it was). A stack without it is
  never touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gitops.config.checks.stacks import RESERVED_VARIABLE
from gitops.config.estate import Estate
from gitops.config.secretrefs import is_reference
from gitops.config.stacks import portainer_stack_name
from gitops.config.vm import Vm
from gitops.planner.plan import Problem

MARKER = RESERVED_VARIABLE  # validation refuses it in the config
DEFAULT_AGENT_PORT = 9001
DEFAULT_GIT_REFERENCE = "refs/heads/main"


@dataclass(frozen=True)
class DesiredEnvironment:
    """A Portainer environment a VM provides. `agent_url` None: Portainer's own, never registered by us."""

    name: str
    vmid: int
    agent_url: str | None = None

    @property
    def target(self) -> str:
        return f"environment/{self.name}"


@dataclass(frozen=True)
class GitSource:
    """A stack deployed from a Git repository by Portainer itself."""

    url: str
    reference: str
    compose_path: str


@dataclass(frozen=True)
class DesiredStack:
    """One environment of one stack, placed on one Portainer environment.

    `env` is the variables as sent, `${secret:NAME}` references kept as references (resolved by the
    executor at the last moment), the marker last. `compose` is the stack file as deployed (None for
    a Git stack, whose file Portainer reads from the repository).
    """

    stack: str
    environment: str
    vmid: int
    endpoint: str
    name: str
    env: tuple[tuple[str, str], ...]
    compose: str | None = None
    git: GitSource | None = None

    @property
    def target(self) -> str:
        return f"stack/{self.stack}@{self.endpoint}"

    @property
    def secret_templates(self) -> list[str]:
        """The variable values that hold a `${secret:...}` reference."""
        return [value for _, value in self.env if is_reference(value)]


def stack_target(stack: str, endpoint: str) -> str:
    return f"stack/{stack}@{endpoint}"


def environment_of(vm: Vm, agent_port: int | None) -> DesiredEnvironment | None:
    """The environment `vm` provides, or None when it runs no Portainer (no `portainer_role`)."""
    name = vm.portainer_environment()
    if name is None:
        return None
    if (vm.portainer_role or "").strip().lower() == "primary":
        return DesiredEnvironment(name, vm.vmid)
    host = (vm.portainer_agent_hostname or "").strip() or _static_ip(vm)
    url = f"tcp://{host}:{agent_port or DEFAULT_AGENT_PORT}" if host else ""
    return DesiredEnvironment(name, vm.vmid, url)


def desired_environments(estate: Estate) -> dict[int, DesiredEnvironment]:
    """The environment of every VM that provides one, by VM id."""
    port = estate.hypervisor.network.portainer_agent_port
    found: dict[int, DesiredEnvironment] = {}
    for vm in estate.vms.vms:
        env = environment_of(vm, port)
        if env is not None and not vm.is_template:
            found[vm.vmid] = env
    return found


def desired_stacks(estate: Estate, composes: Mapping[tuple[str, str], str],
                   why_missing: Mapping[tuple[str, str], str] | None = None,
                   ) -> tuple[list[DesiredStack], list[Problem]]:
    """Every stack placement of the config, and the problems that keep one from being planned.

    `composes`: the rendered stack file per (stack, environment); `why_missing`: why one could not be."""
    environments = desired_environments(estate)
    stacks: list[DesiredStack] = []
    problems: list[Problem] = []
    for vm in estate.vms.vms:
        for ref in vm.docker_stacks:
            config = estate.stacks.docker_stacks.get(ref.name)
            stack_env = config.environments.get(ref.environment) if config else None
            if config is None or stack_env is None:
                continue  # validation reports it (stack-missing, stack-environment-missing)
            env = environments.get(vm.vmid)
            if env is None:
                problems.append(Problem(f"vm/{vm.vmid}", "stack-environment-unknown",
                                        f"VM {vm.vmid} has docker_stacks but no portainer_role (agent or primary)"))
                continue
            target = stack_target(ref.name, env.name)
            git = None
            compose = None
            if config.git_url:
                git = GitSource(config.git_url, config.git_ref or DEFAULT_GIT_REFERENCE, config.compose_file_path)
            else:
                compose = composes.get((ref.name, ref.environment))
                if compose is None:
                    why = (why_missing or {}).get((ref.name, ref.environment), "it was not read")
                    problems.append(Problem(target, "stack-compose-invalid",
                                            f"stack '{ref.name}' ({ref.environment}) cannot be deployed: {why}"))
                    continue
            variables = tuple((v.name, v.value) for v in stack_env.variables if v.name != MARKER)
            stacks.append(DesiredStack(
                stack=ref.name, environment=ref.environment, vmid=vm.vmid, endpoint=env.name,
                name=portainer_stack_name(ref.name, ref.environment),
                env=(*variables, (MARKER, f"{ref.name}/{ref.environment}")),
                compose=compose, git=git,
            ))
    return stacks, problems


def _static_ip(vm: Vm) -> str:
    ip = (vm.network_config.ip if vm.network_config else None) or ""
    return "" if ip in ("", "dhcp") else ip.split("/")[0]
