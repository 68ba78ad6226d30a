"""The one executor: `execute(plan, drivers, ...) -> ApplyResult` runs a plan's actions with their drivers.

Called by `gitops.controller.converging` (every apply, self-heal, rollback and data restore) and, through
`gitops.drivers.proxmox.applying.apply_plan`, by tests of the Proxmox driver. It knows no system: each
action goes to the driver its `system` names (`seam.Drivers`). Deciding what may run is separate from
running it: the scheduler (this module's main thread) starts an action when every action before it on
the same target, and every action on its `depends_on` targets, succeeded; it skips the action when one
of those failed or was skipped; independent actions run in parallel, at most the driver's
`concurrency` per lane (node, endpoint). Before each action the cancel token is checked: once it is
set, running actions finish and the others are skipped as "not started". A worker hands one action
to its driver with a context that resolves `${secret:NAME}` references just before they are sent and
scrubs their values from every error. The result records every action's outcome; nothing here writes
anywhere else.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from gitops import errors
from gitops.config.secretrefs import REF, scrub
from gitops.drivers.seam import CancelToken, Driver, Drivers
from gitops.planner.plan import Action, Plan

log = logging.getLogger(__name__)

OutcomeStatus = Literal["pending", "ok", "failed", "skipped"]
EventKind = Literal["started", "call", "finished", "skipped"]
NOT_STARTED = "not started: the controller is stopping"


@dataclass
class ActionOutcome:
    """What happened to one action of the plan (`index` is its place in `plan.actions`)."""

    index: int
    target: str
    action: str
    summary: str = ""
    status: OutcomeStatus = "pending"
    error: str = ""
    transient: bool = False  # the error may go away by itself: worth a later reconcile
    stale: bool = False  # refused because the target changed since it was read: read it and plan it again
    log: list[str] = field(default_factory=list)  # last lines of a failed task's log
    upids: list[str] = field(default_factory=list)  # the tasks it started (PVE UPIDs)
    warnings: list[str] = field(default_factory=list)
    output: dict[str, list[str]] = field(default_factory=dict)  # a driver's output per part (a script's tail)
    duration: float = 0.0
    system: str = ""


@dataclass
class ApplyResult:
    """Every action's outcome, in plan order, the whole run's duration in seconds, and whether the
    cancel token stopped actions from starting."""

    outcomes: list[ActionOutcome] = field(default_factory=list)
    duration: float = 0.0
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return all(o.status == "ok" for o in self.outcomes)

    @property
    def failed(self) -> list[ActionOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def skipped(self) -> list[ActionOutcome]:
        return [o for o in self.outcomes if o.status == "skipped"]

    def to_dict(self) -> dict[str, Any]:
        out = {
            "ok": self.ok,
            "duration": round(self.duration, 3),
            "counts": dict(Counter(o.status for o in self.outcomes)),
            "outcomes": [asdict(o) for o in self.outcomes],
        }
        if self.cancelled:
            out["cancelled"] = True
        return out


@dataclass
class ApplyEvent:
    """Progress for a listener: an action started, made a call, finished or was skipped."""

    kind: EventKind
    index: int
    target: str
    action: str
    status: str = ""
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


EventListener = Callable[[ApplyEvent], None]


def execute(
    plan: Plan,
    drivers: Drivers,
    *,
    resolve_secret: Callable[[str], str],
    on_event: EventListener | None = None,
    concurrency: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] | None = None,
) -> ApplyResult:
    """Run the plan's actions in dependency order; never raises for a failing action, records it.

    `on_event` is called from worker threads. `concurrency` is per lane (default: each driver's own).
    `sleep` pauses after an action (`wait_after_s`); by default the cancel token's, which ends early.
    """
    started = clock()
    actions = plan.actions
    cancel = drivers.cancel
    outcomes = [ActionOutcome(i, a.target, a.action, a.summary, system=a.system) for i, a in enumerate(actions)]
    before = predecessors(actions)
    emit = _safe_listener(on_event)
    runner = _Runner(drivers, resolve_secret, emit, clock, sleep or cancel.wait)
    waiting = set(range(len(actions)))
    running: dict[Future[ActionOutcome], int] = {}
    busy: Counter[tuple[str, str]] = Counter()
    # Incremental bookkeeping, so that each outcome costs only its dependants (a plan of 1,000 guests
    # has starts that each wait on a whole boot group: rescanning every waiting action's predecessors
    # after every finished action was quadratic, and took most of the run).
    after: list[list[int]] = [[] for _ in actions]
    unmet = [len(deps) for deps in before]
    for i, deps in enumerate(before):
        for j in deps:
            after[j].append(i)
    ready: dict[tuple[str, str], list[int]] = {}  # lane -> heap of waiting actions whose predecessors succeeded
    lanes = [_lane(drivers.get(a.system), a) for a in actions]

    def limit(lane: tuple[str, str]) -> int:
        driver = drivers.get(lane[0])
        return max(1, concurrency or (driver.concurrency if driver is not None else 1))

    def make_ready(i: int) -> None:
        heapq.heappush(ready.setdefault(lanes[i], []), i)

    def settle(j: int) -> None:
        """Pass action j's outcome to its dependants: ready once all their predecessors succeeded,
        skipped (and theirs after them) as soon as one did not."""
        if outcomes[j].status == "ok":
            for i in after[j]:
                if i in waiting:
                    unmet[i] -= 1
                    if unmet[i] == 0:
                        make_ready(i)
            return
        blocked = [(i, j) for i in after[j]]
        heapq.heapify(blocked)
        while blocked:
            i, blocker = heapq.heappop(blocked)
            if i not in waiting:
                continue
            waiting.discard(i)
            outcomes[i].status = "skipped"
            outcomes[i].error = f"skipped: {actions[blocker].target} did not succeed"
            emit(ApplyEvent("skipped", i, actions[i].target, actions[i].action, "skipped", outcomes[i].error))
            for k in after[i]:
                heapq.heappush(blocked, (k, i))

    for i in range(len(actions)):
        if not unmet[i]:
            make_ready(i)
    workers = sum(limit(lane) for lane in set(lanes)) or 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply") as pool:
        while True:
            while True:  # start ready actions in plan order, at most `limit` per lane
                open_lanes = [(heap[0], lane) for lane, heap in ready.items() if heap and busy[lane] < limit(lane)]
                if not open_lanes:
                    break
                i, lane = min(open_lanes)
                heapq.heappop(ready[lane])
                busy[lane] += 1
                waiting.discard(i)
                running[pool.submit(runner.run, i, actions[i])] = i
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                i = running.pop(future)
                busy[lanes[i]] -= 1
                outcomes[i] = future.result()
                settle(i)
    for i in sorted(waiting):  # each waits on another: a cycle the planner should not make
        outcomes[i].status = "failed"
        outcomes[i].error = "dependency cycle: this action waits on actions that wait on it"
    return ApplyResult(outcomes, clock() - started, cancelled=runner.refused)


def _lane(driver: Driver | None, action: Action) -> tuple[str, str]:
    return (action.system, driver.lane(action) if driver is not None else "")


def predecessors(actions: list[Action]) -> list[set[int]]:
    """For each action, the actions that must succeed first: the earlier ones on its own target, and
    all those on its `depends_on` targets."""
    by_target: dict[str, list[int]] = {}
    for i, action in enumerate(actions):
        by_target.setdefault(action.target, []).append(i)
    out: list[set[int]] = []
    for i, action in enumerate(actions):
        deps = {j for j in by_target[action.target] if j < i}
        for target in action.depends_on:
            if target != action.target:
                deps.update(by_target.get(target, []))
        out.append(deps)
    return out


def resolve_params(
    params: Mapping[str, Any], resolve_secret: Callable[[str], str],
) -> tuple[dict[str, Any], list[str]]:
    """The params as they are sent (secrets resolved, booleans as 0/1, None dropped), and the secret
    values used, so error messages can be scrubbed of them."""
    secrets: list[str] = []

    def one(value: Any) -> Any:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str) and "${secret:" in value:
            def lookup(match: Any) -> str:
                resolved = resolve_secret(match.group(1))
                secrets.append(resolved)
                return resolved
            return REF.sub(lookup, value)
        if isinstance(value, list):
            return [one(v) for v in value]
        return value

    sent = {key: one(value) for key, value in params.items() if value is not None}
    return sent, secrets


class _Context:
    """The `seam.ActionContext` of one action: secrets resolved and remembered, progress, tasks."""

    def __init__(self, index: int, action: Action, outcome: ActionOutcome, resolve_secret: Callable[[str], str],
                 emit: EventListener) -> None:
        self.index = index
        self.action = action
        self.outcome = outcome
        self.resolve_secret = resolve_secret
        self.emit = emit
        self.secrets: list[str] = []

    def params(self, params: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        try:
            sent, used = resolve_params(params, self.resolve_secret)
        except errors.PhoenixError:
            raise
        except Exception as exc:
            raise errors.PermanentError(f"a secret of {what} cannot be resolved: {type(exc).__name__}",
                                        target=self.action.target) from None
        self.secrets.extend(used)
        return sent

    def calling(self, what: str) -> None:
        self.emit(ApplyEvent("call", self.index, self.action.target, self.action.action, message=what))

    def output(self, part: str, lines: list[str]) -> None:
        self.outcome.output[part] = [scrub(line, self.secrets) for line in lines]

    def task(self, task_id: str, warnings: list[str] | None = None) -> None:
        if task_id and task_id not in self.outcome.upids:
            self.outcome.upids.append(task_id)
        self.outcome.warnings.extend(scrub(w, self.secrets) for w in warnings or [])


class _Runner:
    """Runs one action with its driver; used from the worker threads."""

    def __init__(self, drivers: Drivers, resolve_secret: Callable[[str], str], emit: EventListener,
                 clock: Callable[[], float], pause: Callable[[float], None]) -> None:
        self.drivers = drivers
        self.cancel: CancelToken = drivers.cancel
        self.resolve_secret = resolve_secret
        self.emit = emit
        self.clock = clock
        self.pause = pause
        self.refused = False

    def run(self, index: int, action: Action) -> ActionOutcome:
        outcome = ActionOutcome(index, action.target, action.action, action.summary, system=action.system)
        if self.cancel.cancelled:  # checked before each action: running ones finish, no new one starts
            self.refused = True
            outcome.status = "skipped"
            outcome.error = f"{action.target}: {NOT_STARTED}"
            self.emit(ApplyEvent("skipped", index, action.target, action.action, "skipped", outcome.error))
            return outcome
        start = self.clock()
        self.emit(ApplyEvent("started", index, action.target, action.action, message=action.summary))
        context = _Context(index, action, outcome, self.resolve_secret, self.emit)
        try:
            driver = self.drivers.get(action.system)
            if driver is None:
                raise errors.PermanentError(f"{action.target}: no driver for system {action.system!r}",
                                            target=action.target)
            driver.run(action, context)
            if action.wait_after_s > 0:  # e.g. a boot delay: dependants start only after it
                self.pause(action.wait_after_s)
            outcome.status = "ok"
        except errors.DriverError as exc:
            outcome.status = "failed"
            outcome.error = scrub(str(exc), context.secrets)
            outcome.transient = exc.transient
            outcome.stale = isinstance(exc, errors.StaleError)
            if isinstance(exc, errors.TaskFailedError):
                outcome.log = [scrub(line, context.secrets) for line in exc.log]
                if exc.upid and exc.upid not in outcome.upids:
                    outcome.upids.append(exc.upid)
        except errors.PhoenixError as exc:  # e.g. a secret that cannot be resolved
            outcome.status = "failed"
            outcome.error = f"{action.target}: {scrub(str(exc), context.secrets)}"
        except Exception as exc:  # a bug must not take the other branches down with it
            log.exception("action %s %s crashed", action.action, action.target)
            outcome.status = "failed"
            detail = scrub(str(exc), context.secrets)
            outcome.error = f"{action.target}: internal error: {type(exc).__name__}: {detail}"
        outcome.duration = self.clock() - start
        self.emit(ApplyEvent("finished", index, action.target, action.action, outcome.status, outcome.error))
        return outcome


def _safe_listener(listener: EventListener | None) -> EventListener:
    def emit(event: ApplyEvent) -> None:
        if listener is None:
            return
        try:
            listener(event)
        except Exception:  # a broken listener must not break the apply
            log.exception("apply event listener failed on %s", event.kind)
    return emit
