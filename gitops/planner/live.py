"""Live state of a Proxmox VE node, as plain data: what the Proxmox driver reads, what the planner compares.

Values are kept raw, exactly as the PVE API returns them (property strings such as
`name=eth0,bridge=vmbr0,ip=dhcp`, sizes such as `16G`, booleans as 0/1); the planner normalises
them (`gitops.planner.proxmox.normalize`) before comparing. Written by `gitops.drivers.proxmox.reading`,
read by `gitops.planner`.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

from gitops.planner.portainer.live import LiveStacks

GuestKind = Literal["lxc", "vm"]
# Storage types PVE always treats as shared between nodes (the others need `shared 1` to be).
SHARED_TYPES = frozenset({"nfs", "cifs", "cephfs", "rbd", "glusterfs", "iscsi", "iscsidirect", "pbs", "esxi"})


@dataclass
class LiveFirewall:
    """A guest's firewall: its options (`enable`, `policy_in`...) and its rules in PVE order."""

    options: dict[str, Any] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class LiveGuest:
    """One guest (container or VM) on the node."""

    kind: GuestKind
    vmid: int
    node: str
    name: str = ""
    status: str = "stopped"  # running, stopped, ...
    template: bool = False
    tags: list[str] = field(default_factory=list)
    lock: str = ""
    config: dict[str, Any] = field(default_factory=dict)   # GET .../config (current values)
    digest: str = ""  # PVE's config digest when the config was read: a write planned from it carries it
    pending: dict[str, Any] = field(default_factory=dict)  # values set but not yet applied (restart)
    firewall: LiveFirewall = field(default_factory=LiveFirewall)
    snapshots: list[str] = field(default_factory=list)     # snapshot names, without `current`

    @property
    def target(self) -> str:
        return f"{self.kind}/{self.vmid}"


@dataclass
class LiveStorage:
    """One storage definition (`/storage`), with the volume ids it holds when content was read."""

    storage: str
    type: str
    content: set[str] = field(default_factory=set)
    config: dict[str, Any] = field(default_factory=dict)
    volumes: set[str] = field(default_factory=set)  # e.g. `local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`
    # Node-local storage (not `shared`): the volumes each node holds, for the nodes whose content was read.
    node_volumes: dict[str, set[str]] = field(default_factory=dict)

    @property
    def shared(self) -> bool:
        """One content for the whole cluster (NFS, Ceph...); otherwise each node has its own."""
        return bool(int(self.config.get("shared") or 0)) or self.type in SHARED_TYPES

    def has_volume(self, volid: str, node: str) -> bool:
        """`volid` is on this storage as `node` sees it."""
        if self.shared or node not in self.node_volumes:
            return volid in self.volumes
        return volid in self.node_volumes[node]


@dataclass
class LiveClusterFirewall:
    """The cluster firewall (`cluster/firewall`): options, rules in PVE order, aliases, IP sets."""

    options: dict[str, Any] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)      # name -> cidr
    ipsets: dict[str, list[str]] = field(default_factory=dict)  # name -> cidrs (`!` prefix for nomatch)


