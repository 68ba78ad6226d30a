"""Checks of firewall rules as PVE would judge them: type, action, protocol, ports, addresses.

Called by `gitops.config.validation`. Codes: firewall-type, firewall-action, firewall-proto,
firewall-port, firewall-address, firewall-policy.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from gitops.config.common import Firewall, FirewallRule
from gitops.config.estate import HYPERVISOR_FILE, LXC_FILE, VM_FILE, Estate
from gitops.config.problems import PathPart, Report

ACTIONS = ("ACCEPT", "DROP", "REJECT")
TYPES = ("in", "out", "group")
# The names PVE accepts for `proto` (its /etc/protocols subset), besides numbers 0-255.
PROTOCOLS = frozenset({
    "tcp", "udp", "icmp", "icmpv6", "ipv6-icmp", "igmp", "ggp", "ipencap", "st", "egp", "igp", "pup", "hmp",
    "xns-idp", "rdp", "iso-tp4", "dccp", "xtp", "ddp", "idpr-cmtp", "ipv6", "ipv6-route", "ipv6-frag",
    "idrp", "rsvp", "gre", "esp", "ah", "skip", "ipv6-nonxt", "ipv6-opts", "vmtp", "eigrp", "ospf", "ax.25",
    "ipip", "etherip", "encap", "pim", "ipcomp", "vrrp", "l2tp", "isis", "sctp", "fc", "mobility-header",
    "udplite", "mpls-in-ip", "manet", "hip", "shim6", "wesp", "rohc"
})
PORT_PROTOCOLS = frozenset({"tcp", "udp", "sctp", "udplite", "dccp", "6", "17", "132", "136", "33"})
_NAME = re.compile(r"^(dc/|guest/)?\+?(dc/|guest/)?[A-Za-z][A-Za-z0-9_.-]*$")
_GROUP = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{1,17}$")


def check_firewalls(estate: Estate, report: Report) -> None:
    for path, ct in estate.lxc_items():
        _firewall(report, LXC_FILE, (*path, "firewall"), ct.firewall)
    for vpath, vm in estate.vm_items():
        _firewall(report, VM_FILE, (*vpath, "firewall"), vm.firewall)
    host = estate.hypervisor.host_firewall()
    if host is not None:
        where: tuple[PathPart, ...] = ("firewall",) if estate.hypervisor.firewall else ("shared_volumes", "firewall")
        for key in ("default_input_policy", "default_output_policy"):
            _policy(report, HYPERVISOR_FILE, (*where, key), getattr(host, key))
        for i, rule in enumerate(host.global_firewall_rules):
            check_rule(report, HYPERVISOR_FILE, (*where, "global_firewall_rules", i), rule)


def _firewall(report: Report, file: str, path: tuple[PathPart, ...], fw: Firewall) -> None:
    for key in ("policy_in", "policy_out"):
        value = getattr(fw, key)
        if value is not None:
            _policy(report, file, (*path, key), value)
    for i, rule in enumerate(fw.rules):
        check_rule(report, file, (*path, "rules", i), rule)


def _policy(report: Report, file: str, path: tuple[PathPart, ...], value: str) -> None:
    if value not in ACTIONS:
        report.error(file, path, "firewall-policy", f"policy '{value}' must be one of {', '.join(ACTIONS)}")


def check_rule(report: Report, file: str, path: tuple[PathPart, ...], rule: FirewallRule) -> None:
    """Every problem of one rule."""
    if rule.type not in TYPES:
        report.error(file, (*path, "type"), "firewall-type",
                     f"type '{rule.type}' must be one of {', '.join(TYPES)}")
    if rule.type == "group":
        if not _GROUP.match(rule.action):
            report.error(file, (*path, "action"), "firewall-action",
                         f"a `group` rule's action names a security group; '{rule.action}' is not a valid name")
    elif rule.action not in ACTIONS:
        hint = f" (did you mean {rule.action.upper()}?)" if rule.action.upper() in ACTIONS else ""
        report.error(file, (*path, "action"), "firewall-action",
                     f"action '{rule.action}' must be one of {', '.join(ACTIONS)}{hint}")
    proto = rule.proto.lower() if rule.proto else None
    if proto is not None and proto not in PROTOCOLS and not (proto.isascii() and proto.isdigit() and int(proto) <= 255):
        report.error(file, (*path, "proto"), "firewall-proto",
                     f"protocol '{rule.proto}' is unknown (tcp, udp, icmp... or a number 0-255)")
    for key in ("port", "dport", "sport"):
        value = getattr(rule, key)
        if value is None:
            continue
        bad = _bad_ports(value)
        if bad:
            report.error(file, (*path, key), "firewall-port", bad)
        elif proto is None and rule.macro is None:
            report.error(file, (*path, key), "firewall-port", f"a port needs `proto` (tcp or udp); '{value}' has none")
        elif proto is not None and proto not in PORT_PROTOCOLS:
            report.error(file, (*path, key), "firewall-port", f"protocol '{rule.proto}' has no ports")
    if rule.port is not None and rule.dport is not None:
        report.error(file, (*path, "port"), "firewall-port", "`port` and `dport` are the same thing; give one")
    for key in ("source", "dest"):
        value = getattr(rule, key)
        if value is not None and not _valid_addresses(value):
            report.error(file, (*path, key), "firewall-address",
                         f"'{value}' is not an address, CIDR, range (a-b), list, alias or +ipset")


def _bad_ports(value: str) -> str | None:
    for part in value.split(","):
        part = part.strip()
        bounds = part.split(":")
        if len(bounds) > 2 or not all(b.isascii() and b.isdigit() for b in bounds):
            return f"'{part}' is not a port or a range such as 8000:8010"
        numbers = [int(b) for b in bounds]
        if not all(0 < n <= 65535 for n in numbers):
            return f"port {part} is outside 1-65535"
        if len(numbers) == 2 and numbers[0] > numbers[1]:
            return f"range {part} runs backwards"
    return None


def _valid_addresses(value: str) -> bool:
    parts = [p.strip() for p in value.split(",")]
    return all(p and _valid_address(p) for p in parts)


@lru_cache(maxsize=4096)
def _valid_address(part: str) -> bool:
    if _NAME.match(part):
        return True
    if "-" in part and "/" not in part:
        lo, _, hi = part.partition("-")
        try:
            a, b = ipaddress.ip_address(lo), ipaddress.ip_address(hi)
        except ValueError:
            return False
        return a.version == b.version and a <= b  # type: ignore[operator]
    try:
        ipaddress.ip_network(part, strict=False)
    except ValueError:
        return False
    return True
