"""A simulated 3-node cluster (pve1..pve3) through the real command line: placement, migration, an
offline node. The guests of configs-example are spread over the nodes with their new `node` field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e_apply.support import Cli, edit

NODES = ("pve1", "pve2", "pve3")
# Templates on pve1, their clones elsewhere: clones cross nodes (node-local storage: clone, then migrate).
PLACEMENT = {"900": "pve1", "901": "pve2", "101": "pve2", "102": "pve3", "110": "pve3", "120": "pve1",
             9000: "pve1", 1001: "pve2", 1002: "pve3"}


@pytest.fixture
def cluster(pve: Any) -> Any:
    for node in NODES[1:]:
        pve.add_node(node)
    return pve


def place(directory: Path, placement: dict[Any, str]) -> None:
    def lxc(data: Any) -> None:
        for ctid, ct in data["lxc_configs"].items():
            if ctid in placement:
                ct["node"] = placement[ctid]

    def vm(data: Any) -> None:
        for v in data["vms"]:
            if v["vmid"] in placement:
                v["node"] = placement[v["vmid"]]
    edit(directory, "phoenix_lxc_configs.json", lxc)
    edit(directory, "phoenix_vm_configs.json", vm)


def node_of(pve: Any, vmid: int) -> str:
    guest = pve.fake.guest(vmid) or pve.ct(vmid)
    return str(guest.node)


def test_example_spread_over_three_nodes_converges_then_moves_and_survives_an_offline_node(
        cli: Cli, example: Path, cluster: Any) -> None:
    place(example, PLACEMENT)
    first = cli("apply", str(example), "--yes")
    assert first.exit_code == 0, first.output
    again = cli("plan", str(example), "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    for vmid, node in PLACEMENT.items():
        assert node_of(cluster, int(vmid)) == node, vmid
    assert cluster.ct(102).status == "running" and cluster.vm(1002).status == "running"

    # Moving one guest plans one `migrate` (a running VM: online, its local disk with it) and converges.
    place(example, {1002: "pve2"})
    plan = cli.plan_json(example)
    assert [(a["action"], a["target"]) for a in plan["actions"]] == [("migrate", "vm/1002")]
    [call] = plan["actions"][0]["calls"]
    assert call["path"] == "nodes/pve3/qemu/1002/migrate"
    assert call["params"] == {"target": "pve2", "online": 1, "with-local-disks": 1}
    assert "about" in plan["actions"][0]["summary"]
    moved = cli("apply", str(example), "--yes")
    assert moved.exit_code == 0, moved.output
    assert node_of(cluster, 1002) == "pve2" and cluster.vm(1002).status == "running"
    assert cli("plan", str(example), "--detailed-exitcode").exit_code == 0

    # pve3 goes offline: its guests are left alone (a warning), the rest converges.
    cluster.set_node_offline("pve3")

    def more_memory(data: Any) -> None:
        data["lxc_configs"]["102"]["memory_mb"] = 3072   # on pve3
        data["lxc_configs"]["101"]["memory_mb"] = 3072   # on pve2
    edit(example, "phoenix_lxc_configs.json", more_memory)
    plan = cli.plan_json(example)
    assert [(a["action"], a["target"]) for a in plan["actions"]] == [("update", "lxc/101")]
    offline = {w["target"] for w in plan["warnings"] if w["code"] == "node-offline"}
    assert offline == {"lxc/102", "lxc/110", "firewall/node/pve3", "network/pve3"}
    assert not plan["errors"]
    partial = cli("apply", str(example), "--yes")
    assert partial.exit_code == 0, partial.output
    assert cluster.ct(101).config["memory"] == 3072

    cluster.set_node_offline("pve3", False)
    back = cli.plan_json(example)
    assert [(a["action"], a["target"]) for a in back["actions"]] == [("update", "lxc/102")]


def test_a_guest_on_an_unknown_node_is_a_plan_error(cli: Cli, example: Path, cluster: Any) -> None:
    cli.env["PHOENIX_PVE_NODE"] = "pve1"
    place(example, {"101": "pve9"})
    plan = cli.plan_json(example)
    assert [(e["target"], e["code"]) for e in plan["errors"]] == [("lxc/101", "node-unknown")]


def test_a_cluster_without_a_default_node_needs_each_guest_placed(cli: Cli, example: Path, cluster: Any) -> None:
    plan = cli.plan_json(example)
    assert {e["code"] for e in plan["errors"]} == {"node-missing"}
    cli.env["PHOENIX_PVE_NODE"] = "pve2"
    assert cli.plan_json(example)["errors"] == []


def test_a_container_with_a_bind_mount_moves_only_when_the_mount_is_shared(
        cli: Cli, example: Path, cluster: Any) -> None:
    # configs-example CT 101 bind-mounts /mnt/pve/tank/gateway-certs (node-local): PVE refuses to migrate it
    # ("cannot migrate local bind mount point 'mp0'", pve-container LXC/Migrate.pm), so the plan says why.
    place(example, PLACEMENT)
    assert cli("apply", str(example), "--yes").exit_code == 0
    place(example, {"101": "pve3"})
    plan = cli.plan_json(example)
    [error] = plan["errors"]
    assert (error["target"], error["code"]) == ("lxc/101", "migrate-bind-mount")
    assert "/mnt/pve/tank/gateway-certs" in error["message"] and "shared: true" in error["message"]
    assert not [a for a in plan["actions"] if a["target"] == "lxc/101"]

    # On NFS storage every node mounts, and marked `shared` (applied where it is), it moves and converges.
    def nfs(data: Any) -> None:
        data.setdefault("storages", {})["certs-nfs"] = {
            "type": "nfs", "server": "192.0.2.50", "export": "/export/certs", "content": "images"}

    def shared_mount(data: Any) -> None:
        data["lxc_configs"]["101"]["mount_points"][0].update(host_path="/mnt/pve/certs-nfs/gateway", shared=True)
    edit(example, "phoenix_hypervisor_config.json", nfs)
    edit(example, "phoenix_lxc_configs.json", shared_mount)
    assert cli("validate", str(example)).exit_code == 0
    place(example, {"101": "pve2"})
    marked = cli("apply", str(example), "--yes")
    assert marked.exit_code == 0, marked.output
    place(example, {"101": "pve3"})
    moved = cli("apply", str(example), "--yes")
    assert moved.exit_code == 0, moved.output
    assert node_of(cluster, 101) == "pve3"
    assert "shared=1" in cluster.ct(101).config["mp0"]
    assert cli("plan", str(example), "--detailed-exitcode").exit_code == 0
