"""A table of single-field changes: each plans exactly one action on the right guest, and applies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e_apply.support import Cli, edit

LXC = "phoenix_lxc_configs.json"
VM = "phoenix_vm_configs.json"


def ct(ctid: str, **changes: Any) -> Callable[[Any], None]:
    return lambda data: data["lxc_configs"][ctid].update(changes)


def vm(vmid: int, **changes: Any) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        next(v for v in data["vms"] if v["vmid"] == vmid).update(changes)
    return change


def add_rule(data: Any) -> None:
    data["lxc_configs"]["102"]["firewall"]["rules"].append(
        {"type": "in", "action": "ACCEPT", "proto": "tcp", "port": "853", "comment": "DNS over TLS"})


def new_ip(data: Any) -> None:
    data["lxc_configs"]["102"]["network_config"]["ip"] = "10.20.0.13/24"


CASES = [
    # (id, file, change, target, action, field)
    ("memory", LXC, ct("102", memory_mb=768), "lxc/102", "update", "memory"),
    ("cores", VM, vm(1001, cores=3), "vm/1001", "update", "cores"),
    ("swap", LXC, ct("101", swap_mb=512), "lxc/101", "update", "swap"),
    ("disk-grow-ct", LXC, ct("120", storage_size_gb=10), "lxc/120", "resize", "rootfs.size"),
    ("disk-grow-vm", VM, vm(1002, disk_size_gb=40), "vm/1002", "resize", "scsi0.size"),
    ("network", LXC, new_ip, "lxc/102", "update", "net0"),
    ("firewall-rule", LXC, add_rule, "lxc/102", "firewall", "firewall.rules[2]"),
    ("onboot", LXC, ct("120", start_at_boot=True), "lxc/120", "update", "onboot"),
    ("boot-order", LXC, ct("102", boot_order=2), "lxc/102", "update", "startup"),
    ("features", LXC, ct("120", pve_features={"nesting": True, "keyctl": True}), "lxc/120", "update", "features"),
    ("mount-point", LXC, ct("120", mount_points=[{"host_path": "/mnt/pve/tank/cache",
                                                  "container_path": "/cache"}]), "lxc/120", "update", "mp0"),
]


@pytest.mark.parametrize(("file", "change", "target", "action", "field"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_single_change(cli: Cli, converged: Path, file: str, change: Callable[[Any], None], target: str,
                       action: str, field: str) -> None:
    edit(converged, file, change)
    plan = cli.plan_json(converged)
    assert plan["errors"] == []
    assert [(a["target"], a["action"]) for a in plan["actions"]] == [(target, action)]
    assert field in [c["field"] for c in plan["actions"][0]["changes"]]

    result = cli("apply", str(converged), "--yes")
    assert result.exit_code == 0, result.output
    assert cli("plan", str(converged), "--detailed-exitcode").exit_code == 0


def test_disk_shrink_is_an_error_never_attempted(cli: Cli, converged: Path, pve: Any) -> None:
    edit(converged, LXC, ct("120", storage_size_gb=4))
    plan = cli.plan_json(converged)
    assert [e["code"] for e in plan["errors"]] == ["disk-shrink"]
    assert plan["errors"][0]["target"] == "lxc/120"
    def writes() -> int:
        return len([p for m in ("PUT", "POST", "DELETE") for p in pve.paths(m) if not p.startswith("access/")])

    writes_before = writes()
    result = cli("apply", str(converged), "--yes")
    assert result.exit_code == 1
    assert "nothing was applied" in result.output
    assert writes() == writes_before
    assert "size=8G" in pve.ct(120).config["rootfs"]


def test_removed_guest_is_kept_unless_destroy_is_allowed(cli: Cli, converged: Path, pve: Any) -> None:
    edit(converged, LXC, lambda d: d["lxc_configs"].pop("120"))
    plan = cli.plan_json(converged)
    assert plan["actions"] == [] and [w["code"] for w in plan["warnings"]] == ["orphan"]
    assert cli("apply", str(converged), "--yes").exit_code == 0
    assert pve.ct(120) is not None
    result = cli("apply", str(converged), "--yes", "--allow-destroy")
    assert result.exit_code == 0, result.output
    assert pve.guest(120) is None


def test_guests_not_created_by_us_are_never_deleted(cli: Cli, converged: Path, pve: Any) -> None:
    pve.add_ct(555, "hand-made", status="running")
    result = cli("apply", str(converged), "--yes", "--allow-destroy")
    assert result.exit_code == 0, result.output
    assert pve.ct(555) is not None


def test_changes_to_existing_guests_are_snapshotted_first_and_pruned(cli: Cli, converged: Path, pve: Any) -> None:
    for memory in (600, 700, 800, 900):
        edit(converged, LXC, ct("102", memory_mb=memory))
        plan = cli.plan_json(converged)
        calls = [c["path"].rsplit("/", 1)[-1] for c in plan["actions"][0]["calls"]]
        assert calls[0] == "snapshot" and "config" in calls
        assert cli("apply", str(converged), "--yes").exit_code == 0
    names = [n for n in pve.ct(102).snapshots if n.startswith("phx-")]
    assert len(names) == 3  # PHOENIX_SNAPSHOTS_KEEP defaults to 3
    # A container with bind mounts cannot be snapshotted by PVE: its update goes without one.
    edit(converged, LXC, ct("101", memory_mb=1536))
    calls = [c["path"] for c in cli.plan_json(converged)["actions"][0]["calls"]]
    assert not any(p.endswith("/snapshot") for p in calls)
