"""Memos for the work a commit would otherwise redo for every guest it left alone. Pure Python, no I/O.

- `BoundedMemo`: bounded and thread-safe (least recently used dropped first): validating a guest's entry
  (`gitops.config.loading`), describing a guest for the drift report (`gitops.planner.proxmox.describing`).
  Keys are the whole input (content, not identity) or its `digest` when the input is text that would be
  large to hold.
- `Last`: the last value made and what it was made of (the checks across guests, the guest graph).
- `PerObject`: what was made of an object, for the next use of that very object in the same thread (the
  ledger's documents and their JSON text).

Values must not be changed by those who get them.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedMemo(Generic[K, V]):
    """At most `limit` values by key; `get` of a key counts as a use."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.limit:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)


def digest(content: str | bytes) -> bytes:
    """A key standing for `content` (SHA-256): memos keyed by a file's or an entry's text hold 32 bytes, not
    the text."""
    data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
    return hashlib.sha256(data).digest()


class Last(Generic[V]):
    """The last value made, with the key it was made for (its whole input, compared by value): `get` makes it
    again only for another key. A key of None is made and not kept (a validation from nothing)."""

    def __init__(self) -> None:
        self._last: tuple[Hashable, V] | None = None

    def get(self, key: Hashable | None, make: Callable[[], V]) -> V:
        last = self._last  # one read: another thread may replace it meanwhile, never half
        if key is not None and last is not None and last[0] == key:
            return last[1]
        made = make()
        if key is not None:
            self._last = (key, made)
        return made


class PerObject(Generic[V]):
    """Values kept for objects by their identity, per thread, at most `limit` (past it, all are dropped: they
    belonged to writes an error cut short). An entry holds its object, so an id is never another's meanwhile."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._local = threading.local()

    def put(self, owner: Any, value: V) -> None:
        kept: dict[int, tuple[Any, V]] | None = getattr(self._local, "kept", None)
        if kept is None or len(kept) >= self.limit:
            kept = self._local.kept = {}
        kept[id(owner)] = (owner, value)

    def get(self, owner: Any) -> V | None:
        found = getattr(self._local, "kept", {}).get(id(owner))
        return found[1] if found is not None and found[0] is owner else None

    def take(self, owner: Any) -> V | None:
        """`get`, and forgotten (a hand-over used once)."""
        kept = getattr(self._local, "kept", None)
        found = kept.pop(id(owner), None) if kept else None
        return found[1] if found is not None and found[0] is owner else None
