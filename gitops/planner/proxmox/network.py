"""Linux bridges and VLANs on every node, from the hypervisor file's network block.

Target `network/NODE`: the internal bridge (`network.internal_bridge`: the node takes the subnet's first
address, which upstream's guests use as their host gateway -- assumed), and the bridges and VLAN
interfaces `network.bridges` / `network.vlans` declare. Missing ones are created and different ones
changed in PVE's pending network configuration, then applied with PVE's network reload (`PUT
nodes/NODE/network`, ifreload), in one action per node that the node's guests wait for. Never changed
or deleted: an interface that carries the node's management address (its address in `cluster/status`,
or the hypervisor file's `network.interfaces.address`) -- the plan says so instead -- and any interface
the config does not name. A node that is offline is left alone with a warning. Pure; listed in
`gitops.planner.systems.RULES`.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from gitops.config.estate import Estate
from gitops.config.hypervisor import HypervisorConfig
from gitops.planner.details import Detail
from gitops.planner.live import LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import PROXMOX, Action, ApiCall, FieldChange, Plan, Problem
from gitops.planner.proxmox import placement, pve_paths
from gitops.planner.rules import SystemRules


def desired_interfaces(hv: HypervisorConfig) -> dict[str, dict[str, str]]:
    """Interface name -> PVE network parameters (as strings), for every node."""
    net = hv.network
    out: dict[str, dict[str, str]] = {}
    if net.internal_bridge is not None:
        subnet = ipaddress.ip_network(net.internal_bridge.subnet, strict=False)
        out[net.internal_bridge.name] = {"type": "bridge", "cidr": f"{next(subnet.hosts())}/{subnet.prefixlen}",
                                         "autostart": "1"}
    for name, bridge in sorted(net.bridges.items()):
        want = {"type": "bridge", "autostart": "1"}
        if bridge.cidr:
            want["cidr"] = bridge.cidr
        if bridge.ports:
            want["bridge_ports"] = " ".join(bridge.ports)
        if bridge.vlan_aware:
            want["bridge_vlan_aware"] = "1"
        if bridge.comment:
            want["comments"] = bridge.comment
        out[name] = want
    for name, vlan in sorted(net.vlans.items()):
        want = {"type": "vlan", "vlan-raw-device": vlan.raw_device, "vlan-id": str(vlan.vlan_id), "autostart": "1"}
        if vlan.cidr:
            want["cidr"] = vlan.cidr
        if vlan.comment:
            want["comments"] = vlan.comment
        out[name] = want
    return out


def targets(estate: Estate, live: LiveState, options: PlanOptions) -> list[str]:
    if not desired_interfaces(estate.hypervisor):
        return []
    return [f"network/{n}" for n in live.nodes]


def plan(estate: Estate, live: LiveState, options: PlanOptions, out: Plan) -> None:
    wanted = desired_interfaces(estate.hypervisor)
    if not wanted:
        return
    interface = estate.hypervisor.network.interfaces
    configured = interface.address.split("/")[0] if interface is not None and interface.address else ""
    made: list[Action] = []
    for node in live.nodes:
        target = f"network/{node}"
        offline = placement.offline_problem(target, [node], live)
        if offline is not None:
            out.warnings.append(offline)
            continue
        have = live.node_networks.get(node)
        if have is None:
            continue  # not read
        management = {name for name, cfg in have.items()
                      if _address(cfg) and _address(cfg) in {live.node_addresses.get(node), configured}}
        action = _node(node, target, wanted, have, management, out)
        if action is not None:
            made.append(action)
    out.actions[:0] = made
    for action in out.actions:  # a node's guests wait for its bridges
        if action.system == PROXMOX and action.node and action.target.startswith(("lxc/", "vm/")) and \
                any(m.node == action.node for m in made):
            action.depends_on.append(f"network/{action.node}")


def _node(node: str, target: str, wanted: dict[str, dict[str, str]], have: dict[str, dict[str, Any]],
          management: set[str], out: Plan) -> Action | None:
    calls: list[ApiCall] = []
    changes: list[FieldChange] = []
    for name, want in wanted.items():
        current = have.get(name)
        diff = {k: v for k, v in want.items() if current is None or _text(current.get(k)) != v}
        if not diff:
            continue
        if name in management:
            out.warnings.append(Problem(target, "network-management",
                                        f"{name} carries the management address of {node}: it is not changed "
                                        f"(the config wants {', '.join(f'{k}={v}' for k, v in diff.items())})"))
            continue
        if current is None:
            calls.append(ApiCall("POST", pve_paths.node_path(node, "network"), {"iface": name, **want}))
            changes.append(FieldChange(name, None, _shown(want)))
        else:
            calls.append(ApiCall("PUT", pve_paths.node_path(node, f"network/{name}"), {"type": want["type"], **diff}))
            changes += [FieldChange(f"{name}.{k}", current.get(k), v) for k, v in diff.items()]
    if not calls:
        return None
    calls.append(ApiCall("PUT", pve_paths.node_path(node, "network"), wait=True))
    names = ", ".join(dict.fromkeys(c.field.split(".")[0] for c in changes))
    return Action(target=target, action="network", node=node, calls=calls, changes=changes,
                  summary=f"set {names} on {node}, then reload the network")


def _address(cfg: dict[str, Any]) -> str:
    if cfg.get("address"):
        return str(cfg["address"])
    return str(cfg.get("cidr") or "").split("/")[0]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _shown(want: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in want.items())


def describe_networks(estate: Estate, live: LiveState, options: PlanOptions) -> dict[str, Detail]:
    """Each node's networks, on that node (for the dashboard's graph)."""
    return {f"network/{n}": Detail(node=n, role="network") for n in live.nodes} if desired_interfaces(
        estate.hypervisor) else {}


RULES = SystemRules(system=PROXMOX, targets=targets, plan=plan, describe=describe_networks)
