"""Queries over a loaded estate: the Python successor of upstream's jq helpers.

`load(dir)` gives a valid estate (or raises ConfigError with the problems); then look up a guest by
id across both kinds, its effective values with defaults, its dependency and clone chains, and the
guests that use a storage or a stack. Used by `phoenix-gitops config ...` and by the planner.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops.config import graph
from gitops.config.estate import Estate, Kind
from gitops.config.lxc import LxcGuest
from gitops.config.validation import validate_directory
from gitops.config.vm import Vm
from gitops.errors import ConfigError, NotFoundError


def load(directory: Path | str) -> Estate:
    """A valid estate, or ConfigError listing every error (warnings are allowed)."""
    estate, report = validate_directory(directory)
    if not report.valid:
        lines = "\n".join(str(p) for p in report.errors)
        raise ConfigError(f"{directory} is not a valid config ({len(report.errors)} errors):\n{lines}")
    return estate


@dataclass(frozen=True)
class GuestRef:
    kind: Kind
    vmid: int
    guest: LxcGuest | Vm

    @property
    def target(self) -> str:
        return f"{self.kind}/{self.vmid}"


def find_guest(estate: Estate, guest_id: int | str) -> GuestRef:
    found = estate.guest(guest_id)
    if found is None:
        raise NotFoundError(f"guest {guest_id} is neither in the LXC nor in the VM file")
    kind, guest = found
    return GuestRef(kind, int(guest_id), guest)


def all_guests(estate: Estate) -> list[GuestRef]:
    """Every guest, containers then VMs, each by id: a new list of the refs made once per estate."""
    def made() -> list[GuestRef]:
        out = [GuestRef("lxc", int(k), ct) for k, ct in estate.lxc.lxc_configs.items() if k.isascii() and k.isdigit()]
        out += [GuestRef("vm", vm.vmid, vm) for vm in estate.vms.vms]
        return out
    return list(estate.derive(("all_guests", id(estate.lxc), id(estate.vms)), made))


def effective_lxc(estate: Estate, ct: LxcGuest) -> LxcGuest:
    """The container with `proxmox_defaults` filled in where it leaves values out."""
    d = estate.hypervisor.proxmox_defaults.lxc
    update: dict[str, Any] = {}
    if ct.cores is None and d.cores is not None:
        update["cores"] = d.cores
    if ct.memory_mb is None and d.memory_mb is not None:
        update["memory_mb"] = d.memory_mb
    if ct.storage_pool is None and estate.hypervisor.default_lxc_storage():
        update["storage_pool"] = estate.hypervisor.default_lxc_storage()
    if ct.pve_features is None and d.features:
        update["pve_features"] = parse_features(d.features)
    return ct.model_copy(update=update) if update else ct


def effective_vm(estate: Estate, vm: Vm) -> Vm:
    """The VM with `vm_defaults` filled in where it leaves values out (the disk: `VmFile.disk_gb`)."""
    d = estate.vms.vm_defaults
    update: dict[str, Any] = {}
    for key in ("cores", "memory_mb", "storage_pool", "network_bridge"):
        if getattr(vm, key) is None and getattr(d, key) is not None:
            update[key] = getattr(d, key)
    if vm.disk_size_gb is None and estate.vms.disk_gb(vm) is not None:
        update["disk_size_gb"] = estate.vms.disk_gb(vm)
    return vm.model_copy(update=update) if update else vm


def effective(estate: Estate, ref: GuestRef) -> LxcGuest | Vm:
    if isinstance(ref.guest, LxcGuest):
        return effective_lxc(estate, ref.guest)
    return effective_vm(estate, ref.guest)


def parse_features(text: str) -> dict[str, bool]:
    """`nesting=1,keyctl=0` -> {"nesting": True, "keyctl": False}."""
    out: dict[str, bool] = {}
    for part in text.split(","):
        key, _, value = part.strip().partition("=")
        if key:
            out[key] = value.strip() not in ("0", "false", "no")
    return out


def dependency_chain(estate: Estate, guest_id: int | str) -> list[int]:
    """Guests to bring up before `guest_id` (clone sources and dependencies), in order, it last."""
    ref = find_guest(estate, guest_id)
    return graph.chain(graph.guest_graph(estate), ref.vmid)


def clone_chain(estate: Estate, guest_id: int | str) -> list[int]:
    """`guest_id`, the template it is cloned from, that one's source... back to the first template."""
    ref = find_guest(estate, guest_id)
    chain = [ref.vmid]
    guest: LxcGuest | Vm = ref.guest
    while True:
        source = guest.clone_from_ctid if isinstance(guest, LxcGuest) else guest.clone_from_vmid
        if source is None or int(source) in chain:
            return chain
        found = estate.guest(source)
        if found is None:
            return chain
        chain.append(int(source))
        guest = found[1]


def guests_using_storage(estate: Estate, storage: str) -> list[int]:
    out = []
    for ref in all_guests(estate):
        g = effective(estate, ref)
        pools = {g.storage_pool}
        if isinstance(g, LxcGuest):
            pools |= {v.pool for v in [*g.zfs_volumes, *g.volumes]}
        if storage in pools:
            out.append(ref.vmid)
    return out


def guests_using_stack(estate: Estate, stack: str) -> list[int]:
    return [vm.vmid for vm in estate.vms.vms if any(s.name == stack for s in vm.docker_stacks)]


def describe(estate: Estate, kind: str, ident: str | None = None) -> Any:
    """JSON-ready answer for `config get/list` (KIND: lxc, vm, stack, hypervisor)."""
    if kind == "hypervisor":
        data = estate.hypervisor.model_dump(mode="json", by_alias=True, exclude_none=True)
        return data if ident is None else _field(data, ident, "hypervisor")
    if kind == "stack":
        if ident is None:
            return sorted(estate.stacks.docker_stacks)
        stack = estate.stacks.docker_stacks.get(ident)
        if stack is None:
            raise NotFoundError(f"stack '{ident}' does not exist")
        data = stack.model_dump(mode="json", exclude_none=True)
        data["used_by"] = guests_using_stack(estate, ident)
        return data
    if kind in ("lxc", "vm"):
        refs = [r for r in all_guests(estate) if r.kind == kind]
        if ident is None:
            return [{"id": r.vmid, "name": r.guest.name, "template": r.guest.is_template} for r in refs]
        ref = find_guest(estate, ident)
        if ref.kind != kind:
            raise NotFoundError(f"{ident} is a {ref.kind}, not a {kind}")
        data = effective(estate, ref).model_dump(mode="json", exclude_none=True)
        data["id"] = ref.vmid
        data["dependency_chain"] = dependency_chain(estate, ref.vmid)
        data["clone_chain"] = clone_chain(estate, ref.vmid)
        return data
    raise NotFoundError(f"unknown kind '{kind}' (lxc, vm, stack, hypervisor)")


def _field(data: Any, dotted_path: str, what: str) -> Any:
    value = data
    for part in dotted_path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isascii() and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise NotFoundError(f"{what} has no field '{dotted_path}'")
    return value


def get(estate: Estate, kind: str, ident: str, field: str | None = None) -> Any:
    """`config get KIND ID [FIELD]`; for hypervisor, ID is itself a field path."""
    if kind == "hypervisor":
        return describe(estate, kind, ident if field is None else f"{ident}.{field}")
    data = describe(estate, kind, ident)
    return data if field is None else _field(data, field, f"{kind} {ident}")
