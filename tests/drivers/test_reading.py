"""read_live_state(): what it reads, from which calls, and how few."""

from __future__ import annotations

import json
from typing import Any

from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.drivers.proxmox.reading import parse_pending, read_live_state


def _estate(pve: Any) -> None:
    pve.add_ct(101, "web", status="running",
               config={"net0": "name=eth0,bridge=vmbr0,ip=dhcp,firewall=1", "tags": "prod;web"})
    pve.add_ct(102, "db", config={"net0": "name=eth0,bridge=vmbr0,ip=dhcp"})
    pve.add_ct(900, "tmpl", template=True)
    pve.add_vm(1001, "vm1", status="running", config={"memory": 2048, "cores": 2})
    pve.add_vm(1002, "other")


def test_reads_guests_storage_and_templates(pve: Any, pve_client: ProxmoxClient) -> None:
    _estate(pve)
    pve_client.request("PUT", "nodes/pve1/qemu/1001/config", {"memory": 4096})  # running: pending
    pve_client.request("POST", "nodes/pve1/lxc/101/firewall/rules",
                       {"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "22", "enable": 1})
    pve_client.request("PUT", "nodes/pve1/lxc/101/firewall/options", {"enable": 1})
    pve_client.request("POST", "nodes/pve1/lxc/102/snapshot", {"snapname": "before"})

    state = read_live_state(pve_client)

    assert state.node == "pve1" and state.nodes == ["pve1"]
    assert sorted(state.guests) == [101, 102, 900, 1001, 1002]
    web = state.guests[101]
    assert (web.kind, web.name, web.status, web.tags, web.target) == ("lxc", "web", "running",
                                                                       ["prod", "web"], "lxc/101")
    assert web.config["hostname"] == "web" and web.config["memory"] == 512
    assert web.firewall.options == {"enable": 1}
    assert [(r["action"], r["dport"]) for r in web.firewall.rules] == [("ACCEPT", "22")]
    assert state.guests[102].snapshots == ["before"]
    assert state.guests[900].template is True
    vm = state.guests[1001]
    assert vm.kind == "vm" and vm.config["memory"] == 2048
    assert {k: str(v) for k, v in vm.pending.items()} == {"memory": "4096"}
    assert set(state.storages) == {"local", "local-lvm"}
    local = state.storages["local"]
    assert local.type == "dir" and local.content == {"iso", "vztmpl", "backup"}
    assert local.volumes == {pve.debian_template}
    assert state.storages["local-lvm"].volumes == set()


def test_reads_details_only_of_managed_guests_and_only_what_can_exist(pve: Any,
                                                                      pve_client: ProxmoxClient) -> None:
    _estate(pve)
    pve.requests.clear()

    state = read_live_state(pve_client, {101, 102})

    paths = pve.paths("GET")
    per_guest = [p for p in paths if "/lxc/" in p or "/qemu/" in p]
    assert sorted(per_guest) == sorted([
        "nodes/pve1/lxc/101/pending",
        "nodes/pve1/lxc/101/firewall/options",  # NIC with firewall=1
        "nodes/pve1/lxc/101/firewall/rules",
        "nodes/pve1/lxc/102/pending",            # no firewall flag, no snapshot parent: nothing else
    ])
    assert paths.count("cluster/resources") == 1
    assert state.guests[1001].config == {}  # listed, not managed: not read
    assert state.guests[1001].status == "running"


def test_caller_can_ask_for_firewall_and_snapshots(pve: Any, pve_client: ProxmoxClient) -> None:
    _estate(pve)
    pve.requests.clear()
    read_live_state(pve_client, {102}, firewall={102}, snapshots={102})
    assert set(pve.paths("GET")) >= {"nodes/pve1/lxc/102/firewall/rules", "nodes/pve1/lxc/102/snapshot"}


def test_parse_pending() -> None:
    config, pending = parse_pending([
        {"key": "memory", "value": 512, "pending": 1024},
        {"key": "cores", "value": 1, "pending": 1},
        {"key": "swap", "value": 512, "delete": 1},
        {"key": "net1", "pending": "name=eth1,bridge=vmbr1"},
    ])
    assert config == {"memory": 512, "cores": 1, "swap": 512}
    assert pending == {"memory": 1024, "swap": None, "net1": "name=eth1,bridge=vmbr1"}


def test_two_guests_share_their_keys_and_short_values() -> None:
    """Keys and short values are kept once for all guests (a big estate's cache holds thousands of configs);
    what is kept is equal to what was read."""
    def read(answer: str) -> list[dict[str, Any]]:
        return json.loads(answer)  # a new answer, new strings, as each GET gives
    long = "x" * 200
    answer = json.dumps([{"key": "ostype", "value": "debian"}, {"key": "description", "value": long},
                         {"key": "memory", "value": 512}])
    (first, _), (second, _) = parse_pending(read(answer)), parse_pending(read(answer))
    assert first == second == {"ostype": "debian", "description": long, "memory": 512}
    key_a, key_b = next(k for k in first if k == "ostype"), next(k for k in second if k == "ostype")
    assert key_a is key_b and first["ostype"] is second["ostype"]
    assert first["description"] is not second["description"]  # a long text is not kept once


def test_reads_in_parallel_when_round_trips_are_slow(pve: Any, pve_client: ProxmoxClient) -> None:
    for vmid in range(101, 113):
        pve.add_ct(vmid, f"ct{vmid}")
    pve.time_scale = 1.0
    pve.slow_network(0.005)  # 5 ms per request: threads pay
    state = read_live_state(pve_client)
    assert all(state.guests[v].config["hostname"] == f"ct{v}" for v in range(101, 113))
