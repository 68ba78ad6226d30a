"""A config file's JSON, parsed once per text and entry by entry against the file's previous text.

`parse(name, text)` is `json.loads(text)` (the same value, or the same exception), returned as a
`Document`: the value, and each entry of the file's collection (`lxc_configs`, `vms`, `docker_stacks`)
with the text it was parsed from. An entry whose text is the same as the same entry's (by key, or by
position in a list) in the previous document of that file is not parsed again: the previous entry, its
value and what was derived from it (`Entry.derive`) are taken as they are. A commit changing one guest of
10,000 parses that guest; its checkout and its validation share the one parse.

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


@dataclass(eq=False)
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
    document = _split(name, text, collection, previous) if collection else None
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
        entries: dict[Key, Entry] | None = None
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
            if key == collection and text[at:at + 1] in ("{", "[") and entries is None:
                data[key], entries, at = _collection(text, at, previous)
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
        if _ws(text, at + 1) != len(text) or entries is None:
            return None
    except (ValueError, RecursionError, StopIteration, IndexError):
        return None
    return Document(name, text, data, collection, entries)


def _collection(text: str, at: int, previous: Document | None) -> tuple[Any, dict[Key, Entry], int]:
    """The map or list at `at`, each entry taken from `previous` when its text is the same."""
    is_map = text[at] == "{"
    closing = "}" if is_map else "]"
    before = previous.entries if previous is not None else {}
    old_text = previous.text if previous is not None else ""
    entries: dict[Key, Entry] = {}
    values: dict[str, Any] | list[Any] = {} if is_map else []
    at = _ws(text, at + 1)
    if text[at:at + 1] == closing:
        return values, entries, at + 1
    position = 0
    while True:
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
            key = position
        old = before.get(key)
        span = old.end - old.start if old is not None else 0
        if old is not None and old_text[old.start] in '{["' and text.startswith(old_text[old.start:old.end], at):
            # An object, an array or a string ends where its text does: the same text is the same value.
            entry = Entry(old.value, at, at + span, old.derived)
        else:
            value, end = _DECODER.raw_decode(text, at)
            entry = Entry(value, at, end)
        if is_map:
            values[key] = entry.value  # type: ignore[index]
        else:
            values.append(entry.value)  # type: ignore[union-attr]
        entries[key] = entry  # a repeated key: the last one counts, as in json.loads
        position += 1
        at = _ws(text, entry.end)
        if text[at:at + 1] == ",":
            at = _ws(text, at + 1)
            continue
        if text[at:at + 1] != closing:
            raise ValueError(f"expected ',' or '{closing}'")
        return values, entries, at + 1
