"""The simulated node refuses what PVE 8.4 refuses (gitops/demo/pve_rules.py), through the real client
over HTTPS, with PVE's message and status. Each test names the PVE source file the rule was read from."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gitops.drivers.proxmox.connection import ProxmoxClient, connect
from gitops.drivers.proxmox.tasks import wait_for_task
from gitops.errors import DriverError, TaskFailedError
from gitops.settings import Settings
from tests.conftest import DEBIAN_TEMPLATE, PveHandle

URL = "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img"


@pytest.fixture
def token_client(pve_token_settings: Settings) -> Iterator[ProxmoxClient]:
    with connect(pve_token_settings, sleep=lambda _s: None) as client:
        yield client


def _status(pve_client: ProxmoxClient, method: str, path: str, params: dict[str, Any]) -> DriverError:
    with pytest.raises(DriverError) as caught:
        pve_client.request(method, path, params)
    return caught.value


def _import_storage(pve: PveHandle) -> None:
    pve.storages["local"]["content"] = "iso,vztmpl,backup,import"


# pve-storage src/PVE/API2/Storage/Status.pm (download_url) with src/PVE/Storage.pm $UPLOAD_IMPORT_EXT_RE_1
@pytest.mark.parametrize("filename", ["noble-server-cloudimg-amd64.img", "disk.ovf", "image"])
def test_download_url_import_takes_only_ova_qcow2_raw_vmdk(pve: PveHandle, pve_client: ProxmoxClient,
                                                          filename: str) -> None:
    _import_storage(pve)
    error = _status(pve_client, "POST", "nodes/pve1/storage/local/download-url",
                    {"content": "import", "filename": filename, "url": URL})
    assert "400 Parameter verification failed" in str(error) and "invalid filename or wrong extension" in str(error)
    assert not any(v.startswith("import/") for v in pve.storages["local"]["volumes"])


def test_download_url_import_stores_a_qcow2_under_its_name(pve: PveHandle, pve_client: ProxmoxClient) -> None:
    _import_storage(pve)
    upid = pve_client.request("POST", "nodes/pve1/storage/local/download-url",
                              {"content": "import", "filename": "noble-server-cloudimg-amd64.qcow2", "url": URL})
    assert wait_for_task(pve_client, upid).exitstatus == "OK"
    listed = pve_client.request("GET", "nodes/pve1/storage/local/content", {"content": "import"})
    assert "local:import/noble-server-cloudimg-amd64.qcow2" in {v["volid"] for v in listed}


# pve-storage src/PVE/API2/Storage/Status.pm: iso takes .iso/.img, vztmpl .tar[.gz|.xz|.zst|.bz2]
@pytest.mark.parametrize(("content", "filename"), [("iso", "debian.qcow2"), ("vztmpl", "debian.img")])
def test_download_url_iso_and_vztmpl_extensions(pve_client: ProxmoxClient, content: str, filename: str) -> None:
    error = _status(pve_client, "POST", "nodes/pve1/storage/local/download-url",
                    {"content": content, "filename": filename, "url": URL})
    assert "wrong file extension" in str(error)


# qemu-server src/PVE/API2/Qemu.pm ($check_storage_access) -> pve-storage src/PVE/Storage/Plugin.pm parse_volname
def test_import_from_a_name_pve_cannot_parse_is_refused_before_any_task(pve: PveHandle,
                                                                       pve_client: ProxmoxClient) -> None:
    _import_storage(pve)
    pve.store_file("local", "noble-server-cloudimg-amd64.img", 600 * 1024**2, content="import")
    error = _status(pve_client, "POST", "nodes/pve1/qemu", {
        "vmid": 9100, "name": "cloud", "scsi0": "local-lvm:0,import-from=local:import/noble-server-cloudimg-amd64.img"})
    assert "500 unable to parse directory volume name 'import/noble-server-cloudimg-amd64.img'" in str(error)
    assert 9100 not in {vm.vmid for vm in pve.vms}


def test_import_from_a_qcow2_creates_the_disk_at_the_image_size(pve: PveHandle, pve_client: ProxmoxClient) -> None:
    _import_storage(pve)
    pve.store_file("local", "noble.qcow2", 3 * 1024**3, content="import")
    upid = pve_client.request("POST", "nodes/pve1/qemu", {
        "vmid": 9101, "name": "cloud", "scsi0": "local-lvm:0,import-from=local:import/noble.qcow2"})
    assert wait_for_task(pve_client, upid).exitstatus == "OK"
    assert "size=3G" in pve_client.request("GET", "nodes/pve1/qemu/9101/config")["scsi0"]


def _bind_ct(pve_client: ProxmoxClient, vmid: int, mount: str) -> None:
    upid = pve_client.request("POST", "nodes/pve1/lxc", {
        "vmid": vmid, "hostname": f"ct{vmid}", "ostemplate": DEBIAN_TEMPLATE, "rootfs": "local-lvm:4",
        "mp0": mount})
    assert wait_for_task(pve_client, upid).exitstatus == "OK"


# pve-container src/PVE/API2/LXC.pm (clone_vm): "unable to clone mountpoint" before the task
def test_clone_of_a_container_with_a_bind_mount_is_refused(pve: PveHandle, pve_client: ProxmoxClient) -> None:
    _bind_ct(pve_client, 950, "/srv/data,mp=/data")
    error = _status(pve_client, "POST", "nodes/pve1/lxc/950/clone", {"newid": 951, "full": 1})
    assert "500 unable to clone mountpoint 'mp0' (type bind)" in str(error)
    assert 951 not in {ct.vmid for ct in pve.cts}


# pve-container src/PVE/LXC/Migrate.pm (prepare): local bind mounts fail the migration task unless shared=1
def test_migrate_of_a_container_with_a_local_bind_mount_fails(pve: PveHandle, pve_client: ProxmoxClient) -> None:
    pve.add_node("pve2")
    _bind_ct(pve_client, 960, "/srv/data,mp=/data")
    upid = pve_client.request("POST", "nodes/pve1/lxc/960/migrate", {"target": "pve2"})
    with pytest.raises(TaskFailedError, match="task vzmigrate failed: cannot migrate local bind mount point 'mp0'"):
        wait_for_task(pve_client, upid)
    assert pve.guest(960).node == "pve1"


def test_migrate_of_a_container_with_a_shared_bind_mount_succeeds(pve: PveHandle, pve_client: ProxmoxClient) -> None:
    pve.add_node("pve2")
    _bind_ct(pve_client, 961, "/mnt/pve/nfs/data,mp=/data,shared=1")
    upid = pve_client.request("POST", "nodes/pve1/lxc/961/migrate", {"target": "pve2"})
    assert wait_for_task(pve_client, upid).exitstatus == "OK"
    assert pve.guest(961).node == "pve2"


def _running_vm(pve: PveHandle, pve_client: ProxmoxClient, vmid: int) -> None:
    upid = pve_client.request("POST", "nodes/pve1/qemu", {"vmid": vmid, "name": "agent", "agent": "1"})
    assert wait_for_task(pve_client, upid).exitstatus == "OK"
    started = pve_client.request("POST", f"nodes/pve1/qemu/{vmid}/status/start")
    assert wait_for_task(pve_client, started).exitstatus == "OK"


# qemu-server src/PVE/API2/Qemu/Agent.pm: file-write content maxLength 60 * 1024, exec input-data 64 * 1024
def test_agent_file_write_content_is_capped_at_61440(pve: PveHandle, pve_client: ProxmoxClient) -> None:
    _running_vm(pve, pve_client, 9200)
    path = "nodes/pve1/qemu/9200/agent/file-write"
    pve_client.request("POST", path, {"file": "/etc/ok", "content": "x" * 61440})
    error = _status(pve_client, "POST", path, {"file": "/etc/big", "content": "x" * 61441})
    assert "400 Parameter verification failed" in str(error)
    assert "value may only be 61440 characters long" in str(error)


def test_agent_exec_input_is_capped_at_65536(pve: PveHandle, pve_client: ProxmoxClient) -> None:
    _running_vm(pve, pve_client, 9201)
    path = "nodes/pve1/qemu/9201/agent/exec"
    pve_client.request("POST", path, {"command": ["cat"], "input-data": "x" * 65536})
    error = _status(pve_client, "POST", path, {"command": ["cat"], "input-data": "x" * 65537})
    assert "400 Parameter verification failed" in str(error)
    assert "value may only be 65536 characters long" in str(error)


# pve-container src/PVE/LXC.pm (check_ct_modify_config_perm): only `root@pam` itself, never a token
@pytest.mark.parametrize(("params", "wording"), [
    ({"mp0": "/srv/data,mp=/data"}, "mount point type bind is only allowed for root@pam"),
    ({"dev0": "/dev/dri/renderD128"}, "configuring device passthrough is only allowed for root@pam"),
    ({"features": "keyctl=1"}, "changing feature flags (except nesting) is only allowed for root@pam"),
])
def test_a_token_may_not_set_root_only_settings(token_client: ProxmoxClient, params: dict[str, str],
                                                wording: str) -> None:
    error = _status(token_client, "POST", "nodes/pve1/lxc", {
        "vmid": 970, "hostname": "ct970", "ostemplate": DEBIAN_TEMPLATE, "rootfs": "local-lvm:4",
        "unprivileged": 1, **params})
    assert f"403 Permission check failed ({wording})" in str(error)


def test_a_token_may_set_nesting(token_client: ProxmoxClient) -> None:
    upid = token_client.request("POST", "nodes/pve1/lxc", {
        "vmid": 971, "hostname": "ct971", "ostemplate": DEBIAN_TEMPLATE, "rootfs": "local-lvm:4",
        "unprivileged": 1, "features": "nesting=1"})
    assert wait_for_task(token_client, upid).exitstatus == "OK"
