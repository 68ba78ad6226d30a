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

from collections.abc import Collection, Hashable, Iterable
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import git

from gitops import errors
from gitops.config import documents
from gitops.config.estate import COLLECTIONS, CONFIG_FILES
from gitops.config.memo import digest
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
    for relative in sorted(named_files(root, script_folders, among=blobs.keys()) & blobs.keys()):
        if relative not in CONFIG_FILES:
            _write(blobs[relative], root, relative, max_file_bytes, commit)


def named_files(directory: Path, script_folders: Iterable[str], among: Collection[str] | None = None) -> set[str]:
    """Paths (relative, POSIX) the config files in `directory` name: their strings, the same under each
    scripts folder, and the feature scripts. With `among` (the paths there are), only the named paths that
    can be among them: a string none of whose `/`-separated parts is the last part of one of those paths
    names none of them (a path's last part is one of its string's parts), and is passed over unparsed."""
    folders = [f.strip("/") for f in script_folders if f and f.strip("/") not in ("", ".")]
    last_parts = None if among is None else frozenset(p.rsplit("/", 1)[-1] for p in among)
    # What a file's strings name depends on these alone: each entry keeps what its own strings name under them.
    under = (tuple(folders), None if last_parts is None else digest("\0".join(sorted(last_parts))))
    wanted: set[str] = set()
    for name in CONFIG_FILES:
        path = directory / name
        if not path.is_file():
            continue
        try:
            document = documents.parse(name, path.read_text(encoding="utf-8"), COLLECTIONS.get(name))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            continue  # validation says what is wrong with it
        wanted |= document.derive(("named", under), partial(_document_named, document, last_parts, folders, under))
    return wanted


def _document_named(document: documents.Document, last_parts: frozenset[str] | None, folders: list[str],
                    under: Hashable) -> frozenset[str]:
    """What one parsed file names, each entry of its collection judged once for its text (kept with it): a
    commit that changes one guest walks that guest's strings, not 10,000 guests'."""
    if not document.entries:
        return _named(document.data, None, last_parts, folders)
    wanted: set[str] = set()
    for top, value in document.rest():
        wanted |= _named(value, top, last_parts, folders)
    # An entry's key names its strings only when the entry is itself a string or a list (a map's children
    # are named by their own keys): entries of a list are named by the collection.
    is_map = isinstance(document.data.get(document.collection), dict)
    for position, entry in document.entries.items():
        key = position if is_map else document.collection
        wanted |= entry.derive(("named", key, under), partial(_named, key=key, last_parts=last_parts, folders=folders))
    return frozenset(wanted)


def _named(value: Any, key: object, last_parts: frozenset[str] | None, folders: list[str]) -> frozenset[str]:
    """The paths the strings of `value` (found under `key`) name, and the scripts of its features."""
    strings: set[str] = set()
    features: set[str] = set()
    _strings(value, key, strings, features)
    wanted: set[str] = set()
    for text in strings:
        if last_parts is None or not last_parts.isdisjoint(text.split("/")):
            wanted |= _clean(text, folders)
    for feature in features:
        for pattern in (LXC_FEATURE, VM_FEATURE):
            script = pattern.format(name=feature)
            if last_parts is None or not last_parts.isdisjoint(script.split("/")):
                wanted |= _clean(script, folders)
    return frozenset(wanted)


def _clean(text: str, folders: list[str]) -> set[str]:
    if not text or len(text) > 4096 or "\x00" in text:
        return set()
    path = PurePosixPath(text.removeprefix("./"))
    if path.is_absolute() or ".." in path.parts:
        return set()
    plain = path.as_posix()
    return {plain, *(f"{folder}/{plain}" for folder in folders)}


def _strings(data: Any, key: object, strings: set[str], features: set[str]) -> None:
    """Every string in `data` (found under `key`) into `strings`, and those under a `features` key (at any
    depth below it) into `features` too. Iterative: no recursion to exhaust."""
    stack: list[tuple[Any, object]] = [(data, key)]
    while stack:
        node, key = stack.pop()
        if isinstance(node, str):
            strings.add(node)
            if key in _FEATURE_KEYS:
                features.add(node)
        elif isinstance(node, dict):
            stack.extend((v, k if isinstance(k, str) else None) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, key) for v in node)


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
