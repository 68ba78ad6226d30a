"""The one retry module: transient errors only, exponential backoff (with jitter unless a preset says not),
bounded; a named preset per system (`PROXMOX`, `PORTAINER`, `FORGE`).

Used by the Proxmox driver (every GET, every API call of a plan with its task wait), the Portainer
client (every read and write) and the forge client (commit statuses, PR comments: bounds short on
purpose, a status that cannot be posted within ~30 s is logged and dropped by the caller, it never
holds up a reconcile). Deciding is tenacity's; the sleep is injected so tests never really wait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from gitops import errors

if TYPE_CHECKING:  # tenacity is imported on the first failure: most commands never retry anything
    import tenacity

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: at most `attempts` tries within `max_delay` seconds, waits growing from `initial`
    to `maximum` seconds, with full jitter when `jitter`."""

    attempts: int = 5
    max_delay: float = 60.0
    initial: float = 0.5
    maximum: float = 10.0
    jitter: bool = True


PROXMOX = RetryPolicy(attempts=5, max_delay=60.0, initial=0.5, maximum=10.0)
PORTAINER = RetryPolicy(attempts=4, max_delay=30.0, initial=0.5, maximum=5.0, jitter=False)
FORGE = RetryPolicy(attempts=4, max_delay=30.0, initial=0.5, maximum=8.0)


def is_retryable(exc: BaseException) -> bool:
    """Transient errors are worth another try; everything else (permanent, bugs) is not."""
    return isinstance(exc, errors.TransientError)


def call_with_retries(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy = PROXMOX,
    sleep: Callable[[float], None] = time.sleep,
    retry_if: Callable[[BaseException], bool] = is_retryable,
    what: str = "",
) -> T:
    """fn(), tried again on errors `retry_if` accepts; the last error is raised as it was."""
    try:
        return fn()  # the common case, without building a Retrying for every call
    except Exception as exc:
        if not retry_if(exc) or policy.attempts <= 1:
            raise
        log.warning("retrying %s (attempt 1): %s", what or "call", exc)
    import tenacity

    wait = _wait(policy)
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(retry_if),
        stop=tenacity.stop_after_attempt(policy.attempts - 1) | tenacity.stop_after_delay(policy.max_delay),
        wait=wait,
        sleep=sleep,
        reraise=True,
        before_sleep=lambda state: _log_retry(state, what),
    )
    sleep(wait(tenacity.RetryCallState(retrying, None, (), {})))
    return retrying(fn)


def _wait(policy: RetryPolicy) -> tenacity.wait.wait_base:
    import tenacity

    if policy.jitter:
        return tenacity.wait_random_exponential(multiplier=policy.initial, max=policy.maximum)
    return tenacity.wait_exponential(multiplier=policy.initial, max=policy.maximum)


def _log_retry(state: tenacity.RetryCallState, what: str) -> None:
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.warning("retrying %s in %.1fs (attempt %d): %s", what or "call", wait, state.attempt_number + 1, exc)
