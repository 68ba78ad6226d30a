"""Checks of addresses and names: CIDRs, gateways, duplicate IPs and MACs, hostnames, GPU assignment.

Called by `gitops.config.validation`. Codes: cidr-invalid, ip-invalid, gateway-outside-subnet,
ip-duplicate, mac-invalid, mac-duplicate, mac-conflict, hostname-invalid, gpu-assignment-invalid.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import cast

from gitops.config.checks.local import Findings, each_guest
from gitops.config.estate import HYPERVISOR_FILE, LXC_FILE, VM_FILE, Estate
from gitops.config.lxc import LxcGuest, LxcNetwork
from gitops.config.problems import PathPart, Report
from gitops.config.vm import Vm

_MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_GPUS = re.compile(r"^[0-9]+(\s*,\s*[0-9]+)*$")
Path = tuple[PathPart, ...]
# Parsed addresses kept across validations (pure, immutable results): a commit's validation parses only the
# addresses it has not seen, not every guest's again.
_PARSED = 32_768


def is_hostname(name: str) -> bool:
    """A DNS name as PVE wants it for `hostname` (LXC) and `name` (VM)."""
    return 0 < len(name) <= 253 and all(_LABEL.match(label) for label in name.split("."))


@functools.lru_cache(maxsize=_PARSED)
def parse_interface(value: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface | None:
    """`10.0.0.5/24` -> interface; None when it is not an address with a prefix."""
    if "/" not in value:
        return None
    try:
        return ipaddress.ip_interface(value)
    except ValueError:
        return None


@functools.lru_cache(maxsize=_PARSED)
def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class _Seen:
    """Static IPs and MACs by owner, to report each one used twice: the claims of each guest's own check
    (`local.each_guest`), matched in the order the guests come."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.ips: dict[str, str] = {}
        self.macs: dict[str, str] = {}

    def claim(self, kind: str, where: Path, value: str, path: Path, guest: LxcGuest | Vm) -> None:
        lxc = isinstance(guest, LxcGuest)
        file, owner = (LXC_FILE, f"CT {path[1]}") if lxc else (VM_FILE, f"VM {cast(Vm, guest).vmid}")
        if kind == "ip":
            other = self.ips.setdefault(value, owner)
            if other != owner:
                self.report.error(file, where, "ip-duplicate", f"IP {value} is also given to {other}")
        else:
            other = self.macs.setdefault(value.lower(), owner)
            if other != owner:
                self.report.error(file, where, "mac-duplicate", f"MAC {value} is also used by {other}")


def check_network(estate: Estate, report: Report) -> None:
    seen = _Seen(report)
    each_guest(estate, report, LXC_FILE, _container, "network", seen.claim)
    each_guest(estate, report, VM_FILE, _vm, "network", seen.claim)
    if not estate.incomplete(HYPERVISOR_FILE, "network"):
        _hypervisor(estate, report)


def _container(report: Findings, path: Path, ct: LxcGuest) -> None:
    _hostname(report, LXC_FILE, (*path, "name"), ct.name)
    _gpus(report, (*path, "gpu_assignment"), ct.gpu_assignment)
    for key, net in (("network_config", ct.network_config), ("secondary_network_config",
                                                                ct.secondary_network_config)):
        if net is not None:
            _lxc_net(report, (*path, key), net)
    if ct.mac_address:
        net0 = ct.network_config
        if net0 is not None and net0.hwaddr and net0.hwaddr.lower() != ct.mac_address.lower():
            report.error(LXC_FILE, (*path, "mac_address"), "mac-conflict",
                         f"mac_address {ct.mac_address} differs from network_config.hwaddr {net0.hwaddr}")
        else:
            _mac(report, LXC_FILE, (*path, "mac_address"), ct.mac_address)


def _vm(report: Findings, vpath: Path, vm: Vm) -> None:
    _hostname(report, VM_FILE, (*vpath, "name"), vm.name)
    vnet = vm.network_config
    if vnet is None:
        return
    _address(report, VM_FILE, (*vpath, "network_config"), vnet.ip, vnet.gw)
    if vnet.nameserver:
        _ips(report, VM_FILE, (*vpath, "network_config", "nameserver"), vnet.nameserver)
    if vnet.mac_address:
        _mac(report, VM_FILE, (*vpath, "network_config", "mac_address"), vnet.mac_address)


def _mac(report: Findings, file: str, path: Path, mac: str) -> None:
    if not _MAC.match(mac):
        report.error(file, path, "mac-invalid", f"'{mac}' is not a MAC address (aa:bb:cc:dd:ee:ff)")
        return
    if int(mac[:2], 16) & 1:
        report.error(file, path, "mac-invalid", f"{mac} is a multicast address; PVE refuses it")
        return
    report.claim("mac", path, mac)


