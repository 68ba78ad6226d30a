"""`plan_stacks(...)`: the actions that take Portainer to the desired stacks. Pure.

Per stack placement (see `desired`), against what `gitops.drivers.portainer.reading` read:
- its environment is missing: an agent environment is registered first (after its VM's actions);
  Portainer's own environment cannot be registered, so its absence is an error;
- the stack is missing: `deploy`; it exists but was not made by the controller (no `PHOENIX_GITOPS_STACK`):
  an error (`stack-conflict`), it is never touched; it exists and is ours: its stack file, its variables
  (a secret by the fingerprint of its resolved value, never the value) and its Git settings are compared,
  and any difference is one `redeploy` of exactly that stack; a stopped stack is started.
- a stack the controller made that the config no longer places (an orphan) is deleted only with
  `allow_destroy` (`prune` or `--allow-destroy`); otherwise a warning says it is kept. Stacks made by
  hand are never listed for deletion.

Each action names what it waits for (the VM, `vm/ID`, and for a new environment `environment/NAME`) and
carries its calls in the Portainer driver's terms (`gitops.drivers.portainer.driver`): every call names
its environment (`endpoint`), variables travel as `env.NAME` params, `${secret:NAME}` kept as references.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from typing import Any

from gitops.config.secretrefs import digest, is_reference
from gitops.planner.plan import PORTAINER, Action, ApiCall, FieldChange, Plan, Problem
from gitops.planner.portainer.desired import MARKER, DesiredEnvironment, DesiredStack, stack_target
from gitops.planner.portainer.live import STACK_INACTIVE, LiveStack, LiveStacks
from gitops.planner.unified import unified

ENV_PREFIX = "env."
ENVIRONMENT_DOWN = 2


def plan_stacks(
    stacks: list[DesiredStack],
    environments: Mapping[int, DesiredEnvironment],
    live: LiveStacks,
    plan: Plan,
    *,
    allow_destroy: bool = False,
) -> None:
    """Append the stack actions, errors and warnings to `plan`."""
    if live.unreadable:
        _plan_blind(stacks, environments, live, plan)
        return
    wanted_envs = {s.vmid: environments[s.vmid] for s in stacks if s.vmid in environments}
    usable = {env.name for env in wanted_envs.values() if _plan_environment(env, live, plan)}
    for desired in stacks:
        if desired.endpoint in usable:  # otherwise its environment's error says why nothing is planned
            _plan_stack(desired, live, plan)
    _plan_removals(stacks, live, allow_destroy, plan)


def _plan_blind(stacks: list[DesiredStack], environments: Mapping[int, DesiredEnvironment], live: LiveStacks,
                plan: Plan) -> None:
    """Portainer could not be read: every agent environment is registered and every stack deployed, each
    of which is safe to repeat (a 409 for our own environment or stack becomes a redeploy); nothing is
    deleted. The guests' actions are planned as usual."""
    plan.warnings.append(Problem("stack/*", "portainer-unreadable",
                                 f"Portainer could not be read ({live.unreadable}): every stack is deployed "
                                 "or redeployed, nothing is deleted"))
    registered: set[str] = set()
    for desired in stacks:
        env = environments.get(desired.vmid)
        if env is not None and env.agent_url and env.name not in registered:
            registered.add(env.name)
            plan.actions.append(Action(
                target=env.target, action="register", system=PORTAINER, depends_on=[f"vm/{env.vmid}"],
                summary=f"register the Portainer agent at {env.agent_url} (unless it is)",
                calls=[ApiCall("POST", "endpoints", {"endpoint": env.name, "URL": env.agent_url})]))
        plan.actions.append(Action(
            target=desired.target, action="deploy", system=PORTAINER,
            depends_on=[f"vm/{desired.vmid}", f"environment/{desired.endpoint}"],
            summary=f"deploy or redeploy stack '{desired.name}' on '{desired.endpoint}' (Portainer was not read)",
            calls=[create_call(desired)]))


