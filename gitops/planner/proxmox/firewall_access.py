"""Would a firewall lock the controller out of the Proxmox API? The check, as pve-firewall builds a host's
input chain, for one new TCP connection from the controller to the API port.

pve-firewall's `PVEFW-HOST-IN`, in order: traffic on `lo` is accepted; then the node's own host rules,
then the cluster's rules (first match decides); then anything from the `management` IP set (the
cluster's `management` set plus the node's local network) to port 8006 is accepted; then `policy_in`
(DROP when unset). Nothing is filtered while the cluster firewall is disabled, or on a node whose host
firewall is disabled.

What cannot be told from the config (a rule naming a `dest`, an `iface`, a `sport`, a macro or a
security group; a port given by service name) is treated on the safe side: such an ACCEPT rule is not
counted on to let the controller in, such a DROP or REJECT rule is counted as dropping it. Pure; used by
`gitops.planner.proxmox.cluster_firewall`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
MANAGEMENT_PORT = 8006


@dataclass
class HostInput:
    """What decides a node's input chain."""

    enabled: bool
    policy_in: str
    cluster_rules: Sequence[Mapping[str, str]]
    host_rules: Sequence[Mapping[str, str]] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    ipsets: Mapping[str, Sequence[str]] = field(default_factory=dict)
    local_networks: Sequence[str] = ()


def lockout_reason(fw: HostInput, source: str, port: int) -> str | None:
    """Why a new connection from `source` to TCP `port` would be dropped, or None when it gets through."""
    if not fw.enabled:
        return None
    address = ipaddress.ip_address(source)
    if address.is_loopback:
        return None
    for where, rules in (("host", fw.host_rules), ("cluster", fw.cluster_rules)):
        for i, rule in enumerate(rules):
            kind = rule.get("type", "in")
            if str(rule.get("enable", "1")) in ("0", "False", "false") or kind not in ("in", "group"):
                continue
            if kind == "group":
                return f"{where} rule {i} (security group {rule.get('action')}) may drop it: groups are not checked"
            match = _matches(rule, address, port, fw)
            action = str(rule.get("action", "")).upper()
            if action == "ACCEPT" and match is True:
                return None
            if action in ("DROP", "REJECT") and match is not False:
                return f"{where} rule {i} ({action} {_describe(rule)}) drops it"
    if port == MANAGEMENT_PORT and _in_set(address, [*fw.ipsets.get("management", ()), *fw.local_networks]):
        return None
    policy = fw.policy_in.upper() or "DROP"
    if policy == "ACCEPT":
        return None
    return (f"no rule accepts it{'' if port == MANAGEMENT_PORT else f' on port {port}'}, it is not in the "
            f"`management` IP set or the node's local network, and policy_in is {policy}")


def _describe(rule: Mapping[str, str]) -> str:
    return " ".join(f"{k}={rule[k]}" for k in ("proto", "dport", "source", "dest", "macro", "iface") if rule.get(k))


def _matches(rule: Mapping[str, str], address: Address, port: int, fw: HostInput) -> bool | None:
    """True: the rule matches the connection; False: it does not; None: the config cannot tell."""
    if rule.get("macro") or rule.get("iface") or rule.get("sport") or rule.get("dest"):
        return None
    proto = str(rule.get("proto") or "").lower()
    if proto and proto not in ("tcp", "6"):
        return False
    checks = [_port_matches(str(rule.get("dport") or ""), port)]
    if rule.get("source"):
        checks.append(_source_matches(str(rule["source"]), address, fw))
    if False in checks:
        return False
    return None if None in checks else True


def _port_matches(spec: str, port: int) -> bool | None:
    if not spec:
        return True
    unknown = False
    for part in spec.split(","):
        low, _, high = part.strip().partition(":")
        if not low.isdigit() or (high and not high.isdigit()):
            unknown = True
            continue
        if int(low) <= port <= int(high or low):
            return True
    return None if unknown else False


def _source_matches(spec: str, address: Address, fw: HostInput) -> bool | None:
    unknown = False
    for entry in (e.strip() for e in spec.split(",")):
        if entry.startswith("+"):
            name = entry[1:].removeprefix("dc/")
            if name not in fw.ipsets and name != "management":
                unknown = True
                continue
            entries = [*fw.ipsets.get(name, ()), *(fw.local_networks if name == "management" else ())]
            if _in_set(address, entries):
                return True
            continue
        result = _address_matches(fw.aliases.get(entry.removeprefix("dc/"), entry), address)
        if result is None:
            unknown = True
        elif result:
            return True
    return None if unknown else False


def _in_set(address: Address, entries: Sequence[str]) -> bool:
    excluded = any(_address_matches(e[1:], address) for e in entries if e.startswith("!"))
    return not excluded and any(_address_matches(e, address) for e in entries if not e.startswith("!"))


def _address_matches(text: str, address: Address) -> bool | None:
    """An IP, a CIDR or a range `a-b`; None when it is none of those (an unknown alias)."""
    try:
        if "-" in text:
            low, high = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
            return low.version == address.version and low <= address <= high  # type: ignore[operator]
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return address in network
