"""Running a plan against one Proxmox client: `apply_plan(client, plan, ...) -> ApplyResult`.

A convenience for the driver's own tests and scripts: it registers a `driver.ProxmoxDriver` around the
client and hands the plan to the one executor, `gitops.drivers.executing.execute` (dependency order,
per-node limits, secrets at the last moment, per-action outcomes). The controller and the CLI go
through `gitops.controller.converging`, which does the same with every registered system.
"""

from __future__ import annotations

from collections.abc import Callable

from gitops import retrying
from gitops.drivers.executing import (
    ActionOutcome,
    ApplyEvent,
    ApplyResult,
    EventListener,
    execute,
    predecessors,
    resolve_params,
)
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.drivers.proxmox.driver import ProxmoxDriver
from gitops.drivers.seam import CancelToken, Drivers
from gitops.planner.plan import Plan

__all__ = ["ActionOutcome", "ApplyEvent", "ApplyResult", "apply_plan", "predecessors", "resolve_params"]


def apply_plan(
    client: ProxmoxClient,
    plan: Plan,
    *,
    resolve_secret: Callable[[str], str],
    on_event: EventListener | None = None,
    concurrency: int | None = None,
    policy: retrying.RetryPolicy = retrying.PROXMOX,
    task_timeout: float = 3600.0,
    cancel: CancelToken | None = None,
) -> ApplyResult:
    """Run the plan's actions in dependency order; never raises for a failing action, records it.

    `on_event` is called from worker threads. `concurrency` is per node (default: the client's). Pauses
    after an action use the client's sleep.
    """
    drivers = Drivers(cancel=cancel or CancelToken())
    drivers.register(ProxmoxDriver(client, policy=policy, task_timeout=task_timeout, concurrency=concurrency))
    return execute(plan, drivers, resolve_secret=resolve_secret, on_event=on_event, clock=client.clock,
                   sleep=client.sleep)
