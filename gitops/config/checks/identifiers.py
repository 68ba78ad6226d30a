"""Checks of values that end up in an API path or a PVE property string, against PVE's and Portainer's formats.

A node name, a storage id, a snapshot name or a stack name is put into a URL (`nodes/{node}/...`,
`storage/{storage}/download-url`, `snapshot/{snapname}`); a bridge or a mount path into a property
string (`net0: name=eth0,bridge=...`). Without these checks `"node": "../../access/users"` sends a
request to another part of the API. Called by `gitops.config.validation`. Codes (errors): node-invalid,
storage-id-invalid, snapshot-name-invalid, stack-name-invalid, bridge-invalid, mount-path-invalid.

The formats are PVE's own (`pve-node`, `pve-storage-id`, `pve-configid` at most 40 characters,
`pve-bridge-id`), as the PVE API schema fakepve ships defines them, and Portainer's for stack names
(lower-case letters, digits, `-` and `_`, starting with a letter or digit: Docker Compose project names).
"""

from __future__ import annotations

import re

from gitops.config.checks.local import each_guest
from gitops.config.estate import HYPERVISOR_FILE, LXC_FILE, STACKS_FILE, VM_FILE, Estate
from gitops.config.lxc import LxcGuest
from gitops.config.problems import PathPart, Report, shorten
from gitops.config.templates import template_storage
from gitops.config.vm import Vm

NODE = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")
STORAGE_ID = re.compile(r"[A-Za-z][A-Za-z0-9\-_.]*[A-Za-z0-9]")
SNAPSHOT = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{1,39}")
STACK = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
BRIDGE = re.compile(r"[-_.A-Za-z0-9]{1,64}")
MOUNT_PATH = re.compile(r"/[^,;=\s\x00-\x1f]*")

_Path = tuple[PathPart, ...]


def check_identifiers(estate: Estate, report: Report) -> None:
    _node(report, HYPERVISOR_FILE, ("node",), estate.hypervisor.node)
    for ds_index, ds in enumerate(estate.hypervisor.zfs.datasets):
        _storage(report, HYPERVISOR_FILE, ("zfs", "datasets", ds_index), ds.storage_id)
    for key, sid in estate.hypervisor.proxmox_storage_ids.items():
        _storage(report, HYPERVISOR_FILE, ("proxmox_storage_ids", key), sid)
    for sid in estate.hypervisor.storages:
        _storage(report, HYPERVISOR_FILE, ("storages", sid), sid)
    each_guest(estate, report, LXC_FILE, _container, "identifiers")
    _storage(report, VM_FILE, ("vm_defaults", "storage_pool"), estate.vms.vm_defaults.storage_pool)
    _bridge(report, VM_FILE, ("vm_defaults", "network_bridge"), estate.vms.vm_defaults.network_bridge)
    each_guest(estate, report, VM_FILE, _vm, "identifiers")
    for name, stack in estate.stacks.docker_stacks.items():
        if not STACK.fullmatch(name):
            report.error(STACKS_FILE, ("docker_stacks", name), "stack-name-invalid",
                         f"stack name '{shorten(name)}' is not a valid Portainer stack name (lower-case letters, "
                         "digits, '-' and '_', starting with a letter or digit, at most 63 characters)")
        for env in stack.environments:
            if not STACK.fullmatch(env):
                report.error(STACKS_FILE, ("docker_stacks", name, "environments", env), "stack-name-invalid",
                             f"environment name '{shorten(env)}' is not valid (lower-case letters, digits, "
                             "'-' and '_', starting with a letter or digit)")


def _container(report: Report, path: _Path, ct: LxcGuest) -> None:
    _node(report, LXC_FILE, (*path, "node"), ct.node)
    _storage(report, LXC_FILE, (*path, "storage_pool"), ct.storage_pool)
    for i, vol in enumerate(ct.zfs_volumes):
        _storage(report, LXC_FILE, (*path, "zfs_volumes", i, "pool"), vol.pool)
        _mount_path(report, (*path, "zfs_volumes", i, "mount_point"), vol.mount_point)
    if ct.template and ct.clone_from_ctid is None:
        _storage(report, LXC_FILE, (*path, "template"), template_storage(ct.template))
    _snapshot(report, LXC_FILE, (*path, "template_snapshot_name"), ct.template_snapshot_name)
    for name, net in (("network_config", ct.network_config), ("secondary_network_config",
                                                              ct.secondary_network_config)):
        if net is not None:
            _bridge(report, LXC_FILE, (*path, name, "bridge"), net.bridge)
    for i, mp in enumerate(ct.mount_points):
        _mount_path(report, (*path, "mount_points", i, "host_path"), mp.host_path)
        _mount_path(report, (*path, "mount_points", i, "container_path"), mp.container_path)


def _vm(report: Report, vpath: _Path, vm: Vm) -> None:
    _node(report, VM_FILE, (*vpath, "node"), vm.node)
    _storage(report, VM_FILE, (*vpath, "storage_pool"), vm.storage_pool)
    _snapshot(report, VM_FILE, (*vpath, "template_snapshot_name"), vm.template_snapshot_name)
    _bridge(report, VM_FILE, (*vpath, "network_bridge"), vm.network_bridge)
    if vm.network_config is not None:
        _bridge(report, VM_FILE, (*vpath, "network_config", "bridge"), vm.network_config.bridge)


def _node(report: Report, file: str, path: _Path, value: str | None) -> None:
    if value is not None and not NODE.fullmatch(value):
        report.error(file, path, "node-invalid",
                     f"'{shorten(value)}' is not a valid Proxmox node name (letters, digits and '-', "
                     "not starting or ending with '-', at most 63 characters)")


def _storage(report: Report, file: str, path: _Path, value: str | None) -> None:
    if value is not None and not STORAGE_ID.fullmatch(value):
        report.error(file, path, "storage-id-invalid",
                     f"'{shorten(value)}' is not a valid Proxmox storage id (a letter, then letters, digits, "
                     "'-', '_' or '.', ending with a letter or digit)")


def _snapshot(report: Report, file: str, path: _Path, value: str | None) -> None:
    if value is not None and not SNAPSHOT.fullmatch(value):
        report.error(file, path, "snapshot-name-invalid",
                     f"'{shorten(value)}' is not a valid snapshot name (a letter, then letters, digits, "
                     "'-' or '_', 2 to 40 characters)")


def _bridge(report: Report, file: str, path: _Path, value: str | None) -> None:
    if value is not None and not BRIDGE.fullmatch(value):
        report.error(file, path, "bridge-invalid",
                     f"'{shorten(value)}' is not a valid bridge name (letters, digits, '-', '_' and '.')")


def _mount_path(report: Report, path: _Path, value: str) -> None:
    if not MOUNT_PATH.fullmatch(value):
        report.error(LXC_FILE, path, "mount-path-invalid",
                     f"'{shorten(value)}' is not a usable mount path (absolute; no ',', ';', '=', spaces "
                     "or control characters, which PVE reads as more options)")

