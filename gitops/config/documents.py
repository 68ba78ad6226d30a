"""A config file's JSON, parsed once per text and entry by entry against the file's previous text.

`parse(name, text)` is `json.loads(text)` (the same value, or the same exception), returned as a
`Document`: the value, and each entry of the file's collection (`lxc_configs`, `vms`, `docker_stacks`)
with the text it was parsed from. An entry whose text is the same as the same entry's (by key, or by
position in a list) in the previous document of that file is not parsed again: the previous entry, its
value and what was derived from it (`Entry.derive`) are taken as they are; the entries in the text the old
and the new text share at their start and at their end are not even walked. A commit changing one guest of
10,000 decodes that guest; its checkout and its validation share the one parse. An entry decoded alone
shares its objects' keys with the others' (`_shared_keys`), as one `json.loads` would.

Values are shared between documents: nobody changes them. Entries are matched by their exact text, so two
texts that parse to equal values in Python (`1`, `1.0`, `true`) are never taken for each other. Only the
walk between entries is ours; every value is decoded by the standard library's decoder (`raw_decode`,
`scanstring`), and any text the walk does not expect is handed to `json.loads` whole, so its answer and its
errors are exactly `json.loads`'s. Used by `gitops.config.loading`, `gitops.config.checks.secrets` and
`gitops.source.exporting`. Pure Python, no I/O.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from json.decoder import WHITESPACE, scanstring  # type: ignore[attr-defined]
from typing import Any, TypeVar, cast

T = TypeVar("T")
Key = str | int

_DECODER = json.JSONDecoder()
_LOCK = threading.Lock()
# The last document of each file name: what the next text of that file is parsed against.
_LAST: dict[str, Document] = {}


@dataclass(eq=False, slots=True)
class Entry:
    """One entry of a collection: its value, where its text lies in its document, what was derived of it."""

    value: Any
    start: int
    end: int
    derived: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    def derive(self, key: Hashable, make: Callable[[Any], T]) -> T:
        """`make(value)`, made at the first ask for `key` and kept with the entry (and so with the same entry of
        later documents whose text is the same); `make` must depend on the value alone."""
        try:
            return self.derived[key]  # type: ignore[no-any-return]
        except KeyError:
            made = self.derived[key] = make(self.value)
            return made


@dataclass(eq=False)
class Document:
    """A parsed file: `data` is `json.loads(text)`; `entries` the entries of `collection`, by key (a map) or
    position (a list), empty when the file has no such collection."""

    name: str
    text: str
    data: Any
    collection: str | None = None
    entries: dict[Key, Entry] = field(default_factory=dict)
    derived: dict[Hashable, Any] = field(default_factory=dict, repr=False)
    # The collection as walked: each entry with where its key (a map) or value (a list) starts, in the order
    # of the text (a repeated key twice), and where the collection starts and ends.
    walked: list[tuple[Key, Entry, int]] = field(default_factory=list, repr=False)
    span: tuple[int, int] = (0, 0)

    def derive(self, key: Hashable, make: Callable[[], T]) -> T:
        """`make()` for this document, made once (the same text gives the same document)."""
        try:
            return cast(T, self.derived[key])
        except KeyError:
            made = self.derived[key] = make()
            return made

    def rest(self) -> Iterator[tuple[str, Any]]:
        """The top-level keys and values besides the collection (all of them when it has none)."""
        if isinstance(self.data, dict):
            yield from ((k, v) for k, v in self.data.items() if not (self.entries and k == self.collection))


def parse(name: str, text: str, collection: str | None = None) -> Document:
    """`json.loads(text)` as a `Document` of file `name` (raises what `json.loads` raises). With `collection`,
    the top-level key whose entries are parsed one by one against the previous document of `name`."""
    with _LOCK:
        previous = _LAST.get(name)
    if previous is not None and previous.text == text and previous.collection == collection:
        return previous
    document = _split(name, text, collection, previous if previous is not None and previous.walked else None) \
        if collection else None
    if document is None:
        document = Document(name, text, json.loads(text), collection)
    with _LOCK:
        _LAST[name] = document
    return document


def forget() -> None:
    """Drop the last documents (tests; a process that parses nothing more)."""
    with _LOCK:
        _LAST.clear()


def height(value: Any) -> int:
    """How deep lists and objects nest in `value` (0 for a scalar, 1 for `{}` or `[1]`); iterative."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _ws(text: str, at: int) -> int:
    return cast(int, WHITESPACE.match(text, at).end())


