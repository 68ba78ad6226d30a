"""What one commit changed in the config folder: each file added, deleted or modified, with the unified diff
of its text against the commit's parent (its first parent; a root commit against nothing).

Used by `ConfigRepo.changes` for the dashboard's revision page. Reads git objects only, sizes from their
headers first: a file over the size limit, or one that is not text, is named without a diff.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import git

MAX_DIFF_LINES = 2000  # of one file's diff; the rest is cut, and the cut says so


@dataclass(frozen=True, slots=True)
class FileChange:
    path: str  # relative to the config folder
    status: str  # added, deleted, modified
    diff: str = ""  # unified diff (`--- a/PATH`, `+++ b/PATH`, hunks); empty when `note` says why
    note: str = ""


def blobs(tree: git.Tree | None) -> dict[str, git.Blob]:
    """Every file of `tree` by path (links and submodules left out)."""
    if tree is None:
        return {}
    base = str(tree.path)
    return {str(item.path)[len(base) + 1:] if base else str(item.path): item for item in tree.traverse()
            if isinstance(item, git.Blob)}


def file_changes(old: git.Tree | None, new: git.Tree, *, max_bytes: int) -> list[FileChange]:
    """The files that differ between `old` (None: none) and `new`, by path."""
    before, after = blobs(old), blobs(new)
    out: list[FileChange] = []
    for path in sorted(set(before) | set(after)):
        a, b = before.get(path), after.get(path)
        if a is not None and b is not None and a.hexsha == b.hexsha:
            continue
        status = "added" if a is None else "deleted" if b is None else "modified"
        out.append(_change(path, status, a, b, max_bytes))
    return out


def _change(path: str, status: str, a: git.Blob | None, b: git.Blob | None, max_bytes: int) -> FileChange:
    if any(blob is not None and blob.size > max_bytes for blob in (a, b)):
        return FileChange(path, status, note=f"over {max_bytes} bytes: not shown")
    old, new = _text(a), _text(b)
    if old is None or new is None:
        return FileChange(path, status, note="not text: not shown")
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{path}" if a else "/dev/null",
                                      f"b/{path}" if b else "/dev/null", lineterm=""))
    if len(lines) > MAX_DIFF_LINES:
        return FileChange(path, status, "\n".join(lines[:MAX_DIFF_LINES]),
                          note=f"{len(lines) - MAX_DIFF_LINES} more lines of diff not shown")
    return FileChange(path, status, "\n".join(lines))


def _text(blob: git.Blob | None) -> str | None:
    """The file's text ("" for no file), or None when it is not UTF-8 text."""
    if blob is None:
        return ""
    data = blob.data_stream.read()
    if b"\0" in data:
        return None
    try:
        return str(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None
