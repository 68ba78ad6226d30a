"""What the drift check knows of one resource beyond its state: where it runs, what it is, what it depends
on, its health, and its managed fields desired against live (secrets masked).

Each system's rules may describe their targets (`SystemRules.describe`); `gitops.planner.drift.compare`
keeps the descriptions in the drift report, and the dashboard's resource and estate pages read them. Pure.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gitops.config.memo import BoundedMemo
from gitops.config.secretrefs import SECRET_MASK
from gitops.planner.plan import Action, mask_secrets


class FieldValue(BaseModel):
    """One managed field: the value the config wants, the value the system has (text, secrets masked)."""

    model_config = ConfigDict(frozen=True)

    field: str
    desired: str | None = None  # None: the config does not set it
    live: str | None = None  # None: the system does not have it (or the resource does not exist)
    differs: bool = False


class Detail(BaseModel):
    """One resource as the drift check saw it."""

    model_config = ConfigDict(frozen=True)

    node: str = ""  # where it runs ("" : cluster-wide, or unknown)
    role: str = ""  # template, clone, guest, storage, stack...
    health: str = ""  # e.g. running, stopped, absent
    depends_on: list[str] = Field(default_factory=list)
    fields: list[FieldValue] = Field(default_factory=list)


# Each description's stored form, as JSON text, by the description (its id, the description kept with it so
# that the id stays its own): descriptions are kept from one drift report to the next (`proxmox.describing`),
# and so are these. Only the text is kept (a dict per description held 10,000 more small objects).
_DUMPED: BoundedMemo[int, tuple[Detail, str]] = BoundedMemo(30_000)


def dumped(detail: Detail) -> dict[str, Any]:
    """`detail` as the drift report stores it (`model_dump(exclude_defaults=True)`)."""
    return detail.model_dump(exclude_defaults=True)


def dumped_json(detail: Detail) -> str:
    """`dumped(detail)` as compact JSON with sorted keys (`json.dumps(..., separators=(",", ":"),
    sort_keys=True)`), made once per description: the drift report packs its descriptions from these
    (`gitops.planner.drift`)."""
    found = _DUMPED.get(id(detail))
    if found is not None and found[0] is detail:
        return found[1]
    text = json.dumps(dumped(detail), separators=(",", ":"), sort_keys=True)
    _DUMPED.put(id(detail), (detail, text))
    return text


def text(value: Any, *, secret: bool = False) -> str | None:
    """A value as shown: None stays None, a secret (or a `${secret:...}` reference) is `(secret)`."""
    if value is None:
        return None
    if secret:
        return SECRET_MASK
    masked = mask_secrets(value)
    return masked if isinstance(masked, str) else json.dumps(masked, sort_keys=True, default=str)


def from_actions(actions: list[Action]) -> list[FieldValue]:
    """The fields a plan's actions change (for resources their system does not describe)."""
    out: dict[str, FieldValue] = {}
    for action in actions:
        for change in action.changes:
            old, new = change.shown()
            out.setdefault(change.field, FieldValue(field=change.field, desired=text(new), live=text(old),
                                                    differs=True))
    return list(out.values())


def merged(detail: Detail | None, actions: list[Action]) -> Detail:
    """`detail` (or an empty one) with the changed fields it does not list added, marked as differing."""
    base = detail or Detail()
    if not actions:
        return base
    known = {f.field for f in base.fields}
    extra = [f for f in from_actions(actions) if f.field not in known]
    return base.model_copy(update={"fields": [*base.fields, *extra]}) if extra else base