def _split(name: str, text: str, collection: str, previous: Document | None) -> Document | None:
    """The document walked key by key, its collection entry by entry; None for anything unexpected (a top
    level that is not an object, no such collection, a syntax error): `json.loads` then parses it whole."""
    try:
        at = _ws(text, 0)
        if text[at:at + 1] != "{":
            return None
        data: dict[str, Any] = {}
        walk: _Walk | None = None
        at = _ws(text, at + 1)
        if text[at:at + 1] == "}":
            return None
        while True:
            if text[at:at + 1] != '"':
                return None
            key, at = scanstring(text, at + 1)
            at = _ws(text, at)
            if text[at:at + 1] != ":":
                return None
            at = _ws(text, at + 1)
            if key == collection and text[at:at + 1] in ("{", "[") and walk is None:
                walk = _Walk(text, at, previous)
                data[key] = walk.values
                at = walk.end
            else:
                data[key], at = _DECODER.raw_decode(text, at)
                if key == collection:
                    return None  # a second collection key, or one that is not a map or list
            at = _ws(text, at)
            if text[at:at + 1] == ",":
                at = _ws(text, at + 1)
                continue
            if text[at:at + 1] != "}":
                return None
            break
        if _ws(text, at + 1) != len(text) or walk is None:
            return None
    except (ValueError, RecursionError, StopIteration, IndexError):
        return None
    return Document(name, text, data, collection, walk.entries, walked=walk.walked, span=(walk.start, walk.end))


