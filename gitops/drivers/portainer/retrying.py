"""The retry policy for Portainer calls: transient errors only (5xx, connection trouble), bounded backoff.

Used by `connection.PortainerClient.request`, so every read and write is covered. Deciding is
tenacity's; the sleep is injected (`PortainerClient(sleep=...)`) so tests never really wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from gitops import errors

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """At most `attempts` tries within `max_delay` seconds; waits grow from `initial` to `maximum` seconds."""

    attempts: int = 4
    max_delay: float = 30.0
    initial: float = 0.5
    maximum: float = 5.0


def retried(fn: Callable[[], T], *, policy: RetryPolicy, sleep: Callable[[float], None], what: str) -> T:
    """fn(), tried again while it raises `TransientError`; the last error is raised as it was."""
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(errors.TransientError),
        stop=tenacity.stop_after_attempt(policy.attempts) | tenacity.stop_after_delay(policy.max_delay),
        wait=tenacity.wait_exponential(multiplier=policy.initial, max=policy.maximum),
        sleep=sleep,
        reraise=True,
        before_sleep=lambda state: log.warning(
            "retrying %s in %.1fs (attempt %d): %s", what, state.next_action.sleep if state.next_action else 0.0,
            state.attempt_number, state.outcome.exception() if state.outcome else None),
    )
    return retrying(fn)