@dataclass
class LiveAccess:
    """PVE access control (`access/...`), as listed."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)   # userid -> fields (groups as a set)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # groupid -> fields
    roles: dict[str, set[str]] = field(default_factory=dict)         # roleid -> privileges
    builtin_roles: set[str] = field(default_factory=set)             # `special`: PVE's own
    acl: dict[tuple[str, str, str, str], bool] = field(default_factory=dict)  # (path, type, ugid, role) -> propagate
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)  # user@realm!id -> fields


@dataclass
class LiveHostConfig:
    """A container's host-side settings, read on its node: the raw `lxc.*` lines of its config file (main
    section, in order) and, per bind-mount source directory, its owner `uid:gid` ("" when missing)."""

    lxc_lines: list[str] = field(default_factory=list)
    bind_dirs: dict[str, str] = field(default_factory=dict)


@dataclass
class PlanMemo:
    """What earlier reads and plans of this process found of the guests the live-state cache still serves,
    so a new revision redoes that work only for the guests that can have changed.

    Kept by the controller's live-state cache (`gitops.drivers.proxmox.live_cache`), which hands the very same
    `LiveGuest` object to every read until it reads that guest again (a changed desired state, a changed line
    of `cluster/resources`, an action on it, age) and never changes one in place: each entry holds the object
    it is about and counts only while the state holds that same object. The one change in place, redaction
    with other secret values, drops the guest's plan entry (`redacted`). The command line has no memo
    (`LiveState.memo` is None): everything is redacted and planned every time.
    """

    # vmid -> (the guest, what the secret values it was redacted with hash to)
    redacted_with: dict[int, tuple[LiveGuest, str]] = field(default_factory=dict)
    # vmid -> (the guest, its desired key, the cluster it was planned on): planned with nothing to do
    quiet: dict[int, tuple[LiveGuest, str, Hashable]] = field(default_factory=dict)
    # vmid -> (the guest, what else its description is made of, the description): the drift report's
    described: dict[int, tuple[LiveGuest, Hashable, Any]] = field(default_factory=dict)

    def is_redacted(self, guest: LiveGuest, mark: str) -> bool:
        entry = self.redacted_with.get(guest.vmid)
        return entry is not None and entry[0] is guest and entry[1] == mark

    def redacted(self, guest: LiveGuest, mark: str) -> None:
        """`guest` was redacted (in place) with the secret values `mark` stands for: planned anew."""
        self.redacted_with[guest.vmid] = (guest, mark)
        self.quiet.pop(guest.vmid, None)
        self.described.pop(guest.vmid, None)

    def is_quiet(self, guest: LiveGuest, desired: str, cluster: Hashable) -> bool:
        """This very `guest`, desired as `desired`, on `cluster`, was planned with nothing to do."""
        entry = self.quiet.get(guest.vmid)
        return entry is not None and entry[0] is guest and entry[1] == desired and entry[2] == cluster

    def planned(self, guest: LiveGuest, desired: str, cluster: Hashable, *, nothing_to_do: bool) -> None:
        if nothing_to_do:
            self.quiet[guest.vmid] = (guest, desired, cluster)
        else:
            self.quiet.pop(guest.vmid, None)

    def description(self, guest: LiveGuest, key: Hashable) -> Any:
        """The description made of this very `guest` and `key` (the desired guest, what it needs), or None."""
        entry = self.described.get(guest.vmid)
        return entry[2] if entry is not None and entry[0] is guest and entry[1] == key else None

    def describe(self, guest: LiveGuest, key: Hashable, description: Any) -> None:
        self.described[guest.vmid] = (guest, key, description)

    def forget(self, vmid: int) -> None:
        self.redacted_with.pop(vmid, None)
        self.quiet.pop(vmid, None)
        self.described.pop(vmid, None)

    def clear(self) -> None:
        self.redacted_with.clear()
        self.quiet.clear()
        self.described.clear()


@dataclass
class LiveState:
    """Everything the planner needs to know about the cluster, read in one go."""

    node: str
    nodes: list[str] = field(default_factory=list)
    offline_nodes: set[str] = field(default_factory=set)  # nodes of the cluster that are not online
    guests: dict[int, LiveGuest] = field(default_factory=dict)
    storages: dict[str, LiveStorage] = field(default_factory=dict)
    # Read only when the config has a firewall block: the cluster's, and each online node's host firewall.
    cluster_firewall: LiveClusterFirewall | None = None
    access: LiveAccess | None = None  # read only when the config has an access block
    # Read only when the config declares bridges or VLANs: each online node's interfaces (as listed, the
    # pending configuration when there is one) and its address in the cluster (`cluster/status`).
    node_networks: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    node_addresses: dict[str, str] = field(default_factory=dict)
    node_firewalls: dict[str, LiveFirewall] = field(default_factory=dict)
    # How the controller reaches the API: the source address PVE sees, and pveproxy's port on the node
    # (8006, whatever proxy or NAT is in front of it), for the firewall lockout check.
    controller_address: str = ""
    api_port: int = 8006
    # File names of the OS templates in the node's appliance index (`GET nodes/{node}/aplinfo`,
    # what `pveam available` lists): the ones `POST nodes/{node}/aplinfo` can download.
    appliances: set[str] = field(default_factory=set)
    stacks: LiveStacks | None = None  # Portainer's part; None when no Portainer is configured
    # In-guest provisioning (`gitops.drivers.guests`): per target, the steps its guest says ran (step ->
    # identity), None when it could not be asked (not running); host-side settings of containers.
    provisioned: dict[str, dict[str, str] | None] = field(default_factory=dict)
    host_configs: dict[str, LiveHostConfig] = field(default_factory=dict)
    # Not read but assumed (`gitops.planner.systems.assumed_live`): what it is assumed from, e.g.
    # "the state base 1a2b3c4d (main) converges to"; "" when read from the live systems.
    assumed: str = ""
    # The controller's memo of earlier reads and plans of the same guests (None: the command line's reads).
    memo: PlanMemo | None = field(default=None, compare=False, repr=False)

    def guest(self, vmid: int) -> LiveGuest | None:
        return self.guests.get(vmid)
