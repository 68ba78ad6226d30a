"""Queries over configs-example: lookups across kinds, effective values, chains, users of storages/stacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops.config import graph, queries
from gitops.config.estate import Estate
from gitops.config.lxc import LxcGuest
from gitops.config.vm import Vm
from gitops.errors import ConfigError, NotFoundError

LXC = "phoenix_lxc_configs.json"
VM = "phoenix_vm_configs.json"


@pytest.fixture
def estate(example_dir: Path) -> Estate:
    return queries.load(example_dir)


def edit(directory: Path, file: str, change: object) -> None:
    path = directory / file
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(json.dumps(data, indent=4), encoding="utf-8")


def test_find_guest_across_kinds(estate: Estate) -> None:
    ct = queries.find_guest(estate, "101")
    assert (ct.kind, ct.vmid, ct.target, ct.guest.name) == ("lxc", 101, "lxc/101", "gateway")
    vm = queries.find_guest(estate, 1002)
    assert (vm.kind, vm.vmid, vm.target, vm.guest.name) == ("vm", 1002, "vm/1002", "docker-agent")
    assert queries.find_guest(estate, "9000").kind == "vm"
    for missing in ("999", 555, "gateway", ""):
        with pytest.raises(NotFoundError):
            queries.find_guest(estate, missing)


def test_all_guests_containers_then_vms(estate: Estate) -> None:
    assert [r.target for r in queries.all_guests(estate)] == [
        "lxc/900", "lxc/901", "lxc/101", "lxc/102", "lxc/110", "lxc/120", "vm/9000", "vm/1001", "vm/1002"]


def test_effective_vm_takes_vm_defaults(estate: Estate) -> None:
    template = queries.effective(estate, queries.find_guest(estate, 9000))
    assert isinstance(template, Vm)
    assert (template.cores, template.memory_mb, template.disk_size_gb, template.storage_pool,
            template.network_bridge) == (2, 2048, None, "tank-vm-disks", "vmbr0")  # a template keeps its image's size
    agent = queries.effective(estate, queries.find_guest(estate, 1002))
    assert (agent.memory_mb, agent.disk_size_gb, agent.storage_pool) == (4096, 32, "tank-vm-disks")  # own values win
    assert estate.vm(1002).storage_pool is None  # the estate itself is not changed


def test_effective_lxc_takes_proxmox_defaults(example_dir: Path) -> None:
    def strip(data: dict) -> None:  # type: ignore[type-arg]
        for key in ("cores", "memory_mb", "storage_pool"):
            del data["lxc_configs"]["120"][key]
        data["lxc_configs"]["110"]["pve_features"] = {"nesting": False, "keyctl": True}

    edit(example_dir, LXC, strip)
    estate = queries.load(example_dir)
    ct = queries.effective(estate, queries.find_guest(estate, 120))
    assert isinstance(ct, LxcGuest)
    assert (ct.cores, ct.memory_mb, ct.storage_pool, ct.pve_features) == (1, 512, "tank-lxc-disks", {"nesting": True})
    own = queries.effective(estate, queries.find_guest(estate, 110))
    assert own.pve_features == {"nesting": False, "keyctl": True}  # type: ignore[union-attr]


def test_parse_features() -> None:
    assert queries.parse_features("nesting=1, keyctl=0,fuse=true,mknod=no") == {
        "nesting": True, "keyctl": False, "fuse": True, "mknod": False}
    assert queries.parse_features("") == {}


def _respects_edges(order: list[int], edges: dict[int, list[int]]) -> bool:
    pos = {g: i for i, g in enumerate(order)}
    return all(pos[m] < pos[n] for n in order for m in edges.get(n, []) if m in pos)


def test_dependency_chain_order(estate: Estate) -> None:
    edges = graph.guest_graph(estate)
    assert queries.dependency_chain(estate, 110) == [900, 102, 101, 901, 110]
    assert queries.dependency_chain(estate, "1002") == [900, 102, 101, 9000, 1001, 1002]
    assert queries.dependency_chain(estate, 900) == [900]
    for ref in queries.all_guests(estate):
        chain = queries.dependency_chain(estate, ref.vmid)
        assert chain[-1] == ref.vmid and len(set(chain)) == len(chain)
        assert _respects_edges(chain, edges)
    with pytest.raises(NotFoundError):
        queries.dependency_chain(estate, 4242)


def test_whole_estate_order_respects_every_edge(estate: Estate) -> None:
    edges = graph.guest_graph(estate)
    order = graph.topological_order(edges)
    assert sorted(order) == sorted(g.vmid for g in queries.all_guests(estate))
    assert _respects_edges(order, edges)
    assert graph.find_cycles(edges) == []


def test_clone_chain(estate: Estate) -> None:
    assert queries.clone_chain(estate, 110) == [110, 901, 900]
    assert queries.clone_chain(estate, "101") == [101, 900]
    assert queries.clone_chain(estate, 1002) == [1002, 9000]
    assert queries.clone_chain(estate, 900) == [900]


def test_guests_using_storage(estate: Estate) -> None:
    assert queries.guests_using_storage(estate, "tank-lxc-disks") == [900, 901, 101, 102, 110, 120]
    assert queries.guests_using_storage(estate, "tank-models") == [110]  # a zfs volume
    assert queries.guests_using_storage(estate, "tank-vm-disks") == [9000, 1001, 1002]  # from vm_defaults
    assert queries.guests_using_storage(estate, "local-lvm") == []


def test_guests_using_stack(estate: Estate) -> None:
    assert queries.guests_using_stack(estate, "portainer_service") == [1001]
    assert queries.guests_using_stack(estate, "webapp") == [1002]  # object form
    assert queries.guests_using_stack(estate, "qdrant_service") == [1002]  # name form
    assert queries.guests_using_stack(estate, "nope") == []


def test_describe_and_get(estate: Estate) -> None:
    assert queries.describe(estate, "stack") == ["portainer_service", "qdrant_service", "webapp"]
    webapp = queries.describe(estate, "stack", "webapp")
    assert webapp["used_by"] == [1002] and sorted(webapp["environments"]) == ["production", "staging"]
    assert queries.describe(estate, "lxc")[0] == {"id": 900, "name": "base-template", "template": True}
    ct = queries.get(estate, "lxc", "110")
    assert ct["id"] == 110 and ct["clone_chain"] == [110, 901, 900] and ct["pve_features"] == {"nesting": True}
    assert queries.get(estate, "vm", "1001", "storage_pool") == "tank-vm-disks"
    assert queries.get(estate, "vm", "1002", "docker_stacks.1.environment") == "staging"
    assert queries.get(estate, "hypervisor", "network", "interfaces.gateway") == "10.20.0.1"
    assert queries.get(estate, "hypervisor", "zfs.datasets.1.name") == "lxc-disks"
    json.dumps(queries.describe(estate, "hypervisor"))  # JSON-ready


@pytest.mark.parametrize(("kind", "ident", "field"), [
    ("lxc", "1001", None),  # a VM asked for as a container
    ("vm", "101", None),
    ("lxc", "999", None),
    ("stack", "grafana", None),
    ("lxc", "101", "nope"),
    ("lxc", "101", "dependencies.7"),
    ("lxc", "101", "dependencies.\u00b2"),
    ("hypervisor", "network.nope", None),
    ("planet", "1", None),
])
def test_get_not_found(estate: Estate, kind: str, ident: str, field: str | None) -> None:
    with pytest.raises(NotFoundError):
        queries.get(estate, kind, ident, field)


def test_load_refuses_an_invalid_config_listing_every_error(example_dir: Path) -> None:
    edit(example_dir, VM, lambda d: (d["vms"][1].update(name="bad_name"), d["vms"][2].update(name="bad name")))
    with pytest.raises(ConfigError) as info:
        queries.load(example_dir)
    message = str(info.value)
    assert "2 errors" in message and "vms.1.name" in message and "vms.2.name" in message


def test_load_allows_warnings(example_dir: Path) -> None:
    edit(example_dir, VM, lambda d: d["vms"][1]["user_config"].update(password="hunter2"))
    assert queries.load(example_dir).vm(1001) is not None


def test_load_of_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        queries.load(tmp_path / "nowhere")


def test_the_guest_graph_is_kept_while_what_it_is_made_of_is_the_same(example_dir: Path, tmp_path: Path) -> None:
    """`graph._needs`: a memory change keeps the last estate's graph (and its order); a dependency makes a new
    one with the edge; a validation from nothing (`memo=False`) makes its own."""
    import shutil

    from gitops.config.estate import LXC_FILE
    from gitops.config.validation import validate_directory

    shutil.copytree(example_dir, tmp_path, dirs_exist_ok=True)
    first = graph.guest_graph(validate_directory(tmp_path)[0])
    lxc = json.loads((tmp_path / LXC_FILE).read_text())
    ctids = sorted(lxc["lxc_configs"])
    lxc["lxc_configs"][ctids[-1]]["memory_mb"] = 4321
    (tmp_path / LXC_FILE).write_text(json.dumps(lxc))
    estate = validate_directory(tmp_path)[0]
    assert graph.guest_graph(estate) is first
    assert graph.guest_order(estate) == graph.topological_order(first)
    lxc["lxc_configs"][ctids[-1]]["dependencies"] = [ctids[0]]
    (tmp_path / LXC_FILE).write_text(json.dumps(lxc))
    estate = validate_directory(tmp_path)[0]
    edges = graph.guest_graph(estate)
    assert edges is not first and int(ctids[0]) in edges[int(ctids[-1])]
    assert graph.guest_order(estate).index(int(ctids[0])) < graph.guest_order(estate).index(int(ctids[-1]))
    fresh = graph.guest_graph(validate_directory(tmp_path, memo=False)[0])
    assert fresh is not edges and fresh == edges
