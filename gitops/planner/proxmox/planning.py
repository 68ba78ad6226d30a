"""The Proxmox rules of storages and guests (`RULES`): storages, template downloads, then guests in the
order of the guest graph (`clone_from_*` and `dependencies`, both kinds as one graph): create or clone
(then configure and convert templates), or update / resize / firewall existing ones; then starts in
`boot_order` groups; deletes of removed guests last (only with `prune` or `allow_destroy`, only guests we
created, tag `phoenix-gitops`): a vzdump backup first when a backup storage is set, a stop when it runs, then
the delete, each an action of its own on the guest's target (so they run in that order).
Each action names the targets it waits for, so the executor can run independent guests in parallel.
The first entry of the planner's registry, `gitops.planner.systems.RULES`.

An existing guest's actions and problems depend only on its desired state, its live state and the cluster's
nodes (the plan options only shape the actions of a guest that changes: its snapshot). So when the live state
carries the controller's memo (`LiveState.memo`), a guest planned with nothing to do is not compared again
while the state serves the same live guest object, desired the same, on the same nodes: a revision compares
the guests it changed, the guests read again, and the guests that had something to do; not the whole estate.
"""

from __future__ import annotations

from dataclasses import replace

from gitops.config import graph
from gitops.config.estate import Estate
from gitops.planner.live import LiveGuest, LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import PROXMOX, Action, ApiCall, FieldChange, Plan, Problem
from gitops.planner.proxmox import assumed, describing, migration, placement, pve_paths
from gitops.planner.proxmox.comparing import same
from gitops.planner.proxmox.creating import (
    clone_action,
    clone_problem,
    create_action,
    snapshot_action,
    source_from_live,
    template_action,
)
from gitops.planner.proxmox.desired import MANAGED_TAG, DesiredGuest, desired_guests, desired_keys
from gitops.planner.proxmox.hypervisor import plan_hypervisor, storage_definitions
from gitops.planner.proxmox.normalize import canonical_tags
from gitops.planner.proxmox.updating import plan_existing, start_action
from gitops.planner.rules import SystemRules


def plan_guests(estate: Estate, live: LiveState, options: PlanOptions, plan: Plan) -> None:
    """Append the storage, template and guest actions (and their problems) that take `live` to `estate`."""
    desired = desired_guests(estate, options.node)
    by_id = {d.vmid: d for d in desired}
    order = _guest_order(estate)
    creating = [by_id[i] for i in order if i in by_id and live.guest(i) is None]
    hv = plan_hypervisor(estate, live, desired, creating, options.node)
    plan.actions += hv.actions
    plan.errors += hv.errors
    plan.warnings += hv.warnings
    storage_targets = {a.target for a in hv.actions if a.action == "storage"}
    for a in hv.actions:
        a.depends_on = [t for t in a.depends_on if t in storage_targets]

    guest_actions: list[Action] = []
    starts: list[tuple[DesiredGuest, Action]] = []
    memo = live.memo
    keys = desired_keys(estate, options.node) if memo is not None else {}
    cluster = (tuple(live.nodes), frozenset(live.offline_nodes), live.assumed)
    for vmid in order:
        d = by_id.get(vmid)
        if d is None:
            continue
        current = live.guest(vmid)
        if memo is not None and current is not None and memo.is_quiet(current, keys[vmid], cluster):
            continue  # this very live guest, desired the same, had nothing to do: it still has not
        before = (len(plan.errors), len(plan.warnings), len(plan.pending))
        actions = _guest_actions(d, live, by_id, hv.image_volids, options, plan)
        if memo is not None and current is not None:
            memo.planned(current, keys[vmid], cluster, nothing_to_do=not actions and before == (
                len(plan.errors), len(plan.warnings), len(plan.pending)))
        if not actions:
            continue
        needs = [by_id[n].target for n in d.needs if n in by_id]
        needs += hv.needs.get(vmid, [])
        needs += [t for t in (f"storage/{s}" for s in _storages(d)) if t in storage_targets]
        for a in actions:
            a.depends_on = list(dict.fromkeys([*a.depends_on, *needs]))
            if a.action == "start":
                starts.append((d, a))
            else:
                guest_actions.append(a)
    plan.actions += guest_actions
    plan.actions += _fold_starts(_order_starts(starts, estate), guest_actions)
    plan.actions += _deletes(estate, live, by_id, options, plan)


