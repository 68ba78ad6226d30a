"""The newest upstream Phoenix config, unmodified, converges a fresh simulated node in one apply, and a
second plan finds nothing to do. What upstream's scripts do by hand, the plan does through the API:
the OS template by appliance name (`pveam download` = `POST nodes/{node}/aplinfo`), the cloud image
from the URL upstream derives from `vm_defaults.ubuntu_release`, the storages from the ZFS datasets.
"""

from __future__ import annotations

import shutil
import urllib.parse
from pathlib import Path
from typing import Any

from tests.e2e_apply.support import UPSTREAM, Cli

IMAGE_URL = "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img"
TEMPLATE = "ubuntu-24.04-standard_24.04-2_amd64.tar.zst"
GIB = 1024**3


def _form(body: bytes) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(body.decode()))


def _disk_size(config: dict[str, Any], key: str) -> str:
    return dict(p.split("=", 1) for p in config[key].split(",")[1:] if "=" in p)["size"]


def test_upstream_config_converges_a_fresh_node_unmodified(cli: Cli, pve: Any, tmp_path: Path) -> None:
    config = tmp_path / "upstream"
    shutil.copytree(UPSTREAM, config)

    plan = cli.plan_json(config)
    assert plan["errors"] == []
    result = cli("apply", str(config), "--yes")
    assert result.exit_code == 0, result.output
    assert cli("plan", str(config), "--detailed-exitcode").exit_code == 0

    posts = [(p.removeprefix("/api2/json/"), _form(body)) for m, p, body in pve.requests if m == "POST"]
    # The OS template came from the appliance index onto the ISO storage the template path names.
    assert [b for p, b in posts if p == "nodes/pve1/aplinfo"] == [
        {"storage": "fastData-shared-iso", "template": TEMPLATE}]
    assert f"vztmpl/{TEMPLATE}" in pve.storages["fastData-shared-iso"]["volumes"]
    # The cloud image came from the URL upstream derives, onto that storage, which now imports too.
    downloads = [b for p, b in posts if p.endswith("/download-url")]
    assert [(d["url"], d["content"]) for d in downloads] == [(IMAGE_URL, "import")]
    assert "import" in pve.storages["fastData-shared-iso"]["content"].split(",")
    # No invented sizes: template 9000 keeps the image's size, its clones get the sizes the config sets.
    image = pve.storages["fastData-shared-iso"]["volumes"]["import/noble-server-cloudimg-amd64.qcow2"]
    assert _disk_size(pve.vm(9000).config, "scsi0") == f"{image['size'] // 1024**2}M"
    assert _disk_size(pve.vm(1001).config, "scsi0") == "32G"
    assert _disk_size(pve.vm(1002).config, "scsi0") == "64G"

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
