"""Writing a commit's config files to disk within bounds: only the files the controller reads, each
blob's size checked before it is read, each streamed to disk.

What is read: the four config files at the top of the config folder, then the files they name: every
string of theirs that is the path of a file in the folder (compose files, stack files), the same under
a scripts folder (`bin/`, or `PHOENIX_SCRIPTS_DIR`: application scripts), and each feature's script
there (`gitops.config.scripts`). Nothing else of the commit is read, whatever its size. A file to read
that is larger than the limit (`PHOENIX_GIT_MAX_FILE_BYTES`) rejects the revision (`FileTooLargeError`,
code `file-too-large`). Used by `gitops.source.repository` (checkouts, pull-request heads) and
`gitops.source.revisions` (`plan --base/--head`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import git

from gitops import errors
from gitops.config.estate import CONFIG_FILES
from gitops.config.scripts import LXC_FEATURE, VM_FEATURE

SYMLINK_MODE = 0o120000
DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024
_FEATURE_KEYS = ("features",)


def export_tree(tree: git.Tree, into: Path, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                script_folders: Iterable[str] = ("bin",), commit: str = "") -> None:
    """Write the files the controller reads of `tree` under `into` (symlinks, submodules and paths that
    leave `into` are never written)."""
    base = PurePosixPath(tree.path) if tree.path else PurePosixPath()
    blobs = {PurePosixPath(item.path).relative_to(base).as_posix(): item for item in tree.traverse()
             if isinstance(item, git.Blob) and item.mode != SYMLINK_MODE}
    root = into.resolve()
    for name in CONFIG_FILES:
        if name in blobs:
            _write(blobs[name], root, name, max_file_bytes, commit)
    for relative in sorted(named_files(root, script_folders) & blobs.keys()):
        if relative not in CONFIG_FILES:
            _write(blobs[relative], root, relative, max_file_bytes, commit)


def named_files(directory: Path, script_folders: Iterable[str]) -> set[str]:
    """Paths (relative, POSIX) the config files in `directory` name: their strings, the same under each
    scripts folder, and the feature scripts."""
    strings: set[str] = set()
    features: set[str] = set()
    for name in CONFIG_FILES:
        path = directory / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            continue  # validation says what is wrong with it
        for key, value in _strings(data, None):
            strings.add(value)
            if key in _FEATURE_KEYS:
                features.add(value)
    folders = [f.strip("/") for f in script_folders if f and f.strip("/") not in ("", ".")]
    wanted: set[str] = set()
    for text in strings:
        wanted |= _clean(text, folders)
    for feature in features:
        for pattern in (LXC_FEATURE, VM_FEATURE):
            wanted |= _clean(pattern.format(name=feature), folders)
    return wanted


def _clean(text: str, folders: list[str]) -> set[str]:
    if not text or len(text) > 4096 or "\x00" in text:
        return set()
    path = PurePosixPath(text.removeprefix("./"))
    if path.is_absolute() or ".." in path.parts:
        return set()
    plain = path.as_posix()
    return {plain, *(f"{folder}/{plain}" for folder in folders)}


def _strings(data: Any, key: str | None) -> Iterator[tuple[str | None, str]]:
    if isinstance(data, str):
        yield key, data
    elif isinstance(data, dict):
        for k, v in data.items():
            yield from _strings(v, k if isinstance(k, str) else None)
    elif isinstance(data, list):
        for v in data:
            yield from _strings(v, key)


def _write(blob: git.Blob, root: Path, relative: str, limit: int, commit: str) -> None:
    if blob.size > limit:  # the object's header: nothing of its content is read
        raise errors.FileTooLargeError(
            f"{relative} is {blob.size} bytes in {commit[:12] or 'this revision'}, more than the "
            f"{limit} bytes a file the controller reads may have (PHOENIX_GIT_MAX_FILE_BYTES) [file-too-large]")
    destination = (root / relative).resolve()
    if root not in destination.parents:
        return  # a crafted tree entry pointing outside: never write it
    destination.parent.mkdir(parents=True, exist_ok=True)
    with destination.open("wb") as out:
        blob.stream_data(out)