def _guest_order(estate: Estate) -> list[int]:
    """The guests in the order of the guest graph, made once per estate (`Estate.derived`)."""
    return estate.derive(("guest_order", id(estate.lxc), id(estate.vms)), lambda: graph.guest_order(estate))


def guest_targets(estate: Estate, live: LiveState, options: PlanOptions) -> list[str]:
    """The storages and guests these rules converge."""
    targets = [f"storage/{sid}" for sid in sorted(storage_definitions(estate))]
    return targets + [d.target for d in desired_guests(estate, options.node)]


RULES = SystemRules(system=PROXMOX, targets=guest_targets, plan=plan_guests, assume=assumed.assume,
                    describe=describing.describe)


def _undeclared_source(d: DesiredGuest, live: LiveState, plan: Plan) -> DesiredGuest | None:
    """A clone source the config names but does not declare: the node's own guest of that id, else a plan
    error (or, planned against a config instead of a node, a warning that it could not be checked)."""
    assert d.clone_from is not None
    label = "CT" if d.kind == "lxc" else "VM"
    found = live.guest(d.clone_from)
    if found is not None and found.kind == d.kind and not live.assumed:
        return source_from_live(found)
    if live.assumed:
        plan.warnings.append(Problem(d.target, "reference-unchecked",
                                     f"{label} {d.clone_from} (the clone source) is not in the config; a plan between "
                                     "two configs cannot check that the node has it"))
    else:
        plan.errors.append(Problem(d.target, "clone-source-missing",
                                   f"{label} {d.clone_from} (the clone source) is neither in the config nor on "
                                   "the node"))
    return None


def _shared(live: LiveState, storage: str | None) -> bool:
    """The storage a clone goes to is shared between nodes (so PVE can clone straight to another node)."""
    st = live.storages.get(storage or "")
    return st is not None and st.shared


def _storages(d: DesiredGuest) -> list[str]:
    return [s for s in [d.storage, *(m.storage for m in d.mounts)] if s]


def _guest_actions(d: DesiredGuest, live: LiveState, by_id: dict[int, DesiredGuest], images: dict[int, str],
                   options: PlanOptions, plan: Plan) -> list[Action]:
    current = live.guest(d.vmid)
    problem = placement.node_problem(d.target, d.node, live)
    if problem is not None:
        plan.errors.append(problem)
        return []
    offline = placement.offline_problem(d.target, placement.guest_nodes(d.node, current), live)
    if offline is not None:
        plan.warnings.append(offline)
        return []
    recreate: list[Action] = []
    if current is not None and current.kind == d.kind:
        fixed = creation_only_changes(d, current)
        if fixed:
            recreate = _recreate(d, current, fixed, live, options, plan)
            if not recreate:
                return []
            current = None
    if current is not None:
        moves: list[Action] = []
        if current.node and current.node != d.node and current.kind == d.kind:
            move = migration.migrate_action(d.target, current, d.node, live, d.mounts)
            if isinstance(move, Problem):
                plan.errors.append(move)
                return []
            moves.append(move)
            marked = {k: str(v) for c in move.calls if c.method == "PUT" for k, v in c.params.items()}
            # what the guest's other actions find after the move (and its mounts marked shared)
            current = replace(current, node=d.node, config={**current.config, **marked})
        result = plan_existing(d, current, options)
        plan.errors += result.errors
        plan.warnings += result.warnings
        if result.pending:
            plan.pending.append(d.target)
        return moves + result.actions
    if d.clone_from is not None:
        source = by_id.get(d.clone_from) or _undeclared_source(d, live, plan)
        if source is None:
            return []
        source_live = live.guest(source.vmid)
        offline = placement.offline_problem(d.target, [source_live.node if source_live else source.node], live)
        if offline is not None:
            plan.warnings.append(offline)
            return []
        problem = clone_problem(d, source, source_live)
        if problem is not None:
            plan.errors.append(problem)
            return []
        actions = [clone_action(d, source, source_live, shared=_shared(live, d.storage or source.storage))]
    else:
        if any(e.target == d.target for e in plan.errors):
            return []  # its template or image is missing: already a plan error
        actions = [create_action(d, images.get(d.vmid))]
    if d.template:
        actions.append(template_action(d))
    else:
        if d.snapshot_name and any(o.clone_from == d.vmid for o in by_id.values()):
            actions.append(snapshot_action(d))  # its clones are made from this snapshot
        actions.append(start_action(d))
    return [*recreate, *actions]