class _Walk:
    """The map or list at `start` of `text`, entry by entry. With the previous document of the file: its
    entries in the text both share at their start (the common prefix) are taken as they are, unwalked; so
    are those in the text both share at their end, from the first entry of the new text that starts where
    an entry of the old one did (the parse from there on is the old one's, moved); an entry between them
    whose text is the old entry's (same key, or same position in a list) keeps its value."""

    def __init__(self, text: str, start: int, previous: Document | None) -> None:
        self.text, self.start = text, start
        self.is_map = text[start] == "{"
        self.entries: dict[Key, Entry] = {}
        self.walked: list[tuple[Key, Entry, int]] = []
        self.values: Any = {} if self.is_map else []
        self.end = self._walk(previous)

    def _take(self, key: Key, entry: Entry, begins: int) -> None:
        if self.is_map:
            self.values[key] = entry.value
        else:
            self.values.append(entry.value)
        self.entries[key] = entry  # a repeated key: the last one counts, as in json.loads
        self.walked.append((key, entry, begins))

    def _walk(self, previous: Document | None) -> int:
        text, is_map = self.text, self.is_map
        closing = "}" if is_map else "]"
        old_text = previous.text if previous is not None else ""
        before = previous.entries if previous is not None else {}
        old_walked = previous.walked if previous is not None else []
        prefix = suffix = 0
        if previous is not None:
            prefix = _common_prefix(old_text, text)
            suffix = min(_common_suffix(old_text, text), min(len(old_text), len(text)) - prefix)
        moved = len(text) - len(old_text)
        old_starts = {begins: i for i, (_key, _entry, begins) in enumerate(old_walked)} if suffix else {}
        at = _ws(text, self.start + 1)
        if text[at:at + 1] == closing:
            return at + 1
        taken = 0
        while taken < len(old_walked) and old_walked[taken][1].end <= prefix:
            self._take(*old_walked[taken])
            taken += 1
        if taken:
            at = self._after(self.walked[-1][1].end, closing)
            if at < 0:
                return -at
        while True:
            begins = at
            j = old_starts.get(at - moved) if at >= len(text) - suffix else None
            if j is not None:  # from here on the text is the old one's: so is the rest of the collection
                for named, kept, old_begins in old_walked[j:]:
                    moved_entry = Entry(kept.value, kept.start + moved, kept.end + moved, kept.derived)
                    self._take(named if is_map else len(self.walked), moved_entry, old_begins + moved)
                return previous.span[1] + moved if previous is not None else 0
            key: Key
            if is_map:
                if text[at:at + 1] != '"':
                    raise ValueError("expected a key")
                key, at = scanstring(text, at + 1)
                at = _ws(text, at)
                if text[at:at + 1] != ":":
                    raise ValueError("expected ':'")
                at = _ws(text, at + 1)
            else:
                key = len(self.walked)
            old = before.get(key)
            if old is not None and old_text[old.start] in '{["' and text.startswith(old_text[old.start:old.end], at):
                # An object, an array or a string ends where its text does: the same text is the same value.
                entry = Entry(old.value, at, at + old.end - old.start, old.derived)
            else:
                value, end = _DECODER.raw_decode(text, at)
                entry = Entry(_shared_keys(value), at, end)
            self._take(key, entry, begins)
            at = self._after(entry.end, closing)
            if at < 0:
                return -at

    def _after(self, end: int, closing: str) -> int:
        """Where the next entry starts after an entry ending at `end`, or minus where the collection ends."""
        text = self.text
        at = _ws(text, end)
        if text[at:at + 1] == ",":
            return _ws(text, at + 1)
        if text[at:at + 1] != closing:
            raise ValueError(f"expected ',' or '{closing}'")
        return -(at + 1)


# The keys of the objects entries hold, one string for each (`json.loads` shares them within one call; an entry
# decoded alone would have its own copies: at 10,000 guests some 12 MB). Emptied when it grows past its bound.
_KEYS: dict[str, str] = {}
_KEYS_MAX = 100_000


def _shared_keys(value: Any) -> Any:
    """`value` with the keys of its objects taken from `_KEYS` (objects made anew, in place in their parents)."""
    if not isinstance(value, dict | list):
        return value
    keys = _KEYS
    if len(keys) > _KEYS_MAX:
        keys.clear()
    root: list[Any] = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, slot = stack.pop()
        node = parent[slot]
        if isinstance(node, dict):
            node = parent[slot] = {keys.setdefault(k, k): v for k, v in node.items()}
            stack.extend((node, k) for k, v in node.items() if isinstance(v, dict | list))
        else:
            stack.extend((node, i) for i, v in enumerate(node) if isinstance(v, dict | list))
    return root[0]


_CHUNK = 1 << 16


def _common_prefix(a: str, b: str) -> int:
    """The length of the longest text both `a` and `b` start with (compared a chunk at a time)."""
    n = min(len(a), len(b))
    lo = 0
    while lo + _CHUNK <= n and a[lo:lo + _CHUNK] == b[lo:lo + _CHUNK]:
        lo += _CHUNK
    hi = min(lo + _CHUNK, n)
    while lo < hi:  # a[:lo] == b[:lo]; the first difference, if any, is before hi
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: str, b: str) -> int:
    """The length of the longest text both `a` and `b` end with."""
    n = min(len(a), len(b))
    la, lb = len(a), len(b)
    lo = 0
    while lo + _CHUNK <= n and a[la - lo - _CHUNK:la - lo] == b[lb - lo - _CHUNK:lb - lo]:
        lo += _CHUNK
    hi = min(lo + _CHUNK, n)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[la - mid:la - lo] == b[lb - mid:lb - lo]:
            lo = mid
        else:
            hi = mid - 1
    return lo
