"""Waiting for a PVE worker task (a UPID) to end, and reading how it ended.

Called by `driver.ProxmoxDriver` after every ApiCall with `wait=True`. Polls `nodes/{node}/tasks/{upid}/status`
with the client's injected sleep and clock: `OK` succeeds, `WARNINGS: N` succeeds and returns the
warning lines, anything else raises TaskFailedError with the last lines of the task log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gitops import errors
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.drivers.proxmox.errors import is_transient_message
from gitops.planner.proxmox import pve_paths

LOG_TAIL = 10


class TaskWaitError(errors.TransientError):
    """The task still runs after the timeout, or its status cannot be read.

    Transient, but never retried by sending the request again: the task may yet finish.
    """


@dataclass
class TaskResult:
    """How a task ended: its UPID, exit status (`OK` or `WARNINGS: N`) and the warning lines, if any."""

    upid: str
    exitstatus: str
    warnings: list[str] = field(default_factory=list)


def upid_node(upid: str) -> str:
    """The node a UPID belongs to (`UPID:pve1:...` -> `pve1`)."""
    parts = upid.split(":")
    if len(parts) < 3 or parts[0] != "UPID" or not parts[1]:
        raise errors.PermanentError(f"not a task id: {upid!r}")
    return parts[1]


def is_upid(value: object) -> bool:
    return isinstance(value, str) and value.startswith("UPID:")


def wait_for_task(
    client: ProxmoxClient,
    upid: str,
    *,
    target: str | None = None,
    timeout: float = 3600.0,
    poll: float = 0.2,
    max_poll: float = 2.0,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
    polling: Callable[[], None] | None = None,
) -> TaskResult:
    """Poll until the task stops; its result, or TaskFailedError naming `target` and the task's message.
    `polling()` is called before each poll: a sign of progress while a long task runs (a clone of a large
    disk takes minutes, and the loop's liveness probe counts the silence)."""
    sleep = sleep or client.sleep
    clock = clock or client.clock
    node = upid_node(upid)
    deadline = clock() + timeout
    interval = poll
    failures = 0
    while True:
        if polling is not None:
            polling()
        try:
            status = client.request("GET", pve_paths.node_path(node, f"tasks/{upid}/status"), target=target) or {}
            failures = 0
        except errors.TransientError:
            # A hiccup while polling says nothing about the task; give up only when it persists.
            failures += 1
            if failures >= 5:
                raise TaskWaitError(f"task {upid} for {target or node}: its status cannot be read",
                                    target=target) from None
            status = {}
        if status.get("status") == "stopped":
            break
        if clock() >= deadline:
            raise TaskWaitError(f"task {upid} for {target or node} still running after {timeout:.0f}s",
                                   target=target)
        sleep(interval)
        interval = min(interval * 1.5, max_poll)
    exitstatus = str(status.get("exitstatus", ""))
    if exitstatus == "OK":
        return TaskResult(upid, exitstatus)
    lines = _log_lines(client, node, upid, target)
    if exitstatus.startswith("WARNINGS"):
        # The closing `TASK WARNINGS: N` line is the status again, not a warning.
        warned = [line for line in lines if "WARN" in line and not line.startswith(("TASK ", exitstatus))]
        return TaskResult(upid, exitstatus, warned)
    tail = [line for line in lines if line.strip()][-LOG_TAIL:]
    reason = exitstatus or "unknown exit status"
    raise errors.TaskFailedError(
        f"{target or node}: task {status.get('type') or 'task'} failed: {reason}",
        target=target, upid=upid, exitstatus=exitstatus, log=tail, transient=is_transient_message(exitstatus),
    )


def _log_lines(client: ProxmoxClient, node: str, upid: str, target: str | None) -> list[str]:
    """The task log's lines (its last 500), or none when even that cannot be read."""
    try:
        entries = client.request("GET", pve_paths.node_path(node, f"tasks/{upid}/log"), {"limit": 500}, target=target)
    except errors.DriverError:
        return []
    return [str(e.get("t", "")) for e in entries or [] if isinstance(e, dict)]