# Keys PVE sets when a guest is created and refuses to change afterwards.
CREATION_ONLY = {"lxc": ("unprivileged",), "vm": ()}


def creation_only_changes(d: DesiredGuest, live: LiveGuest) -> list[FieldChange]:
    """The creation-only keys whose live value differs from the config (absent counts as 0, as PVE shows it)."""
    out = []
    for key in CREATION_ONLY[d.kind]:
        want = d.create_only.get(key)
        if want is not None and not same(d.kind, key, want, live.config.get(key)):
            out.append(FieldChange(key, live.config.get(key), want))
    return out


def _recreate(d: DesiredGuest, live: LiveGuest, fixed: list[FieldChange], state: LiveState, options: PlanOptions,
              plan: Plan) -> list[Action]:
    """The backup, stop and delete that make way for a new guest, or a plan error when that is not allowed."""
    keys = ", ".join(f"`{c.field}`" for c in fixed)
    if not options.allow_destroy or MANAGED_TAG not in canonical_tags(live.tags):
        why = ("plan with --allow-destroy to do it" if MANAGED_TAG in canonical_tags(live.tags)
               else f"the guest was not created by Phoenix GitOps (no `{MANAGED_TAG}` tag), so it is never destroyed")
        plan.errors.append(Problem(d.target, "recreate-needed",
                                   f"{keys} can only be set when the guest is created: changing it means destroying "
                                   f"{d.target} with all data on its disks and creating it again; {why}"))
        return []
    actions = destroy_actions(live, state, options, plan)
    if not actions:
        return []
    delete = actions[-1]
    delete.changes = fixed
    delete.summary = (f"re-create {live.name or d.target} ({keys} can only be set at creation): "
                      "the guest and ALL DATA ON ITS DISKS are destroyed")
    return actions


def _order_starts(starts: list[tuple[DesiredGuest, Action]], estate: Estate) -> list[Action]:
    """Starts in `boot_order` groups; each group waits for the previous one (and its `boot_delay`)."""
    if not starts:
        return []
    edges = graph.guest_graph(estate)
    chains: dict[int, set[int]] = {}
    starts.sort(key=lambda pair: pair[0].boot_order)
    out: list[Action] = []
    previous: list[tuple[DesiredGuest, Action]] = []
    group: list[tuple[DesiredGuest, Action]] = []
    current_order: int | None = None
    for d, action in starts:
        if d.boot_order != current_order:
            previous, group, current_order = group or previous, [], d.boot_order
        present = set(action.depends_on)
        for p, p_action in previous:
            # A guest listed earlier in boot order but needing this one would wait forever: skip those.
            if d.vmid not in chains.setdefault(p.vmid, set(graph.chain(edges, p.vmid))) and p.target not in present:
                action.depends_on.append(p.target)
                present.add(p.target)
            p_action.wait_after_s = max(p_action.wait_after_s, float(p.boot_delay))
        group.append((d, action))
        out.append(action)
    return out


def _fold_starts(starts: list[Action], others: list[Action]) -> list[Action]:
    """A new guest whose start waits for nothing its creation does not already wait for is created
    with `start=1`: one task instead of two. The other starts stay actions of their own."""
    creates = {a.target: a for a in others if a.action == "create" and a.calls}
    kept: list[Action] = []
    for start in starts:
        create = creates.get(start.target)
        if create is None or not set(start.depends_on) <= set(create.depends_on):
            kept.append(start)
            continue
        create.calls[0].params["start"] = 1
        create.changes += start.changes
        create.wait_after_s = start.wait_after_s
        create.summary += " and start it"
    return kept


