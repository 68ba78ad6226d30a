"""What each guest should look like, in PVE's own terms: keys and values as the API takes them.

`desired_guests(estate, options)` turns the effective config (defaults applied) into one
`DesiredGuest` per guest. Pure; used by `gitops.planner.proxmox.planning`, `creating`, `updating`, `hypervisor`
and drift.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from gitops.config import queries
from gitops.config.common import FirewallRule
from gitops.config.estate import Estate
from gitops.config.lxc import LxcGuest, LxcNetwork
from gitops.config.memo import BoundedMemo, digest
from gitops.config.templates import cloud_image_url, template_volid
from gitops.config.vm import Vm
from gitops.planner.proxmox import pve_paths
from gitops.planner.proxmox.normalize import join_props, nameservers

MANAGED_TAG = "phoenix-gitops"
GPU_SHARED_DEVICES = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools")


@dataclass
class DesiredMount:
    """An `mpN` entry: a bind mount of a host path, or a volume allocated on a storage."""

    key: str
    path: str
    host_path: str | None = None
    storage: str | None = None
    size_gb: int | None = None
    read_only: bool = False
    shared: bool = False  # a bind mount PVE may migrate: the host path is the same on every node

    def create_value(self) -> str:
        props: dict[str, object] = {"mp": self.path}
        if self.read_only:
            props["ro"] = 1
        if self.shared and self.host_path:
            props["shared"] = 1
        head = self.host_path if self.host_path else f"{self.storage}:{self.size_gb}"
        return join_props(head, props)


@dataclass
class DesiredFirewall:
    enabled: bool
    policy_in: str | None = None
    policy_out: str | None = None
    rules: list[dict[str, str]] = field(default_factory=list)


@dataclass
class DesiredGuest:
    kind: Literal["lxc", "vm"]
    vmid: int
    node: str
    name: str
    template: bool
    clone_from: int | None
    storage: str | None
    disk_gb: int | None
    disk_key: str  # rootfs or scsi0
    config: dict[str, str]          # managed keys, compared and updated
    create_only: dict[str, str]     # set when the guest is made, never compared afterwards
    mounts: list[DesiredMount]
    firewall: DesiredFirewall
    needs: list[int]                # clone source and dependencies
    boot_order: int = 0
    boot_delay: int = 0
    restart_on_change: bool = False
    ostemplate: str | None = None   # LXC: volid of the OS template
    image: str | None = None        # VM template: file name of the cloud image to import
    image_url: str | None = None
    template_url: str | None = None
    snapshot_name: str | None = None  # LXC `template_snapshot_name`: clones of a non-template use it
    snapshots: bool = True
    secret_keys: frozenset[str] = frozenset()

    @functools.cached_property
    def target(self) -> str:
        """`lxc/101`, `vm/9000` (made once: desired guests are shared and never changed, and it is asked for
        every guest by each plan, description and check)."""
        return f"{self.kind}/{self.vmid}"

    def path(self, suffix: str = "") -> str:
        """The guest's PVE API path (`pve_paths.guest_path`)."""
        return pve_paths.guest_path(self.kind, self.node, self.vmid, suffix)


def desired_guests(estate: Estate, node: str) -> list[DesiredGuest]:
    """One per guest; a guest without a `node` goes to the hypervisor file's `node`, else `node` (the
    default node: PHOENIX_PVE_NODE or the only one; "" on a cluster without one, a plan error).

    Made once per estate and node (`Estate.derived`): a commit's plan, verify, drift check and reads ask
    for them several times. The list is a new one each call; the guests in it are shared and never changed."""
    return list(_made(estate, node)[0])


def desired_key(guest: DesiredGuest) -> str:
    """What identifies a guest's desired state (equal for equal desired guests): the digest of its `repr`,
    which the live-state cache keeps per guest (the `repr` itself is ~1 kB a guest: 10 MB at 10,000)."""
    return digest(repr(guest)).hex()


def desired_keys(estate: Estate, node: str) -> dict[int, str]:
    """`desired_key` of each of `desired_guests(estate, node)`, by id; made once per estate and node (the
    live-state cache and the planner's memo both ask for them, at the plan and at the verify)."""
    return _made(estate, node)[1]


class _Made(NamedTuple):
    """A desired guest, its key, and what it was made from."""

    source: object  # the guest's model in the config (`GuestRef.guest`)
    context: str    # the defaults it was made with (`_contexts`)
    guest: DesiredGuest
    key: str


# The desired guests made last for each default node, by kind and id. An entry of a config file that did not
# change is the very same model in the next revision (`gitops.config.loading.ENTRY_MEMO`), so a commit that
# changes one guest makes that one anew and takes the others as they were: an entry counts only while its
# guest's model is that same object, under the same defaults. Replaced whole by each estate made: one
# estate's worth per node, for the last few nodes asked for.
_LAST: BoundedMemo[str, dict[tuple[str, int], _Made]] = BoundedMemo(4)


