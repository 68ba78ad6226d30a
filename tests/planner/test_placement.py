"""Placement and migration rules as tables: (guest on the cluster, where the config puts it) -> plan."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from gitops.config import queries
from gitops.planner.live import LiveGuest, LiveState, LiveStorage
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Action, Problem
from gitops.planner.proxmox import migration, placement
from gitops.planner.proxmox.desired import desired_guests
from gitops.planner.systems import plan_changes
from tests.e2e_apply.support import EXAMPLE, edit

GiB = 1024**3


def cluster(*offline: str) -> LiveState:
    live = LiveState(node="pve1", nodes=["pve1", "pve2", "pve3"], offline_nodes=set(offline))
    live.storages["local-zfs"] = LiveStorage("local-zfs", "zfspool", {"images", "rootdir"})
    live.storages["nfs"] = LiveStorage("nfs", "nfs", {"images", "rootdir"})
    live.storages["only12"] = LiveStorage("only12", "dir", {"images"}, config={"nodes": "pve1,pve2"})
    return live


def vm(status: str, disk: str, memory: int = 2048) -> LiveGuest:
    return LiveGuest("vm", 1001, "pve1", "web", status=status,
                     config={"scsi0": disk, "ide2": "local-zfs:vm-1001-cloudinit,media=cdrom", "memory": memory})


@pytest.mark.parametrize(("guest", "params", "mode"), [
    (vm("running", "local-zfs:vm-1001-disk-0,size=32G"),
     {"target": "pve2", "online": 1, "with-local-disks": 1}, "online; 32G of local disk"),
    (vm("running", "nfs:1001/vm-1001-disk-0.qcow2,size=32G"), {"target": "pve2", "online": 1},
     "online; no local disk"),
    (vm("stopped", "local-zfs:vm-1001-disk-0,size=32G"), {"target": "pve2"}, "offline; 32G of local disk"),
    (LiveGuest("lxc", 101, "pve1", "ct", status="running",
               config={"rootfs": "local-zfs:subvol-101-disk-0,size=8G", "mp0": "/srv/data,mp=/data"}),
     {"target": "pve2", "restart": 1}, "restart mode; 8G of local disk"),
])
def test_migrate_mode_follows_kind_state_and_storage(guest: LiveGuest, params: dict[str, Any], mode: str) -> None:
    action = migration.migrate_action(guest.target, guest, "pve2", cluster())
    assert isinstance(action, Action)
    [call] = action.calls
    assert call.params == params and call.wait
    assert call.path.startswith("nodes/pve1/") and call.path.endswith("/migrate")
    assert action.node == "pve1" and mode in action.summary


def test_migrate_time_is_estimated_from_what_is_copied() -> None:
    big = migration.migrate_action("vm/1001", vm("stopped", "local-zfs:vm-1001-disk-0,size=500G"), "pve2", cluster())
    assert isinstance(big, Action)
    # 500 GiB at 110 MB/s: 81.4 minutes
    assert "about 1 h 22 min" in big.summary
    assert migration.estimate(0.2) == "1 s" and migration.estimate(61) == "2 min"


def test_storage_missing_on_the_target_node_refuses_the_move() -> None:
    problem = migration.migrate_action("vm/1001", vm("stopped", "only12:vm-1001-disk-0,size=8G"), "pve3", cluster())
    assert isinstance(problem, Problem) and problem.code == "migrate-storage"
    assert "not available on node pve3" in problem.message


@pytest.mark.parametrize(("node", "code"), [
    ("", "node-missing"), ("pve 2", "node-invalid"), ("pve9", "node-unknown"), ("pve2", None),
])
def test_node_checks(node: str, code: str | None) -> None:
    problem = placement.node_problem("vm/1001", node, cluster())
    assert (problem.code if problem else None) == code


def test_an_offline_node_where_the_guest_is_or_goes_leaves_it_alone() -> None:
    live = cluster("pve3")
    assert placement.offline_problem("vm/1001", ["pve1", "pve2"], live) is None
    warning = placement.offline_problem("vm/1001", ["pve3", "pve1"], live)
    assert warning is not None and warning.code == "node-offline" and "pve3" in warning.message


def test_an_os_template_on_node_local_storage_is_downloaded_to_each_node_that_needs_it(tmp_path: Path) -> None:
    directory = tmp_path / "config"
    shutil.copytree(EXAMPLE, directory)

    def two_plain_containers(data: Any) -> None:
        cts = data["lxc_configs"]
        model = cts["900"]
        for ctid, node in (("900", "pve1"), ("901", "pve2")):
            cts[ctid] = {**model, "name": f"base-{node}", "node": node, "template_url": "https://example/t.tar.zst"}
        for ctid in ("101", "102", "110", "120"):
            del cts[ctid]
    edit(directory, "phoenix_lxc_configs.json", two_plain_containers)
    edit(directory, "phoenix_vm_configs.json", lambda d: d.update(vms=[]))
    estate = queries.load(directory)
    volid = next(d.ostemplate for d in desired_guests(estate, "") if d.ostemplate)
    live = LiveState(node="", nodes=["pve1", "pve2"])
    sid = volid.split(":", 1)[0]
    live.storages[sid] = LiveStorage(sid, "dir", {"vztmpl", "iso"}, volumes={volid},
                                     node_volumes={"pve1": {volid}, "pve2": set()})
    plan = plan_changes(estate, live, PlanOptions(node=""))
    downloads = [a for a in plan.actions if a.action == "download-template"]
    assert [(a.target, a.calls[0].path) for a in downloads] == [
        (f"template/{volid}@pve2", f"nodes/pve2/storage/{sid}/download-url")]
    create = next(a for a in plan.actions if a.target == "lxc/901" and a.action == "create")
    assert f"template/{volid}@pve2" in create.depends_on


def test_a_running_vm_with_pci_passthrough_is_not_migrated_online() -> None:
    guest = vm("running", "local-zfs:vm-1001-disk-0,size=8G")
    guest.config["hostpci0"] = "0000:01:00.0"
    problem = migration.migrate_action(guest.target, guest, "pve2", cluster())
    assert isinstance(problem, Problem) and problem.code == "migrate-passthrough"
    guest.status = "stopped"
    assert isinstance(migration.migrate_action(guest.target, guest, "pve2", cluster()), Action)
