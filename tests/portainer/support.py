"""Planning and applying stacks in the Portainer tests: config dir -> desired -> live -> plan -> run."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops.config import queries
from gitops.config.secretrefs import SecretResolver
from gitops.drivers.portainer.applying import run_operation
from gitops.drivers.portainer.compose import render_stacks
from gitops.drivers.portainer.connection import PortainerClient
from gitops.drivers.portainer.reading import read_live
from gitops.planner.stacks.comparing import StackPlan, plan_stacks
from gitops.planner.stacks.desired import desired_environments, desired_stacks
from tests.e2e_apply.support import EXAMPLE, SECRETS


def secrets(**overrides: str) -> SecretResolver:
    return SecretResolver(None, {f"PHOENIX_SECRET_{k.upper()}": v for k, v in {**SECRETS, **overrides}.items()})


def example_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(EXAMPLE, target)
    return target


def edit_json(path: Path, change: Callable[[Any], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def plan(client: PortainerClient, directory: Path, resolver: SecretResolver, *,
         allow_destroy: bool = False) -> StackPlan:
    estate = queries.load(directory)
    composes, problems = render_stacks(estate)
    stacks, more = desired_stacks(estate, composes)
    digests = resolver.digests([t for s in stacks for t in s.secret_templates])
    result = plan_stacks(stacks, desired_environments(estate), read_live(client), secret_digests=digests,
                         allow_destroy=allow_destroy)
    result.errors += problems + more
    return result


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def run(client: PortainerClient, stack_plan: StackPlan, resolver: SecretResolver) -> Outcome:
    """The plan's actions in order (they are listed in dependency order); a failed action's dependants are skipped."""
    outcome = Outcome()
    for action in stack_plan.actions:
        if any(d in outcome.failed for d in action.depends_on):
            outcome.failed[action.target] = "skipped: a dependency failed"
            continue
        try:
            outcome.done.append(run_operation(client, stack_plan.operations[action.target], resolver.value,
                                              target=action.target))
        except Exception as exc:
            outcome.failed[action.target] = f"{type(exc).__name__}: {exc}"
    return outcome
