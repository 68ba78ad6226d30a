"""The Proxmox VE API's addresses, in one place: the `lxc`/`qemu` rule and every path shape we send.

A plan shows each request exactly as it will be sent, so the Proxmox planner rules (`desired`,
`creating`, `updating`, `hypervisor`, `planning`, `restoring`) name PVE paths; they and the Proxmox
driver (`gitops.drivers.proxmox`: reading, task waits) build every one of them here and nowhere else.
Pure and dependency-free, so the planner (core) and the driver (adapter) can both import it. A second
system keeps its own address module beside its planner rules (see docs/architecture.md, "Adding a system").
"""

from __future__ import annotations

from typing import Literal

GuestKind = Literal["lxc", "vm"]
_API_KIND: dict[str, str] = {"lxc": "lxc", "vm": "qemu"}
_GUEST_KIND: dict[str, GuestKind] = {"lxc": "lxc", "qemu": "vm"}


def api_kind(kind: GuestKind) -> str:
    """The API's word for a guest kind: `lxc` for containers, `qemu` for VMs."""
    return _API_KIND[kind]


def guest_kind(api_type: str) -> GuestKind | None:
    """Our guest kind for a `cluster/resources` type (`lxc`, `qemu`); None for nodes, storages..."""
    return _GUEST_KIND.get(api_type)


def guests_path(kind: GuestKind, node: str) -> str:
    """`nodes/{node}/{lxc|qemu}`: where a guest is created."""
    return f"nodes/{node}/{api_kind(kind)}"


def guest_path(kind: GuestKind, node: str, vmid: int, suffix: str = "") -> str:
    """`nodes/{node}/{lxc|qemu}/{vmid}[/suffix]`, e.g. `nodes/pve/lxc/101/config`."""
    base = f"{guests_path(kind, node)}/{vmid}"
    return f"{base}/{suffix}" if suffix else base


def node_path(node: str, suffix: str = "") -> str:
    """`nodes/{node}[/suffix]`, e.g. `nodes/pve/tasks/{upid}/status`."""
    return f"nodes/{node}/{suffix}" if suffix else f"nodes/{node}"


def cluster_firewall_path(suffix: str = "") -> str:
    """`cluster/firewall[/suffix]`, e.g. `cluster/firewall/rules/3`."""
    return f"cluster/firewall/{suffix}" if suffix else "cluster/firewall"


def access_path(suffix: str) -> str:
    """`access/{suffix}`: users, groups, roles, the ACL, tokens (`access/users/ci@pve/token/deploy`)."""
    return f"access/{suffix}"


def cluster_path(suffix: str) -> str:
    """`cluster/{suffix}`, e.g. `cluster/status`."""
    return f"cluster/{suffix}"


def storage_path(storage: str = "") -> str:
    """`storage` (the cluster's storage definitions) or `storage/{id}`."""
    return f"storage/{storage}" if storage else "storage"


def node_storage_path(node: str, storage: str, suffix: str) -> str:
    """`nodes/{node}/storage/{id}/{suffix}`, e.g. its `content` or `download-url`."""
    return node_path(node, f"storage/{storage}/{suffix}")
