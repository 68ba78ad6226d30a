"""Checks of what a commit may do to the Proxmox host, against the operator's `HostPolicy` (settings).

Called by `gitops.config.validation` with the policy of the settings (the committer does not choose
it). Codes (errors): policy-bind-mount (a host path outside the allowed folders), policy-privileged
(`unprivileged: false`), policy-lxc-option (a raw LXC key not in the explicit list, or a value its key
does not take), policy-mount-entry (an `lxc.mount.entry` that is not a plain bind mount of an absolute
host path into the container), policy-pct-option / policy-qm-option (a `pct_options` / `qm_options` key
not allowed), policy-device (a device node not allowed), policy-all-devices (a cgroup rule opening every
device: an error, or by default a warning on an unprivileged container), policy-id-map-root (an id map
onto host uid/gid 0). The lines arrive parsed (`gitops.config.hostoptions`); nothing here reads text.
"""

from __future__ import annotations

import functools
import posixpath
from fnmatch import fnmatchcase

from gitops.config.checks.access import check_access_policy
from gitops.config.checks.local import each_guest
from gitops.config.checks.urls import check_urls
from gitops.config.estate import HYPERVISOR_FILE, LXC_FILE, VM_FILE, Estate
from gitops.config.hostoptions import VALUE_RULES, KeyValueOption, LxcOption, mount_entry_problem
from gitops.config.lxc import LxcGuest
from gitops.config.problems import PathPart, Report, shorten
from gitops.config.vm import Vm
from gitops.settings import HostPolicy

_Path = tuple[PathPart, ...]
_CGROUP_ALLOW = ("lxc.cgroup2.devices.allow", "lxc.cgroup.devices.allow")


def check_policy(estate: Estate, report: Report, policy: HostPolicy) -> None:
    # Each guest's findings are kept with its entry, under the policy they were judged by (`local`).
    judged_by = policy.model_dump_json()
    each_guest(estate, report, LXC_FILE, functools.partial(_container, policy=policy), ("policy", judged_by))
    each_guest(estate, report, VM_FILE, functools.partial(_vm, policy=policy), ("policy", judged_by))
    for sid, storage in estate.hypervisor.storages.items():
        if storage.path is not None:
            _host_path(report, HYPERVISOR_FILE, ("storages", sid, "path"), storage.path, policy)
    check_access_policy(estate, report, policy)
    check_urls(estate, report, policy, judged_by)


def _container(report: Report, path: _Path, ct: LxcGuest, *, policy: HostPolicy) -> None:
    if not ct.unprivileged and not policy.allow_privileged:
        report.error(LXC_FILE, (*path, "unprivileged"), "policy-privileged",
                     "privileged containers are not allowed by the host policy (root in the container is "
                     "root on the host); set `policy.allow_privileged` in the controller's settings to allow")
    for i, mp in enumerate(ct.mount_points):
        _host_path(report, LXC_FILE, (*path, "mount_points", i, "host_path"), mp.host_path, policy)
    for i, option in enumerate(ct.lxc_options):
        _lxc_option(report, (*path, "lxc_options", i), option, policy, ct.unprivileged)
    for i, pct in enumerate(ct.pct_options):
        _keyed_option(report, LXC_FILE, (*path, "pct_options", i), pct, "pct", policy.pct_option_keys)
    if ct.gpu_assignment != "none":
        for dev in (f"/dev/nvidia{g.strip()}" for g in ct.gpu_assignment.split(",") if g.strip().isdigit()):
            _device(report, LXC_FILE, (*path, "gpu_assignment"), dev, policy)
    for i, idmap in enumerate(ct.id_maps):
        if idmap.host_id == 0 and not policy.allow_root_id_maps:
            report.error(LXC_FILE, (*path, "id_maps", i, "host_id"), "policy-id-map-root",
                         f"an id map onto host {idmap.type} 0 (root) is not allowed by the host policy")


def _vm(report: Report, vpath: _Path, vm: Vm, *, policy: HostPolicy) -> None:
    for i, qm in enumerate(vm.qm_options):
        _keyed_option(report, VM_FILE, (*vpath, "qm_options", i), qm, "qm", policy.qm_option_keys)
    # Upstream 2025-10 put `mount_points` on a VM; nothing reads it, but a host path is a host path.
    for i, mp in enumerate(getattr(vm, "mount_points", None) or []):
        host = mp.get("host_path") if isinstance(mp, dict) else getattr(mp, "host_path", None)
        if isinstance(host, str):
            _host_path(report, VM_FILE, (*vpath, "mount_points", i, "host_path"), host, policy)


def allowed_host_path(value: str, prefixes: list[str]) -> bool:
    """True when `value` is an absolute path without `..` that lies inside one of `prefixes`."""
    if not value.startswith("/") or any(part == ".." for part in value.split("/")):
        return False
    normal = posixpath.normpath(value)
    return any(normal == p.rstrip("/") or normal.startswith(p.rstrip("/") + "/") for p in prefixes if p)


