"""Files the controller writes for itself (token secrets, ledger exports, keys): owner-only, whatever existed.

`private_folder` makes (or tightens) a folder to 0700; `create_private` writes a new file 0600 and never
replaces one (`O_EXCL`); `can_create` says, before anything irreversible, why a file could not be written
there. Used by the Proxmox driver (token secrets in PHOENIX_STATE_DIR) and the ledger export.
"""

from __future__ import annotations

import os
from pathlib import Path

from gitops import errors


def private_folder(folder: Path) -> Path:
    """`folder`, made with its parents if missing, and mode 0700 (tightened if it was wider)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        folder.chmod(0o700)
    return folder


def can_create(path: Path) -> str | None:
    """Why a new private file `path` could not be written, None when it can: its folder is not a
    folder or not writable, or a file is already there (it is never overwritten)."""
    folder = path.parent
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable"
    if path.exists() or path.is_symlink():
        return f"{path} already exists (it is never overwritten)"
    return None


def create_private(path: Path, data: bytes) -> None:
    """Write `data` to the new file `path` (0600, in a 0700 folder); an existing file is an error."""
    private_folder(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise errors.PermanentError(f"{path} already exists; not overwritten") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)
