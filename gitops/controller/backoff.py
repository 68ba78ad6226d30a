"""When to try a failed revision again: exponential backoff, as Flux requeues a failed reconcile.

A pure decision, table-tested. The reconcile keeps one schedule in the controller state (its `retry`
columns, `gitops.planner.documents.RetrySchedule`: the sha, the attempt number, when it is due) and asks
`due` on each poll; after each failed attempt `after_failure` gives the next schedule. A newer head, a
success, or an operator's rollback makes the schedule moot (it names another sha, or is cleared).
"""

from __future__ import annotations

import datetime as dt

from gitops.planner.documents import RetrySchedule

RETRIED_STATUSES = frozenset({"failed", "rolled_back"})  # failed applies, and those auto-rolled back


def delay(attempt: int, initial: float, maximum: float) -> float:
    """Seconds to wait before attempt `attempt + 1`: initial, 2x, 4x... capped at `maximum`."""
    return float(min(maximum, initial * 2 ** max(0, attempt - 1)))


def after_failure(schedule: RetrySchedule | None, sha: str, now: dt.datetime, initial: float,
                  maximum: float) -> RetrySchedule:
    """The schedule after `sha` failed (again) at `now`."""
    attempt = schedule.attempt + 1 if schedule is not None and schedule.sha == sha else 1
    return RetrySchedule(sha=sha, attempt=attempt, due_at=now + dt.timedelta(seconds=delay(attempt, initial, maximum)))


def due(schedule: RetrySchedule | None, sha: str, now: dt.datetime) -> bool:
    """True when the failed `sha` is scheduled and its time has come."""
    return schedule is not None and schedule.sha == sha and now >= schedule.due_at
