"""Read live state, plan, apply, verify: the convergence steps shared by `phoenix-gitops plan/apply`
and the reconcile loop. Glue only: the driver reads and writes, the planner decides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gitops.config.estate import CONFIG_FILES, Estate
from gitops.config.secretrefs import REF, SecretResolver
from gitops.drivers.proxmox.applying import ApplyEvent, ApplyResult, apply_plan
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.drivers.proxmox.reading import read_live_state, read_snapshots
from gitops.errors import ConfigError
from gitops.planner import desired as desired_mod
from gitops.planner.live import LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Plan, Problem
from gitops.planner.planning import plan_changes
from gitops.planner.redacting import redact_live
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


def plan_options(settings: Settings, client: ProxmoxClient, *, revision: str | None,
                 allow_destroy: bool = False) -> PlanOptions:
    return PlanOptions(
        node=client.node,
        allow_destroy=allow_destroy,
        snapshot_name=f"phx-{revision[:12]}" if settings.snapshots and revision else None,
        snapshots_keep=settings.snapshots_keep,
    )


def read_and_plan(client: ProxmoxClient, estate: Estate, options: PlanOptions, secrets: SecretResolver,
                  *, check_missing: bool = True) -> PlanRun:
    """Read what the plan needs (the config's guests in detail, every guest's tags) and plan.

    Every secret value read back is replaced by its `${secret:NAME}` reference right here, the one
    place live state is read: nothing downstream (plan, drift, ledger, logs, API) ever holds it.
    Snapshot lists matter only for guests the plan changes (a snapshot first, old ones pruned), so
    they are read in a second, small pass for those guests, and the pure planner runs again. With
    `check_missing`, every secret the plan would send must resolve, or the plan has an error for it:
    an apply never stops half-way for a missing secret.
    """
    guests = desired_mod.desired_guests(estate, options.node)
    ids = {d.vmid for d in guests}
    with_firewall = {d.vmid for d in guests if d.firewall.enabled or d.firewall.rules}
    live = read_live_state(client, ids, firewall=with_firewall, snapshots=None)
    redact_live(live, secrets.known_values(referenced_secrets(estate)))
    plan = plan_changes(estate, live, options)
    if options.snapshot_name:
        changed = {int(a.target.split("/", 1)[1]) for a in plan.actions
                   if a.action in ("update", "resize") and a.target.startswith(("lxc/", "vm/"))}
        touched = [live.guests[i] for i in sorted(changed) if i in live.guests]
        if touched:
            read_snapshots(client, touched)
            plan = plan_changes(estate, live, options)
    if check_missing:
        plan.errors += missing_secrets(plan, secrets)
    return PlanRun(plan, live, options)


def referenced_secrets(estate: Estate) -> list[str]:
    """Names of the secrets the config's files reference, in order of first use."""
    names: dict[str, None] = {}
    for text in estate.texts.values():
        if "${secret:" in text:
            names.update(dict.fromkeys(REF.findall(text)))
    return list(names)


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


def apply(client: ProxmoxClient, run: PlanRun, settings: Settings,
          on_event: Callable[[ApplyEvent], None] | None = None) -> ApplyResult:
    resolver = SecretResolver(settings.secrets_dir)
    if not settings.boot_delays:
        for action in run.plan.actions:
            action.wait_after_s = 0.0
    return apply_plan(client, run.plan, resolve_secret=resolver.value, on_event=on_event,
                      concurrency=settings.pve_concurrency)
