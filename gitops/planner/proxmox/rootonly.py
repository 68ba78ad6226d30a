"""What a desired estate asks of Proxmox that an API token may never do, whatever its privileges.

PVE lets only `root@pam`, logged in with its password, set bind mounts (an `mpN` with a host path),
device passthrough (`devN`) and container feature flags other than `nesting` (any flag on a
privileged container); making a privileged container also needs Sys.Modify on `/`, which the
PhoenixGitOps role leaves out. Called by `gitops.controller.preflight` (`phoenix-gitops check`),
so a token login learns this before an apply fails half-way with PVE's 403. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from gitops.planner.proxmox.desired import DesiredGuest


def root_only_settings(guests: Iterable[DesiredGuest]) -> dict[str, list[str]]:
    """target -> the settings of that guest no API token may set (empty guests left out)."""
    found: dict[str, list[str]] = {}
    for guest in guests:
        if guest.kind != "lxc":
            continue
        reasons = [f"bind mount {m.key} ({m.host_path})" for m in guest.mounts if m.host_path]
        devices = sorted((k for k in guest.config if k.startswith("dev") and k[3:].isdigit()), key=lambda k: int(k[3:]))
        if devices:
            reasons.append(f"device passthrough ({', '.join(devices)})")
        privileged = guest.create_only.get("unprivileged") == "0"
        flags = [item.split("=", 1)[0] for item in guest.config.get("features", "").split(",")
                 if item and not item.endswith("=0")]
        restricted = flags if privileged else [f for f in flags if f != "nesting"]
        if restricted:
            reasons.append(f"feature flags {', '.join(restricted)}")
        if privileged:
            reasons.append("a privileged container (also needs Sys.Modify on /)")
        if reasons:
            found[guest.target] = reasons
    return found
