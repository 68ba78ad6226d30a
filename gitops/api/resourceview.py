"""What the dashboard shows of one resource (`/resources/{target}`) and of the whole estate (`/estate`),
read from the ledger: the state record (`gitops.controller.targetstates`), the last drift check's
description of each resource (node, health, fields desired against live), the runs that acted on it,
the scripts run in it, and the events about it.

Used by `gitops.api.routes.estate` (the pages) and, through `Api.resource`, by `GET /api/v1/resources/{target}`
(`gitops.api.models.ResourceDetail`). Typed records only: the page templates read attributes, never the
ledger's documents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from gitops.controller import targetstates
from gitops.planner.details import Detail
from gitops.planner.drift import DriftReport
from gitops.store import EventRecord, StepRecord, Store

RUNS_SCANNED = 200  # the newest runs read for a resource's history
EVENTS_SCANNED = 500  # the newest events read for a resource's history
DRIFT_KINDS = frozenset({"drift", "self-heal"})
CLUSTER = "cluster"  # the group of resources that run on no one node


@dataclass(frozen=True)
class ActionDone:
    """One action a run took on the resource, with its task log."""

    run: int
    revision: str
    kind: str
    started_at: dt.datetime
    action: str
    status: str
    duration: float
    error: str
    log: list[str]
    upids: list[str]


@dataclass(frozen=True)
class ResourcePage:
    target: str
    state: targetstates.TargetState
    revision: str | None
    checked_at: dt.datetime | None
    detail: Detail
    actions: list[ActionDone]
    steps: list[StepRecord]
    drift: list[EventRecord]
    events: list[EventRecord]

    @property
    def role(self) -> str:
        """What it is (template, clone, guest, storage, stack...), else its kind (the target's prefix)."""
        return self.detail.role or self.target.split("/", 1)[0]


@dataclass(frozen=True)
class Box:
    """One resource in the estate graph."""

    target: str
    kind: str  # lxc, vm, storage, stack, firewall, network... (the target's prefix)
    role: str  # template, clone, guest, storage, stack...
    state: str
    node: str
    health: str
    depends_on: list[str]


@dataclass(frozen=True)
class Estate:
    revision: str | None
    checked_at: dt.datetime | None
    groups: dict[str, list[Box]] = field(default_factory=dict)  # node (or CLUSTER) -> its resources

    @property
    def boxes(self) -> list[Box]:
        return [b for group in self.groups.values() for b in group]

    def values(self, name: str) -> list[str]:
        return sorted({str(getattr(b, name)) for b in self.boxes})


def resource_page(store: Store, target: str) -> ResourcePage | None:
    """The resource's page, or None when the controller does not manage `target`."""
    states = targetstates.read(store)
    found = next((r for r in states.resources if r.target == target), None)
    if found is None:
        return None
    detail = DriftReport.detail_of(store.get_state().last_drift, target) or Detail()
    related = [e for e in store.list_events(EVENTS_SCANNED) if _about(e, target)]
    return ResourcePage(target=target, state=found, revision=states.revision, checked_at=states.checked_at,
                        detail=detail, actions=_actions(store, target), steps=store.list_steps(target=target, limit=50),
                        drift=[e for e in related if e.kind in DRIFT_KINDS],
                        events=[e for e in related if e.kind not in DRIFT_KINDS])


def estate(store: Store) -> Estate:
    """Every managed resource, grouped by the node it runs on (a stack on its VM's node)."""
    states = targetstates.read(store)
    details = DriftReport.details_of(store.get_state().last_drift)
    nodes = {t: d.node for t, d in details.items() if d.node}
    groups: dict[str, list[Box]] = {}
    for r in states.resources:
        detail = details.get(r.target) or Detail()
        node = _node(r.target, details, nodes)
        groups.setdefault(node or CLUSTER, []).append(Box(
            target=r.target, kind=r.target.split("/", 1)[0], role=detail.role or r.target.split("/", 1)[0],
            state=r.state, node=node or CLUSTER, health=detail.health, depends_on=detail.depends_on))
    ordered = dict(sorted(groups.items(), key=lambda kv: (kv[0] == CLUSTER, kv[0])))
    return Estate(states.revision, states.checked_at, ordered)


def _node(target: str, details: dict[str, Detail], nodes: dict[str, str]) -> str:
    """Where `target` runs: its own node, else that of what it depends on (a stack: its VM), else ""."""
    seen: set[str] = set()
    todo = [target]
    while todo:
        current = todo.pop(0)
        if current in seen:
            continue
        seen.add(current)
        if current in nodes:
            return nodes[current]
        detail = details.get(current)
        if detail is not None:
            todo += [t for t in detail.depends_on if not t.startswith("storage/")]
    return ""


def _about(event: EventRecord, target: str) -> bool:
    data = event.data if isinstance(event.data, dict) else {}
    targets = data.get("targets")
    if isinstance(targets, list) and target in targets:
        return True
    return data.get("target") == target or f"{target} " in f"{event.message} " or f"{target}," in event.message


def _actions(store: Store, target: str) -> list[ActionDone]:
    out: list[ActionDone] = []
    for run in store.list_runs(RUNS_SCANNED):
        applied = run.result.apply if run.result is not None else None
        for o in applied.outcomes if applied is not None else []:
            if o.target != target:
                continue
            out.append(ActionDone(run=run.id, revision=run.revision, kind=run.kind, started_at=run.started_at,
                                  action=o.action, status=o.status, duration=o.duration, error=o.error,
                                  log=list(o.log), upids=list(o.upids)))
    return out
