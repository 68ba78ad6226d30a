"""The driver seam: what a system (Proxmox, Portainer...) implements so the controller can converge it.

A driver does three things and nothing else: it reads the live state of the targets it owns into the
shared `LiveState` snapshot, it runs one action of the plan (its calls, each with its wait), and it
translates its library's errors into `gitops.errors` types at that boundary. Everything around an
action -- dependency order, per-lane limits, cancellation, secrets resolved at the last moment, the
per-action outcome -- is the one executor's (`gitops.drivers.executing`), which never knows which
system it drives.

A plan's `Action.system` names the driver that runs it; the executor looks it up in a `Drivers`
registry (system name -> driver). `gitops.controller.systems` builds the registry from settings;
`docs/architecture.md` ("Adding a system") says how a second system is added.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from gitops.config.estate import Estate
from gitops.config.secretrefs import SecretResolver
from gitops.planner.live import LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Action, Plan, System


class CancelToken:
    """Set when the controller stops (SIGTERM): the executor checks it before each action, so running
    actions finish and no new one starts; pauses between actions (boot delays) end at once."""

    def __init__(self, event: threading.Event | None = None) -> None:
        self._event = event or threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        self._event.set()

    def wait(self, seconds: float) -> None:
        """Sleep `seconds`, or less when cancelled meanwhile."""
        if seconds > 0:
            self._event.wait(seconds)


class ActionContext(Protocol):
    """What the executor hands a driver for one action: resolve secrets, report progress and tasks."""

    def params(self, params: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        """The params as they are sent: `${secret:NAME}` resolved now (and remembered, so every error
        and log line is scrubbed of the values), booleans as 0/1, None dropped. `what` names the call
        in the error when a secret cannot be resolved."""
        ...

    def calling(self, what: str) -> None:
        """Say that a call (`POST nodes/pve/lxc`) is being sent: a progress event for listeners."""
        ...

    def output(self, part: str, lines: list[str]) -> None:
        """Keep what a part of the action printed (e.g. the tail of one script's output) with its outcome,
        scrubbed of the secrets resolved so far."""
        ...

    def task(self, task_id: str, warnings: list[str] | None = None) -> None:
        """Record a task the action started (a UPID) and the warnings it ended with."""
        ...


@runtime_checkable
class Driver(Protocol):
    """One system the controller converges. Implementations: `gitops.drivers.proxmox.driver.ProxmoxDriver`."""

    system: System
    concurrency: int  # actions run at once per lane

    def read_live(self, estate: Estate, options: PlanOptions, live: LiveState, *, full: bool = False) -> None:
        """Fill in the part of `live` this system owns, for the targets `estate` names (`full`: every
        detail, e.g. every snapshot list, for a data rollback)."""
        ...

    def read_details(self, plan: Plan, options: PlanOptions, live: LiveState) -> bool:
        """Read what only the actions of `plan` need (e.g. snapshot lists of the guests it changes);
        True when `live` changed, so the planner runs again."""
        ...

    def lane(self, action: Action) -> str:
        """The group `concurrency` limits: the node for Proxmox, the endpoint for Portainer."""
        ...

    def run(self, action: Action, context: ActionContext) -> None:
        """Run the action's calls in order, each with its wait (a task, a deployment); raise a
        `gitops.errors.DriverError` (its `transient` said) when one fails. Retrying a transient error is
        the driver's business; giving up is the executor's."""
        ...

    def close(self) -> None:
        """End the session."""
        ...


@dataclass
class Drivers:
    """The registry one apply uses: system name -> driver, and the cancel token of the run."""

    by_system: dict[System, Driver] = field(default_factory=dict)
    cancel: CancelToken = field(default_factory=CancelToken)
    # The secrets whose values are redacted from what the drivers read back (`converging.read_live`).
    secrets: SecretResolver = field(default_factory=SecretResolver)

    def register(self, driver: Driver) -> None:
        self.by_system[driver.system] = driver

    def get(self, system: System) -> Driver | None:
        return self.by_system.get(system)

    def __iter__(self) -> Iterator[Driver]:
        return iter(list(self.by_system.values()))

    def close(self) -> None:
        for driver in self:
            driver.close()