def _contexts(estate: Estate) -> dict[str, str]:
    """Per kind, everything besides the guest's own entry that its desired guest is made from: the defaults
    `queries.effective_lxc` and `effective_vm` fill in, and the release `_vm` takes a cloud image URL from."""
    hypervisor = estate.hypervisor
    vm_globals = hypervisor.vm_defaults.model_dump_json() if hypervisor.vm_defaults is not None else ""
    return {"lxc": hypervisor.proxmox_defaults.model_dump_json(),
            "vm": f"{estate.vms.vm_defaults.model_dump_json()}|{vm_globals}"}


def _made(estate: Estate, node: str) -> tuple[list[DesiredGuest], dict[int, str]]:
    return estate.derive(("desired_guests", node, id(estate.hypervisor), id(estate.lxc), id(estate.vms)),
                         lambda: _desired_guests(estate, node))


def _desired_guests(estate: Estate, node: str) -> tuple[list[DesiredGuest], dict[int, str]]:
    node = estate.hypervisor.node or node
    contexts = _contexts(estate)
    last = _LAST.get(node) or {}
    made: dict[tuple[str, int], _Made] = {}
    entries: list[_Made] = []
    for ref in queries.all_guests(estate):
        context = contexts[ref.kind]
        entry = last.get((ref.kind, ref.vmid))
        if entry is None or entry.source is not ref.guest or entry.context != context:
            guest = queries.effective(estate, ref)
            desired = (_lxc(estate, ref.vmid, guest, node) if isinstance(guest, LxcGuest)
                       else _vm(estate, ref.vmid, guest, node))
            entry = _Made(ref.guest, context, desired, desired_key(desired))
        made[(ref.kind, ref.vmid)] = entry
        entries.append(entry)
    _LAST.put(node, made)
    return [e.guest for e in entries], {e.guest.vmid: e.key for e in entries}


def _common(guest: LxcGuest | Vm) -> dict[str, str]:
    config = {
        "onboot": "1" if guest.start_at_boot and not guest.is_template else "0",
        "tags": ";".join(sorted({MANAGED_TAG, *(t.lower() for t in guest.tags)})),
    }
    if guest.boot_order or guest.boot_delay:
        startup: dict[str, object] = {"order": guest.boot_order} if guest.boot_order else {}
        if guest.boot_delay:
            startup["up"] = guest.boot_delay
        config["startup"] = join_props(None, startup)
    else:
        config["startup"] = ""
    if guest.description is not None:
        config["description"] = guest.description
    return config


def _lxc_net(net: LxcNetwork, hwaddr: str | None, firewall: bool) -> str:
    props: dict[str, object] = {"name": net.name}
    if net.bridge:
        props["bridge"] = net.bridge
    if net.ip:
        props["ip"] = net.ip
    if net.gw:
        props["gw"] = net.gw
    mac = net.hwaddr or hwaddr
    if mac:
        props["hwaddr"] = mac.upper()
    if net.vlan:
        props["tag"] = net.vlan
    props["firewall"] = 1 if (net.firewall if net.firewall is not None else firewall) else 0
    return join_props(None, props)


def pve_rule(rule: FirewallRule) -> dict[str, str]:
    """A config firewall rule as PVE's rule parameters (`port` is `dport`)."""
    pve: dict[str, str] = {
        "type": rule.type, "action": rule.action, "enable": "1" if rule.enable else "0",
    }
    for key in ("proto", "sport", "source", "dest", "macro", "iface", "log", "comment"):
        value = getattr(rule, key)
        if value is not None:
            pve[key] = str(value)
    dport = rule.dport or rule.port
    if dport is not None:
        pve["dport"] = dport
    return pve


def _firewall(guest: LxcGuest | Vm) -> DesiredFirewall:
    rules = [pve_rule(rule) for rule in guest.firewall.rules]
    fw = guest.firewall
    return DesiredFirewall(enabled=fw.enabled, policy_in=fw.policy_in, policy_out=fw.policy_out, rules=rules)


