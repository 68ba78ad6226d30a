"""`phoenix-gitops history` as one timeline: each revision with its runs of every kind (apply, retries,
rollback, auto-rollback, self-heal), the revision with the most recent activity first.

A rollback to an old revision is a run of that revision: it moves the revision to the top, so what the
estate went through reads from the top down. A run whose revision is past the listed ones gets a line of
its own revision.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any


def lines(revisions: list[dict[str, Any]], runs: list[dict[str, Any]]) -> Iterator[str]:
    by_revision: dict[str, list[dict[str, Any]]] = {}
    for run in runs:  # newest first, as the API lists them
        by_revision.setdefault(str(run.get("revision")), []).append(run)
    known = {str(r.get("sha")) for r in revisions}
    entries: list[tuple[str, dict[str, Any] | None, str]] = [
        (str(r.get("sha")), r, _latest(r.get("received_at"), by_revision.get(str(r.get("sha")), [])))
        for r in revisions]
    entries += [(sha, None, _latest(None, found)) for sha, found in by_revision.items() if sha not in known]
    entries.sort(key=lambda e: e[2], reverse=True)
    for sha, revision, _at in entries:
        yield _revision_line(sha, revision)
        for run in by_revision.get(sha, []):
            yield _run_line(run)


def _latest(received: Any, runs: list[dict[str, Any]]) -> str:
    stamps = [str(received or "")] + [str(r.get("started_at") or "") for r in runs]
    return max(_utc(s) for s in stamps)


def _utc(stamp: str) -> str:
    """An ISO stamp as a sortable UTC string ('' sorts first)."""
    with contextlib.suppress(ValueError):
        return dt.datetime.fromisoformat(stamp).astimezone(dt.UTC).isoformat()
    return ""


def _revision_line(sha: str, r: dict[str, Any] | None) -> str:
    if r is None:
        return f"{sha[:12]}  (older revision)"
    subject = (r.get("message") or "").splitlines()[0] if r.get("message") else ""
    error = f"  ({r['error'][:100]})" if r.get("error") else ""
    return f"{r['short_sha']}  {r['status']:<11}  {when(r.get('received_at'))}  {subject[:60]}{error}"


def _run_line(run: dict[str, Any]) -> str:
    kind = str(run.get("kind") or "")
    if kind == "self-heal":
        what = "drift on " + (", ".join(run.get("drift") or [])[:60] or "-")
    else:
        counts = run.get("counts") or {}
        what = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no actions"
    error = f"  ({run['error'][:100]})" if run.get("error") else ""
    return f"  {kind} #{run.get('id')}  {run.get('status', ''):<13}  {when(run.get('started_at'))}  {what}{error}"


def when(value: Any) -> str:
    stamp = str(value or "")
    with contextlib.suppress(ValueError):
        stamp = dt.datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return stamp
