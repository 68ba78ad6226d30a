"""Where a JSON path sits in a file's text: line and column, for messages people can act on.

Python's json module forgets positions, so a cheap regex tokenizer walks the text once and
indexes every value's path. It runs only for files that have problems. Given the paths it will be
asked for, it walks only the containers on their way and jumps over every other value with json's C
scanner, so a 10 MB file with a few problems is placed in milliseconds. Used by
`gitops.config.validation`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import cast

from gitops.config.problems import PathPart

_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+)')
_SCAN = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[attr-defined]
Position = tuple[int, int]


class PositionIndex:
    """Maps JSON paths of one document to the 1-based (line, column) of their value or key.

    With `wanted` (the paths that will be located), only those paths and their ancestors are
    indexed; without it, every path is.
    """

    def __init__(self, text: str, wanted: Iterable[tuple[PathPart, ...]] | None = None) -> None:
        self._text = text
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self._index: dict[tuple[PathPart, ...], int] = {}
        # Containers to walk into: the proper prefixes of the wanted paths (parts compared as text).
        self._walk: set[tuple[str, ...]] | None = None
        if wanted is not None:
            self._walk = {tuple(str(part) for part in path[:i]) for path in wanted for i in range(len(path))}
        self._build()

    def _skip(self, here: tuple[PathPart, ...], start: int) -> int | None:
        """Where the value at `start` ends, when nothing inside it is wanted; else None."""
        if self._walk is None or tuple(str(part) for part in here) in self._walk:
            return None
        try:
            _, end = _SCAN(self._text, start)
        except (StopIteration, ValueError):
            return None  # not valid JSON from here: tokenize it instead
        return int(end)

    def _build(self) -> None:
        # A stack of containers: for an object, the pending key; for an array, the next index.
        stack: list[list[object]] = []  # [kind, key_or_index, expecting_key]
        path: list[PathPart] = []
        index = self._index
        text = self._text
        pos = 0
        while True:
            m = _TOKEN.match(text, pos)
            if m is None:
                break
            tok = m.group(1)
            start = m.start(1)
            pos = m.end()
            top = stack[-1] if stack else None
            if tok in ",:":
                if tok == "," and top is not None:
                    if top[0] == "[":
                        top[1] = int(top[1]) + 1  # type: ignore[call-overload]
                    else:
                        top[2] = True
                continue
            if tok in "}]":
                stack.pop()
                if path:
                    path.pop()
                continue
            if top is not None and top[0] == "{" and top[2]:
                key = _unquote(tok)
                top[1] = key
                top[2] = False
                index[(*path, key)] = start
                continue
            if top is not None:
                here = (*path, cast(PathPart, top[1]))
                index.setdefault(here, start)  # keep the key's position for members
            else:
                index.setdefault((), start)
            if tok in "{[":
                end = self._skip(here, start) if top is not None else None
                if end is not None:
                    pos = end
                    continue
                if top is not None:
                    path.append(top[1])  # type: ignore[arg-type]
                stack.append([tok, 0 if tok == "[" else "", tok == "{"])

    def _line_col(self, offset: int) -> Position:
        lo, hi = 0, len(self._line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self._line_starts[lo] + 1

    def locate(self, path: tuple[PathPart, ...]) -> Position:
        """Position of `path`, or of its nearest existing ancestor (e.g. for a missing field)."""
        p = tuple(path)
        while p:
            offset = self._index.get(p)
            if offset is None and p and isinstance(p[-1], int):
                offset = self._index.get((*p[:-1], str(p[-1])))
            if offset is not None:
                return self._line_col(offset)
            p = p[:-1]
        return self._line_col(self._index.get((), 0))


def _unquote(tok: str) -> str:
    if tok.startswith('"'):
        if "\\" not in tok and len(tok) > 1 and tok.endswith('"'):
            return tok[1:-1]
        try:
            value = json.loads(tok)
            return value if isinstance(value, str) else tok
        except ValueError:
            return tok[1:-1]
    return tok
