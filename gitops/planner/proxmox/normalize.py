"""One canonical form for PVE values, so a converged guest plans zero changes.

PVE answers with property strings (`name=eth0,bridge=vmbr0,ip=dhcp`), sizes with units (`8G`,
`512M`), booleans as 0/1 and generated parts the config never names (a random MAC, `type=veth`).
Both sides of a comparison go through these functions first. Used by the Proxmox planner rules
(`updating`, `creating`, `desired`).
"""

from __future__ import annotations

import re
from typing import Any

_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$", re.I)


def parse_size(text: str | int | float | None) -> int | None:
    """`8G` -> bytes; a bare number is bytes as PVE's disk sizes are when unit-less... except GiB in
    create syntax (`storage:8`), which callers convert themselves."""
    if text is None or text == "":
        return None
    if isinstance(text, int | float):
        return int(text)
    m = _SIZE.match(text)
    if not m:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def gib(n: int) -> int:
    return n * 1024**3


def format_gib(size: int) -> str:
    """Bytes -> `8G` (or `512M` when not whole GiB)."""
    if size % 1024**3 == 0:
        return f"{size // 1024**3}G"
    return f"{size // 1024**2}M"


def split_props(text: str | None) -> tuple[str | None, dict[str, str]]:
    """`local:subvol-1-disk-0,size=8G` -> ("local:subvol-1-disk-0", {"size": "8G"}).

    The first item is positional when it has no `=`; for VM NICs (`virtio=MAC,bridge=...`)
    callers use `nic_model`.
    """
    if not text:
        return None, {}
    head: str | None = None
    props: dict[str, str] = {}
    for i, part in enumerate(str(text).split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            if i == 0:
                head = key
            else:
                props[key] = ""
            continue
        props[key] = value
    return head, props


def join_props(head: str | None, props: dict[str, Any]) -> str:
    parts = [head] if head else []
    parts += [f"{k}={_plain(v)}" for k, v in props.items() if v is not None]
    return ",".join(parts)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def canonical_scalar(value: Any) -> str:
    """Numbers and booleans as PVE prints them; strings stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def canonical_tags(value: str | list[str] | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    items = value if isinstance(value, list) else re.split(r"[;, ]+", value)
    return frozenset(t.strip().lower() for t in items if t.strip())


def canonical_props(text: str | None, *, ignore_absent: frozenset[str] = frozenset(),
                    desired: dict[str, str] | None = None, bools: frozenset[str] = frozenset(),
                    sizes: frozenset[str] = frozenset(), lower: frozenset[str] = frozenset()) -> dict[str, str]:
    """A property string as a dict of canonical values.

    Keys in `ignore_absent` are dropped unless `desired` names them (generated values such as a
    random MAC are not a difference). Booleans become 0/1, sizes bytes, `lower` keys lower-case.
    """
    head, props = split_props(text)
    out: dict[str, str] = {}
    if head is not None:
        out["_"] = head
    for key, value in props.items():
        if key in ignore_absent and (desired is None or key not in desired):
            continue
        if key in bools:
            value = "1" if boolean(value) else "0"
        elif key in sizes:
            value = str(parse_size(value))
        elif key in lower:
            value = value.lower()
        out[key] = value
    return out


def nameservers(value: str | None) -> str:
    """`8.8.8.8, 1.1.1.1` -> `8.8.8.8 1.1.1.1` (PVE's space-separated form)."""
    if not value:
        return ""
    return " ".join(p for p in re.split(r"[\s,;]+", value.strip()) if p)
