"""Settings no API token may set, found in the desired estate (table of config edits -> findings)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitops.config.validation import validate_directory
from gitops.planner.proxmox.desired import desired_guests
from gitops.planner.proxmox.rootonly import root_only_settings
from gitops.settings import HostPolicy

EXAMPLE = Path(__file__).resolve().parents[2] / "configs-example"
PERMISSIVE = HostPolicy(allow_privileged=True, bind_mount_prefixes=["/mnt/pve", "/srv"])
LXC = "phoenix_lxc_configs.json"


def strip_example(data: Any) -> None:
    data["lxc_configs"]["101"].pop("mount_points")
    for ctid in ("901", "110"):
        data["lxc_configs"][ctid].pop("gpu_assignment")


def guest(ctid: str, **fields: Any) -> Callable[[Any], None]:
    def change(data: Any) -> None:
        strip_example(data)
        data["lxc_configs"][ctid].update(fields)
    return change


@pytest.mark.parametrize(("change", "expected"), [
    (strip_example, {}),
    (guest("120", pve_features={"nesting": True}), {}),
    (guest("120", pve_features={"nesting": True, "keyctl": True}), {"lxc/120": ["feature flags keyctl"]}),
    (guest("120", pve_features={"nesting": True, "keyctl": False}), {}),
    (guest("120", unprivileged=False, pve_features={}),
     {"lxc/120": ["a privileged container (also needs Sys.Modify on /)"]}),
    (guest("120", unprivileged=False, pve_features={"nesting": True}),
     {"lxc/120": ["feature flags nesting", "a privileged container (also needs Sys.Modify on /)"]}),
    (guest("102", gpu_assignment="0,1"), {"lxc/102": ["device passthrough (dev0, dev1, dev2, dev3, dev4)"]}),
    (guest("102", mount_points=[{"host_path": "/srv/a", "container_path": "/a"}]),
     {"lxc/102": ["bind mount mp0 (/srv/a)"]}),
])
def test_root_only_settings(tmp_path: Path, change: Callable[[Any], None], expected: dict[str, list[str]]) -> None:
    folder = tmp_path / "config"
    shutil.copytree(EXAMPLE, folder)
    data = json.loads((folder / LXC).read_text())
    change(data)
    (folder / LXC).write_text(json.dumps(data))
    # The host policy (settings) would refuse the privileged container and the /srv bind mount; this
    # table is about what needs root@pam, so it validates under a policy that allows them.
    estate, report = validate_directory(folder, PERMISSIVE)
    assert report.valid, report.to_dict()
    assert root_only_settings(desired_guests(estate, "pve1")) == expected
