"""Connecting ahead: the systems' session opened in a thread while the revision is checked out and validated.

A revision's first read waits on the network: the login, the node list and `GET cluster/resources`, one
round trip each, and at 10,000 guests the last one is a few megabytes the API takes ~0.1 s to answer.
None of it depends on the revision, so `gitops.controller.steps.run_steps` starts it (`Ahead`) before the
checkout, and the `connect` step takes the session when it gets there (`Ahead.take`): the same session, or
the same error, `Convergence.open` would have given it then. A revision stopped before it (rejected) never
takes it: `Ahead.release` closes the session once it is open. Nothing the commit says reaches this thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, Protocol, TypeVar


class Closable(Protocol):
    def close(self) -> None: ...


T = TypeVar("T", bound=Closable)


class Ahead(Generic[T]):
    """One value (a session) made in a thread of its own; taken once, or released."""

    def __init__(self, make: Callable[[], T], *, name: str = "connect-ahead") -> None:
        self._future: Future[T] = Future()
        self._future.set_running_or_notify_cancel()
        self._thread = threading.Thread(target=self._run, args=(make,), name=name, daemon=True)
        self._thread.start()

    def _run(self, make: Callable[[], T]) -> None:
        try:
            value = make()
        except BaseException as exc:  # given to `take`, in the caller's thread
            self._future.set_exception(exc)
        else:
            self._future.set_result(value)

    def take(self) -> T:
        """The value, once made (waits); raises what making it raised."""
        return self._future.result()

    def release(self) -> None:
        """Not taken after all: the value is closed as soon as it is made (now, when it is)."""
        def close(future: Future[T]) -> None:
            if future.exception() is None:
                future.result().close()
        self._future.add_done_callback(close)
