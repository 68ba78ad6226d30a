"""Health checks under the URL policy (issue 18): the controller itself dials what a health check names, so
a check is a request from the controller's host. A guest's own address (a static IP the config gives a
guest) may be checked over http or tcp; any other target is judged like a download URL (`policy-url`,
naming the setting), and only http and https are ever fetched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gitops.config.validation import validate_directory
from gitops.settings import HostPolicy

LXC = "phoenix_lxc_configs.json"
GUEST_IP = "10.20.0.22"  # configs-example's CT 120 (build-runner)


def _with_checks(directory: Path, checks: list[dict[str, Any]], ctid: str = "120") -> None:
    path = directory / LXC
    data = json.loads(path.read_text(encoding="utf-8"))
    data["lxc_configs"][ctid]["health_checks"] = checks
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _codes(directory: Path, policy: HostPolicy | None = None) -> list[tuple[str, str]]:
    _, report = validate_directory(directory, policy or HostPolicy())
    return [(p.code, p.message) for p in report.errors]


def test_the_example_guest_address_is_checked_as_before(example_dir: Path) -> None:
    data = json.loads((example_dir / LXC).read_text())
    assert data["lxc_configs"]["120"]["network_config"]["ip"].startswith(GUEST_IP + "/")
    _with_checks(example_dir, [{"type": "tcp", "port": 22}, {"type": "tcp", "host": GUEST_IP, "port": 22},
                               {"type": "http", "url": f"http://{GUEST_IP}:8080/health"},
                               {"type": "http", "url": "https://status.example.org/ping"}])
    assert _codes(example_dir) == []


HOSTILE = [
    ({"type": "http", "url": "https://169.254.169.254/latest/meta-data/iam"}, "url_allow_private"),
    ({"type": "http", "url": "http://169.254.169.254/latest/meta-data/iam"}, "url_allow_http"),
    ({"type": "http", "url": "https://127.0.0.1:8006/api2/json/version"}, "url_allow_private"),
    ({"type": "http", "url": "https://[::1]:8080/api/v1/status"}, "url_allow_private"),
    ({"type": "http", "url": "https://localhost/"}, "url_allow_private"),
    ({"type": "http", "url": "http://10.9.9.9/admin"}, "url_allow_http"),
    ({"type": "http", "url": "file:///etc/shadow"}, "only https"),
    ({"type": "http", "url": "ftp://files.example.org/x"}, "only https"),
    ({"type": "tcp", "host": "127.0.0.1", "port": 5432}, "url_allow_private"),
    ({"type": "tcp", "host": "169.254.169.254", "port": 80}, "url_allow_private"),
    ({"type": "tcp", "host": "10.9.9.9", "port": 22}, "url_allow_private"),
    ({"type": "http", "host": "0x7f000001", "port": 8080}, "url_allow_private"),
]


@pytest.mark.parametrize(("check", "setting"), HOSTILE)
def test_an_inward_health_check_is_refused_naming_the_setting(example_dir: Path, check: dict[str, Any],
                                                              setting: str) -> None:
    _with_checks(example_dir, [check])
    [(code, message)] = _codes(example_dir)
    assert code == "policy-url"
    assert setting in message and "health check" in message


def test_a_guest_address_that_is_loopback_is_no_guest(example_dir: Path) -> None:
    path = example_dir / LXC
    data = json.loads(path.read_text())
    data["lxc_configs"]["120"]["network_config"]["ip"] = "127.0.0.9/8"
    path.write_text(json.dumps(data, indent=2))
    _with_checks(example_dir, [{"type": "tcp", "port": 22}])
    assert [code for code, _ in _codes(example_dir) if code == "policy-url"] == ["policy-url"]


def test_the_operator_widens_the_health_check_targets(example_dir: Path) -> None:
    _with_checks(example_dir, [{"type": "tcp", "host": "127.0.0.1", "port": 5432},
                               {"type": "http", "url": "http://10.9.9.9/health"}])
    assert _codes(example_dir, HostPolicy(url_allow_private=True, url_allow_http=True)) == []
    _with_checks(example_dir, [{"type": "http", "url": "https://status.example.org/ping"}])
    assert "url_hosts" in _codes(example_dir, HostPolicy(url_hosts=["images.example.org"]))[0][1]
    _with_checks(example_dir, [{"type": "http", "url": "file:///etc/shadow"}])
    assert _codes(example_dir, HostPolicy(url_allow_private=True, url_allow_http=True))  # never a file
