"""The real upstream Phoenix config converges on the simulated node, with its storage ids and
template paths mapped to what the node has (the upstream templates live on the author's ZFS)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.e2e_apply.support import UPSTREAM, Cli, edit

IMAGE = "noble-server-cloudimg-amd64.img"


def test_upstream_config_converges(cli: Cli, pve: Any, tmp_path: Path) -> None:
    config = tmp_path / "upstream"
    shutil.copytree(UPSTREAM, config)
    # Map the template paths onto the node: the LXC template onto `local`, the cloud image there too.
    edit(config, "phoenix_lxc_configs.json",
         lambda d: d["lxc_configs"]["900"].update(template=pve.debian_template))
    pve.storages["local"]["content"] = "iso,vztmpl,backup,import"
    pve.store_file("local", IMAGE, 600 * 1024**2, content="import")

    # As published, VM 1001 asks for a 32 GB disk as a clone of a 50 GB template: refused, never tried.
    plan = cli.plan_json(config)
    assert [(e["target"], e["code"]) for e in plan["errors"]] == [("vm/1001", "disk-shrink")]
    result = cli("apply", str(config), "--yes")
    assert result.exit_code == 1 and pve.vms == []

    edit(config, "phoenix_vm_configs.json", lambda d: d["vms"][1].update(disk_size_gb=50))
    result = cli("apply", str(config), "--yes")
    assert result.exit_code == 0, result.output
    assert cli("plan", str(config), "--detailed-exitcode").exit_code == 0

    # Storages were defined from the ZFS datasets; every guest exists with its kind and state.
    assert {"quickOS-lxc-disks", "quickOS-vm-disks", "fastData-shared-bulk-data"} <= set(pve.storages)
    assert pve.storages["quickOS-lxc-disks"]["pool"] == "quickOS/lxc-disks"
    templates = {900, 901, 911}
    for ctid in (900, 901, 910, 911, 912, 801, 802, 101, 914, 917, 103, 102):
        ct = pve.ct(ctid)
        assert ct.template == (ctid in templates)
        assert ct.status == ("stopped" if ctid in templates else "running")
    assert pve.vm(9000).template and pve.vm(1001).status == "running" and pve.vm(1002).status == "running"
    # GPU passthrough: CT 910 gets GPUs 0 and 1 and the shared NVIDIA devices.
    devices = [pve.ct(910).config[f"dev{i}"] for i in range(5)]
    assert devices[:2] == ["/dev/nvidia0", "/dev/nvidia1"] and "/dev/nvidiactl" in devices
    # The host firewall block went into the cluster firewall: its rules in order, then DROP enabled.
    cluster = pve.fake.firewall_config("cluster")
    assert cluster["options"]["enable"] >= 1 and cluster["options"]["policy_in"] == "DROP"
    comments = [r.get("comment") for r in cluster["rules"]]
    assert len(comments) == 27 and comments[0] == "Allow HTTP for ACME challenges to Nginx"
