"""Live state of a Proxmox VE node, as plain data: what the Proxmox driver reads, what the planner compares.

Values are kept raw, exactly as the PVE API returns them (property strings such as
`name=eth0,bridge=vmbr0,ip=dhcp`, sizes such as `16G`, booleans as 0/1); the planner normalises
them (`gitops.planner.normalize`) before comparing. Written by `gitops.drivers.proxmox.reading`,
read by `gitops.planner`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from gitops.planner.stacks.live import LiveStacks

GuestKind = Literal["lxc", "vm"]


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


@dataclass
class LiveState:
    """Everything the planner needs to know about the cluster, read in one go."""

    node: str
    nodes: list[str] = field(default_factory=list)
    guests: dict[int, LiveGuest] = field(default_factory=dict)
    storages: dict[str, LiveStorage] = field(default_factory=dict)
    # File names of the OS templates in the node's appliance index (`GET nodes/{node}/aplinfo`,
    # what `pveam available` lists): the ones `POST nodes/{node}/aplinfo` can download.
    appliances: set[str] = field(default_factory=set)
    stacks: LiveStacks | None = None  # Portainer's part; None when no Portainer is configured

    def guest(self, vmid: int) -> LiveGuest | None:
        return self.guests.get(vmid)
