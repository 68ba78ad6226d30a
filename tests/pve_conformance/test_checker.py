"""The conformance checker itself: what PVE 8.4 takes passes, what it refuses is named (so a new driver
request PVE would refuse fails `test_recorded`)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pve_conformance.schema import problems

NET = "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1"


@pytest.mark.parametrize(("method", "path", "params"), [
    ("POST", "/nodes/pve1/lxc", {"vmid": 101, "ostemplate": "local:vztmpl/d.tar.zst", "net0": NET,
                                 "mp0": "/srv/data,mp=/data,shared=1", "features": "nesting=1"}),
    ("PUT", "/nodes/pve1/qemu/1001/config", {"cores": 2, "ipconfig0": "ip=dhcp", "delete": "serial0"}),
    ("POST", "/nodes/pve1/storage/local/download-url",
     {"content": "import", "filename": "noble-server-cloudimg-amd64.qcow2", "url": "https://example.org/n.img"}),
    ("POST", "/nodes/pve1/qemu", {"vmid": 9000, "scsi0": "local-lvm:0,import-from=local:import/noble.qcow2"}),
    ("POST", "/nodes/pve1/qemu/1001/agent/exec", {"command": ["cat", "/etc/hostname"]}),
    ("GET", "/nodes/pve1/tasks/UPID:pve1:0001:0002:0003:qmcreate:100:root@pam:/status", {}),
])
def test_what_pve_takes_passes(method: str, path: str, params: dict[str, Any]) -> None:
    assert problems(method, path, params) == []


@pytest.mark.parametrize(("method", "path", "params", "token", "wording"), [
    ("POST", "/nodes/pve1/lxcs", {}, False, "no such path"),
    ("DELETE", "/nodes/pve1/storage/local/download-url", {}, False, "has no DELETE here"),
    ("POST", "/nodes/pve1/lxc", {"vmid": 101, "ostemplate": "t", "colour": "red"}, False,
     "colour: property is not defined in schema"),
    ("POST", "/nodes/pve1/lxc", {"vmid": 101}, False, "ostemplate: property is missing and it is not optional"),
    ("POST", "/nodes/pve1/lxc", {"vmid": "ten", "ostemplate": "t"}, False, "vmid: type check ('integer') failed"),
    ("POST", "/nodes/pve1/lxc", {"vmid": 101, "ostemplate": "t", "arch": "sparc"}, False,
     "arch: value 'sparc' does not have a value in the enumeration"),
    ("POST", "/nodes/pve1/lxc", {"vmid": 101, "ostemplate": "t", "net0": "name=eth0,bridge=vmbr0,colour=red"},
     False, "invalid key in comma-separated list property: colour"),
    ("POST", "/nodes/pve1/lxc", {"vmid": 101, "ostemplate": "t", "net0": "bridge=vmbr0"}, False,
     "net0.name: property is missing"),
    ("POST", "/nodes/pve1/storage/local/download-url",
     {"content": "import", "filename": "noble-server-cloudimg-amd64.img", "url": "https://example.org/n.img"},
     False, "invalid filename or wrong extension"),
    ("POST", "/nodes/pve1/qemu", {"vmid": 9000, "scsi0": "local-lvm:0,import-from=local:import/noble.img"},
     False, "unable to parse directory volume name 'import/noble.img'"),
    ("POST", "/nodes/pve1/qemu/1001/agent/file-write", {"file": "/x", "content": "x" * 61441}, False,
     "content: value may only be 61440 characters long"),
    ("POST", "/nodes/pve1/lxc", {"vmid": 101, "ostemplate": "t", "mp0": "/srv,mp=/srv"}, True,
     "mount point type bind is only allowed for root@pam"),
    ("POST", "/nodes/pve1/lxc", {"vmid": 101, "ostemplate": "t", "features": "keyctl=1"}, True,
     "changing feature flags (except nesting) is only allowed for root@pam"),
])
def test_what_pve_refuses_is_named(method: str, path: str, params: dict[str, Any], token: bool,
                                   wording: str) -> None:
    found = problems(method, path, params, token=token)
    assert any(wording in p for p in found), found
