"""Planning and applying stacks in the Portainer tests, the way the controller does it but with Portainer
alone: the driver reads (`PortainerDriver.read_live`), the stack rules plan, the one executor runs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gitops.config.secretrefs import SecretResolver
from gitops.config.validation import validate_directory
from gitops.drivers.executing import ApplyResult, execute
from gitops.drivers.portainer.connection import PortainerClient
from gitops.drivers.portainer.driver import PortainerDriver
from gitops.drivers.seam import Drivers
from gitops.planner.live import LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Plan
from gitops.planner.portainer.rules import plan_stack_changes
from gitops.settings import HostPolicy
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


# The tests' Git repositories are served on loopback over http: the operator allows it (the default refuses it).
REPOSITORIES_ON_LOOPBACK = HostPolicy(url_allow_http=True, url_allow_private=True)


def plan(client: PortainerClient, directory: Path, resolver: SecretResolver, *, allow_destroy: bool = False) -> Plan:
    estate, report = validate_directory(directory, REPOSITORIES_ON_LOOPBACK)
    assert report.valid, [str(p) for p in report.errors]
    options = PlanOptions(node="pve1", allow_destroy=allow_destroy)
    live = LiveState(node="pve1")
    PortainerDriver(client, secrets=resolver).read_live(estate, options, live)
    result = Plan()
    plan_stack_changes(estate, live, options, result)
    return result


def run(client: PortainerClient, stack_plan: Plan, resolver: SecretResolver) -> ApplyResult:
    drivers = Drivers()
    drivers.register(PortainerDriver(client, secrets=resolver))
    return execute(stack_plan, drivers, resolve_secret=resolver.value)


def failures(result: ApplyResult) -> dict[str, str]:
    return {o.target: o.error for o in result.outcomes if o.status != "ok"}
