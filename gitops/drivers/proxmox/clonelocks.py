"""Clones of one source take turns: PVE locks the source guest (`disk`) for a whole full clone, and a
second clone of it fails at once with "CT is locked (disk)" (no waiting, unlike the config lock).

Used by the Proxmox driver around each `.../clone` call (the call and its task wait). One lock per
source guest and API host, for the whole process, so parallel branches of a plan (or two plans) queue
on it instead of spending their retries.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator

_CLONE = re.compile(r"^nodes/(?P<node>[^/]+)/(?P<kind>lxc|qemu)/(?P<vmid>\d+)/clone$")
_locks: dict[tuple[str, str, str], threading.Lock] = {}
_guard = threading.Lock()


def clone_source(method: str, path: str) -> tuple[str, str] | None:
    """(`lxc`|`qemu`, vmid) of the guest a call clones, or None for any other call."""
    m = _CLONE.match(path.strip("/"))
    return (m["kind"], m["vmid"]) if method.upper() == "POST" and m else None


@contextlib.contextmanager
def turn(host: str, method: str, path: str) -> Iterator[None]:
    """Hold the source's lock for the duration of a clone call; any other call passes straight through."""
    source = clone_source(method, path)
    if source is None:
        yield
        return
    with _guard:
        lock = _locks.setdefault((host, *source), threading.Lock())
    with lock:
        yield