def _plan_environment(env: DesiredEnvironment, live: LiveStacks, plan: Plan) -> bool:
    """Plan the environment's registration if it is missing; False when it cannot be had (an error says why)."""
    current = live.environment(env.name)
    if current is not None:
        if current.status == ENVIRONMENT_DOWN:
            plan.warnings.append(Problem(env.target, "environment-down",
                                         f"Portainer last saw environment '{env.name}' down: its stacks' "
                                         "actions may fail until its agent answers"))
        if env.agent_url and current.url and current.url != env.agent_url:
            plan.warnings.append(Problem(env.target, "environment-url",
                                         f"environment '{env.name}' is at {current.url}, the config says "
                                         f"{env.agent_url}: the controller does not move environments"))
        return True
    if env.agent_url is None:
        plan.errors.append(Problem(env.target, "environment-missing",
                                   f"Portainer has no environment '{env.name}' (its own, on VM {env.vmid}): "
                                   "set portainer_environment_name to the name Portainer shows"))
        return False
    if not env.agent_url:
        plan.errors.append(Problem(env.target, "environment-address",
                                   f"VM {env.vmid} is a Portainer agent without a static IP or "
                                   "portainer_agent_hostname: its environment cannot be registered"))
        return False
    plan.actions.append(Action(
        target=env.target, action="register", system=PORTAINER,
        summary=f"register the Portainer agent at {env.agent_url}",
        changes=[FieldChange("URL", None, env.agent_url)], depends_on=[f"vm/{env.vmid}"],
        calls=[ApiCall("POST", "endpoints", {"endpoint": env.name, "URL": env.agent_url}, wait=False)],
    ))
    return True


def _plan_stack(desired: DesiredStack, live: LiveStacks, plan: Plan) -> None:
    target = desired.target
    needs = [f"vm/{desired.vmid}", f"environment/{desired.endpoint}"]
    env = live.environment(desired.endpoint)
    current = live.stack(env.id, desired.name) if env is not None else None
    if current is None:
        what = f"from {desired.git.url}" if desired.git else "from its compose file"
        plan.actions.append(Action(
            target=target, action="deploy", system=PORTAINER, depends_on=needs,
            summary=f"deploy stack '{desired.name}' ({desired.environment}) on '{desired.endpoint}' {what}",
            changes=_changes(desired, None, live.secret_digests), calls=[create_call(desired)],
        ))
        return
    if not current.owner(MARKER):
        plan.errors.append(Problem(target, "stack-conflict",
                                   f"environment '{desired.endpoint}' has a stack '{desired.name}' that Phoenix "
                                   "GitOps did not create: it is left alone; rename or remove it by hand"))
        return
    changes = _changes(desired, current, live.secret_digests)
    calls: list[ApiCall] = []
    steps: list[str] = []
    where = {"endpoint": desired.endpoint, "endpointId": current.endpoint_id}
    if current.status == STACK_INACTIVE:
        calls.append(ApiCall("POST", f"stacks/{current.id}/start", dict(where), wait=True))
        steps.append("start it")
    if changes:
        source_moved = (desired.git is None) != (current.git is None) or (
            desired.git is not None and current.git is not None
            and (current.git.url, current.git.compose_path) != (desired.git.url, desired.git.compose_path))
        if source_moved:  # Portainer cannot change a stack's source: delete it and deploy again
            calls.append(ApiCall("DELETE", f"stacks/{current.id}", dict(where), wait=True))
            calls.append(create_call(desired))
            steps.append("delete it and deploy it again (its source moved)")
        else:
            calls.append(_update_call(desired, current.id, where))
            steps.append("redeploy it with the changes")
    if not calls:
        return
    plan.actions.append(Action(
        target=target, action="redeploy" if changes else "start", system=PORTAINER, changes=changes,
        depends_on=needs, calls=calls,
        summary=f"stack '{desired.name}' on '{desired.endpoint}': " + ", then ".join(steps),
    ))


