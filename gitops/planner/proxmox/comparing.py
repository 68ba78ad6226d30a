"""Comparing one desired PVE key with its live value, in canonical form. Used by `gitops.planner.proxmox.updating`."""

from __future__ import annotations

import re

from gitops.planner.proxmox.normalize import (
    canonical_props,
    canonical_scalar,
    canonical_tags,
    nameservers,
    split_props,
)

_INDEXED = re.compile(r"^(net|mp|dev|ipconfig)\d+$")
# Parts PVE generates when the config does not name them: not a difference.
_LXC_NET_GENERATED = frozenset({"hwaddr", "type"})
_VM_NET_GENERATED = frozenset({"macaddr"})


def is_indexed(key: str) -> bool:
    return bool(_INDEXED.match(key))


def same(kind: str, key: str, desired: str, live: object) -> bool:
    """True when the live value already is the desired one."""
    live_s = "" if live is None else str(live)
    if key == "tags":
        return canonical_tags(desired) == canonical_tags(live_s)
    if key == "nameserver":
        return nameservers(desired) == nameservers(live_s)
    if key in ("startup", "features", "ipconfig0"):
        return canonical_props(desired) == canonical_props(live_s)
    if key.startswith("net"):
        return _same_net(kind, desired, live_s)
    if key.startswith("dev"):
        return split_props(desired)[0] == split_props(live_s)[0] or canonical_props(desired) == canonical_props(
            live_s
        )
    if key in ("onboot", "template", "unprivileged"):
        return canonical_scalar(desired or "0") == canonical_scalar(live_s or "0")
    if key == "description":
        return desired.strip() == live_s.strip()
    return canonical_scalar(desired) == canonical_scalar(live_s)


def _same_net(kind: str, desired: str, live: str) -> bool:
    if kind == "lxc":
        want = canonical_props(desired, lower=frozenset({"hwaddr"}), bools=frozenset({"firewall"}))
        have = canonical_props(live, ignore_absent=_LXC_NET_GENERATED, desired=want,
                               lower=frozenset({"hwaddr"}), bools=frozenset({"firewall"}))
        want.setdefault("firewall", "0")
        have.setdefault("firewall", "0")
        return want == have
    want = _vm_nic(desired, keep_mac=True)
    have = _vm_nic(live, keep_mac="macaddr" in want)
    return want == have


def _vm_nic(text: str, keep_mac: bool) -> dict[str, str]:
    """`virtio=BC:24:11:00:00:01,bridge=vmbr0` -> {model: virtio, macaddr: ..., bridge: vmbr0}."""
    out: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if key in ("virtio", "e1000", "e1000e", "rtl8139", "vmxnet3"):
            out["model"] = key
            if sep and keep_mac:
                out["macaddr"] = value.lower()
        elif key == "macaddr":
            if keep_mac:
                out["macaddr"] = value.lower()
        elif key == "firewall":
            out["firewall"] = "1" if value in ("1", "true") else "0"
        elif key:
            out[key] = value
    out.setdefault("firewall", "0")
    return out


def canonical_rule(rule: dict[str, object]) -> dict[str, str]:
    """A firewall rule with only the keys the config can set, as strings."""
    keys = ("type", "action", "proto", "dport", "sport", "source", "dest", "macro", "iface", "log", "comment")
    out = {k: str(rule[k]) for k in keys if rule.get(k) not in (None, "")}
    out["enable"] = "1" if str(rule.get("enable", "0")) in ("1", "True", "true") else "0"
    if "proto" in out:
        out["proto"] = out["proto"].lower()
    return out
