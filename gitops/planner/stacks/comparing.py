"""`plan_stacks(...)`: the actions that take Portainer to the desired stacks. Pure.

Per stack placement (see `desired`), against what `gitops.drivers.portainer.reading` read:
- its environment is missing: an agent environment is registered first (after its VM's actions);
  Portainer's own environment cannot be registered, so its absence is an error;
- the stack is missing: `create`; it exists but was not made by the controller (no `PHOENIX_GITOPS_STACK`): an error
  (`stack-conflict`), it is never touched; it exists and is ours: its stack file, its variables (a
  secret by the fingerprint of its resolved value, never the value) and its Git settings are compared,
  and any difference is one `update` (a redeploy of exactly that stack); a stopped stack is started.
- a stack the controller made that the config no longer places is deleted only with `allow_destroy`
  (a warning says what would go otherwise). Stacks made by hand are never listed for deletion.

Each action names what it waits for: the VM (`vm/ID`) and, for a new environment, `environment/NAME`.
The executor receives one `StackOperation` per action target (plain data).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from gitops.config.secretrefs import digest, is_reference
from gitops.planner.plan import Action, FieldChange, Problem
from gitops.planner.stacks.desired import MARKER, DesiredEnvironment, DesiredStack, stack_target
from gitops.planner.stacks.live import STACK_INACTIVE, LiveStack, LiveStacks

OperationKind = Literal["register", "create", "update", "start", "delete", "replace"]


@dataclass(frozen=True)
class StackOperation:
    """What the Portainer executor does for one action: `steps` in order, on this stack or environment."""

    steps: tuple[OperationKind, ...]
    stack: DesiredStack | None = None
    environment: DesiredEnvironment | None = None
    stack_id: int | None = None       # the live stack, for update, start, delete
    endpoint_id: int | None = None    # its environment, when it is known at plan time
    name: str = ""                    # the Portainer stack name (for delete of a stack no longer desired)


@dataclass
class StackPlan:
    actions: list[Action] = field(default_factory=list)
    operations: dict[str, StackOperation] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def plan_stacks(
    stacks: list[DesiredStack],
    environments: Mapping[int, DesiredEnvironment],
    live: LiveStacks,
    *,
    secret_digests: Mapping[str, str],
    allow_destroy: bool = False,
) -> StackPlan:
    """The stack part of a plan. `secret_digests`: template -> fingerprint of its resolved value."""
    plan = StackPlan()
    wanted_envs = {s.vmid: environments[s.vmid] for s in stacks if s.vmid in environments}
    for env in wanted_envs.values():
        _plan_environment(env, live, plan)
    for desired in stacks:
        _plan_stack(desired, live, secret_digests, plan)
    _plan_removals(stacks, live, allow_destroy, plan)
    return plan


def _plan_environment(env: DesiredEnvironment, live: LiveStacks, plan: StackPlan) -> None:
    current = live.environment(env.name)
    if current is not None:
        if env.agent_url and current.url and current.url != env.agent_url:
            plan.warnings.append(Problem(env.target, "environment-url",
                                         f"environment '{env.name}' is at {current.url}, the config says "
                                         f"{env.agent_url}: the controller does not move environments"))
        return
    if env.agent_url is None:
        plan.errors.append(Problem(env.target, "environment-missing",
                                   f"Portainer has no environment '{env.name}' (its own, on VM {env.vmid}): "
                                   "set portainer_environment_name to the name Portainer shows"))
        return
    if not env.agent_url:
        plan.errors.append(Problem(env.target, "environment-address",
                                   f"VM {env.vmid} is a Portainer agent without a static IP or "
                                   "portainer_agent_hostname: its environment cannot be registered"))
        return
    plan.actions.append(Action(
        target=env.target, action="create", summary=f"register the Portainer agent at {env.agent_url}",
        changes=[FieldChange("URL", None, env.agent_url)], depends_on=[f"vm/{env.vmid}"],
    ))
    plan.operations[env.target] = StackOperation(steps=("register",), environment=env)


def _plan_stack(desired: DesiredStack, live: LiveStacks, digests: Mapping[str, str], plan: StackPlan) -> None:
    target = desired.target
    needs = [f"vm/{desired.vmid}", f"environment/{desired.endpoint}"]
    for template in desired.secret_templates:
        if template not in digests:
            plan.errors.append(Problem(target, "secret-missing",
                                       f"a variable of stack '{desired.stack}' names a secret that is not set"))
            return
    env = live.environment(desired.endpoint)
    current = live.stack(env.id, desired.name) if env is not None else None
    if current is None:
        what = f"from {desired.git.url}" if desired.git else "from its compose file"
        plan.actions.append(Action(
            target=target, action="create", depends_on=needs,
            summary=f"deploy stack '{desired.name}' ({desired.environment}) on '{desired.endpoint}' {what}",
            changes=_changes(desired, None, digests),
        ))
        plan.operations[target] = StackOperation(steps=("create",), stack=desired,
                                                 endpoint_id=env.id if env else None, name=desired.name)
        return
    if not current.owner(MARKER):
        plan.errors.append(Problem(target, "stack-conflict",
                                   f"environment '{desired.endpoint}' has a stack '{desired.name}' that Phoenix "
                                   "GitOps did not create: it is left alone; rename or remove it by hand"))
        return
    changes = _changes(desired, current, digests)
    steps: list[OperationKind] = []
    if current.status == STACK_INACTIVE:
        steps.append("start")
    if changes:
        git_moved = desired.git is not None and (
            current.git is None or (current.git.url, current.git.compose_path) != (desired.git.url,
                                                                                    desired.git.compose_path))
        kind_moved = (desired.git is None) != (current.git is None)
        steps.append("replace" if git_moved or kind_moved else "update")
    if not steps:
        return
    summary = {"start": "start the stopped stack", "update": "redeploy with the changes",
               "replace": "delete and deploy again (its source moved)"}
    plan.actions.append(Action(
        target=target, action="update" if changes else "start", changes=changes, depends_on=needs,
        summary=f"stack '{desired.name}' on '{desired.endpoint}': " + ", then ".join(summary[s] for s in steps),
    ))
    plan.operations[target] = StackOperation(steps=tuple(steps), stack=desired, stack_id=current.id,
                                             endpoint_id=current.endpoint_id, name=current.name)


def _changes(desired: DesiredStack, current: LiveStack | None, digests: Mapping[str, str]) -> list[FieldChange]:
    changes: list[FieldChange] = []
    live_env = current.env if current else {}
    if desired.compose is not None:
        have = current.file if current and current.git is None else None
        if have != desired.compose:
            changes.append(FieldChange("compose", _describe(have), _describe(desired.compose)))
    if desired.git is not None:
        want = (desired.git.url, desired.git.reference, desired.git.compose_path)
        live_git = current.git if current else None
        have_git = (live_git.url, live_git.reference, live_git.compose_path) if live_git else None
        if have_git != want:
            changes.append(FieldChange("git", " ".join(have_git) if have_git else None, " ".join(want)))
    for name, template in desired.env:
        have_value = live_env.get(name)
        secret = is_reference(template)
        if secret:
            same = have_value is not None and digest(have_value) == digests.get(template)
        else:
            same = have_value == template
        if not same:
            changes.append(FieldChange(f"env.{name}", have_value, template, secret=secret))
    wanted = {name for name, _ in desired.env}
    for name in sorted(set(live_env) - wanted):
        # A variable that is no longer in the config (or was added by hand): shown masked, its value may be a secret.
        changes.append(FieldChange(f"env.{name}", live_env[name], None, secret=True))
    return changes


def _describe(text: str | None) -> str | None:
    if text is None:
        return None
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    return f"{lines} lines, sha256:{hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}"


def _plan_removals(stacks: list[DesiredStack], live: LiveStacks, allow_destroy: bool, plan: StackPlan) -> None:
    wanted = {(s.endpoint, s.name) for s in stacks}
    for current in live.stacks:
        owner = current.owner(MARKER)
        if not owner:
            continue
        endpoint = live.environment_name(current.endpoint_id)
        if (endpoint, current.name) in wanted:
            continue
        target = stack_target(owner.split("/")[0], endpoint)
        if not allow_destroy:
            plan.warnings.append(Problem(target, "destroy-skipped",
                                         f"stack '{current.name}' on '{endpoint}' is no longer in the config: "
                                         "it is deleted only with --allow-destroy"))
            continue
        plan.actions.append(Action(target=target, action="delete", destructive=True,
                                   summary=f"delete stack '{current.name}' from '{endpoint}'"))
        plan.operations[target] = StackOperation(steps=("delete",), stack_id=current.id,
                                                 endpoint_id=current.endpoint_id, name=current.name)
