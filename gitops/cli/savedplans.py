"""Saved plans: `plan --out FILE` writes the plan with what it was made from; `apply FILE` applies exactly
that plan, and refuses when the config or the live state it was made from changed, saying what changed
(as Terraform refuses a stale saved plan).

The file is JSON: the config folder, a digest of each config file, the content revision, a digest of the
live state of each target the plan read (guests, storages, stacks), and the plan as `Plan.to_dict()`
(secrets masked: the file holds no secret). `apply FILE` reads the live state and plans again from the
same folder: the apply goes on only when every digest and the plan itself are unchanged, so what runs is
the plan that was shown.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from gitops import errors, privatefiles
from gitops.config.estate import CONFIG_FILES
from gitops.controller.converging import PlanRun, content_revision

FORMAT = "phoenix-gitops-plan/1"


def save(path: Path, directory: Path, run: PlanRun, *, allow_destroy: bool) -> None:
    document = {"format": FORMAT, "directory": str(directory.resolve()), "revision": content_revision(directory),
                "allow_destroy": allow_destroy, "config": config_digests(directory), "live": live_digests(run),
                "plan_digest": _plan_digest(run), "plan": run.plan.to_dict()}
    with privatefiles.written(path) as out:  # owner-only, a link followed, a device written through
        out.write(json.dumps(document, indent=2, default=str) + "\n")


def load(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise errors.ConfigError(f"{path}: not a saved plan: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise errors.ConfigError(f"{path}: not a saved plan of this phoenix-gitops (format {FORMAT})")
    return document


def changes_since(saved: dict[str, Any], directory: Path, run: PlanRun) -> list[str]:
    """What changed since the plan was saved (empty: apply it)."""
    found: list[str] = []
    config = config_digests(directory)
    files = sorted(name for name in set(config) | set(saved.get("config") or {})
                   if config.get(name) != (saved.get("config") or {}).get(name))
    if files:
        found.append(f"the config changed in {directory}: {', '.join(files)}")
    live, before = live_digests(run), saved.get("live") or {}
    targets = sorted(t for t in set(live) | set(before) if live.get(t) != before.get(t))
    if targets:
        found.append(f"the live state changed on {', '.join(targets[:20])}"
                     + (f" and {len(targets) - 20} more" if len(targets) > 20 else ""))
    if not found and _plan_digest(run) != saved.get("plan_digest"):
        found.append("the plan made now differs from the saved one")
    return found


def config_digests(directory: Path) -> dict[str, str]:
    return {name: hashlib.sha256((directory / name).read_bytes()).hexdigest()
            for name in CONFIG_FILES if (directory / name).is_file()}


def live_digests(run: PlanRun) -> dict[str, str]:
    """A digest of what was read of each target: a hand edit on the node changes its target's."""
    live = run.live
    out = {f"guest/{vmid}": _digest(_fields(guest)) for vmid, guest in live.guests.items()}
    out.update({f"storage/{name}": _digest(_fields(s)) for name, s in live.storages.items()})
    if live.stacks is not None:
        out["stacks"] = _digest(_fields(live.stacks))
    return out


def _fields(value: Any) -> Any:
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) and not isinstance(value, type) else repr(value)


def _plan_digest(run: PlanRun) -> str:
    """The plan's digest, without what it shows of the scripts that ran: a script's diff, and whether the
    one that ran is the same, depend on what else is known of it (DIR's git HEAD), not on what the plan
    does (its calls carry each script's hash and identity)."""
    data = run.plan.to_dict()
    for action in data["actions"]:
        shown = ("diff", "old") if action["action"] == "provision" else ("diff",)
        action["changes"] = [{k: v for k, v in c.items() if k not in shown} for c in action["changes"]]
    return _digest(data)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
