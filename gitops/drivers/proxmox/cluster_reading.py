"""Reading the cluster's own resources into `LiveState`: the cluster firewall and each node's host firewall,
and access control (users, groups, roles, ACL, tokens).

Called by `ProxmoxDriver.read_live`, each part only when the config has its block: options, rules,
aliases and IP sets of `cluster/firewall` (one call each, one per IP set), and the options and rules of
each online node's `nodes/{node}/firewall`; the four `access/...` lists and the token list of each user
the config gives tokens. Also where the controller's own source address is found, for the planner's
lockout check.
"""

from __future__ import annotations

import socket
from typing import Any

from gitops.drivers.proxmox import reading
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.planner.live import LiveAccess, LiveClusterFirewall, LiveFirewall, LiveState
from gitops.planner.proxmox import pve_paths

API_PORT = 8006


def read_firewalls(client: ProxmoxClient, state: LiveState) -> None:
    """Fill `state.cluster_firewall` and `state.node_firewalls` (online nodes)."""
    base = pve_paths.cluster_firewall_path()
    fw = LiveClusterFirewall(options=_without_digest(reading.get(client, f"{base}/options") or {}))
    fw.rules = [_without_digest(r) for r in reading.get(client, f"{base}/rules") or []]
    fw.aliases = {str(a["name"]): str(a.get("cidr", "")) for a in reading.get(client, f"{base}/aliases") or []}
    for item in reading.get(client, f"{base}/ipset") or []:
        name = str(item["name"])
        fw.ipsets[name] = [("!" if int(e.get("nomatch") or 0) else "") + str(e["cidr"])
                           for e in reading.get(client, f"{base}/ipset/{name}") or []]
    state.cluster_firewall = fw

    def host(node: str) -> LiveFirewall:
        path = pve_paths.node_path(node, "firewall")
        return LiveFirewall(options=_without_digest(reading.get(client, f"{path}/options") or {}),
                            rules=[_without_digest(r) for r in reading.get(client, f"{path}/rules") or []])
    online = [n for n in state.nodes if n not in state.offline_nodes]
    state.node_firewalls = dict(zip(online, reading.per_node(client, host, online), strict=True))


def controller_address(client: ProxmoxClient, configured: str = "") -> str:
    """The source address PVE sees the controller come from: `configured` when given (behind NAT), else
    the local address the system routes the API's host from (no packet is sent); "" when unknown."""
    if configured:
        return configured
    host, _, port_text = client.host.rpartition(":") if client.host.count(":") == 1 else (client.host, "", "")
    port = int(port_text) if port_text.isdigit() else API_PORT
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((host, port))
            return str(probe.getsockname()[0])
    except OSError:
        return ""


def _without_digest(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dict(item).items() if k != "digest"}




def read_access(client: ProxmoxClient, state: LiveState, users: list[str]) -> None:
    """Fill `state.access`: users, groups, roles, the ACL, and the tokens of `users` (those that exist)."""
    access = LiveAccess()
    for u in reading.get(client, pve_paths.access_path("users")) or []:
        groups = u.get("groups") or ""
        access.users[str(u["userid"])] = dict(
            u, groups=set(groups if isinstance(groups, list) else str(groups).split(",")) - {""})
    access.groups = {str(g["groupid"]): dict(g) for g in reading.get(client, pve_paths.access_path("groups")) or []}
    for r in reading.get(client, pve_paths.access_path("roles")) or []:
        access.roles[str(r["roleid"])] = set(str(r.get("privs") or "").split(",")) - {""}
        if int(r.get("special") or 0):
            access.builtin_roles.add(str(r["roleid"]))
    for a in reading.get(client, pve_paths.access_path("acl")) or []:
        key = (str(a["path"]), str(a["type"]), str(a["ugid"]), str(a["roleid"]))
        access.acl[key] = bool(int(a.get("propagate", 1)))
    for userid in users:
        if userid in access.users:
            for t in reading.get(client, pve_paths.access_path(f"users/{userid}/token")) or []:
                access.tokens[f"{userid}!{t['tokenid']}"] = dict(t)
    state.access = access


def read_networks(client: ProxmoxClient, state: LiveState) -> None:
    """Fill `state.node_networks` (online nodes) and `state.node_addresses`."""
    for item in reading.get(client, pve_paths.cluster_path("status")) or []:
        if item.get("type") == "node" and item.get("ip"):
            state.node_addresses[str(item["name"])] = str(item["ip"])
    online = [n for n in state.nodes if n not in state.offline_nodes]

    def interfaces(node: str) -> dict[str, dict[str, Any]]:
        return {str(i["iface"]): dict(i) for i in reading.get(client, pve_paths.node_path(node, "network")) or []}
    state.node_networks = dict(zip(online, reading.per_node(client, interfaces, online), strict=True))
