"""Adoption: a node that upstream's scripts already built from the newest config (storages, the OS
template, templates 900/901/911 and 9000, every guest, none tagged by us) converges in one apply, and a
second plan finds nothing to do. Disks keep the sizes upstream gave them unless the config sets another:
template 9000 and clone 1001 stay 32 GB (upstream's `qm resize 9000 scsi0 32G`; 1001 asks for 32), 1002
grows to the 64 GB its config sets.

The node is built as upstream's lxc-manager and vm-manager leave it (pct/qm create, clone, set): the
keys they set, with their values, and no more.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from gitops.config import queries
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.planner.proxmox.hypervisor import storage_definitions
from tests.e2e_apply.support import UPSTREAM, Cli

TEMPLATE = "ubuntu-24.04-standard_24.04-2_amd64.tar.zst"


def _upstream_ct(ctid: str, ct: dict[str, Any], is_template: bool) -> dict[str, Any]:
    net = ct["network_config"]
    mac = net.get("hwaddr") or ct["mac_address"]
    config: dict[str, Any] = {
        "hostname": ct["name"], "memory": ct["memory_mb"], "cores": ct["cores"], "unprivileged": 1,
        "rootfs": f"{ct['storage_pool']}:subvol-{ctid}-disk-0,size={ct['storage_size_gb']}G",
        "net0": f"name={net['name']},bridge={net['bridge']},firewall=0,gw={net.get('gw', '')},hwaddr={mac},"
                f"ip={net['ip']},type=veth".replace("gw=,", ""),
        "features": "nesting=1", "onboot": 1 if ct.get("start_at_boot") and not is_template else 0,
    }
    if ct.get("boot_order"):
        config["startup"] = f"order={ct['boot_order']},up={ct.get('boot_delay', 0)}"
    return config


def _upstream_vm(vm: dict[str, Any], size: str) -> dict[str, Any]:
    return {"name": vm["name"], "memory": 2048, "cores": 1, "net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0",
            "scsihw": "virtio-scsi-pci", "scsi0": f"quickOS-vm-disks:vm-{vm['vmid']}-disk-0,size={size}",
            "ide2": f"quickOS-vm-disks:vm-{vm['vmid']}-cloudinit,media=cdrom",
            "ipconfig0": "ip=dhcp", "ciuser": vm["user_config"]["username"], "agent": "1", "serial0": "socket"}


@pytest.mark.parametrize("built", ["templates", "everything"])
def test_an_estate_upstream_built_converges_in_one_apply(built: str, cli: Cli, pve: Any, pve_client: ProxmoxClient,
                                                         tmp_path: Path) -> None:
    """`templates`: only 900, 901, 911 and 9000 exist (the clones come from templates this run updates:
    900 gets its nameserver now, and its clones must not keep it); `everything`: every guest exists."""
    config = tmp_path / "upstream"
    shutil.copytree(UPSTREAM, config)
    estate = queries.load(config)
    for sid, params in storage_definitions(estate).items():  # upstream's hypervisor setup: `pvesm add`
        pve_client.request("POST", "storage", {"storage": sid, **params})
    pve.store_file("fastData-shared-iso", TEMPLATE, 141 * 1024**2, content="vztmpl")
    # The host's own network (its /etc/network/interfaces, written by hand: no upstream script does it):
    # the internal bridge its guests use, the host at .1 (upstream's firewall rules name 172.16.100.1).
    pve.fake._network("pve1")["live"]["vmbr100"] = {"type": "bridge", "cidr": "172.16.100.1/24", "autostart": 1,
                                                    "address": "172.16.100.1", "netmask": "24"}
    lxc = json.loads((config / "phoenix_lxc_configs.json").read_text())["lxc_configs"]
    for ctid, ct in lxc.items():
        is_template = bool(ct.get("is_template"))
        if built == "templates" and not is_template:
            continue
        pve.add_ct(int(ctid), ct["name"], config=_upstream_ct(ctid, ct, is_template), template=is_template,
                   status="stopped" if is_template else "running")
    vms = {vm["vmid"]: vm for vm in json.loads((config / "phoenix_vm_configs.json").read_text())["vms"]}
    pve.add_vm(9000, vms[9000]["name"], config=_upstream_vm(vms[9000], "32G"), template=True)
    for vmid in (1001, 1002) if built == "everything" else ():  # clones of the 32 GB template, never grown
        pve.add_vm(vmid, vms[vmid]["name"], config=_upstream_vm(vms[vmid], "32G"), status="running")

    plan = cli.plan_json(config)
    assert plan["errors"] == []
    if built == "everything":
        assert {a["action"] for a in plan["actions"]} <= {"update", "firewall", "resize", "restart", "start"}
    result = cli("apply", str(config), "--yes")
    assert result.exit_code == 0, result.output
    assert cli("plan", str(config), "--detailed-exitcode").exit_code == 0

    def size(vmid: int) -> str:
        return str(dict(p.split("=", 1) for p in pve.vm(vmid).config["scsi0"].split(",")[1:])["size"])

    assert (size(9000), size(1001), size(1002)) == ("32G", "32G", "64G")
    assert all(pve.ct(int(ctid)).config["rootfs"].endswith(f"size={ct['storage_size_gb']}G")
               for ctid, ct in lxc.items())
    assert {pve.ct(int(c)).template for c in ("900", "901", "911")} == {True}
    assert "phoenix-gitops" in pve.ct(101).config["tags"]  # adopted (names match the config) or made
    assert pve.ct(900).config["nameserver"] == "8.8.8.8"
    assert "nameserver" not in pve.ct(901).config  # a clone of 900 that sets none keeps none
