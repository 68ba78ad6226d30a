"""Actions for a guest that exists: config updates, disk growth, mount points, firewall, run state.

`plan_existing(desired, live, options)` returns the actions, the plan problems (a disk shrink is an
error, never attempted) and whether changes wait for a restart. Pure; used by `gitops.planner.proxmox.planning`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace

from gitops.planner.live import LiveGuest
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Action, ApiCall, FieldChange, Problem
from gitops.planner.proxmox.comparing import canonical_rule, is_indexed, same
from gitops.planner.proxmox.desired import MANAGED_TAG, DesiredGuest, DesiredMount
from gitops.planner.proxmox.normalize import canonical_tags, format_gib, gib, parse_size, split_props

# Keys PVE applies to a running guest at once; everything else waits for a restart.
_LIVE_KEYS = {
    "lxc": frozenset({"memory", "swap", "cores", "onboot", "startup", "tags", "description", "cpulimit",
                      "cpuunits"}) | {f"net{i}" for i in range(32)},
    "vm": frozenset({"onboot", "startup", "tags", "description", "name", "protection"})
    | {f"net{i}" for i in range(32)},
}


@dataclass
class GuestPlan:
    actions: list[Action] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    pending: bool = False


def plan_existing(d: DesiredGuest, live: LiveGuest, options: PlanOptions) -> GuestPlan:
    out = GuestPlan()
    kind_label = "container" if d.kind == "lxc" else "VM"
    if live.kind != d.kind:
        out.errors.append(Problem(d.target, "kind-mismatch",
                                  f"id {d.vmid} is a {live.kind} on the node but a {kind_label} in the config"))
        return out
    if MANAGED_TAG not in canonical_tags(live.tags) and live.name and live.name.lower() != d.name.lower():
        out.errors.append(Problem(d.target, "adopt-conflict",
                                  f"id {d.vmid} is taken on the node by '{live.name}', which Phoenix GitOps did not "
                                  f"create, and the config names it '{d.name}': it is left alone. Give the config "
                                  f"another id, or tag the guest `{MANAGED_TAG}` to let the controller adopt it"))
        return out
    if live.template and not d.template:
        out.errors.append(Problem(d.target, "template-irreversible",
                                  "the guest is a template on the node; PVE cannot turn it back into a guest "
                                  "(delete it or set is_template: true)"))
        return out
    if live.node and live.node != d.node:
        d = replace(d, node=live.node)  # not migrated (planning.py migrates first): managed where it is
    effective = _effective_config(live)
    running = live.status == "running"
    changes, deletes = _config_changes(d, effective)
    mount_changes, mount_deletes, resizes = _mounts(d, effective, out)
    changes += mount_changes
    deletes += mount_deletes
    disk = _disk(d, effective, out)
    if disk is not None:
        resizes.insert(0, disk)
    snapshot = _snapshot_calls(d, live, options)
    mutating = bool(changes or deletes or resizes)
    restart_keys = [c.field for c in changes if c.field not in _LIVE_KEYS[d.kind]] + [
        k for k in deletes if k not in _LIVE_KEYS[d.kind]
    ]
    if changes or deletes:
        params: dict[str, object] = {c.field: c.new for c in changes}
        if deletes:
            params["delete"] = ",".join(deletes)
        calls = [*(snapshot if mutating else []), ApiCall("PUT", d.path("config"), params)]
        shown = changes + [FieldChange(k, effective.get(k), None) for k in deletes]
        out.actions.append(Action(
            target=d.target, action="update", node=d.node, changes=shown, calls=calls,
            snapshot_first=_snapshot_name(snapshot if mutating else []),
            restart_required=bool(restart_keys) and running and not live.template,
            summary=f"update {', '.join(c.field for c in shown)}",
        ))
        snapshot = []
    for key, old, new in resizes:
        out.actions.append(Action(
            target=d.target, action="resize", node=d.node,
            changes=[FieldChange(f"{key}.size", format_gib(old), format_gib(new))],
            calls=[*snapshot, ApiCall("PUT", d.path("resize"), {"disk": key, "size": format_gib(new)}, wait=True)],
            snapshot_first=_snapshot_name(snapshot),
            summary=f"grow {key} from {format_gib(old)} to {format_gib(new)}",
        ))
        snapshot = []
    if mutating:
        _prune(d, live, options, out)
    fw = _firewall(d, live)
    if fw is not None:
        out.actions.append(fw)
    waiting = bool(restart_keys and running and not live.template) or _has_pending(live)
    _run_state(d, live, waiting, out)
    return out


def _effective_config(live: LiveGuest) -> dict[str, object]:
    """Current config with pending values laid over it: what the guest will be after a restart."""
    config = dict(live.config)
    for key, value in live.pending.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    return config


def _has_pending(live: LiveGuest) -> bool:
    return any(k not in ("digest",) for k in live.pending)


def _config_changes(d: DesiredGuest, effective: dict[str, object]) -> tuple[list[FieldChange], list[str]]:
    changes: list[FieldChange] = []
    deletes: list[str] = []
    for key, want in d.config.items():
        have = effective.get(key)
        if want == "":
            if have not in (None, ""):
                deletes.append(key)
            continue
        if not same(d.kind, key, want, have):
            changes.append(FieldChange(key, have, want, secret=key in d.secret_keys))
    mount_keys = {m.key for m in d.mounts}
    for key in sorted(effective):
        ours = key.startswith(("mp", "dev")) or (key.startswith("net") and d.kind == "lxc")
        if is_indexed(key) and ours and key not in d.config and key not in mount_keys:
            deletes.append(key)
    return changes, deletes


def _mounts(d: DesiredGuest, effective: dict[str, object],
            out: GuestPlan) -> tuple[list[FieldChange], list[str], list[tuple[str, int, int]]]:
    changes: list[FieldChange] = []
    resizes: list[tuple[str, int, int]] = []
    for m in d.mounts:
        have = effective.get(m.key)
        if have is None:
            changes.append(FieldChange(m.key, None, m.create_value()))
            continue
        head, props = split_props(str(have))
        if not _same_mount(m, head, props):
            changes.append(FieldChange(m.key, have, m.create_value()))
            continue
        if m.size_gb is not None:
            size = parse_size(props.get("size")) or 0
            _grow(d, m.key, size, gib(m.size_gb), resizes, out)
    return changes, [], resizes


def _same_mount(m: DesiredMount, head: str | None, props: dict[str, str]) -> bool:
    if props.get("mp") != m.path:
        return False
    if (props.get("ro", "0") in ("1", "true")) != m.read_only:
        return False
    if m.host_path is not None:
        return head == m.host_path
    return head is not None and head.split(":", 1)[0] == m.storage


def _disk(d: DesiredGuest, effective: dict[str, object], out: GuestPlan) -> tuple[str, int, int] | None:
    if d.disk_gb is None:
        return None
    have = effective.get(d.disk_key)
    if have is None:
        return None
    head, props = split_props(str(have))
    if head and d.storage and head.split(":", 1)[0] != d.storage:
        out.warnings.append(Problem(d.target, "storage-move",
                                    f"{d.disk_key} is on {head.split(':', 1)[0]}, the config says {d.storage}; "
                                    "disks are not moved between storages"))
    size = parse_size(props.get("size")) or 0
    resizes: list[tuple[str, int, int]] = []
    _grow(d, d.disk_key, size, gib(d.disk_gb), resizes, out)
    return resizes[0] if resizes else None


def _grow(d: DesiredGuest, key: str, have: int, want: int, resizes: list[tuple[str, int, int]],
          out: GuestPlan) -> None:
    if want > have:
        resizes.append((key, have, want))
    elif want < have:
        out.errors.append(Problem(d.target, "disk-shrink",
                                  f"{key} is {format_gib(have)} on the node and {format_gib(want)} in the config; "
                                  "disks only grow (shrinking would destroy data), so this is not attempted"))


def _snapshot_calls(d: DesiredGuest, live: LiveGuest, options: PlanOptions) -> list[ApiCall]:
    name = options.snapshot_name
    # A guest that is to become a template is never snapshotted: PVE refuses to convert one with snapshots.
    if not name or not d.snapshots or d.template or live.template or name in live.snapshots:
        return []
    return [ApiCall("POST", d.path("snapshot"), {"snapname": name, "description": "before Phoenix GitOps apply"},
                    wait=True)]


def _snapshot_name(calls: list[ApiCall]) -> str:
    """The name of the snapshot these (`_snapshot_calls`) calls take, or empty."""
    return str(calls[0].params["snapname"]) if calls else ""


def _prune(d: DesiredGuest, live: LiveGuest, options: PlanOptions, out: GuestPlan) -> None:
    if not options.snapshot_name or not d.snapshots or d.template or live.template:
        return
    ours = [s for s in live.snapshots if s.startswith(options.snapshot_prefix) and s != options.snapshot_name]
    excess = len(ours) + 1 - options.snapshots_keep
    if excess <= 0:
        return
    last = out.actions[-1]
    last.calls += [ApiCall("DELETE", d.path(f"snapshot/{name}"), wait=True) for name in ours[:excess]]


def _firewall(d: DesiredGuest, live: LiveGuest) -> Action | None:
    fw = d.firewall
    options = live.firewall.options
    calls: list[ApiCall] = []
    changes: list[FieldChange] = []
    want_opts: dict[str, str] = {"enable": "1" if fw.enabled else "0"}
    if fw.policy_in:
        want_opts["policy_in"] = fw.policy_in
    if fw.policy_out:
        want_opts["policy_out"] = fw.policy_out
    have_opts = {k: str(int(v)) if isinstance(v, bool) else str(v) for k, v in options.items()}
    have_opts.setdefault("enable", "0")
    diff = {k: v for k, v in want_opts.items() if have_opts.get(k) != v}
    if diff:
        calls.append(ApiCall("PUT", d.path("firewall/options"), dict(diff)))
        changes += [FieldChange(f"firewall.{k}", options.get(k), v) for k, v in diff.items()]
    live_rules = [canonical_rule(r) for r in sorted(live.firewall.rules, key=lambda r: int(r.get("pos", 0)))]
    want_rules = [canonical_rule(dict(r)) for r in fw.rules]
    if live_rules != want_rules:
        calls += rule_calls(d, len(live_rules), fw.rules)
        changes += rule_changes(live_rules, want_rules)
    if not calls:
        return None
    return Action(target=d.target, action="firewall", node=d.node, changes=changes, calls=calls,
                  summary="set firewall " + ", ".join(c.field.removeprefix("firewall.") for c in changes))


def rule_text(rule: dict[str, str]) -> str:
    """`in ACCEPT tcp dport=853 source=10.0.0.0/24 (DNS over TLS)`: a rule as a reviewer reads it."""
    parts = [rule.get("type", ""), rule.get("action", "")]
    if "proto" in rule:
        parts.append(rule["proto"])
    parts += [f"{k}={rule[k]}" for k in ("dport", "sport", "source", "dest", "macro", "iface") if k in rule]
    if rule.get("enable") == "0":
        parts.append("(disabled)")
    if rule.get("comment"):
        parts.append(f"({rule['comment']})")
    return " ".join(p for p in parts if p)


def rule_changes(live: list[dict[str, str]], want: list[dict[str, str]]) -> list[FieldChange]:
    """One change per rule added, removed or replaced, by position in the desired list."""
    matcher = difflib.SequenceMatcher(a=[rule_text(r) for r in live], b=[rule_text(r) for r in want],
                                      autojunk=False)
    out: list[FieldChange] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        olds, news = live[i1:i2], want[j1:j2]
        for k in range(max(len(olds), len(news))):
            old = rule_text(olds[k]) if k < len(olds) else None
            new = rule_text(news[k]) if k < len(news) else None
            where = j1 + k if new is not None else i1 + k
            out.append(FieldChange(f"firewall.rules[{where}]", old, new))
    return out


def rule_calls(d: DesiredGuest, live_count: int, rules: list[dict[str, str]]) -> list[ApiCall]:
    """Replace every rule: delete from the bottom, then insert the desired ones bottom-up at the top."""
    calls = [ApiCall("DELETE", d.path(f"firewall/rules/{pos}")) for pos in range(live_count - 1, -1, -1)]
    calls += [ApiCall("POST", d.path("firewall/rules"), dict(rule)) for rule in reversed(rules)]
    return calls


def _run_state(d: DesiredGuest, live: LiveGuest, waiting: bool, out: GuestPlan) -> None:
    running = live.status == "running"
    if d.template:
        if not live.template:
            calls = [ApiCall("POST", d.path("status/stop"), wait=True)] if running else []
            calls.append(ApiCall("POST", d.path("template"), wait=True))
            out.actions.append(Action(target=d.target, action="convert-to-template", node=d.node, calls=calls,
                                      changes=[FieldChange("template", 0, 1)], summary="convert to a template"))
        return
    if not running:
        out.actions.append(start_action(d, live_status=live.status))
        return
    if waiting:
        if d.restart_on_change:
            out.actions.append(Action(
                target=d.target, action="restart", node=d.node, summary="restart to apply pending changes",
                calls=[ApiCall("POST", d.path("status/reboot"), wait=True)],
            ))
        else:
            out.pending = True


def start_action(d: DesiredGuest, live_status: str = "absent") -> Action:
    return Action(target=d.target, action="start", node=d.node, summary="start",
                  changes=[FieldChange("status", live_status, "running")],
                  calls=[ApiCall("POST", d.path("status/start"), wait=True)])
