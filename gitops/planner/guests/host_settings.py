"""A container's host-side settings as its node's config file holds them: raw `lxc.*` lines from
`lxc_options` and `id_maps`, and the bind-mount source directories with the owner the id map implies.

PVE's API cannot set raw `lxc.*` keys; they live only in `/etc/pve/lxc/ID.conf`, which PVE parses as
`lxc.KEY: VALUE` (it also reads `lxc.KEY = VALUE` and `lxc.KEY:VALUE`, and writes the first form). The
upstream scripts append each option as written, split `lxc.cap.keep=a,b` into one line per capability,
and for `id_maps` wrote only the default root map; here the id map is what the config says, as PVE's
documentation builds it: the listed ranges mapped as given, the rest of 0-65535 onto 100000+ (the
subordinate range PVE allots to unprivileged containers). The node's `/etc/subuid` and `/etc/subgid` must
allow the listed host ids (`root:33:1`): that stays the operator's. Pure; used by `gitops.planner.guests.provisioning`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gitops.config.lxc import IdMap, LxcGuest

_OPTION = re.compile(r"^(lxc\.[a-z0-9_\-.]+)(:|\s*=)\s*(.*?)\s*$")
SUBORDINATE_BASE = 100000
ID_RANGE = 65536


@dataclass
class HostSettings:
    lxc_lines: list[str] = field(default_factory=list)
    bind_dirs: dict[str, str] = field(default_factory=dict)  # host path -> `uid:gid` ("" : exists, any owner)
    problems: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.lxc_lines and not self.bind_dirs


def host_settings(ct: LxcGuest) -> HostSettings:
    out = HostSettings()
    for option in ct.lxc_options:
        match = _OPTION.match(option.strip())
        if match is None:
            out.problems.append(f"lxc_options: {option!r} is not `lxc.KEY: VALUE` (or `lxc.KEY=VALUE`)")
            continue
        key, value = match.group(1), match.group(3)
        if key == "lxc.cap.keep" and "," in value:
            out.lxc_lines += [f"{key}: {cap.strip()}" for cap in value.split(",") if cap.strip()]
        else:
            out.lxc_lines.append(f"{key}: {value}")
    if ct.id_maps:
        if ct.unprivileged:
            out.lxc_lines += idmap_lines(ct.id_maps)
        else:
            out.problems.append("id_maps apply to unprivileged containers only; this one is privileged")
    for mp in ct.mount_points:
        owner = ""
        if mp.owner_uid is not None or mp.owner_gid is not None:
            uid = host_id(ct, "uid", mp.owner_uid or 0)
            gid = host_id(ct, "gid", mp.owner_gid if mp.owner_gid is not None else (mp.owner_uid or 0))
            owner = f"{uid}:{gid}"
        out.bind_dirs[mp.host_path] = owner
    return out


def idmap_lines(maps: list[IdMap]) -> list[str]:
    """`lxc.idmap` lines covering 0-65535 for users and groups: the listed ranges as given, the gaps
    onto the subordinate range (container id N -> 100000 + N)."""
    lines: list[str] = []
    for kind, letter in (("uid", "u"), ("gid", "g")):
        ranges = sorted((m.container_id, m.host_id, m.size) for m in maps if m.type == kind)
        at = 0
        for container_id, host, size in ranges:
            if container_id > at:
                lines.append(f"lxc.idmap: {letter} {at} {SUBORDINATE_BASE + at} {container_id - at}")
            lines.append(f"lxc.idmap: {letter} {container_id} {host} {size}")
            at = max(at, container_id + size)
        if at < ID_RANGE:
            lines.append(f"lxc.idmap: {letter} {at} {SUBORDINATE_BASE + at} {ID_RANGE - at}")
    return lines


def host_id(ct: LxcGuest, kind: str, container_id: int) -> int:
    """The host id a container id is on the node: itself for a privileged container, else through the
    container's id map (the listed ranges, the subordinate range for the rest)."""
    if not ct.unprivileged:
        return container_id
    for m in ct.id_maps:
        if m.type == kind and m.container_id <= container_id < m.container_id + m.size:
            return m.host_id + container_id - m.container_id
    return SUBORDINATE_BASE + container_id
