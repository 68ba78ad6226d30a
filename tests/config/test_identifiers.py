"""Values that end up in an API path or a PVE property string are checked against PVE's formats at
validation time: a node name such as `../../access/users` is rejected, never sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitops.config.validation import validate_directory

FILES = {"hyp": "phoenix_hypervisor_config.json", "lxc": "phoenix_lxc_configs.json",
         "vm": "phoenix_vm_configs.json", "stacks": "phoenix_stacks_config.json"}
Edit = Callable[[dict[str, Any]], None]


def _first_vm(data: dict[str, Any]) -> dict[str, Any]:
    vm: dict[str, Any] = data["vms"][0]
    return vm


CASES: list[tuple[str, str, Edit, str, str]] = [  # (case, file, edit, code, path)
    ("node up the tree", "lxc", lambda d: d["lxc_configs"]["120"].__setitem__("node", "../../access/users"),
     "node-invalid", "lxc_configs.120.node"),
    ("vm node with a slash", "vm", lambda d: _first_vm(d).__setitem__("node", "pve1/qemu"),
     "node-invalid", "vms.0.node"),
    ("hypervisor node", "hyp", lambda d: d.__setitem__("node", "pve1?x=1"), "node-invalid", "node"),
    ("storage id with a slash", "hyp",
     lambda d: d.__setitem__("storages", {"../nodes": {"type": "dir", "path": "/mnt/pve/x"}}),
     "storage-id-invalid", "storages.../nodes"),
    ("snapshot name", "lxc",
     lambda d: d["lxc_configs"]["120"].__setitem__("template_snapshot_name", "../rollback"),
     "snapshot-name-invalid", "lxc_configs.120.template_snapshot_name"),
    ("template storage", "lxc",
     lambda d: d["lxc_configs"]["900"].__setitem__("template", "/tank?node=x/iso/template/cache/debian.tar.zst"),
     "storage-id-invalid", "lxc_configs.900.template"),
    ("bridge with more options", "lxc",
     lambda d: d["lxc_configs"]["120"]["network_config"].__setitem__("bridge", "vmbr0,firewall=0"),
     "bridge-invalid", "lxc_configs.120.network_config.bridge"),
    ("mount path with more options", "lxc",
     lambda d: d["lxc_configs"]["120"].__setitem__(
         "mount_points", [{"host_path": "/mnt/pve/a", "container_path": "/data,backup=1"}]),
     "mount-path-invalid", "lxc_configs.120.mount_points.0.container_path"),
]


def _edit(directory: Path, file: str, edit: Edit) -> None:
    path = directory / FILES[file]
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


@pytest.mark.parametrize(("case", "file", "edit", "code", "where"), CASES, ids=[c[0] for c in CASES])
def test_a_value_headed_for_an_api_path_is_checked(example_dir: Path, case: str, file: str, edit: Edit,
                                                   code: str, where: str) -> None:
    _edit(example_dir, file, edit)
    _, report = validate_directory(example_dir)
    got = [(p.code, p.to_dict()["path"]) for p in report.errors]
    assert (code, where) in got, (case, got)


def test_stack_names_follow_portainer(example_dir: Path) -> None:
    def rename(data: dict[str, Any]) -> None:
        stacks = data["docker_stacks"]
        first = next(iter(stacks))
        stacks["../endpoints"] = stacks.pop(first)

    _edit(example_dir, "stacks", rename)
    _, report = validate_directory(example_dir)
    assert ("stack-name-invalid", "docker_stacks.../endpoints") in [
        (p.code, p.to_dict()["path"]) for p in report.errors]


def test_upstream_identifiers_are_valid(upstream_dir: Path) -> None:
    _, report = validate_directory(upstream_dir)
    assert report.errors == []


def test_a_huge_value_is_not_echoed_in_full(example_dir: Path) -> None:
    _edit(example_dir, "lxc", lambda d: d["lxc_configs"]["120"].__setitem__("name", "x" * 5_000_000))
    _, report = validate_directory(example_dir)
    assert [p.code for p in report.errors] == ["hostname-invalid"]
    assert len(report.errors[0].message) < 600
    assert len(json.dumps(report.to_dict())) < 2000


def test_ids_equal_after_normalisation_are_duplicates(example_dir: Path) -> None:
    def twin(data: dict[str, Any]) -> None:
        data["lxc_configs"]["0120"] = {**data["lxc_configs"]["120"], "name": "twin"}

    _edit(example_dir, "lxc", twin)
    _, report = validate_directory(example_dir)
    got = [(p.code, p.to_dict()["path"]) for p in report.errors if p.code == "duplicate-id"]
    assert got == [("duplicate-id", "lxc_configs.0120")]
    assert "lxc_configs.120" in report.errors[0].message


NEW_CODES = {"node-invalid", "storage-id-invalid", "snapshot-name-invalid", "stack-name-invalid", "bridge-invalid",
             "mount-path-invalid", "json-too-deep", "json-number-too-long"}


def test_no_upstream_version_breaks_a_format_or_a_bound() -> None:
    from tests.config.test_policy import _upstream_versions

    for version in _upstream_versions():
        _, report = validate_directory(version)
        assert [p for p in report.problems if p.code in NEW_CODES] == [], version.name
        assert [p for p in report.problems if "less than or equal" in p.message] == [], version.name