def create_call(desired: DesiredStack) -> ApiCall:
    params: dict[str, Any] = {"endpoint": desired.endpoint, "name": desired.name}
    if desired.git is not None:
        params |= {"repositoryURL": desired.git.url, "repositoryReferenceName": desired.git.reference,
                   "composeFile": desired.git.compose_path}
        path = "stacks/create/standalone/repository"
    else:
        params["stackFileContent"] = desired.compose
        path = "stacks/create/standalone/string"
    return ApiCall("POST", path, params | env_params(desired), wait=True)


def _update_call(desired: DesiredStack, stack_id: int, where: dict[str, Any]) -> ApiCall:
    if desired.git is not None:
        return ApiCall("PUT", f"stacks/{stack_id}/git/redeploy",
                       {**where, "repositoryReferenceName": desired.git.reference, **env_params(desired)}, wait=True)
    return ApiCall("PUT", f"stacks/{stack_id}", {**where, "stackFileContent": desired.compose, **env_params(desired)},
                   wait=True)


def env_params(desired: DesiredStack) -> dict[str, str]:
    """The stack's variables as call params (`env.NAME`), references kept."""
    return {ENV_PREFIX + name: value for name, value in desired.env}


def _changes(desired: DesiredStack, current: LiveStack | None, digests: Mapping[str, str]) -> list[FieldChange]:
    changes: list[FieldChange] = []
    live_env = current.env if current else {}
    if desired.compose is not None:
        have = current.file if current and current.git is None else None
        if have != desired.compose:
            new = _describe(desired.compose)
            if have is not None:
                new = f"{new} ({_line_changes(have, desired.compose)})"
            changes.append(FieldChange("compose", _describe(have), new,
                                       diff=unified(have, desired.compose, "docker-compose.yml")))
    if desired.git is not None:
        want = (desired.git.url, desired.git.reference, desired.git.compose_path)
        live_git = current.git if current else None
        have_git = (live_git.url, live_git.reference, live_git.compose_path) if live_git else None
        if have_git != want:
            changes.append(FieldChange("git", " ".join(have_git) if have_git else None, " ".join(want)))
    for name, template in desired.env:
        have_value = live_env.get(name)
        secret = is_reference(template)
        if secret:  # the live value redacted back to its reference, or its fingerprint equal to the secret's now
            same = have_value == template or (have_value is not None and digest(have_value) == digests.get(template))
        else:
            same = have_value == template
        if not same:
            changes.append(FieldChange(f"env.{name}", have_value, template, secret=secret))
    wanted = {name for name, _ in desired.env}
    for name in sorted(set(live_env) - wanted):
        # A variable no longer in the config (or added by hand): shown masked, its value may be a secret.
        changes.append(FieldChange(f"env.{name}", live_env[name], None, secret=True))
    return changes


def _describe(text: str | None) -> str | None:
    if text is None:
        return None
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    return f"{lines} lines, sha256:{hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}"


def _line_changes(old: str, new: str) -> str:
    """`+2 -1 lines` between two texts (a plan says how much a stack file changes, not only that it does)."""
    added = removed = 0
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return f"+{added} -{removed} lines"


def _plan_removals(stacks: list[DesiredStack], live: LiveStacks, allow_destroy: bool, plan: Plan) -> None:
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
                                         "it is kept (set PHOENIX_PRUNE=true, or apply with --allow-destroy, "
                                         "to delete it)"))
            continue
        plan.actions.append(Action(
            target=target, action="delete", system=PORTAINER, destructive=True,
            summary=f"delete stack '{current.name}' from '{endpoint}'",
            calls=[ApiCall("DELETE", f"stacks/{current.id}", {"endpoint": endpoint, "endpointId": current.endpoint_id},
                           wait=True)],
        ))
