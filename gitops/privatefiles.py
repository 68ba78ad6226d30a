"""Files the controller writes (token secrets, ledger exports, keys): owner-only, whatever existed; and
files the operator names, written as the operator would expect.

`private_folder` makes (or tightens) a folder to 0700; `create_private` writes a new file 0600 and never
replaces one (`O_EXCL`); `replace_private` writes one 0600 over whatever was there (the config repo's SSH
key, the demo's secrets); `tighten` narrows an older file to 0600; `can_create` says, before anything
irreversible, why a file could not be written there; `written` writes to an operator's target (a device
or FIFO streamed, a symlink followed, a regular file replaced atomically, 0600). Used by the Proxmox driver
(token secrets in PHOENIX_STATE_DIR), the ledger's export, saved plans, the SQLite ledger's folder, the Git
source's key and the demo.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

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


def replace_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` (0600, in a 0700 folder), replacing whatever is there (a file of any mode, or a
    symlink, which is replaced itself and never written through) once the new content is complete."""
    private_folder(path.parent)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)


def tighten(path: Path) -> None:
    """A file the controller wrote earlier, made 0600 if it was wider (a symlink is left alone)."""
    with contextlib.suppress(FileNotFoundError):
        if not path.is_symlink() and path.stat().st_mode & 0o077:
            path.chmod(0o600)


@contextlib.contextmanager
def written(target: Path) -> Iterator[IO[str]]:
    """A text stream writing to the file the operator named, as they would expect: a device, FIFO or
    other special file is written through (streamed, never replaced); a symlink is followed to what it
    names; a regular file (or none) is written beside it and renamed over it only once complete, mode
    0600 whatever the old file's was. A socket, or a link to nowhere writable, is an error."""
    real = Path(os.path.realpath(target))
    try:
        kind = real.stat().st_mode
    except FileNotFoundError:
        kind = None
    if kind is not None and stat.S_ISSOCK(kind):
        raise errors.PhoenixError(f"{target} is a socket; not written")
    if kind is not None and not stat.S_ISREG(kind) and not stat.S_ISDIR(kind):
        with open(real, "w", encoding="utf-8") as through:  # a device or a FIFO: streamed to it
            yield through
        return
    if kind is not None and stat.S_ISDIR(kind):
        raise errors.PhoenixError(f"{target} is a folder; name a file")
    if not real.parent.is_dir():
        raise errors.PhoenixError(f"{real.parent} does not exist"
                                  + (f" (where the symlink {target} points)" if real != target.absolute() else ""))
    partial = real.with_name(real.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            yield out
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, real)  # a cut export never takes the name of a complete one
