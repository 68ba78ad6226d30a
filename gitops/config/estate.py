"""The estate: the four config files of one directory, loaded and typed, with lookups by guest id.

Made by `gitops.config.loading.load_estate`; read by the checks, the queries and the planner.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from gitops.config.documents import Document
from gitops.config.hypervisor import HypervisorConfig
from gitops.config.lxc import LxcFile, LxcGuest
from gitops.config.stacks import StacksFile
from gitops.config.vm import Vm, VmFile

T = TypeVar("T")
R = TypeVar("R")

HYPERVISOR_FILE = "phoenix_hypervisor_config.json"
LXC_FILE = "phoenix_lxc_configs.json"
VM_FILE = "phoenix_vm_configs.json"
STACKS_FILE = "phoenix_stacks_config.json"
CONFIG_FILES = (HYPERVISOR_FILE, LXC_FILE, VM_FILE, STACKS_FILE)
# The model of each file: the one list, read by loading (parse) and schema (JSON Schema).
MODELS: dict[str, type[HypervisorConfig | LxcFile | VmFile | StacksFile]] = {
    HYPERVISOR_FILE: HypervisorConfig,
    LXC_FILE: LxcFile,
    VM_FILE: VmFile,
    STACKS_FILE: StacksFile,
}
# Where each file keeps its guests (or stacks), entry by entry: loading drops a bad entry and keeps the
# others; parsing (`gitops.config.documents`) reads each entry's text on its own.
COLLECTIONS: dict[str, str] = {LXC_FILE: "lxc_configs", VM_FILE: "vms", STACKS_FILE: "docker_stacks"}

Kind = Literal["lxc", "vm"]


@dataclass
class Estate:
    """The four files. A file that failed to load is replaced by an empty model (and reported)."""

    directory: Path
    hypervisor: HypervisorConfig = field(default_factory=HypervisorConfig)
    lxc: LxcFile = field(default_factory=LxcFile)
    vms: VmFile = field(default_factory=VmFile)
    stacks: StacksFile = field(default_factory=StacksFile)
    loaded: set[str] = field(default_factory=set)  # files that loaded (possibly partly)
    texts: dict[str, str] = field(default_factory=dict, repr=False)
    raw: dict[str, object] = field(default_factory=dict, repr=False)  # parsed JSON of each file
    vm_index: list[int] = field(default_factory=list)  # position in the file's `vms` list of each VM
    # Per file, the ids (LXC, VM) or names (stacks) of entries present in the file but dropped as invalid.
    dropped: dict[str, set[str]] = field(default_factory=dict)
    # Per file, the top-level keys left out of the model because they hold an error (not unknown fields).
    partial: dict[str, set[str]] = field(default_factory=dict)
    # What later layers derive from the loaded files, kept for the estate's life (the planner's desired
    # guests per default node): an estate is not changed once loaded, and one commit plans it several times.
    derived: dict[object, object] = field(default_factory=dict, repr=False, compare=False)
    # Each file's parse (`gitops.config.documents`): what the checks of one guest alone keep with its entry.
    documents: dict[str, Document] = field(default_factory=dict, repr=False, compare=False)
    # Whether checks may replay what an earlier validation found when what they read is the same (False:
    # `validate_directory(memo=False)`, which validates everything).
    reuse: bool = field(default=True, repr=False, compare=False)

    def derive(self, key: Hashable, make: Callable[[], T]) -> T:
        """What `make()` derives from this estate, made at the first ask for `key` and kept (`derived`); those
        who get it do not change it."""
        if key not in self.derived:
            self.derived[key] = make()
        return cast(T, self.derived[key])

    def kept(self, file: str, make: Callable[[Any], R], key: Hashable) -> Iterator[tuple[Any, Any, R]]:
        """Each guest of `file` (the LXC or the VM file) as (its JSON path, the guest, `make(guest)`), what was
        made kept with the guest's parsed entry under `key` (`documents.Entry.derive`): made again only for an
        entry whose text changed. `make` takes the guest alone (what else it reads belongs in `key`)."""
        items: list[tuple[tuple[str, str], LxcGuest]] | list[tuple[tuple[str, int], Vm]] = \
            self.lxc_items() if file == LXC_FILE else self.vm_items()
        document = self.documents.get(file)
        entries = document.entries if document is not None else {}
        for path, guest in items:
            entry = entries.get(path[1])
            found = entry.derived.get(key) if entry is not None else None
            if found is None:
                found = entry.derive(key, functools.partial(_made_of, make, guest)) if entry is not None \
                    else make(guest)
            yield path, guest, found

    def reads(self, file: str, read: Callable[[Any], Hashable], key: Hashable) -> tuple[tuple[object, Hashable], ...]:
        """Each guest of `file` as (its JSON path, `read(guest)`), kept as `kept` keeps it: what a check or a
        structure across guests reads of each, to compare with what it read last time."""
        return tuple((path, found) for path, _guest, found in self.kept(file, read, key))

    def unknown(self, file: str, key: object) -> bool:
        """True when `key` may be in `file` but did not load (its entry is invalid, or the whole file
        did not load): references to it cannot be judged, so checks stay quiet rather than cry "missing"."""
        return file not in self.loaded or str(key) in self.dropped.get(file, set())

    def incomplete(self, file: str, *keys: str) -> bool:
        """True when `file` did not load, or any of its top-level `keys` was left out for an error:
        checks that read those keys stay quiet rather than report what they cannot judge."""
        return file not in self.loaded or bool(self.partial.get(file, set()) & set(keys))

    def unknown_guest(self, guest_id: object) -> bool:
        return self.unknown(LXC_FILE, guest_id) or self.unknown(VM_FILE, guest_id)

    def vm_path(self, position: int) -> tuple[str, int]:
        """JSON path of the VM at `position` in `self.vms.vms` (entries that failed to load are skipped)."""
        return ("vms", self.vm_index[position] if position < len(self.vm_index) else position)

    def lxc_items(self) -> list[tuple[tuple[str, str], LxcGuest]]:
        """Every container with its JSON path (made once: a dozen checks walk it)."""
        return self.derive(("lxc_items", id(self.lxc)),
                           lambda: [(("lxc_configs", key), ct) for key, ct in self.lxc.lxc_configs.items()])

    def vm_items(self) -> list[tuple[tuple[str, int], Vm]]:
        """Every VM with its JSON path (made once)."""
        return self.derive(("vm_items", id(self.vms)),
                           lambda: [(self.vm_path(i), vm) for i, vm in enumerate(self.vms.vms)])

    def guest_addresses(self) -> frozenset[str]:
        """Every guest's static address (what its health checks dial by default); made once (`derived`)."""
        def made() -> frozenset[str]:  # each guest's kept with its entry (`reads`)
            found = [*self.reads(LXC_FILE, static_ip, "static-ip"), *self.reads(VM_FILE, static_ip, "static-ip")]
            return frozenset(cast(str, ip) for _path, ip in found if ip is not None)
        return self.derive(("guest_addresses", id(self.lxc), id(self.vms)), made)

    def lxc_guest(self, ctid: int | str) -> LxcGuest | None:
        return self.lxc.lxc_configs.get(str(ctid))

    def vm(self, vmid: int | str) -> Vm | None:
        try:
            wanted = int(vmid)
        except (TypeError, ValueError):
            return None
        return self._vms_by_id().get(wanted)

    def _vms_by_id(self) -> dict[int, Vm]:
        cache: dict[int, Vm] | None = getattr(self, "_vm_cache", None)
        if cache is None or len(cache) != len(self.vms.vms):
            cache = {}
            for v in self.vms.vms:
                cache.setdefault(v.vmid, v)
            object.__setattr__(self, "_vm_cache", cache)
        return cache

    def guest(self, guest_id: int | str) -> tuple[Kind, LxcGuest | Vm] | None:
        """A guest by id across both kinds (LXC first, as ids must not collide anyway)."""
        ct = self.lxc_guest(guest_id)
        if ct is not None:
            return "lxc", ct
        vm = self.vm(guest_id)
        if vm is not None:
            return "vm", vm
        return None

    def guest_ids(self) -> dict[int, Kind]:
        ids: dict[int, Kind] = {}
        for key in self.lxc.lxc_configs:
            if key.isascii() and key.isdigit():
                ids[int(key)] = "lxc"
        for v in self.vms.vms:
            ids.setdefault(v.vmid, "vm")
        return ids


def _made_of(make: Callable[[Any], R], guest: object, _value: object) -> R:
    return make(guest)


def static_ip(guest: object) -> str | None:
    """A guest's first static address without its prefix, or None (DHCP, manual, none)."""
    net = getattr(guest, "network_config", None)
    ip = getattr(net, "ip", None) if net is not None else None
    if not ip or ip in ("dhcp", "manual", "auto"):
        return None
    return str(ip).split("/", 1)[0]
