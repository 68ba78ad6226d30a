"""Read live state, plan, execute: the glue `gitops.controller.systems.Convergence` runs on a registry of
drivers, knowing no system. The drivers read (`seam.Driver.read_live`), the planner decides, the one
executor (`gitops.drivers.executing`) runs the plan with every registered driver.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gitops.config.estate import CONFIG_FILES, Estate
from gitops.config.secretrefs import REF, SecretResolver
from gitops.drivers.executing import ApplyEvent, ApplyResult, execute
from gitops.drivers.seam import Drivers
from gitops.errors import ConfigError
from gitops.planner.live import LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Plan, Problem
from gitops.planner.redacting import redact_live
from gitops.planner.systems import plan_changes
from gitops.settings import Settings


@dataclass
class PlanRun:
    plan: Plan
    live: LiveState
    options: PlanOptions


def content_revision(directory: Path) -> str:
    """A short hash of the four files, naming pre-apply snapshots when no Git revision is known."""
    digest = hashlib.sha256()
    for name in CONFIG_FILES:
        path = directory / name
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()[:12]


def read_live(drivers: Drivers, estate: Estate, options: PlanOptions, *, full: bool = False) -> LiveState:
    """Every registered system's part of the live state, for the targets `estate` names.

    Every secret value read back is replaced by its `${secret:NAME}` reference right here, the one
    place live state is read: nothing downstream (plan, drift, ledger, logs, API) ever holds it, and a
    field holding a secret inside a longer string compares equal to the config.
    """
    live = LiveState(node=options.node)
    for driver in drivers:
        driver.read_live(estate, options, live, full=full)
    redact_live(live, drivers.secrets.known_values(referenced_secrets(estate)))
    return live


def referenced_secrets(estate: Estate) -> list[str]:
    """Names of the secrets the config's files reference, in order of first use."""
    names: dict[str, None] = {}
    for text in estate.texts.values():
        if "${secret:" in text:
            names.update(dict.fromkeys(REF.findall(text)))
    return list(names)


def read_and_plan(drivers: Drivers, estate: Estate, options: PlanOptions,
                  secrets: SecretResolver | None = None) -> PlanRun:
    """Read what the plan needs and plan; then let each driver read what only the plan's actions need
    (Proxmox: snapshot lists of the guests it changes) and plan again if that changed anything. With
    `secrets`, every secret the plan would send must resolve, or the plan has an error for it: an apply
    never stops half-way for a missing secret."""
    live = read_live(drivers, estate, options)
    plan = plan_changes(estate, live, options)
    if any([driver.read_details(plan, options, live) for driver in drivers]):
        plan = plan_changes(estate, live, options)
    if secrets is not None:
        plan.errors += missing_secrets(plan, secrets)
    return PlanRun(plan, live, options)


def missing_secrets(plan: Plan, secrets: SecretResolver) -> list[Problem]:
    """An error for each secret the plan's calls reference that cannot be resolved (names only)."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for action in plan.actions:
        for call in action.calls:
            for value in call.params.values():
                for name in REF.findall(value) if isinstance(value, str) else []:
                    if name in seen:
                        continue
                    seen.add(name)
                    try:
                        secrets.value(name)
                    except ConfigError as exc:
                        problems.append(Problem(action.target, "secret-missing", str(exc)))
    return problems


def execute_plan(drivers: Drivers, plan: Plan, settings: Settings,
                 on_event: Callable[[ApplyEvent], None] | None = None) -> ApplyResult:
    resolver = SecretResolver(settings.secrets_dir)
    if not settings.boot_delays:
        for action in plan.actions:
            action.wait_after_s = 0.0
    return execute(plan, drivers, resolve_secret=resolver.value, on_event=on_event)
