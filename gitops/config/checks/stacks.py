"""Checks of the Docker stacks and where VMs place them: what the controller can converge, and what it cannot.

Called by `gitops.config.validation`. Codes: errors `stack-placement-invalid` (docker_stacks on a VM
that runs no Portainer), `stack-placement-duplicate` (one stack twice on one Portainer environment, or
two that Portainer would name alike), `stack-variable-invalid` (a variable set twice, or the
controller's own marker `PHOENIX_GITOPS_STACK`),
`environment-duplicate` (two VMs provide one environment name); warnings `unused-field` (fields the
controller does not converge: `nginx_proxy`; `files` and `traefik_labels` of a Git stack, whose file
Portainer reads from the repository as it is). A compose file missing from the config directory is
found when the stack is planned (`stack-compose-invalid`, a plan error), not here: validation reads
the four JSON files only.
"""

from __future__ import annotations

from gitops.config.estate import STACKS_FILE, VM_FILE, Estate
from gitops.config.problems import Report
from gitops.config.stacks import portainer_stack_name

RESERVED_VARIABLE = "PHOENIX_GITOPS_STACK"  # gitops.planner.portainer.desired.MARKER


def check_stacks(estate: Estate, report: Report) -> None:
    _check_placements(estate, report)
    _check_fields(estate, report)


def _check_placements(estate: Estate, report: Report) -> None:
    providers: dict[str, int] = {}
    placed: dict[tuple[str, str], int] = {}
    names: dict[tuple[str, str], str] = {}  # (environment, Portainer name) -> the stack that has it
    for path, vm in estate.vm_items():
        environment = vm.portainer_environment()
        if environment is not None and not vm.is_template:
            other = providers.setdefault(environment, vm.vmid)
            if other != vm.vmid:
                report.error(VM_FILE, (*path, "portainer_environment_name"), "environment-duplicate",
                             f"VM {other} already provides the Portainer environment '{environment}'")
        for i, ref in enumerate(vm.docker_stacks):
            if environment is None:
                report.error(VM_FILE, (*path, "docker_stacks", i), "stack-placement-invalid",
                             f"VM {vm.vmid} runs no Portainer (portainer_role is not agent or primary): "
                             f"stack '{ref.name}' has nowhere to go")
                continue
            first = placed.setdefault((environment, ref.name), vm.vmid)
            if first != vm.vmid or sum(r.name == ref.name for r in vm.docker_stacks[:i]):
                report.error(VM_FILE, (*path, "docker_stacks", i), "stack-placement-duplicate",
                             f"stack '{ref.name}' is already placed on Portainer environment '{environment}'")
                continue
            name = portainer_stack_name(ref.name, ref.environment)
            holder = names.setdefault((environment, name), f"{ref.name}/{ref.environment}")
            if not name or holder != f"{ref.name}/{ref.environment}":
                why = f"the same as {holder}'s" if name else "empty"
                report.error(VM_FILE, (*path, "docker_stacks", i), "stack-placement-duplicate",
                             f"stack '{ref.name}' ({ref.environment}) would be named '{name}' in Portainer, "
                             f"{why} on environment '{environment}'")


def _check_fields(estate: Estate, report: Report) -> None:
    for name, stack in estate.stacks.docker_stacks.items():
        path = ("docker_stacks", name)
        for env_name, env in stack.environments.items():
            seen: set[str] = set()
            for i, variable in enumerate(env.variables):
                where = (*path, "environments", env_name, "variables", i, "name")
                if variable.name == RESERVED_VARIABLE:
                    report.error(STACKS_FILE, where, "stack-variable-invalid",
                                 f"{RESERVED_VARIABLE} is set by the controller: it marks the stacks it made")
                elif variable.name in seen:
                    report.error(STACKS_FILE, where, "stack-variable-invalid",
                                 f"variable {variable.name} is set twice")
                seen.add(variable.name)
        if stack.nginx_proxy is not None:
            report.warning(STACKS_FILE, (*path, "nginx_proxy"), "unused-field",
                           "`nginx_proxy` is not converged by the controller (use traefik_labels)")
        if not stack.git_url:
            if stack.git_ref:
                report.warning(STACKS_FILE, (*path, "git_ref"), "unused-field", "`git_ref` needs `git_url`")
            continue
        for env_name, env in stack.environments.items():
            if env.files:
                report.warning(STACKS_FILE, (*path, "environments", env_name, "files"), "unused-field",
                               "`files` are not deployed for a Git stack (Portainer reads the repository as is)")
            if any(s.traefik_labels for s in env.services.values()):
                report.warning(STACKS_FILE, (*path, "environments", env_name, "services"), "unused-field",
                               "`traefik_labels` are not merged into a Git stack (put them in its compose file)")
