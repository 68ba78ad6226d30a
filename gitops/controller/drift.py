"""Drift: how the live estate differs from a revision, resource by resource.

Called by `gitops.controller.reconciling` after every apply (its verify step) and for the periodic
no-op plan between commits (`settings.drift_interval`). The result is stored in the controller state
(`last_drift`) and read by the API's status, resources list and metrics. Pure: it reads a plan and a
live state that others produced.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from gitops.config.estate import Estate
from gitops.planner import planning
from gitops.planner.live import LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Plan

ResourceState = Literal["in_sync", "drifted", "missing", "pending"]
CREATING = frozenset({"create", "clone", "download-template", "deploy", "register"})


@dataclass
class Resource:
    target: str
    state: ResourceState
    actions: list[str] = field(default_factory=list)  # what a converge would do, e.g. `update: memory`


@dataclass
class DriftReport:
    revision: str | None
    checked_at: dt.datetime
    resources: list[Resource] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return any(r.state in ("drifted", "missing") for r in self.resources)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.resources:
            out[r.state] = out.get(r.state, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "checked_at": self.checked_at.isoformat(),
            "drift": self.drifted,
            "counts": self.counts(),
            "resources": [asdict(r) for r in self.resources],
        }


def compare(estate: Estate, live: LiveState, plan: Plan, *, revision: str | None,
            now: dt.datetime) -> DriftReport:
    """Each managed resource's state under `plan` (a plan of `estate` against `live`)."""
    by_target: dict[str, list[str]] = {}
    for action in plan.actions:
        changed = ", ".join(c.field for c in action.changes)
        by_target.setdefault(action.target, []).append(f"{action.action}: {changed}" if changed else action.action)
    report = DriftReport(revision, now)
    targets = planning.managed_targets(estate, live, PlanOptions(node=live.node))
    for target in targets:
        actions = by_target.get(target, [])
        if target in plan.pending:
            state: ResourceState = "pending"
        elif not actions:
            state = "in_sync"
        elif any(a.split(":", 1)[0] in CREATING for a in actions) or (
            target.startswith("storage/") and any(a.startswith("storage") for a in actions)
            and target.removeprefix("storage/") not in live.storages
        ):
            state = "missing"
        else:
            state = "drifted"
        report.resources.append(Resource(target, state, actions))
    # Stacks no registered system converges (no Portainer configured) are shown, as waiting.
    report.resources += [Resource(f"stack/{name}", "pending", ["not converged: PHOENIX_PORTAINER_URL is not set"])
                         for name in sorted(estate.stacks.docker_stacks)
                         if not any(t == f"stack/{name}" or t.startswith(f"stack/{name}@") for t in targets)]
    return report