def _lxc(estate: Estate, vmid: int, ct: LxcGuest, node: str) -> DesiredGuest:
    config = _common(ct)
    config["hostname"] = ct.name
    if ct.memory_mb is not None:
        config["memory"] = str(ct.memory_mb)
    if ct.cores is not None:
        config["cores"] = str(ct.cores)
    if ct.swap_mb is not None:
        config["swap"] = str(ct.swap_mb)
    nets = [n for n in (ct.network_config, ct.secondary_network_config) if n is not None]
    for i, net in enumerate(nets):
        config[f"net{i}"] = _lxc_net(net, ct.mac_address if i == 0 else None, ct.firewall.enabled)
    first = nets[0] if nets else None
    servers = nameservers((first.nameservers or first.nameserver) if first else None)
    config["nameserver"] = servers
    if ct.pve_features is not None:
        config["features"] = join_props(None, {k: int(v) for k, v in sorted(ct.pve_features.items()) if v})
    if ct.gpu_assignment != "none":
        devices = [f"/dev/nvidia{int(i)}" for i in ct.gpu_assignment.split(",")]
        for i, dev in enumerate([*devices, *GPU_SHARED_DEVICES]):
            config[f"dev{i}"] = dev
    mounts: list[DesiredMount] = []
    for mp in ct.mount_points:
        mounts.append(DesiredMount(f"mp{len(mounts)}", mp.container_path, host_path=mp.host_path,
                                   read_only=mp.read_only, shared=mp.shared))
    for vol in [*ct.zfs_volumes, *ct.volumes]:
        mounts.append(DesiredMount(f"mp{len(mounts)}", vol.mount_point, storage=vol.pool, size_gb=vol.size_gb))
    create_only = {"unprivileged": "1" if ct.unprivileged else "0"}
    ostemplate = None
    if ct.clone_from_ctid is None and ct.template:
        ostemplate = template_volid(ct.template)
    needs = ([int(ct.clone_from_ctid)] if ct.clone_from_ctid else []) + [int(d) for d in ct.dependencies]
    return DesiredGuest(
        kind="lxc", vmid=vmid, node=ct.node or node, name=ct.name, template=ct.is_template,
        clone_from=int(ct.clone_from_ctid) if ct.clone_from_ctid else None,
        storage=ct.storage_pool, disk_gb=ct.storage_size_gb, disk_key="rootfs",
        config=config, create_only=create_only, mounts=mounts, firewall=_firewall(ct), needs=needs,
        boot_order=ct.boot_order, boot_delay=ct.boot_delay,
        restart_on_change=ct.restart_policy == "on-change", ostemplate=ostemplate,
        template_url=ct.template_url, snapshot_name=ct.template_snapshot_name,
        # PVE cannot snapshot containers with bind mounts.
        snapshots=not ct.mount_points,
    )


def _vm(estate: Estate, vmid: int, vm: Vm, node: str) -> DesiredGuest:
    config = _common(vm)
    config["name"] = vm.name
    if vm.memory_mb is not None:
        config["memory"] = str(vm.memory_mb)
    if vm.cores is not None:
        config["cores"] = str(vm.cores)
    net = vm.network_config
    nic: dict[str, object] = {"bridge": (net.bridge if net and net.bridge else vm.network_bridge) or "vmbr0"}
    if net and net.vlan:
        nic["tag"] = net.vlan
    nic["firewall"] = 1 if vm.firewall.enabled else 0
    model = f"virtio={net.mac_address.upper()}" if net and net.mac_address else "virtio"
    config["net0"] = join_props(model, nic)
    if net is not None and net.ip:
        ipconfig: dict[str, object] = {"ip": net.ip}
        if net.gw:
            ipconfig["gw"] = net.gw
        config["ipconfig0"] = join_props(None, ipconfig)
    servers = (net.nameserver or " ".join(net.nameservers or [])) if net else None
    config["nameserver"] = nameservers(servers or None)
    secret_keys: set[str] = set()
    create_only: dict[str, str] = {}
    if vm.user_config is not None:
        config["ciuser"] = vm.user_config.username
        if vm.user_config.password:
            create_only["cipassword"] = vm.user_config.password
            secret_keys.add("cipassword")
        if vm.user_config.ssh_public_keys:
            create_only["sshkeys"] = "\n".join(vm.user_config.ssh_public_keys)
    needs = ([vm.clone_from_vmid] if vm.clone_from_vmid is not None else []) + [int(d) for d in vm.dependencies]
    return DesiredGuest(
        kind="vm", vmid=vmid, node=vm.node or node, name=vm.name, template=vm.is_template,
        clone_from=vm.clone_from_vmid, storage=vm.storage_pool, disk_gb=vm.disk_size_gb, disk_key="scsi0",
        config=config, create_only=create_only, mounts=[], firewall=_firewall(vm), needs=needs,
        boot_order=vm.boot_order, boot_delay=vm.boot_delay,
        restart_on_change=vm.restart_policy == "on-change",
        image=vm.template_image if vm.clone_from_vmid is None else None,
        image_url=vm.template_image_url or cloud_image_url(
            estate.hypervisor.vm_defaults.ubuntu_release if estate.hypervisor.vm_defaults else None,
            vm.template_image),
        secret_keys=frozenset(secret_keys),
    )
