"""When to try a failed revision again: exponential backoff, as Flux requeues a failed reconcile.

A pure decision, table-tested. The reconcile keeps one schedule in the controller state
(`extra["retry"]`: the sha, the attempt number, when it is due) and asks `due` on each poll; after
each failed attempt `after_failure` gives the next schedule. A newer head, a success, or an operator's
rollback makes the schedule moot (it names another sha, or is cleared).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

RETRIED_STATUSES = frozenset({"failed", "rolled_back"})  # failed applies, and those auto-rolled back


def delay(attempt: int, initial: float, maximum: float) -> float:
    """Seconds to wait before attempt `attempt + 1`: initial, 2x, 4x... capped at `maximum`."""
    return float(min(maximum, initial * 2 ** max(0, attempt - 1)))


def after_failure(schedule: Any, sha: str, now: dt.datetime, initial: float, maximum: float) -> dict[str, Any]:
    """The schedule after `sha` failed (again) at `now`."""
    attempt = schedule.get("attempt", 0) + 1 if isinstance(schedule, dict) and schedule.get("sha") == sha else 1
    due_at = now + dt.timedelta(seconds=delay(attempt, initial, maximum))
    return {"sha": sha, "attempt": attempt, "due_at": due_at.isoformat()}


def due(schedule: Any, sha: str, now: dt.datetime) -> bool:
    """True when the failed `sha` is scheduled and its time has come."""
    if not isinstance(schedule, dict) or schedule.get("sha") != sha:
        return False
    try:
        return now >= dt.datetime.fromisoformat(str(schedule["due_at"]))
    except (KeyError, ValueError):
        return True  # a damaged schedule: try now rather than never