def _host_path(report: Report, file: str, path: _Path, value: str, policy: HostPolicy) -> None:
    if not allowed_host_path(value, policy.bind_mount_prefixes):
        allowed = ", ".join(policy.bind_mount_prefixes) or "none"
        report.error(file, path, "policy-bind-mount",
                     f"host path '{shorten(value)}' is outside the folders the host policy allows "
                     f"(`policy.bind_mount_prefixes`: {allowed})")


def _device(report: Report, file: str, path: _Path, device: str, policy: HostPolicy) -> None:
    normal = posixpath.normpath(device) if device.startswith("/") else device
    if ".." in device.split("/") or not any(fnmatchcase(normal, pattern) for pattern in policy.devices):
        allowed = ", ".join(policy.devices) or "none"
        report.error(file, path, "policy-device",
                     f"device '{shorten(device)}' is not allowed by the host policy (`policy.devices`: {allowed})")


_FEATURES = ("nesting", "keyctl", "mknod", "fuse")


def _lxc_option(report: Report, path: _Path, option: LxcOption, policy: HostPolicy, unprivileged: bool) -> None:
    if option.pattern not in policy.lxc_option_keys:
        report.error(LXC_FILE, path, "policy-lxc-option",
                     f"raw LXC option '{shorten(option.key)}' is not allowed by the host policy "
                     f"(`policy.lxc_option_keys`: {', '.join(policy.lxc_option_keys) or 'none'})")
        return
    rule = VALUE_RULES.get(option.pattern)
    if rule is not None and not rule[1](option.value):
        report.error(LXC_FILE, path, "policy-lxc-option",
                     f"'{shorten(option.value)}' is not a value the host policy allows for {option.key} "
                     f"(it takes {rule[0]})")
        return
    if option.key in _CGROUP_ALLOW:
        _cgroup_rule(report, path, option.value, policy, unprivileged)
    elif option.mount is not None:
        problem = mount_entry_problem(option.mount)
        if problem is not None:
            report.error(LXC_FILE, path, "policy-mount-entry",
                         f"lxc.mount.entry: {problem}; the host policy allows only bind mounts of host paths under "
                         "`policy.bind_mount_prefixes` (or devices in `policy.devices`) into the container")
            return
        source = option.mount.source
        if source.startswith("/dev/") or source == "/dev":
            _device(report, LXC_FILE, path, source, policy)
        else:
            _host_path(report, LXC_FILE, path, source, policy)


def _keyed_option(report: Report, file: str, path: _Path, option: KeyValueOption, tool: str,
                  allowed: list[str]) -> None:
    if option.key not in allowed:
        report.error(file, path, f"policy-{tool}-option",
                     f"{tool}_options key '{shorten(option.key)}' is not allowed by the host policy "
                     f"(`policy.{tool}_option_keys`: {', '.join(allowed) or 'none'})")
    elif tool == "pct" and option.key in _FEATURES and option.value not in ("0", "1"):
        report.error(file, path, "policy-pct-option", f"pct_options {option.key} takes 0 or 1")


def _cgroup_rule(report: Report, path: _Path, rule: str, policy: HostPolicy, unprivileged: bool) -> None:
    """`a` or a wildcard major (`c *:* rwm`) opens every device; a block-device rule opens host disks.

    An unprivileged container cannot create device nodes (the kernel refuses mknod in a user namespace),
    so an all-device rule reaches only the nodes passed in, each checked against `policy.devices`: by
    default a warning there (upstream's Docker template used the rule), an error on a privileged one.
    """
    parts = rule.split()
    kind = parts[0] if parts else ""
    numbers = parts[1] if len(parts) > 1 else "*:*"
    if kind == "a" or numbers.split(":")[0] == "*":
        if policy.all_devices == "allow":
            return
        if policy.all_devices == "unprivileged-only" and unprivileged:
            report.warning(LXC_FILE, path, "policy-all-devices",
                           f"the cgroup rule '{shorten(rule)}' opens every host device to the container; accepted "
                           "because it is unprivileged (it cannot create device nodes, and those passed in are "
                           "checked); `policy.all_devices = \"reject\"` refuses it")
            return
        report.error(LXC_FILE, path, "policy-all-devices",
                     f"the cgroup rule '{shorten(rule)}' opens every host device to the container; not allowed "
                     f"by the host policy (`policy.all_devices`: {policy.all_devices})")
    elif kind == "b" and policy.all_devices != "allow":
        report.error(LXC_FILE, path, "policy-device",
                     f"the cgroup rule '{shorten(rule)}' opens host block devices (disks); "
                     "not allowed by the host policy")