def _deletes(estate: Estate, live: LiveState, by_id: dict[int, DesiredGuest], options: PlanOptions,
             plan: Plan) -> list[Action]:
    """The guests the controller made that the config no longer has (orphans): deleted when the plan
    removes orphans, else a warning says each is kept. Guests without the mark are never listed."""
    out: list[Action] = []
    for vmid, guest in sorted(live.guests.items()):
        if vmid in by_id or MANAGED_TAG not in canonical_tags(guest.tags):
            continue
        offline = placement.offline_problem(guest.target, [guest.node], live)
        if offline is not None:
            plan.warnings.append(offline)
            continue
        if not options.removes_orphans:
            plan.warnings.append(Problem(guest.target, "orphan",
                                         f"{guest.target} ({guest.name}) is no longer in the config; it is kept "
                                         "(set PHOENIX_PRUNE=true, or plan with --allow-destroy, to delete it)"))
            continue
        out += destroy_actions(guest, live, options, plan)
    return out


def destroy_actions(guest: LiveGuest, live: LiveState, options: PlanOptions, plan: Plan) -> list[Action]:
    """Back up (vzdump, when `options.backup_storage` is set), stop (when it runs) and delete `guest` with its
    disks: one action each, in that order on its target. Empty, with a plan error, when the backup storage
    cannot take the backup (the guest is kept rather than destroyed without it)."""
    actions: list[Action] = []
    label = guest.name or guest.target
    if options.backup_storage:
        problem = _backup_problem(guest, live, options.backup_storage)
        if problem is not None and live.assumed:  # planned against a config: the node's storages are unknown
            plan.warnings.append(Problem(guest.target, "reference-unchecked",
                                         f"the backup storage {options.backup_storage} is not in the config; a plan "
                                         "between two configs cannot check that the node has it"))
        elif problem is not None:
            plan.errors.append(problem)
            return []
        actions.append(Action(
            target=guest.target, action="backup", node=guest.node,
            summary=f"back up {label} to {options.backup_storage} (vzdump, mode {options.backup_mode}) before "
                    "it is destroyed",
            changes=[FieldChange("backup", None, f"{options.backup_storage} (vzdump, mode {options.backup_mode})")],
            calls=[ApiCall("POST", pve_paths.node_path(guest.node, "vzdump"),
                           {"vmid": str(guest.vmid), "storage": options.backup_storage,
                            "mode": options.backup_mode, "compress": "zstd"}, wait=True)]))
    if guest.status in ("running", "unknown"):  # `unknown`: PVE has no statistics of it yet; it may run
        actions.append(Action(target=guest.target, action="stop", node=guest.node,
                              summary=f"stop {label} (it is destroyed next)",
                              changes=[FieldChange("status", guest.status, "stopped")],
                              calls=[ApiCall("POST", pve_paths.guest_path(guest.kind, guest.node, guest.vmid,
                                                                          "status/stop"), wait=True)]))
    actions.append(Action(
        target=guest.target, action="delete", node=guest.node, destructive=True,
        changes=[FieldChange("guest", guest.name, None)],
        summary=f"delete {label} and its disks (removed from the config)",
        calls=[ApiCall("DELETE", pve_paths.guest_path(guest.kind, guest.node, guest.vmid),
                       {"purge": 1, "destroy-unreferenced-disks": 1}, wait=True)]))
    return actions


def _backup_problem(guest: LiveGuest, live: LiveState, storage: str) -> Problem | None:
    """Why `storage` cannot take `guest`'s backup (PVE's own checks, made before anything is stopped)."""
    found = live.storages.get(storage)
    if found is None:
        why = f"the backup storage {storage} (PHOENIX_BACKUP_STORAGE) does not exist"
    elif "backup" not in found.content:
        why = f"the backup storage {storage} (PHOENIX_BACKUP_STORAGE) does not hold backups (content `backup`)"
    else:
        return None
    return Problem(guest.target, "backup-storage", f"{guest.target} is not destroyed: {why}")
