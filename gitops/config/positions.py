"""Where a JSON path sits in a file's text: line and column, for messages people can act on.

Python's json module forgets positions, so a cheap regex tokenizer walks the text once and
indexes every value's path. It runs only for files that have problems. Used by
`gitops.config.loading`.
"""

from __future__ import annotations

import re

from gitops.config.problems import PathPart

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')
Position = tuple[int, int]


class PositionIndex:
    """Maps JSON paths of one document to the 1-based (line, column) of their value or key."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self._index: dict[tuple[PathPart, ...], int] = {}
        self._build()

    def _build(self) -> None:
        # A stack of containers: for an object, the pending key; for an array, the next index.
        stack: list[list[object]] = []  # [kind, key_or_index, expecting_key]
        path: list[PathPart] = []
        index = self._index
        for m in _TOKEN.finditer(self._text):
            tok = m.group()
            start = m.start()
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
                here = (*path, top[1])
                index.setdefault(here, start)  # keep the key's position for members
            else:
                index.setdefault((), start)
            if tok in "{[":
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
        import json

        try:
            value = json.loads(tok)
            return value if isinstance(value, str) else tok
        except ValueError:
            return tok[1:-1]
    return tok
