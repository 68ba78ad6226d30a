"""The host policy (settings, not the config repo): hostile commits are rejected with the rule they broke,
each upstream version is judged, and an operator can widen the policy.

Each case edits CT 120 of configs-example (a clone with nothing special) and validates with the policy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitops.config.validation import validate_directory
from gitops.settings import HostPolicy, load_settings

LXC = "phoenix_lxc_configs.json"
UPSTREAM = Path(__file__).resolve().parents[2] / "tests" / "data" / "phoenix-upstream"
Edit = Callable[[dict[str, Any]], None]


def mount(host: str) -> Edit:
    return lambda ct: ct.setdefault("mount_points", []).append({"host_path": host, "container_path": "/data"})


def option(line: str) -> Edit:
    return lambda ct: ct.setdefault("lxc_options", []).append(line)


def put(key: str, value: Any) -> Edit:
    return lambda ct: ct.__setitem__(key, value)


HOSTILE: list[tuple[str, Edit, str, str]] = [  # (case, edit of CT 120, code, path under lxc_configs.120)
    ("root", mount("/"), "policy-bind-mount", "mount_points.0.host_path"),
    ("etc", mount("/etc"), "policy-bind-mount", "mount_points.0.host_path"),
    ("ssh keys", mount("/root/.ssh"), "policy-bind-mount", "mount_points.0.host_path"),
    ("docker socket", mount("/var/run/docker.sock"), "policy-bind-mount", "mount_points.0.host_path"),
    ("dot-dot out of an allowed folder", mount("/mnt/pve/../../etc"), "policy-bind-mount",
     "mount_points.0.host_path"),
    ("prefix that is not a folder", mount("/mnt/pvefoo"), "policy-bind-mount", "mount_points.0.host_path"),
    ("relative", mount("mnt/pve/x"), "policy-bind-mount", "mount_points.0.host_path"),
    ("privileged", put("unprivileged", False), "policy-privileged", "unprivileged"),
    ("hook", option("lxc.hook.pre-start: /bin/sh -c 'id > /tmp/x'"), "policy-lxc-option", "lxc_options.0"),
    ("block device rule", option("lxc.cgroup2.devices.allow: b 8:* rwm"), "policy-device", "lxc_options.0"),
    ("host disk node", option("lxc.mount.entry: /dev/sda dev/sda none bind,create=file"), "policy-device",
     "lxc_options.0"),
    ("host folder by mount entry", option("lxc.mount.entry=/etc etc2 none bind"), "policy-bind-mount",
     "lxc_options.0"),
    ("id map onto root", put("id_maps", [{"type": "uid", "host_id": 0, "container_id": 0, "size": 1}]),
     "policy-id-map-root", "id_maps.0.host_id"),
]


def _edit_ct(directory: Path, edit: Edit) -> None:
    path = directory / LXC
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data["lxc_configs"]["120"])
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


@pytest.mark.parametrize(("case", "edit", "code", "where"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_commit_is_rejected_with_the_rule(example_dir: Path, case: str, edit: Edit, code: str,
                                                  where: str) -> None:
    _edit_ct(example_dir, edit)
    _, report = validate_directory(example_dir)
    assert not report.valid
    got = [(p.code, p.to_dict()["path"]) for p in report.errors]
    assert (code, f"lxc_configs.120.{where}") in got, case
    assert {path for _, path in got} == {f"lxc_configs.120.{where}"}, got
    assert report.errors[0].line > 0  # placed on the text, like every problem


@pytest.mark.parametrize("rule", ["lxc.cgroup2.devices.allow: a", "lxc.cgroup2.devices.allow = c *:* rwm"])
def test_an_all_device_rule_is_refused_on_a_privileged_container_and_a_warning_on_an_unprivileged_one(
        example_dir: Path, rule: str) -> None:
    _edit_ct(example_dir, option(rule))
    _, report = validate_directory(example_dir)
    assert report.errors == []
    assert [(p.code, p.to_dict()["path"]) for p in report.warnings if p.code.startswith("policy-")] == [
        ("policy-all-devices", "lxc_configs.120.lxc_options.0")]
    _, strict = validate_directory(example_dir, HostPolicy(all_devices="reject"))
    assert [p.code for p in strict.errors] == ["policy-all-devices"]
    _edit_ct(example_dir, put("unprivileged", False))
    _, privileged = validate_directory(example_dir, HostPolicy(allow_privileged=True))
    assert [p.code for p in privileged.errors] == ["policy-all-devices"]
    _, allowed = validate_directory(example_dir, HostPolicy(allow_privileged=True, all_devices="allow"))
    assert allowed.errors == [] and not [p for p in allowed.warnings if p.code.startswith("policy-")]


def test_the_default_is_the_same_with_or_without_settings(example_dir: Path) -> None:
    _edit_ct(example_dir, mount("/etc"))
    _, report = validate_directory(example_dir, load_settings().policy)
    assert [p.code for p in report.errors] == ["policy-bind-mount"]


def test_allowed_things_pass(example_dir: Path) -> None:
    for edit in (mount("/mnt/pve/tank/data"), mount("/usr/local/phoenix_hypervisor/etc"),
                 option("lxc.apparmor.profile: unconfined"), option("lxc.mount.auto:sys:rw"),
                 option("lxc.cgroup2.devices.allow: c 195:* rwm"),
                 option("lxc.mount.entry: /dev/nvidia0 dev/nvidia0 none bind,optional,create=file"),
                 option("lxc.net.0.type: macvlan"), put("gpu_assignment", "0,1")):
        _edit_ct(example_dir, edit)
    _, report = validate_directory(example_dir)
    assert report.errors == []


def test_the_operator_widens_the_policy_in_settings(example_dir: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _edit_ct(example_dir, mount("/srv/media"))
    _edit_ct(example_dir, put("unprivileged", False))
    _edit_ct(example_dir, option("lxc.cgroup2.devices.allow: a"))
    toml = tmp_path / "settings.toml"
    toml.write_text('[policy]\nbind_mount_prefixes = ["/mnt/pve", "/srv"]\nallow_privileged = true\n',
                    encoding="utf-8")
    monkeypatch.setenv("PHOENIX_POLICY__ALL_DEVICES", "allow")
    _, report = validate_directory(example_dir, load_settings(toml).policy)
    assert report.errors == []


def _upstream_versions() -> list[Path]:
    return [UPSTREAM, *sorted(p for p in (UPSTREAM / "history").iterdir() if p.is_dir())]


# The two September 2025 versions (829c047, 106c349) give the Docker template 902 and the n8n CT 954
# `lxc.cgroup2.devices.allow=a`: every host device. Both are unprivileged, so the default policy
# accepts the rule with a warning (they cannot create device nodes); a strict policy refuses it.
ALL_DEVICE_VERSIONS = {"829c047": {"902", "954"}, "106c349": {"902", "954"}}


@pytest.mark.parametrize("version", _upstream_versions(), ids=lambda p: p.name)
def test_every_upstream_version_meets_the_default_policy(version: Path) -> None:
    _, report = validate_directory(version)
    assert [p for p in report.errors if p.code.startswith("policy-")] == []
    warned = {(p.code, str(p.path[1])) for p in report.warnings if p.code.startswith("policy-")}
    expected = ALL_DEVICE_VERSIONS.get(version.name, set())
    assert warned == {("policy-all-devices", ct) for ct in expected}
    _, strict = validate_directory(version, HostPolicy(all_devices="reject"))
    refused = {(p.code, str(p.path[1])) for p in strict.errors if p.code.startswith("policy-")}
    assert refused == {("policy-all-devices", ct) for ct in expected}


def test_a_vm_mount_point_is_held_to_the_same_folders(example_dir: Path) -> None:
    path = example_dir / "phoenix_vm_configs.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["vms"][0]["mount_points"] = [{"host_path": "/etc", "container_path": "/x"}]
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    _, report = validate_directory(example_dir)
    assert ("policy-bind-mount", "vms.0.mount_points.0.host_path") in [
        (p.code, p.to_dict()["path"]) for p in report.errors]
