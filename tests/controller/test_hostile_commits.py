"""Hostile commits against the reconcile: each is rejected with the rule it broke, nothing reaches
Proxmox, the loop goes on and applies the next valid commit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.controller.conftest import Ctl
from tests.controller.support import changes_sent, small_estate

LXC = "phoenix_lxc_configs.json"


def with_web(change: dict[str, Any]) -> dict[str, str]:
    files = small_estate()
    data = json.loads(files[LXC])
    data["lxc_configs"]["101"].update(change)
    files[LXC] = json.dumps(data, indent=2)
    return files


def with_template_url(url: str) -> dict[str, str]:
    files = small_estate()
    data = json.loads(files[LXC])
    data["lxc_configs"]["900"]["template_url"] = url
    files[LXC] = json.dumps(data, indent=2)
    return files


def raw_web_field(field: str, raw: str) -> dict[str, str]:
    files = with_web({field: "@@RAW@@"})
    files[LXC] = files[LXC].replace('"@@RAW@@"', raw)
    return files


HOSTILE: dict[str, tuple[dict[str, str], str]] = {
    "host root bind mount": (with_web({"mount_points": [{"host_path": "/", "container_path": "/host"}]}),
                             "policy-bind-mount"),
    "docker socket": (with_web({"mount_points": [{"host_path": "/var/run/docker.sock",
                                                  "container_path": "/var/run/docker.sock"}]}), "policy-bind-mount"),
    "privileged": (with_web({"unprivileged": False}), "policy-privileged"),
    "all devices, privileged": (with_web({"unprivileged": False, "lxc_options": ["lxc.cgroup2.devices.allow: a"]}),
                                "policy-all-devices"),
    "network hook (issue 18)": (with_web({"lxc_options": ["lxc.net.0.script.up: /bin/sh -c 'id > /root/pwned'"]}),
                                "policy-lxc-option"),
    "overlay mount entry": (with_web({"lxc_options": ["lxc.mount.entry: overlay mnt/x overlay lowerdir=/etc 0 0"]}),
                            "policy-mount-entry"),
    "relative rbind source": (with_web({"lxc_options": ["lxc.mount.entry: etc mnt/e2 none rbind,create=dir 0 0"]}),
                              "policy-mount-entry"),
    "vertical tab": (with_web({"lxc_options": ["lxc.apparmor.profile: unconfined\x0b"]}),
                     "host-option-control-character"),
    "template URL to the PVE API": (with_template_url("http://127.0.0.1:8006/api2/json/nodes"), "policy-url"),
    "template URL to cloud metadata": (with_template_url("https://169.254.169.254/latest/"), "policy-url"),
    "node path injection": (with_web({"node": "../../access/users"}), "node-invalid"),
    "deep nesting": (raw_web_field("description", "[" * 100_000 + "]" * 100_000), "json-too-deep"),
    "5,000-digit integer": (raw_web_field("memory_mb", "9" * 5000), "json-number-too-long"),
    "10^30 MiB of memory": (with_web({"memory_mb": 10**30}), "invalid-value"),
    "5 MB name": (with_web({"name": "n" * 5_000_000}), "hostname-invalid"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_commit_is_rejected_and_the_next_valid_one_applied(ctl: Ctl, pve: Any, case: str) -> None:
    files, code = HOSTILE[case]
    bad = ctl.remote.commit(files, case)
    pve.requests.clear()
    assert ctl.run().action == "rejected"
    assert changes_sent(pve) == []  # nothing reached Proxmox but the login
    record = ctl.store.get_revision(bad)
    assert record.status == "rejected"
    assert code in [e["code"] for e in record.validation.stored()["errors"]]
    assert record.validation is not None and len(json.dumps(record.validation.stored())) < 5000
    assert all(len(e.message) < 3000 and len(json.dumps(e.data)) < 5000 for e in ctl.store.list_events(20))
    assert len(record.error or "") < 3000
    assert ctl.run().action == "none"  # not tried again on the next poll
    good = ctl.remote.commit(small_estate(memory=768), "valid again")
    assert ctl.run().action == "applied"
    assert ctl.status(good) == "applied"


def test_a_validator_crash_rejects_the_commit_instead_of_wedging_the_loop(
        ctl: Ctl, monkeypatch: pytest.MonkeyPatch) -> None:
    from gitops.controller import steps

    def crash(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(steps, "validate_directory", crash)
    bad = ctl.remote.commit(small_estate(memory=640), "crashes the validator")
    assert ctl.run().action == "rejected"
    assert ctl.status(bad) == "rejected"
    assert ctl.store.get_revision(bad).validation.stored()["errors"][0]["code"] == "validation-crashed"
    monkeypatch.undo()
    good = ctl.remote.commit(small_estate(memory=768), "valid again")
    assert ctl.run().action == "applied"
    assert ctl.status(good) == "applied"
