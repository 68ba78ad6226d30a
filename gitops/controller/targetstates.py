"""One state per target: the record `resources`, `status`, the API, the metrics and the dashboard all read.

The last drift check (`ControllerState.drift_report`) says how each target stands against the revision it
checked (the applied one). The revision the controller wants (pinned, else the head) may be another: a newer
one on its way (every target `pending`, with why), or one that failed (the targets its plan has errors for
and its failed actions' targets `failed` with the error, the others it would have changed `pending`, the
rest as checked). A target the config has but the check could not plan (a stack with no Portainer, a plan
error such as a disk shrink) is `pending` with the reason (a drifted one stays drifted, with it); what the
controller made and the config no longer has is `orphan`, with whether it is kept or pruned. Pure:
it reads the controller state and the wanted revision's record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from gitops import errors
from gitops.planner.drift import unplanned
from gitops.store import ControllerState, RevisionRecord, Store

STATES = ("in_sync", "drifted", "missing", "pending", "failed", "orphan")
ON_ITS_WAY = frozenset({"pending", "applying"})
FAILED = frozenset({"failed", "rolled_back"})


@dataclass(frozen=True)
class TargetState:
    target: str
    state: str
    actions: list[str] = field(default_factory=list)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"target": self.target, "state": self.state, "actions": self.actions}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class TargetStates:
    revision: str | None
    checked_at: dt.datetime | None
    resources: list[TargetState]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.resources:
            out[r.state] = out.get(r.state, 0) + 1
        return out


def read(store: Store) -> TargetStates:
    """The record as the ledger has it now."""
    state = store.get_state()
    wanted = None
    sha = wanted_revision(state)
    if sha:
        try:
            wanted = store.get_revision(sha)
        except errors.NotFoundError:
            wanted = None
    return target_states(state, wanted)


def wanted_revision(state: ControllerState) -> str | None:
    """The revision the controller converges to: the pinned one, else the branch head."""
    return state.pinned_revision or state.branch_head or state.target_revision


def target_states(state: ControllerState, wanted: RevisionRecord | None) -> TargetStates:
    """Each target's last known state; `wanted` is the record of `wanted_revision(state)` (None if unknown)."""
    report = state.drift_report
    if report is None:
        return TargetStates(None, None, [])
    checked = [TargetState(r.target, r.state, list(r.actions), r.reason or _reason(r.state, r.actions))
               for r in report.resources]
    if wanted is None or wanted.sha == report.revision:
        return TargetStates(report.revision, report.checked_at, checked)
    short = wanted.short_sha
    if wanted.status in ON_ITS_WAY:
        why = f"{short} is {wanted.status}: not applied yet"
        return TargetStates(report.revision, report.checked_at,
                            [TargetState(r.target, "pending", r.actions, why) for r in checked])
    if wanted.status not in FAILED:
        return TargetStates(report.revision, report.checked_at, checked)
    failed, touched = _failed_actions(wanted)
    out: list[TargetState] = []
    for r in checked:
        if r.target in failed:
            out.append(TargetState(r.target, "failed", r.actions, failed.pop(r.target)))
        elif r.target in touched:
            out.append(TargetState(r.target, "pending", r.actions, f"not applied: {short} {wanted.status}"))
            touched.discard(r.target)
        else:
            out.append(r)
    out += [TargetState(t, "failed", [], why) for t, why in sorted(failed.items())]
    out += [TargetState(t, "pending", [], f"not applied: {short} {wanted.status}") for t in sorted(touched)]
    return TargetStates(report.revision, report.checked_at, out)


def _failed_actions(record: RevisionRecord) -> tuple[dict[str, str], set[str]]:
    """The targets `record`'s plan could not plan or whose action failed in its apply (with why), and the
    others it would change."""
    outcomes = record.result.apply.outcomes if record.result is not None and record.result.apply is not None else []
    failed = unplanned(record.plan.errors if record.plan is not None else [], f"in {record.short_sha}")
    touched: set[str] = set()
    for o in outcomes:
        if not o.target:
            continue
        if o.status == "failed":
            failed.setdefault(o.target, f"{o.action} failed in {record.short_sha}: {o.error}")
        else:
            touched.add(o.target)
    if record.plan is not None:
        touched.update(record.plan.targets)
    return failed, touched - set(failed)


def _reason(state: str, actions: list[str]) -> str:
    if state == "pending" and actions:
        return "; ".join(actions)
    return ""
