"""A bounded, thread-safe memo (least recently used dropped first), for the work a commit would otherwise
redo for every guest it left alone: validating a guest's entry (`gitops.config.loading`), describing a
guest for the drift report (`gitops.planner.proxmox.describing`), a config file's strings
(`gitops.source.exporting`). Keys are the whole input (content, not identity) or its `digest` when the
input is text that would be large to hold; values must not be changed by those who get them. Pure Python,
no I/O.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

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
