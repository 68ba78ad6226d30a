"""Bridges and VLANs on every node of a simulated cluster, applied with PVE's network reload; the
interface that carries a node's management address is never changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e_apply.support import Cli, edit


def test_bridges_and_vlans_converge_on_every_node_and_management_is_left_alone(
        cli: Cli, example: Path, pve: Any) -> None:
    for node in ("pve2", "pve3"):
        pve.add_node(node)
    cli.env["PHOENIX_PVE_NODE"] = "pve1"

    def declare(data: Any) -> None:
        data["network"]["bridges"] = {"vmbr0": {"vlan_aware": True, "ports": ["eno1"]},   # management: refused
                                      "vmbr200": {"ports": ["eno2"], "vlan_aware": True, "comment": "storage"}}
        data["network"]["vlans"] = {"vmbr200.30": {"raw_device": "vmbr200", "vlan_id": 30, "cidr": "10.30.0.2/24"}}
    edit(example, "phoenix_hypervisor_config.json", declare)
    plan = cli.plan_json(example)
    network = [a for a in plan["actions"] if a["action"] == "network"]
    assert [a["target"] for a in network] == ["network/pve1", "network/pve2", "network/pve3"]
    calls = network[0]["calls"]
    assert [(c["method"], c["path"]) for c in calls] == [("POST", "nodes/pve1/network")] * 3 + [
        ("PUT", "nodes/pve1/network")]
    assert [c["params"]["iface"] for c in calls[:3]] == ["vmbr100", "vmbr200", "vmbr200.30"]
    assert calls[0]["params"] == {"iface": "vmbr100", "type": "bridge", "cidr": "172.16.20.1/24", "autostart": "1"}
    warned = [w for w in plan["warnings"] if w["code"] == "network-management"]
    assert len(warned) == 3 and "vmbr0 carries the management address" in warned[0]["message"]
    # The node's guests wait for its bridges.
    create = next(a for a in plan["actions"] if a["target"] == "lxc/900")
    assert "network/pve1" in create["depends_on"]

    assert cli("apply", str(example), "--yes").exit_code == 0
    for node in ("pve1", "pve2", "pve3"):
        net = pve.fake._network(node)
        assert net["pending"] is None  # reloaded
        assert net["live"]["vmbr200"]["bridge_vlan_aware"] in (1, "1")
        assert net["live"]["vmbr200.30"]["vlan-id"] in (30, "30")
        assert "bridge_vlan_aware" not in net["live"]["vmbr0"]
    assert cli("plan", str(example), "--detailed-exitcode").exit_code == 0
