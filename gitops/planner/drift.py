"""Drift: how the live estate differs from a revision, resource by resource, as one model.

`compare(...)` is called by the controller after every apply (its verify step) and by the periodic
no-op plan between commits (`settings.drift_interval`). The `DriftReport` it returns is the one model
of drift: the store keeps it (`ControllerState.drift_report`), the API's status and resources, the
dashboard and the metrics read it. Pure: it reads a plan and a live state that others produced.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import zlib
from collections.abc import Iterable
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from gitops.config.estate import Estate
from gitops.planner import details as described
from gitops.planner import systems
from gitops.planner.details import Detail
from gitops.planner.live import LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Action, Plan

ResourceState = Literal["in_sync", "drifted", "missing", "pending", "orphan"]
MAX_DETAILS_BYTES = 256 * 1024 * 1024  # unpacked descriptions larger than this are not read
CREATING = frozenset({"create", "clone", "download-template", "deploy", "register"})
ORPHAN_WARNINGS = frozenset({"orphan", "destroy-skipped"})  # the planners' word for what they keep


class Named(Protocol):
    """A plan problem as the planners make it (`Problem`) or the ledger keeps it (`PlanProblem`)."""

    @property
    def target(self) -> str: ...

    @property
    def message(self) -> str: ...


class Resource(BaseModel):
    """One managed resource (`lxc/101`, `storage/ID`, `stack/NAME`) and what a converge would do to it."""

    model_config = ConfigDict(frozen=True)

    target: str
    state: ResourceState
    actions: list[str] = Field(default_factory=list)  # e.g. `update: memory`
    reason: str = ""  # an orphan: why it is kept, or that it is deleted; a target the plan has errors for: why


_RESOURCES: TypeAdapter[list[Resource]] = TypeAdapter(list[Resource])  # 10,000 dumped in one call


class DriftReport(BaseModel):
    """Every managed resource's state against one revision, when it was checked."""

    model_config = ConfigDict(frozen=True)

    revision: str | None
    checked_at: dt.datetime | None = None  # always set by `compare`
    resources: list[Resource] = Field(default_factory=list)
    # What the check saw of each resource (node, health, fields desired against live): kept with the report,
    # read by the dashboard's resource and estate pages (`detail_of`, `details_of`); `parse` leaves it out.
    details: dict[str, Detail] = Field(default_factory=dict)

    @property
    def drifted(self) -> bool:
        return bool(self.drifted_targets)

    @property
    def drifted_targets(self) -> list[str]:
        """What a converge would change: drifted and missing resources, and orphans it would delete (prune)."""
        return [r.target for r in self.resources
                if r.state in ("drifted", "missing") or (r.state == "orphan" and r.actions)]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.resources:
            out[r.state] = out.get(r.state, 0) + 1
        return out

    def refused(self, problems: Iterable[Named]) -> DriftReport:
        """This report with the plan's errors said: each target they name gets why it could not be planned
        as its reason; one with nothing to do is `pending` (not in sync, and nothing a converge would do)."""
        why = unplanned(problems)
        if not why:
            return self
        resources = [r.model_copy(update={"reason": why[r.target],
                                          "state": "pending" if r.state == "in_sync" else r.state})
                     if r.target in why and r.state != "orphan" else r for r in self.resources]
        return self.model_copy(update={"resources": resources})

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "drift": self.drifted,
            "counts": self.counts(),
            "resources": _RESOURCES.dump_python(self.resources),
            "details": _pack(self.details),
        }

    @classmethod
    def parse(cls, data: Any) -> DriftReport | None:
        """The report stored as `to_dict()` gave it, or None for anything else (an older or foreign shape)."""
        if not isinstance(data, dict):
            return None
        try:
            return cls.model_validate({k: v for k, v in data.items() if k in ("revision", "checked_at", "resources")})
        except ValidationError:
            return None

    @staticmethod
    def details_of(data: Any) -> dict[str, Detail]:
        """Every resource's description in a stored report (empty for an older or foreign shape)."""
        found = _unpack(data.get("details") if isinstance(data, dict) else None)
        out: dict[str, Detail] = {}
        for target, value in found.items():
            try:
                out[str(target)] = Detail.model_validate(value)
            except ValidationError:
                continue
        return out

    @staticmethod
    def detail_of(data: Any, target: str) -> Detail | None:
        """One resource's description in a stored report, or None."""
        value = _unpack(data.get("details") if isinstance(data, dict) else None).get(target)
        try:
            return Detail.model_validate(value) if isinstance(value, dict) else None
        except ValidationError:
            return None


@functools.lru_cache(maxsize=30_000)
def _in_sync(target: str) -> Resource:
    """A resource in sync (frozen, so shared from one report to the next: most of 10,000 are)."""
    return Resource(target=target, state="in_sync")


