"""Template and cloud-image URLs under the host policy (issue 18): PVE downloads them from the node, so a
URL pointing inward (metadata, loopback, the PVE API itself, a file) is refused at validation, naming the
setting that would allow it; nothing is sent to PVE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops.config.validation import validate_directory
from gitops.settings import HostPolicy

LXC = "phoenix_lxc_configs.json"


def _set_url(directory: Path, url: str) -> None:
    path = directory / LXC
    data = json.loads(path.read_text(encoding="utf-8"))
    data["lxc_configs"]["900"]["template_url"] = url
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


HOSTILE = [
    ("http://169.254.169.254/latest/meta-data/iam", "url_allow_http"),
    ("https://169.254.169.254/latest/meta-data/", "url_allow_private"),
    ("https://127.0.0.1:8006/api2/json/access/ticket", "url_allow_private"),
    ("https://127.1/x.tar.zst", "url_allow_private"),
    ("https://0x7f000001/x.tar.zst", "url_allow_private"),
    ("https://2130706433/x.tar.zst", "url_allow_private"),
    ("https://[::1]/x.tar.zst", "url_allow_private"),
    ("https://[::ffff:10.0.0.1]/x.tar.zst", "url_allow_private"),
    ("https://10.20.0.5/x.tar.zst", "url_allow_private"),
    ("https://192.168.1.1/x.tar.zst", "url_allow_private"),
    ("https://localhost/x.tar.zst", "url_allow_private"),
    ("https://metadata.google.internal/computeMetadata/v1/", "url_allow_private"),
    ("file:///etc/shadow", "url_allow_http"),
    ("ftp://mirror.example.org/x.tar.zst", "url_allow_http"),
    ("https://mirror.example.org/x\x0b.tar.zst", "control characters"),
]


@pytest.mark.parametrize(("url", "setting"), HOSTILE, ids=[u for u, _ in HOSTILE])
def test_an_inward_url_is_refused_naming_the_setting(example_dir: Path, url: str, setting: str) -> None:
    _set_url(example_dir, url)
    _, report = validate_directory(example_dir)
    assert [(p.code, p.to_dict()["path"]) for p in report.errors] == [
        ("policy-url", "lxc_configs.900.template_url")]
    assert setting in report.errors[0].message


def test_the_operator_widens_or_narrows_the_url_policy(example_dir: Path) -> None:
    _set_url(example_dir, "http://10.20.0.5/debian.tar.zst")
    _, report = validate_directory(example_dir, HostPolicy(url_allow_http=True, url_allow_private=True))
    assert report.errors == []
    _set_url(example_dir, "https://download.proxmox.com/images/system/debian.tar.zst")
    assert validate_directory(example_dir)[1].errors == []
    _, listed = validate_directory(example_dir, HostPolicy(url_hosts=[".example.org"]))
    assert {p.code for p in listed.errors} == {"policy-url"} and "url_hosts" in listed.errors[0].message
    _, allowed = validate_directory(example_dir, HostPolicy(url_hosts=["download.proxmox.com",
                                                                       ".example.internal"]))
    assert allowed.errors == []


def test_a_vm_image_url_is_judged_too(example_dir: Path) -> None:
    path = example_dir / "phoenix_vm_configs.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    vm = next(v for v in data["vms"] if v.get("template_image_url"))
    vm["template_image_url"] = "http://169.254.169.254/img"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    _, report = validate_directory(example_dir)
    assert [p.code for p in report.errors] == ["policy-url"]


@pytest.mark.parametrize(("url", "setting"), [
    ("https://169.254.169.254/latest/meta-data/", "url_allow_private"),
    ("https://127.0.0.1:9443/api/", "url_allow_private"),
    ("http://git.example.org/team/app.git", "url_allow_http"),
    ("file:///data/portainer.db", "only https"),
    ("ssh://git@10.0.0.5/team/app.git", "only https"),
])
def test_a_stack_repository_portainer_would_clone_is_judged_too(example_dir: Path, url: str, setting: str) -> None:
    path = example_dir / "phoenix_stacks_config.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["docker_stacks"]["webapp"]["git_url"] = url
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    _, report = validate_directory(example_dir)
    [problem] = report.errors
    assert (problem.code, problem.path) == ("policy-url", ("docker_stacks", "webapp", "git_url"))
    assert setting in problem.message and "Portainer would clone" in problem.message
    data["docker_stacks"]["webapp"]["git_url"] = "https://git.example.org/team/app.git"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    assert validate_directory(example_dir)[1].errors == []
