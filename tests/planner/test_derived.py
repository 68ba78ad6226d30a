"""What the planner derives from an estate is made once per estate (`Estate.derived`), and plans stay
the same: a commit's plan, verify and drift check ask for the desired guests several times. A new revision
makes anew only the desired guests whose entry or defaults it changed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gitops.config.loading import load_estate
from gitops.planner.proxmox.desired import desired_guests, desired_key, desired_keys

EXAMPLE = Path(__file__).resolve().parents[2] / "configs-example"


def test_desired_guests_are_made_once_per_estate_and_node() -> None:
    estate = load_estate(EXAMPLE)[0]
    first, again = desired_guests(estate, "pve1"), desired_guests(estate, "pve1")
    assert first == again and first is not again  # a new list each call ...
    assert all(a is b for a, b in zip(first, again, strict=True))  # ... of the same guests
    other = desired_guests(estate, "pve2")
    fresh = desired_guests(load_estate(EXAMPLE)[0], "pve2")
    assert other == fresh  # another default node: made for it, as a fresh estate makes them
    assert [d.target for d in first] == [d.target for d in other]


def _estate(tmp_path: Path, name: str, change: Callable[[dict[str, Any]], None]) -> Any:
    """configs-example copied to `tmp_path/name` with `change` made to its files (by file name), loaded."""
    folder = tmp_path / name
    shutil.copytree(EXAMPLE, folder)
    files = {path.name: json.loads(path.read_text()) for path in folder.glob("*.json")}
    change(files)
    for file_name, data in files.items():
        (folder / file_name).write_text(json.dumps(data))
    estate, report = load_estate(folder)
    assert report.valid, report.errors
    return estate


def _without_memory(files: dict[str, Any]) -> None:
    del files["phoenix_lxc_configs.json"]["lxc_configs"]["102"]["memory_mb"]


def test_a_new_revision_makes_anew_only_the_guests_it_changed(tmp_path: Path) -> None:
    def more_memory(files: dict[str, Any]) -> None:
        files["phoenix_lxc_configs.json"]["lxc_configs"]["101"]["memory_mb"] = 4096

    before = {d.target: d for d in desired_guests(_estate(tmp_path, "a", lambda files: None), "pve1")}
    changed = _estate(tmp_path, "b", more_memory)
    after = {d.target: d for d in desired_guests(changed, "pve1")}
    assert after["lxc/101"].config["memory"] == "4096"
    assert [t for t in after if after[t] is not before[t]] == ["lxc/101"]
    assert desired_keys(changed, "pve1")[101] == desired_key(after["lxc/101"]) != desired_key(before["lxc/101"])


def test_changed_defaults_reach_every_guest_that_takes_them(tmp_path: Path) -> None:
    def other_defaults(files: dict[str, Any]) -> None:
        _without_memory(files)
        files["phoenix_hypervisor_config.json"]["proxmox_defaults"]["lxc"]["memory_mb"] = 768
        files["phoenix_vm_configs.json"]["vm_defaults"]["cores"] = 6

    before = {d.target: d for d in desired_guests(_estate(tmp_path, "a", _without_memory), "pve1")}
    after = {d.target: d for d in desired_guests(_estate(tmp_path, "b", other_defaults), "pve1")}
    assert (before["lxc/102"].config["memory"], after["lxc/102"].config["memory"]) == ("512", "768")
    assert (before["vm/9000"].config["cores"], after["vm/9000"].config["cores"]) == ("2", "6")
    assert after["vm/1001"].config["cores"] == "2"  # its own value stands
