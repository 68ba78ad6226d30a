"""Checks of references between guests, storages and stacks: ids, clones, dependencies, pools, stacks.

A storage or clone source the config names but does not declare may be one the node already has (upstream
kept using storages and templates earlier commits made): offline validation cannot know, so it is a warning
(`storage-undeclared`, `clone-source-undeclared`), and the plan, which reads the node, makes it an error
only when the node lacks it too.

Called by `gitops.config.validation`. Codes: guest-id-invalid, duplicate-id, clone-source-undeclared,
clone-source-not-template, clone-source-kind, clone-source-bind-mount, dependency-missing,
dependency-cycle, storage-undeclared, template-missing, stack-missing, stack-environment-missing,
mount-not-shared.

The checks of ids, clones, dependencies and stacks read every guest: their problems are replayed from the
last validation when what they read is the same (`_reads`).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Hashable

from gitops.config import graph
from gitops.config.checks.local import Recorded, each_guest
from gitops.config.estate import HYPERVISOR_FILE, LXC_FILE, STACKS_FILE, VM_FILE, Estate
from gitops.config.lxc import LxcGuest
from gitops.config.memo import Last
from gitops.config.problems import Report
from gitops.config.templates import template_storage
from gitops.config.vm import Vm

MIN_ID, MAX_ID = 100, 999_999_999


def check_references(estate: Estate, report: Report) -> None:
    across, stacks = _LAST.get(_reads(estate) if estate.reuse else None, lambda: _across_guests(estate))
    across.replay(report)
    if not estate.incomplete(HYPERVISOR_FILE, "zfs", "storages", "proxmox_storage_ids", "proxmox_defaults"):
        _check_storages(estate, report)
        _check_shared_mounts(estate, report)
    stacks.replay(report)


def _across_guests(estate: Estate) -> tuple[Recorded, Recorded]:
    """The problems of ids, clones and dependencies, and those of stacks (reported after the storages')."""
    across, stacks = Recorded(), Recorded()
    _check_ids(estate, across)
    _check_clones(estate, across)
    _check_dependencies(estate, across)
    _check_stacks(estate, stacks)
    return across, stacks


def _reads(estate: Estate) -> Hashable:
    """Everything the checks of ids, clones, dependencies and stacks read: their problems are the last
    validation's when this is the same (a commit that changes a guest's memory among 10,000 does not check
    the references of 10,000 again). What they read of each guest is kept with its entry (`Estate.reads`)."""
    dropped = tuple(sorted((name, tuple(sorted(keys))) for name, keys in estate.dropped.items()))
    stacks = tuple((name, tuple(stack.environments)) for name, stack in estate.stacks.docker_stacks.items())
    return (estate.reads(LXC_FILE, _container_reads, "reference-reads"),
            estate.reads(VM_FILE, _vm_reads, "reference-reads"),
            stacks, estate.vms.vm_defaults.disk_size_gb, tuple(sorted(estate.loaded)), dropped)


def _container_reads(ct: LxcGuest) -> Hashable:
    return (ct.clone_from_ctid, ct.template, ct.is_template, ct.template_snapshot_name, bool(ct.mount_points),
            ct.storage_size_gb, tuple(ct.dependencies))


def _vm_reads(vm: Vm) -> Hashable:
    return (vm.vmid, vm.clone_from_vmid, vm.is_template, vm.disk_size_gb, tuple(vm.dependencies),
            tuple((ref.name, ref.environment) for ref in vm.docker_stacks))


# The last validation's: what the checks across guests read, and the problems they found (`check_references`).
_LAST: Last[tuple[Recorded, Recorded]] = Last()


def _check_ids(estate: Estate, report: Report) -> None:
    seen: dict[int, str] = {}
    for path, _ct in estate.lxc_items():
        key = path[1]
        if not (key.isascii() and key.isdigit()) or not MIN_ID <= int(key) <= MAX_ID:
            report.error(LXC_FILE, path, "guest-id-invalid",
                         f"CTID '{key}' must be a number from {MIN_ID} to {MAX_ID}")
            continue
        other = seen.get(int(key))
        if other is not None:  # "140" and "0140" are one guest to PVE
            report.error(LXC_FILE, path, "duplicate-id", f"CTID '{key}' is guest {int(key)}, already used by {other}")
            continue
        seen[int(key)] = f"{LXC_FILE} lxc_configs.{key}"
    for vpath, vm in estate.vm_items():
        other = seen.get(vm.vmid)
        if other is not None:
            report.error(VM_FILE, (*vpath, "vmid"), "duplicate-id",
                         f"guest id {vm.vmid} is used twice: also by {other}")
        else:
            seen[vm.vmid] = f"{VM_FILE} vms.{vpath[1]}"


def _check_clones(estate: Estate, report: Report) -> None:
    for path, ct in estate.lxc_items():
        if ct.clone_from_ctid is None:
            if not ct.template and path[1].isascii() and path[1].isdigit():
                report.error(LXC_FILE, path, "template-missing",
                             f"CT {path[1]} has neither `template` (an OS template) nor `clone_from_ctid`")
            continue
        _check_clone_source(estate, report, LXC_FILE, (*path, "clone_from_ctid"), ct.clone_from_ctid, "lxc")
    for vpath, vm in estate.vm_items():
        if vm.clone_from_vmid is not None:
            _check_clone_source(estate, report, VM_FILE, (*vpath, "clone_from_vmid"), vm.clone_from_vmid, "vm")
    _check_clone_disks(estate, report)


def _check_clone_disks(estate: Estate, report: Report) -> None:
    """A clone starts with its template's disk and disks only grow: a smaller size cannot be reached."""
    for path, ct in estate.lxc_items():
        source = estate.lxc_guest(ct.clone_from_ctid) if ct.clone_from_ctid else None
        if source is not None and ct.storage_size_gb and source.storage_size_gb \
                and ct.storage_size_gb < source.storage_size_gb:
            report.warning(LXC_FILE, (*path, "storage_size_gb"), "clone-disk-smaller",
                           f"{ct.storage_size_gb} GB is smaller than the {source.storage_size_gb} GB of template "
                           f"{ct.clone_from_ctid}; the clone keeps the template's size (disks only grow)")
    for vpath, vm in estate.vm_items():
        source_vm = estate.vm(vm.clone_from_vmid) if vm.clone_from_vmid is not None else None
        if source_vm is None:
            continue
        # Sizes the config sets (a template takes no `vm_defaults` size: see VmFile.disk_gb).
        want, have = estate.vms.disk_gb(vm), estate.vms.disk_gb(source_vm)
        if want and have and want < have:
            where = (*vpath, "disk_size_gb") if vm.disk_size_gb else vpath
            report.warning(VM_FILE, where, "clone-disk-smaller",
                           f"{want} GB is smaller than the {have} GB of template {vm.clone_from_vmid}; "
                           "the plan will refuse to create this clone (disks only grow)")


def _check_clone_source(estate: Estate, report: Report, file: str, path: tuple[str | int, ...],
                        source: str | int, kind: str) -> None:
    label = "CT" if kind == "lxc" else "VM"
    found = estate.guest(source)
    if found is None:
        if not estate.unknown_guest(source):
            report.warning(file, path, "clone-source-undeclared",
                           f"{label} {source} does not exist in the config: the plan clones it only if the node has it")
        return
    found_kind, guest = found
    if found_kind != kind:
        report.error(file, path, "clone-source-kind",
                     f"{source} is a {'container' if found_kind == 'lxc' else 'VM'}; "
                     f"a {'container' if kind == 'lxc' else 'VM'} can only be cloned from its own kind")
    elif not guest.is_template and not (kind == "lxc" and guest.template_snapshot_name):
        # Upstream clones a container that is not a template from its snapshot `template_snapshot_name`
        # (`pct clone SRC NEW --snapname NAME`); without one there is nothing to clone from.
        hint = "`is_template: true` or `template_snapshot_name`" if kind == "lxc" else "`is_template: true`"
        report.error(file, path, "clone-source-not-template", f"{label} {source} is not a template (set {hint} on it)")
    if isinstance(guest, LxcGuest) and found_kind == kind and guest.mount_points:
        # pve-container API2/LXC.pm clone_vm: "unable to clone mountpoint 'mpN' (type bind)".
        report.error(file, path, "clone-source-bind-mount",
                     f"CT {source} has `mount_points` (bind mounts), which PVE cannot clone: give the mounts to "
                     "the clones instead")


def _check_dependencies(estate: Estate, report: Report) -> None:
    for file, path, guest in _all_guests(estate):
        for i, dep in enumerate(guest.dependencies):
            if estate.guest(dep) is None and not estate.unknown_guest(dep):
                report.error(file, (*path, "dependencies", i), "dependency-missing",
                             f"guest {dep} does not exist in the LXC or the VM file")
    for cycle in graph.find_cycles(graph.guest_graph(estate)):
        first = cycle[0]
        found = estate.guest(first)
        if found is None:
            continue
        kind, _ = found
        file = LXC_FILE if kind == "lxc" else VM_FILE
        path = _guest_path(estate, first)
        shown = " -> ".join(str(g) for g in [*cycle, first])
        report.error(file, path, "dependency-cycle", f"guests depend on each other in a cycle: {shown}")


_ON_NODE = "; the plan uses it only if the node has it"


def _check_storages(estate: Estate, report: Report) -> None:
    defined = estate.hypervisor.storage_ids()
    known = ", ".join(sorted(defined)) or "none"
    lxc_default = estate.hypervisor.default_lxc_storage()
    # Each container judged alone against the storages defined (kept with its entry under them: `local`).
    each_guest(estate, report, LXC_FILE, functools.partial(_container_storages, defined=defined, known=known,
                                                           lxc_default=lxc_default),
               ("storages", tuple(sorted(defined)), lxc_default))
    default_vm_pool = estate.vms.vm_defaults.storage_pool
    if default_vm_pool and default_vm_pool not in defined:
        report.warning(VM_FILE, ("vm_defaults", "storage_pool"), "storage-undeclared",
                     f"storage '{default_vm_pool}' is not defined in {HYPERVISOR_FILE} (known: {known}){_ON_NODE}")
    for vpath, vm in estate.vm_items():
        if vm.storage_pool and vm.storage_pool not in defined:
            report.warning(VM_FILE, (*vpath, "storage_pool"), "storage-undeclared",
                         f"storage '{vm.storage_pool}' is not defined in {HYPERVISOR_FILE} (known: {known}){_ON_NODE}")


def _container_storages(report: Report, path: tuple[str | int, ...], ct: LxcGuest, *, defined: Collection[str],
                        known: str, lxc_default: str | None) -> None:
    pool = ct.storage_pool or lxc_default
    if pool and pool not in defined:
        where = (*path, "storage_pool") if ct.storage_pool else path
        report.warning(LXC_FILE, where, "storage-undeclared",
                       f"storage '{pool}' is not defined in {HYPERVISOR_FILE} (known: {known}){_ON_NODE}")
    for field, i, vol in [*(("zfs_volumes", i, v) for i, v in enumerate(ct.zfs_volumes)),
                          *(("volumes", i, v) for i, v in enumerate(ct.volumes))]:
        if vol.pool not in defined:
            report.warning(LXC_FILE, (*path, field, i, "pool"), "storage-undeclared",
                           f"storage '{vol.pool}' is not defined in {HYPERVISOR_FILE} (known: {known}){_ON_NODE}")
    if ct.template and ct.clone_from_ctid is None:
        storage = template_storage(ct.template)
        if storage is not None and storage not in defined and not storage.startswith("local"):
            report.warning(LXC_FILE, (*path, "template"), "storage-undeclared",
                           f"the template lies on storage '{storage}', which is not defined "
                           f"(known: {known}){_ON_NODE}")


# PVE storage types every node mounts at the same place (`/mnt/pve/ID` unless `path` says otherwise).
_NETWORK_STORAGE = {"nfs", "cifs", "cephfs", "glusterfs"}


def _shared_roots(estate: Estate) -> dict[str, str]:
    """storage id -> the host folder of each storage the hypervisor file defines as shared between nodes."""
    roots: dict[str, str] = {}
    for sid, st in estate.hypervisor.storages.items():
        if st.type in _NETWORK_STORAGE:
            roots[sid] = st.path or f"/mnt/pve/{sid}"
        elif st.path and str(st.options.get("shared", "0")).lower() in ("1", "true"):
            roots[sid] = st.path
    return roots


def _check_shared_mounts(estate: Estate, report: Report) -> None:
    """A bind mount marked `shared` must lie on storage every node has: PVE then migrates the container
    without it and the other node must show the same files at the same path."""
    roots = _shared_roots(estate)
    each_guest(estate, report, LXC_FILE, functools.partial(_shared_mounts, roots=roots),
               ("shared-mounts", tuple(sorted(roots.items()))))


def _shared_mounts(report: Report, path: tuple[str | int, ...], ct: LxcGuest, *, roots: dict[str, str]) -> None:
    for i, mp in enumerate(ct.mount_points):
        if not mp.shared:
            continue
        host = mp.host_path.rstrip("/")
        if any(host == root.rstrip("/") or host.startswith(root.rstrip("/") + "/") for root in roots.values()):
            continue
        known = ", ".join(f"{sid} ({root})" for sid, root in sorted(roots.items())) or "none"
        report.error(LXC_FILE, (*path, "mount_points", i, "shared"), "mount-not-shared",
                     f"{mp.host_path} is on no storage the hypervisor file defines as shared between nodes "
                     f"(nfs, cifs, cephfs, glusterfs, or `shared: 1`; defined: {known}), so it would not be "
                     "there after a move")


def _check_stacks(estate: Estate, report: Report) -> None:
    stacks = estate.stacks.docker_stacks
    for path, vm in estate.vm_items():
        for i, ref in enumerate(vm.docker_stacks):
            stack = stacks.get(ref.name)
            if stack is None and estate.unknown(STACKS_FILE, ref.name):
                continue
            if stack is None:
                known = ", ".join(sorted(stacks)) or "none"
                report.error(VM_FILE, (*path, "docker_stacks", i), "stack-missing",
                             f"stack '{ref.name}' is not in phoenix_stacks_config.json (known: {known})")
            elif stack.environments and ref.environment not in stack.environments:
                # A stack without environments (upstream before 2025-10-07) has one form: any reference takes it.
                envs = ", ".join(sorted(stack.environments)) or "none"
                report.error(VM_FILE, (*path, "docker_stacks", i), "stack-environment-missing",
                             f"stack '{ref.name}' has no environment '{ref.environment}' (it has: {envs})")


def _all_guests(estate: Estate) -> list[tuple[str, tuple[str | int, ...], LxcGuest | Vm]]:
    out: list[tuple[str, tuple[str | int, ...], LxcGuest | Vm]] = []
    out.extend((LXC_FILE, p, g) for p, g in estate.lxc_items())
    out.extend((VM_FILE, p, g) for p, g in estate.vm_items())
    return out


def _guest_path(estate: Estate, guest_id: int) -> tuple[str | int, ...]:
    if estate.lxc_guest(guest_id) is not None:
        return ("lxc_configs", str(guest_id))
    for path, vm in estate.vm_items():
        if vm.vmid == guest_id:
            return path
    return ()
