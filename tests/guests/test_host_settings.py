"""The upstream config's `lxc_options`, `id_maps` and bind mounts land on the node (over real SSH), before
each container first starts; the second plan is empty; a hand edit of the file is drift, put back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from gitops.config.scripts import LXC_FEATURE, VM_FEATURE
from tests.e2e_apply.support import UPSTREAM, Cli, edit
from tests.guests.conftest import RECORDING, write_script
from tests.guests.sshnode import NodeShell

IMAGE = "noble-server-cloudimg-amd64.qcow2"  # the upstream .img as PVE stores it (import content)


def upstream_copy(tmp_path: Path, pve: Any) -> Path:
    config = tmp_path / "upstream"
    shutil.copytree(UPSTREAM, config)
    edit(config, "phoenix_lxc_configs.json", lambda d: d["lxc_configs"]["900"].update(template=pve.debian_template))
    edit(config, "phoenix_vm_configs.json", lambda d: d["vms"][1].update(disk_size_gb=50))
    pve.storages["local"]["content"] = "iso,vztmpl,backup,import"
    pve.store_file("local", IMAGE, 600 * 1024**2, content="import")
    lxc = json.loads((config / "phoenix_lxc_configs.json").read_text())["lxc_configs"]
    vms = json.loads((config / "phoenix_vm_configs.json").read_text())["vms"]
    for ct in lxc.values():
        for feature in ct.get("features", []):
            write_script(config / "bin" / LXC_FEATURE.format(name=feature), RECORDING.format(name=feature))
        if ct.get("application_script"):
            write_script(config / "bin" / ct["application_script"], RECORDING.format(name="app"))
    for vm in vms:
        for feature in vm.get("features", []):
            write_script(config / "bin" / VM_FEATURE.format(name=feature), RECORDING.format(name=feature))
    return config


def test_upstream_host_settings_land_in_the_container_files(pcli: Cli, pve: Any, shell: NodeShell,
                                                            tmp_path: Path) -> None:
    config = upstream_copy(tmp_path, pve)
    result = pcli("apply", str(config), "--yes")
    assert result.exit_code == 0, result.output

    conf = shell.conf_file(101).read_text().splitlines()
    raw = [line for line in conf if line.startswith("lxc.")]
    assert raw == [
        "lxc.mount.auto: sys:rw", "lxc.apparmor.profile: unconfined", "lxc.apparmor.allow_nesting: 1",
        "lxc.net.0.type: macvlan", "lxc.net.0.macvlan.mode: bridge", "lxc.net.0.link: vmbr0.20",
        "lxc.idmap: u 0 100000 65536",
        "lxc.idmap: g 0 100000 33", "lxc.idmap: g 33 33 1", "lxc.idmap: g 34 100034 65502",
    ]
    # PVE's own keys were kept when the file was written.
    assert any(line.startswith("hostname: Nginx-Phoenix") for line in conf)
    assert "lxc.apparmor.profile: unconfined" in shell.conf_file(900).read_text().splitlines()
    # Bind-mount folders exist, owned as the id map says: uid 33 -> 100033 (not mapped), gid 33 -> 33.
    logs = "/mnt/pve/quickOS/lxc-persistent-data/101/logs"
    assert shell.node_path(logs).is_dir() and shell.owners[logs] == "100033:33"
    # The file was written before the container first started.
    writes = [i for i, argv in enumerate(shell.commands) if argv == ["cp", "/dev/stdin", "/etc/pve/lxc/101.conf"]]
    execs = [i for i, argv in enumerate(shell.commands) if argv[:3] == ["pct", "exec", "101"]]
    assert writes and execs and writes[0] < execs[0]
    # Scripts ran there too: features then the application script.
    ran = shell.ct_path(101, "/var/log/ran.log").read_text().split()
    assert ran[::2] == ["feature:base_setup", "feature:trusted_ca", "feature:step_cli",
                        "application:phoenix_hypervisor_lxc_101.sh"]

    assert pcli("plan", str(config), "--detailed-exitcode").exit_code == 0

    # A line added by hand is drift: planned, and put back by the next apply.
    path = shell.conf_file(102)
    path.write_text(path.read_text() + "lxc.cap.drop: sys_admin\n")
    plan = pcli.plan_json(config)
    assert [(a["target"], a["action"]) for a in plan["actions"]] == [("lxc/102", "host-config")]
    assert pcli("apply", str(config), "--yes").exit_code == 0
    assert "lxc.cap.drop: sys_admin" not in path.read_text()
    assert pcli("plan", str(config), "--detailed-exitcode").exit_code == 0


def test_the_host_policy_rejects_before_anything_reaches_the_node(pcli: Cli, scripted: Path,
                                                                   shell: NodeShell) -> None:
    edit(scripted, "phoenix_lxc_configs.json",
         lambda d: d["lxc_configs"]["120"].update(lxc_options=["lxc.hook.pre-start: /root/evil.sh"]))
    result = pcli("apply", str(scripted), "--yes")
    assert result.exit_code != 0 and "policy-lxc-option" in result.output
    assert shell.commands == []
