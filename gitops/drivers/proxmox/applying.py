"""Running a plan against Proxmox: `apply_plan(client, plan, ...) -> ApplyResult`.

Called by the controller and the CLI's `apply`. Deciding what may run is separate from running it:
the scheduler (this module's main thread) starts an action when every action before it on the same
target, and every action on its `depends_on` targets, succeeded; it skips the action when one of those
failed or was skipped; independent actions run in parallel, at most `concurrency` per node. A worker
runs one action's ApiCalls in order: `${secret:NAME}` references are resolved just before sending,
transient errors are retried (`retrying`), and a call with `wait` waits for its UPID task (`tasks`).
The result records every action's outcome; nothing here writes anywhere else.
"""

from __future__ import annotations

import heapq
import logging
import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from gitops import errors
from gitops.drivers.proxmox import clonelocks, retrying, tasks
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.drivers.proxmox.errors import is_transient_message
from gitops.planner.plan import Action, ApiCall, Plan

log = logging.getLogger(__name__)

OutcomeStatus = Literal["pending", "ok", "failed", "skipped"]
EventKind = Literal["started", "call", "finished", "skipped"]
SECRET_REF = re.compile(r"\$\{secret:([^}]+)\}")
SECRET_SHOWN = "(secret)"


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
    log: list[str] = field(default_factory=list)  # last lines of a failed task's log
    upids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duration: float = 0.0


@dataclass
class ApplyResult:
    """Every action's outcome, in plan order, and the whole run's duration in seconds."""

    outcomes: list[ActionOutcome] = field(default_factory=list)
    duration: float = 0.0

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
        return {
            "ok": self.ok,
            "duration": round(self.duration, 3),
            "counts": dict(Counter(o.status for o in self.outcomes)),
            "outcomes": [asdict(o) for o in self.outcomes],
        }


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


def apply_plan(
    client: ProxmoxClient,
    plan: Plan,
    *,
    resolve_secret: Callable[[str], str],
    on_event: EventListener | None = None,
    concurrency: int | None = None,
    policy: retrying.RetryPolicy = retrying.DEFAULT_POLICY,
    task_timeout: float = 3600.0,
) -> ApplyResult:
    """Run the plan's actions in dependency order; never raises for a failing action, records it.

    `on_event` is called from worker threads. `concurrency` is per node (default: the client's).
    """
    started = client.clock()
    actions = plan.actions
    outcomes = [ActionOutcome(i, a.target, a.action, a.summary) for i, a in enumerate(actions)]
    before = predecessors(actions)
    limit = max(1, concurrency or client.concurrency)
    emit = _safe_listener(on_event)
    runner = _Runner(client, resolve_secret, emit, policy, task_timeout)
    waiting = set(range(len(actions)))
    running: dict[Future[ActionOutcome], int] = {}
    busy: Counter[str] = Counter()
    # Incremental bookkeeping, so that each outcome costs only its dependants (a plan of 1,000 guests
    # has starts that each wait on a whole boot group: rescanning every waiting action's predecessors
    # after every finished action was quadratic, and took most of the run).
    after: list[list[int]] = [[] for _ in actions]
    unmet = [len(deps) for deps in before]
    for i, deps in enumerate(before):
        for j in deps:
            after[j].append(i)
    ready: dict[str, list[int]] = {}  # node -> heap of the waiting actions whose predecessors all succeeded

    def node_of(i: int) -> str:
        return actions[i].node or client.node

    def make_ready(i: int) -> None:
        heapq.heappush(ready.setdefault(node_of(i), []), i)

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
    workers = limit * max(1, len({node_of(i) for i in range(len(actions))}))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pve-apply") as pool:
        while True:
            while True:  # start ready actions in plan order, at most `limit` per node
                open_nodes = [(heap[0], node) for node, heap in ready.items() if heap and busy[node] < limit]
                if not open_nodes:
                    break
                i, node = min(open_nodes)
                heapq.heappop(ready[node])
                busy[node] += 1
                waiting.discard(i)
                running[pool.submit(runner.run, i, actions[i])] = i
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                i = running.pop(future)
                busy[node_of(i)] -= 1
                outcomes[i] = future.result()
                settle(i)
    for i in sorted(waiting):  # each waits on another: a cycle the planner should not make
        outcomes[i].status = "failed"
        outcomes[i].error = "dependency cycle: this action waits on actions that wait on it"
    return ApplyResult(outcomes, client.clock() - started)


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
    params: dict[str, Any], resolve_secret: Callable[[str], str],
) -> tuple[dict[str, Any], list[str]]:
    """The params as they are sent (secrets resolved, booleans as 0/1, None dropped), and the secret
    values used, so error messages can be scrubbed of them."""
    secrets: list[str] = []

    def one(value: Any) -> Any:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str) and "${secret:" in value:
            def lookup(match: re.Match[str]) -> str:
                resolved = resolve_secret(match.group(1))
                secrets.append(resolved)
                return resolved
            return SECRET_REF.sub(lookup, value)
        if isinstance(value, list):
            return [one(v) for v in value]
        return value

    sent = {key: one(value) for key, value in params.items() if value is not None}
    return sent, secrets


