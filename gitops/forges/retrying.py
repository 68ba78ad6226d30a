"""The retry policy of forge calls: transient errors only, exponential backoff with jitter, bounded.

Used by `client`. Deciding is tenacity's; the sleep is injected so tests never really wait. Bounds
are short on purpose: a status or a comment that cannot be posted within ~30 s is logged and dropped
by the caller, it never holds up a reconcile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from gitops import errors

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    max_delay: float = 30.0
    initial: float = 0.5
    maximum: float = 8.0


DEFAULT_POLICY = RetryPolicy()


def call_with_retries(fn: Callable[[], T], *, policy: RetryPolicy = DEFAULT_POLICY,
                      sleep: Callable[[float], None] = time.sleep, what: str = "") -> T:
    """fn(), tried again on `TransientError`; the last error is raised as it was."""
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(errors.TransientError),
        stop=tenacity.stop_after_attempt(policy.attempts) | tenacity.stop_after_delay(policy.max_delay),
        wait=tenacity.wait_random_exponential(multiplier=policy.initial, max=policy.maximum),
        sleep=sleep,
        reraise=True,
        before_sleep=lambda state: log.warning(
            "retrying %s in %.1fs (attempt %d): %s", what or "forge call",
            state.next_action.sleep if state.next_action else 0.0, state.attempt_number,
            state.outcome.exception() if state.outcome else None),
    )
    return retrying(fn)