def _lxc_net(report: Findings, path: Path, net: LxcNetwork) -> None:
    _address(report, LXC_FILE, path, net.ip, net.gw)
    if net.hwaddr:
        _mac(report, LXC_FILE, (*path, "hwaddr"), net.hwaddr)
    for key in ("nameserver", "nameservers"):
        value = getattr(net, key)
        if value:
            _ips(report, LXC_FILE, (*path, key), value)


def _address(report: Findings, file: str, path: Path, ip: str | None, gw: str | None) -> None:
    iface = None
    if ip and ip not in ("dhcp", "manual", "auto"):
        iface = parse_interface(ip)
        if iface is None:
            report.error(file, (*path, "ip"), "cidr-invalid",
                         f"'{ip}' is not `dhcp` or an address with its prefix (e.g. 10.0.0.5/24)")
        else:
            report.claim("ip", (*path, "ip"), str(iface.ip))
    if gw:
        if not is_ip(gw):
            report.error(file, (*path, "gw"), "ip-invalid", f"gateway '{gw}' is not an IP address")
        elif iface is not None and not _in_network(gw, iface):
            report.error(file, (*path, "gw"), "gateway-outside-subnet",
                         f"gateway {gw} is outside the subnet {iface.network} of {ip}")


@functools.lru_cache(maxsize=_PARSED)
def _in_network(gw: str, iface: ipaddress.IPv4Interface | ipaddress.IPv6Interface) -> bool:
    return ipaddress.ip_address(gw) in iface.network


def _ips(report: Report, file: str, path: Path, value: str) -> None:
    for part in re.split(r"[\s,]+", value.strip()):
        if part and not is_ip(part):
            report.error(file, path, "ip-invalid", f"'{part}' is not an IP address")


def _hostname(report: Report, file: str, path: Path, name: str) -> None:
    if not is_hostname(name):
        report.error(file, path, "hostname-invalid",
                     f"'{name}' is not a valid hostname (letters, digits and '-', dot-separated, "
                     "no label starting or ending with '-', at most 63 characters a label)")


def _gpus(report: Report, path: Path, value: str) -> None:
    if value == "none":
        return
    if not _GPUS.match(value.strip()):
        report.error(LXC_FILE, path, "gpu-assignment-invalid",
                     f"'{value}' must be `none` or a comma-separated list of GPU indexes such as `0,1`")
        return
    indexes = [int(p) for p in value.split(",")]
    if len(set(indexes)) != len(indexes):
        report.error(LXC_FILE, path, "gpu-assignment-invalid", f"'{value}' names a GPU twice")


def _hypervisor(estate: Estate, report: Report) -> None:
    net = estate.hypervisor.network
    f = HYPERVISOR_FILE
    for key in ("default_subnet",):
        value = getattr(net, key)
        if value and parse_interface(value) is None:
            report.error(f, ("network", key), "cidr-invalid", f"'{value}' is not a CIDR such as 10.0.0.0/24")
    if net.internal_bridge and parse_interface(net.internal_bridge.subnet) is None:
        report.error(f, ("network", "internal_bridge", "subnet"), "cidr-invalid",
                     f"'{net.internal_bridge.subnet}' is not a CIDR such as 172.16.100.0/24")
    if net.interfaces is not None:
        iface = parse_interface(net.interfaces.address)
        if iface is None:
            report.error(f, ("network", "interfaces", "address"), "cidr-invalid",
                         f"'{net.interfaces.address}' is not an address with its prefix")
        gw = net.interfaces.gateway
        if gw and not is_ip(gw):
            report.error(f, ("network", "interfaces", "gateway"), "ip-invalid", f"'{gw}' is not an IP address")
        elif gw and iface is not None and ipaddress.ip_address(gw) not in iface.network:
            report.error(f, ("network", "interfaces", "gateway"), "gateway-outside-subnet",
                         f"gateway {gw} is outside the subnet {iface.network}")
        for i, dns in enumerate(net.interfaces.dns_nameservers):
            if not is_ip(dns):
                report.error(f, ("network", "interfaces", "dns_nameservers", i), "ip-invalid",
                             f"'{dns}' is not an IP address")
    for key in ("portainer_server_ip", "nfs_server", "fallback_dns"):
        value = getattr(net, key)
        if value and not is_ip(value):
            report.error(f, ("network", key), "ip-invalid", f"'{value}' is not an IP address")
    defaults = estate.hypervisor.proxmox_defaults.lxc.network_config
    if defaults:
        parts = [p.strip() for p in defaults.split(",")]
        path = ("proxmox_defaults", "lxc", "network_config")
        if parse_interface(parts[0]) is None and parts[0] != "dhcp":
            report.error(f, path, "cidr-invalid", f"'{parts[0]}' is not an address with its prefix")
        for part in parts[1:]:
            if not is_ip(part):
                report.error(f, path, "ip-invalid", f"'{part}' is not an IP address")
