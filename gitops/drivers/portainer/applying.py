"""Run one planned stack operation against Portainer: `run_operation(client, operation, resolve_secret)`.

Called by the executor, one operation per plan action (its dependencies met). Variables are resolved
here, at the last moment (`resolve_secret`), and never logged; an error message is scrubbed of every
resolved value before it leaves. A 409 on create is never taken as success: the stack holding the name
is read back and updated only if the controller made it for this very config entry; otherwise the
conflict is raised, and the hand-made stack is left alone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from gitops import errors
from gitops.config.secretrefs import REF
from gitops.drivers.portainer import environments, stacks
from gitops.drivers.portainer.connection import PortainerClient
from gitops.planner.stacks.comparing import StackOperation
from gitops.planner.stacks.desired import MARKER, DesiredStack
from gitops.planner.stacks.live import LiveStack

log = logging.getLogger(__name__)
SECRET_SHOWN = "(secret)"


def run_operation(client: PortainerClient, operation: StackOperation, resolve_secret: Callable[[str], str],
                  *, target: str | None = None) -> str:
    """Do `operation`'s steps in order; returns what was done, in words. Raises `gitops.errors` types."""
    secrets: list[str] = []
    try:
        return _run(client, operation, resolve_secret, secrets, target)
    except errors.DriverError as exc:
        message = scrub(str(exc), secrets)
        raise type(exc)(message, target=exc.target or target) from None


def _run(client: PortainerClient, op: StackOperation, resolve_secret: Callable[[str], str], secrets: list[str],
         target: str | None) -> str:
    done: list[str] = []
    for step in op.steps:
        if step == "register":
            assert op.environment is not None and op.environment.agent_url
            registered = environments.register_agent(client, op.environment.name, op.environment.agent_url,
                                                     target=target)
            done.append(f"registered environment '{registered.name}' (id {registered.id})")
        elif step == "delete":
            assert op.stack_id is not None and op.endpoint_id is not None
            stacks.delete(client, op.stack_id, op.endpoint_id, target=target)
            done.append(f"deleted stack '{op.name}'")
        elif step == "start":
            assert op.stack_id is not None and op.endpoint_id is not None
            stacks.start(client, op.stack_id, op.endpoint_id, target=target)
            done.append(f"started stack '{op.name}'")
        else:
            assert op.stack is not None
            env = _resolved_env(op.stack, resolve_secret, secrets)
            if step == "create":
                created = _create(client, op.stack, env, target)
                done.append(f"deployed stack '{created.name}' (id {created.id})")
            elif step == "replace":
                assert op.stack_id is not None and op.endpoint_id is not None
                stacks.delete(client, op.stack_id, op.endpoint_id, target=target)
                created = _create(client, op.stack, env, target)
                done.append(f"replaced stack '{created.name}' (id {created.id})")
            else:
                assert op.stack_id is not None and op.endpoint_id is not None
                _update(client, op.stack, op.stack_id, op.endpoint_id, env, target)
                done.append(f"redeployed stack '{op.stack.name}'")
    return "; ".join(done)


def _create(client: PortainerClient, stack: DesiredStack, env: list[dict[str, str]], target: str | None) -> LiveStack:
    endpoint = environments.find_environment(client, stack.endpoint)
    if endpoint is None:
        raise errors.PermanentError(f"Portainer has no environment '{stack.endpoint}'", target=target)
    try:
        return _create_on(client, stack, endpoint.id, env, target)
    except errors.ConflictError:
        existing = next((s for s in stacks.list_stacks(client)
                         if s.endpoint_id == endpoint.id and s.name == stack.name), None)
        owner = dict(stack.env).get(MARKER)
        if existing is None or existing.owner(MARKER) != owner:
            raise errors.ConflictError(
                f"environment '{stack.endpoint}' already has a stack '{stack.name}' that Phoenix GitOps did not "
                "create: it is left alone", target=target) from None
        # Ours (an earlier create whose answer was lost): bring it to the config instead.
        log.info("stack %s already exists and is ours: redeploying it", stack.name)
        return _update(client, stack, existing.id, endpoint.id, env, target)


def _create_on(client: PortainerClient, stack: DesiredStack, endpoint_id: int, env: list[dict[str, str]],
               target: str | None) -> LiveStack:
    if stack.git is not None:
        return stacks.create_from_git(client, endpoint_id, stack.name, url=stack.git.url,
                                      reference=stack.git.reference, compose_path=stack.git.compose_path,
                                      env=env, target=target)
    assert stack.compose is not None
    return stacks.create_from_content(client, endpoint_id, stack.name, stack.compose, env, target=target)


def _update(client: PortainerClient, stack: DesiredStack, stack_id: int, endpoint_id: int,
            env: list[dict[str, str]], target: str | None) -> LiveStack:
    if stack.git is not None:
        return stacks.redeploy_git(client, stack_id, endpoint_id, reference=stack.git.reference, env=env,
                                   target=target)
    assert stack.compose is not None
    return stacks.update_content(client, stack_id, endpoint_id, stack.compose, env, target=target)


def _resolved_env(stack: DesiredStack, resolve_secret: Callable[[str], str],
                  secrets: list[str]) -> list[dict[str, str]]:
    def lookup(match: re.Match[str]) -> str:
        value = resolve_secret(match.group(1))
        secrets.append(value)
        return value

    try:
        return [{"name": name, "value": REF.sub(lookup, value)} for name, value in stack.env]
    except errors.ConfigError as exc:
        raise errors.PermanentError(str(exc)) from None


def scrub(text: str, secrets: list[str]) -> str:
    """`text` with every resolved secret value in it replaced by `(secret)`."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, SECRET_SHOWN)
    return text
