"""Whether the reconcile loop is alive, for the liveness probe (`GET /healthz` answers 503 when it is not).

The loop `beat`s at every turn (at least every couple of seconds when idle, leader or follower); while
it reconciles, the `Recorder` beats at every phase and every event of an apply (an action started, an
API call sent, an action finished), so a long apply that reports progress is alive. The loop is
wedged when nothing beat for longer than `wedged_after(settings)`, or when its thread has ended
without being asked to stop.

`wedged_after`: `PHOENIX_LIVENESS_TIMEOUT` when set, else derived from the settings: the poll interval,
plus the longest one step of a reconcile may stay silent (a hypervisor task is waited for up to
`STEP_WAIT_S`; a script runs up to `PHOENIX_SSH_TIMEOUT` when provisioning is on; a git fetch up to
`GIT_WAIT_S`), plus `GRACE_S`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from gitops.settings import Settings

STEP_WAIT_S = 3600.0  # the longest a driver waits on one task of an apply (the hypervisor's task timeout)
GIT_WAIT_S = 120.0  # a fetch of the config repo (`gitops.source.repository.DEFAULT_TIMEOUT_S`)
GRACE_S = 60.0


def wedged_after(settings: Settings) -> float:
    """Seconds without a beat after which the loop counts as wedged."""
    if settings.liveness_timeout > 0:
        return settings.liveness_timeout
    step = max(STEP_WAIT_S, GIT_WAIT_S, settings.ssh_timeout if settings.provisioning else 0.0)
    return settings.poll_interval + step + GRACE_S


class Liveness:
    """The time of the loop's last sign of life. Thread-safe: a float assigned whole."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._last = monotonic()

    def beat(self) -> None:
        self._last = self._monotonic()

    def silent_for(self) -> float:
        return max(0.0, self._monotonic() - self._last)


def wedged(liveness: Liveness, bound: float, loop: threading.Thread | None, stopping: threading.Event) -> str | None:
    """Why the loop counts as wedged, or None while it is alive (or was never started, or is stopping)."""
    if loop is None or stopping.is_set():
        return None
    if not loop.is_alive():
        return "the reconcile loop has ended"
    silent = liveness.silent_for()
    if silent > bound:
        return (f"the reconcile loop has shown no sign of life for {silent:.0f}s (limit {bound:.0f}s: "
                "PHOENIX_LIVENESS_TIMEOUT)")
    return None
