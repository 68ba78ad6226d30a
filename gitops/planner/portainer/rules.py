"""The planner rules of the Portainer system (`RULES`), listed in `gitops.planner.systems.RULES`.

`targets`: every stack placement (`stack/NAME@ENVIRONMENT`) and every agent environment the placements
use (`environment/NAME`), when Portainer is configured (the driver filled `live.stacks`); otherwise
none, and drift shows the stacks as pending. `plan`: `desired` + `comparing`, after the guests, so a
stack's actions can wait for its VM's. Pure.
"""

from __future__ import annotations

from gitops.config.estate import Estate
from gitops.planner.details import Detail
from gitops.planner.live import LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import PORTAINER, Plan
from gitops.planner.portainer.comparing import plan_stacks
from gitops.planner.portainer.desired import desired_environments, desired_stacks, stack_target
from gitops.planner.rules import SystemRules


def stack_targets(estate: Estate, live: LiveState, options: PlanOptions) -> list[str]:
    if live.stacks is None:
        return []
    environments = desired_environments(estate)
    targets: list[str] = []
    for vm in estate.vms.vms:
        env = environments.get(vm.vmid)
        if env is None or not vm.docker_stacks:
            continue
        if env.agent_url is not None:
            targets.append(env.target)
        targets += [stack_target(ref.name, env.name) for ref in vm.docker_stacks]
    return list(dict.fromkeys(targets))


def describe_stacks(estate: Estate, live: LiveState, options: PlanOptions) -> dict[str, Detail]:
    """Each stack placement and agent environment with the VM it runs on (for the dashboard's graph)."""
    environments = desired_environments(estate)
    out: dict[str, Detail] = {}
    for vm in estate.vms.vms:
        env = environments.get(vm.vmid)
        if env is None or not vm.docker_stacks:
            continue
        host = f"vm/{vm.vmid}"
        if env.agent_url is not None:
            out[env.target] = Detail(role="environment", depends_on=[host])
        for ref in vm.docker_stacks:
            out[stack_target(ref.name, env.name)] = Detail(
                role="stack", depends_on=[env.target if env.agent_url is not None else host])
    return out


def plan_stack_changes(estate: Estate, live: LiveState, options: PlanOptions, plan: Plan) -> None:
    if live.stacks is None:  # no Portainer configured: the resources list shows the stacks as pending
        return
    stacks, problems = desired_stacks(estate, live.stacks.sources, live.stacks.source_problems)
    plan.errors += problems
    plan_stacks(stacks, desired_environments(estate), live.stacks, plan, allow_destroy=options.removes_orphans)


RULES = SystemRules(system=PORTAINER, targets=stack_targets, plan=plan_stack_changes, describe=describe_stacks)