def _pack(details: dict[str, Detail]) -> list[str]:
    """The descriptions as the ledger keeps them: compressed JSON texts (base64), so that the stored report
    stays small (1,000 guests: some 20 kB instead of 850 kB). Each text is a JSON object of `PART` descriptions
    in the order of their targets, `{"target":dumped(detail),...}` (`separators=(",", ":")`), joined from each
    description's own text, kept with it (`details.dumped_json`): a report after a one-guest commit dumps
    that guest's description, not 10,000. Each `"target":{...}` piece is kept from the last report while its
    description is the same object (`_PIECES`), and each part's compressed text while its pieces are the same
    (`_PARTS`): that commit compresses one part, not 3 MB. Compressed fast (level 1: a tenth more bytes than
    the default level, a fifth of the time)."""
    global _PIECES, _PARTS
    kept, kept_parts = _PIECES, _PARTS
    pieces: dict[int, tuple[Detail, str, str]] = {}
    texts: list[str] = []
    for target, detail in sorted(details.items()):
        found = kept.get(id(detail))
        if found is None or found[0] is not detail or found[1] != target:
            found = (detail, target, f"{json.dumps(target)}:{described.dumped_json(detail)}")
        pieces[id(detail)] = found
        texts.append(found[2])
    parts: dict[tuple[int, ...], tuple[tuple[str, ...], str]] = {}
    out: list[str] = []
    for start in range(0, len(texts), PART):
        run = tuple(texts[start:start + PART])
        key = tuple(map(id, run))  # the kept part holds its pieces: an id matching is the very same text
        part = kept_parts.get(key)
        if part is None:
            part = (run, base64.b64encode(zlib.compress(("{" + ",".join(run) + "}").encode(), 1)).decode("ascii"))
        parts[key] = part
        out.append(part[1])
    _PIECES, _PARTS = pieces, parts  # only the last report's (each holds what its key's ids are of)
    return out


PART = 128  # descriptions per compressed part of a stored report
# The pieces of the last packed report, by the id of their description (see `_pack`); replaced whole.
_PIECES: dict[int, tuple[Detail, str, str]] = {}
# The compressed parts of the last packed report, by the ids of their pieces; replaced whole.
_PARTS: dict[tuple[int, ...], tuple[tuple[str, ...], str]] = {}


def _unpack(value: Any) -> dict[str, Any]:
    """`_pack`'s texts read back (one text, as an earlier version packed them, or a plain mapping, are taken
    too); anything unreadable is empty."""
    if isinstance(value, dict):
        return value
    texts = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    out: dict[str, Any] = {}
    room = MAX_DETAILS_BYTES
    for packed in texts:
        if room <= 0:  # (a limit of 0 is none to zlib)
            return {}
        try:
            inflater = zlib.decompressobj()
            text = inflater.decompress(base64.b64decode(packed, validate=True), room)
            found = json.loads(text) if not inflater.unconsumed_tail else None
        except (ValueError, TypeError, zlib.error):
            return {}
        if not isinstance(found, dict):
            return {}
        room -= len(text)
        out.update(found)
    return out


def compare(estate: Estate, live: LiveState, plan: Plan, *, revision: str | None,
            now: dt.datetime) -> DriftReport:
    """Each managed resource's state under `plan` (a plan of `estate` against `live`)."""
    by_target: dict[str, list[str]] = {}
    acting: dict[str, list[Action]] = {}
    for action in plan.actions:
        acting.setdefault(action.target, []).append(action)
        changed = ", ".join(c.field for c in action.changes)
        by_target.setdefault(action.target, []).append(f"{action.action}: {changed}" if changed else action.action)
    resources: list[Resource] = []
    options = PlanOptions(node=live.node)
    targets = systems.managed_targets(estate, live, options)
    known = systems.describe_targets(estate, live, options)
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
        resources.append(_in_sync(target) if state == "in_sync" else Resource(target=target, state=state,
                                                                              actions=actions))
    # Stacks no registered system converges (no Portainer configured) are shown, as waiting.
    waiting = ["not converged: PHOENIX_PORTAINER_URL is not set"]
    resources += [Resource(target=f"stack/{name}", state="pending", actions=waiting)
                  for name in sorted(estate.stacks.docker_stacks)
                  if not any(t == f"stack/{name}" or t.startswith(f"stack/{name}@") for t in targets)]
    resources += orphans(plan, set(targets))
    details = {r.target: described.merged(known.get(r.target), acting.get(r.target, [])) for r in resources}
    return DriftReport(revision=revision, checked_at=now, resources=resources, details=details).refused(plan.errors)


def unplanned(problems: Iterable[Named], where: str = "") -> dict[str, str]:
    """Each target a plan's errors name (not a wildcard such as `stack/*`), with why it could not be planned;
    `where` (e.g. `in 1a2b3c4d5e6f`) is said after "could not be planned"."""
    out: dict[str, list[str]] = {}
    for p in problems:
        if p.target and "*" not in p.target:
            out.setdefault(p.target, []).append(p.message)
    said = f"could not be planned {where}" if where else "could not be planned"
    return {target: f"{said}: {'; '.join(messages)}" for target, messages in out.items()}


def orphans(plan: Plan, managed: set[str]) -> list[Resource]:
    """What the controller made and the config no longer has: kept (a planner's warning says so) or deleted
    by this plan (prune), each once."""
    out: dict[str, Resource] = {}
    for w in plan.warnings:
        if w.code in ORPHAN_WARNINGS and w.target not in managed:
            out.setdefault(w.target, Resource(target=w.target, state="orphan", reason=w.message))
    deleting: dict[str, list[str]] = {}
    for a in plan.actions:
        if a.target not in managed and a.target not in out:
            deleting.setdefault(a.target, []).append(a.action)
    for target, actions in deleting.items():
        if "delete" in actions:
            out[target] = Resource(target=target, state="orphan", actions=actions,
                                   reason="no longer in the config: deleted by the next apply (prune)")
    return sorted(out.values(), key=lambda r: r.target)
