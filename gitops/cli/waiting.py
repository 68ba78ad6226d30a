"""`--wait` for `sync`, `rollback` and `resume`: follow one request until the reconcile that took it ends.

The write route answers the request's id; `GET /api/v1/requests/{id}` says `done` with the outcome once
the reconcile recorded it, and until then the running apply's progress, printed on stderr when it changes
(`3/12 actions done; now: lxc/102 create`). Exit codes, as `argocd app sync` and `flux reconcile`:
0 applied (or nothing to do), 1 failed, rejected or refused, 124 timed out (as `timeout(1)`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import typer

from gitops.cli.output import EXIT_FAILED, EXIT_OK

EXIT_TIMEOUT = 124
SUCCESS = frozenset({"applied", "healed", "none"})  # `none`: already there, nothing to apply
INTERVAL = 1.0

Call = Callable[[str, str, str], Any]


def wait_option() -> Any:
    return typer.Option(False, "--wait", help="wait until it is applied; exit 0 applied, 1 failed or refused, "
                        "124 timed out")


def timeout_option() -> Any:
    return typer.Option(600.0, "--timeout", min=0.0, help="seconds --wait waits at most")


def follow(call: Call, api: str, request: str, timeout: float, *, sleep: Callable[[float], None] = time.sleep,
           monotonic: Callable[[], float] = time.monotonic) -> int:
    """Poll the request until done or `timeout`; print progress and the outcome; the exit code."""
    deadline = monotonic() + timeout
    shown = ""
    while True:
        state = call("GET", api, f"/api/v1/requests/{request}")
        if state.get("done"):
            return _outcome(state)
        line = _progress(state)
        if line and line != shown:
            typer.echo(line, err=True)
            shown = line
        if monotonic() >= deadline:
            typer.echo(f"timed out after {timeout:g}s; the controller goes on (request {request})", err=True)
            return EXIT_TIMEOUT
        sleep(min(INTERVAL, max(0.0, deadline - monotonic())))


def _progress(state: dict[str, Any]) -> str:
    progress = state.get("progress")
    if not isinstance(progress, dict):
        return f"waiting ({state.get('phase') or 'queued'})"
    revision = str(progress.get("revision") or "")[:12]
    done, total = progress.get("done", 0), progress.get("total", 0)
    line = f"{progress.get('kind', 'apply')} {revision}: {done}/{total} actions done"
    if progress.get("current"):
        line += f"; now: {progress['current']}"
    return line


def _outcome(state: dict[str, Any]) -> int:
    action = str(state.get("action") or "")
    revision = str(state.get("revision") or "")[:12]
    detail = str(state.get("detail") or "")
    words = {"applied": "applied", "healed": "drift corrected", "none": "nothing to apply"}
    ok = action in SUCCESS
    typer.echo(f"{revision + ' ' if revision else ''}{words.get(action, action)}"
               + (f": {detail}" if detail and not ok else f" ({detail})" if detail else ""), err=not ok)
    return EXIT_OK if ok else EXIT_FAILED