def scrub(text: str, secrets: list[str]) -> str:
    """The text with every secret value in it replaced by `(secret)`."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, SECRET_SHOWN)
    return text


def _retry_if(exc: BaseException) -> bool:
    """Transient API errors, and tasks that failed on a lock or timeout (they changed nothing); never a
    lost task wait, which could run the same change twice."""
    if isinstance(exc, tasks.TaskWaitError):
        return False
    if isinstance(exc, errors.TaskFailedError):
        return is_transient_message(exc.exitstatus)
    return retrying.is_retryable(exc)


class _Runner:
    """Runs one action's calls; used from the worker threads."""

    def __init__(self, client: ProxmoxClient, resolve_secret: Callable[[str], str], emit: EventListener,
                 policy: retrying.RetryPolicy, task_timeout: float) -> None:
        self.client = client
        self.resolve_secret = resolve_secret
        self.emit = emit
        self.policy = policy
        self.task_timeout = task_timeout

    def run(self, index: int, action: Action) -> ActionOutcome:
        outcome = ActionOutcome(index, action.target, action.action, action.summary)
        start = self.client.clock()
        self.emit(ApplyEvent("started", index, action.target, action.action, message=action.summary))
        secrets: list[str] = []
        try:
            for call in action.calls:
                self._call(index, action, call, outcome, secrets)
            pause = action.wait_after_s
            if pause > 0:  # e.g. a boot delay: dependants start only after it
                self.client.sleep(pause)
            outcome.status = "ok"
        except errors.DriverError as exc:
            outcome.status = "failed"
            outcome.error = scrub(str(exc), secrets)
            outcome.transient = isinstance(exc, errors.TransientError) or (
                isinstance(exc, errors.TaskFailedError) and is_transient_message(exc.exitstatus))
            if isinstance(exc, errors.TaskFailedError):
                outcome.log = [scrub(line, secrets) for line in exc.log]
                if exc.upid and exc.upid not in outcome.upids:
                    outcome.upids.append(exc.upid)
        except errors.PhoenixError as exc:  # e.g. a secret that cannot be resolved
            outcome.status = "failed"
            outcome.error = f"{action.target}: {scrub(str(exc), secrets)}"
        except Exception as exc:  # a bug must not take the other branches down with it
            log.exception("action %s %s crashed", action.action, action.target)
            outcome.status = "failed"
            detail = scrub(str(exc), secrets)
            outcome.error = f"{action.target}: internal error: {type(exc).__name__}: {detail}"
        outcome.duration = self.client.clock() - start
        self.emit(ApplyEvent("finished", index, action.target, action.action, outcome.status, outcome.error))
        return outcome

    def _call(self, index: int, action: Action, call: ApiCall, outcome: ActionOutcome,
              secrets: list[str]) -> None:
        what = f"{call.method} {call.path}"
        try:
            params, used = resolve_params(call.params, self.resolve_secret)
        except errors.PhoenixError:
            raise
        except Exception as exc:
            raise errors.PermanentError(f"a secret of {what} cannot be resolved: {type(exc).__name__}",
                                        target=action.target) from None
        secrets.extend(used)
        self.emit(ApplyEvent("call", index, action.target, action.action, message=what))

        def attempt() -> None:
            answer = self.client.request(call.method, call.path, params, target=action.target)
            if call.wait and tasks.is_upid(answer):
                outcome.upids.append(answer)
                result = tasks.wait_for_task(self.client, answer, target=action.target,
                                             timeout=self.task_timeout)
                outcome.warnings.extend(result.warnings)

        with clonelocks.turn(self.client.host, call.method, call.path):  # clones of one source take turns
            retrying.call_with_retries(attempt, policy=self.policy, sleep=self.client.sleep, retry_if=_retry_if,
                                       what=f"{what} for {action.target}")


def _safe_listener(listener: EventListener | None) -> EventListener:
    def emit(event: ApplyEvent) -> None:
        if listener is None:
            return
        try:
            listener(event)
        except Exception:  # a broken listener must not break the apply
            log.exception("apply event listener failed on %s", event.kind)
    return emit
