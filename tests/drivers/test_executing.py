"""The one executor drives any system through the seam: a Proxmox driver on fakepve and a second
system written here (the smallest driver the seam allows, recording what it was asked to do)."""

from __future__ import annotations

import threading
import time
from typing import Any

from gitops import errors
from gitops.config.estate import Estate
from gitops.drivers.executing import execute
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.drivers.proxmox.driver import ProxmoxDriver
from gitops.drivers.seam import ActionContext, CancelToken, Driver, Drivers
from gitops.planner.live import LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Action, ApiCall, Plan

SECRET = "s3cret-value-for-the-endpoint"


def secrets(name: str) -> str:
    return {"api_key": SECRET}[name]


class RecordingSystem:
    """A second system: each action's calls are 'sent' by recording them, with the params as sent."""

    system = "recording"

    def __init__(self, concurrency: int = 1, fail: set[str] | None = None, hold: float = 0.0) -> None:
        self.concurrency = concurrency
        self.fail = fail or set()
        self.hold = hold
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.running = 0
        self.most_at_once = 0
        self.lock = threading.Lock()

    def read_live(self, estate: Estate, options: PlanOptions, live: LiveState, *, full: bool = False) -> None:
        return None

    def read_details(self, plan: Plan, options: PlanOptions, live: LiveState) -> bool:
        return False

    def lane(self, action: Action) -> str:
        return str(action.calls[0].params.get("endpoint", "")) if action.calls else ""

    def run(self, action: Action, context: ActionContext) -> None:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            time.sleep(self.hold)
            for call in action.calls:
                params = context.params(call.params, what=f"{call.method} {call.path}")
                context.calling(f"{call.method} {call.path}")
                with self.lock:
                    self.sent.append((action.target, params))
                if action.target in self.fail:
                    raise errors.PermanentError(f"{action.target}: refused with key {params.get('key')}",
                                                target=action.target)
        finally:
            with self.lock:
                self.running -= 1

    def close(self) -> None:
        return None


def stack(name: str, *, endpoint: str = "1", depends_on: list[str] | None = None) -> Action:
    return Action(target=f"stack/{name}", action="create", system="recording", depends_on=depends_on or [],
                  calls=[ApiCall("POST", "stacks", {"name": name, "endpoint": endpoint, "key": "${secret:api_key}"})])


def test_the_recording_system_satisfies_the_driver_protocol(pve_client: ProxmoxClient) -> None:
    assert isinstance(RecordingSystem(), Driver)
    assert isinstance(ProxmoxDriver(pve_client), Driver)


def test_actions_of_two_systems_run_in_dependency_order_across_systems(pve: Any, pve_client: ProxmoxClient) -> None:
    recording = RecordingSystem()
    drivers = Drivers()
    drivers.register(ProxmoxDriver(pve_client))
    drivers.register(recording)
    create = Action(target="lxc/150", action="create", calls=[ApiCall("POST", "nodes/pve1/lxc", {
        "vmid": 150, "ostemplate": pve.debian_template, "storage": "local-lvm", "hostname": "docker",
        "rootfs": "local-lvm:8"}, wait=True)])
    plan = Plan(actions=[create, stack("web", depends_on=["lxc/150"])])

    result = execute(plan, drivers, resolve_secret=secrets)

    assert result.ok, result.to_dict()
    assert pve.ct(150) is not None
    assert recording.sent == [("stack/web", {"name": "web", "endpoint": "1", "key": SECRET})]
    assert [o.system for o in result.outcomes] == ["proxmox", "recording"]


def test_a_failure_in_one_system_skips_its_dependants_and_scrubs_the_secret() -> None:
    recording = RecordingSystem(fail={"stack/db"})
    drivers = Drivers()
    drivers.register(recording)
    plan = Plan(actions=[stack("db"), stack("web", depends_on=["stack/db"]), stack("other")])

    result = execute(plan, drivers, resolve_secret=secrets)

    assert [o.status for o in result.outcomes] == ["failed", "skipped", "ok"]
    assert SECRET not in result.outcomes[0].error and "(secret)" in result.outcomes[0].error
    assert result.outcomes[1].error == "skipped: stack/db did not succeed"


def test_the_limit_is_per_lane() -> None:
    recording = RecordingSystem(concurrency=1, hold=0.05)
    drivers = Drivers()
    drivers.register(recording)
    plan = Plan(actions=[stack("a", endpoint="1"), stack("b", endpoint="1"), stack("c", endpoint="2"),
                         stack("d", endpoint="2")])
    result = execute(plan, drivers, resolve_secret=secrets)
    assert result.ok
    assert recording.most_at_once == 2  # one per endpoint, both endpoints at once


def test_an_action_of_a_system_without_a_driver_fails_and_says_so() -> None:
    result = execute(Plan(actions=[stack("web")]), Drivers(), resolve_secret=secrets)
    [outcome] = result.outcomes
    assert outcome.status == "failed" and "no driver for system 'recording'" in outcome.error


def test_the_cancel_token_is_checked_before_each_action() -> None:
    cancel = CancelToken()
    recording = RecordingSystem()
    original = recording.run

    def run_then_cancel(action: Action, context: ActionContext) -> None:
        original(action, context)
        cancel.cancel()  # SIGTERM arrives while the first action runs

    recording.run = run_then_cancel  # type: ignore[method-assign]
    drivers = Drivers(cancel=cancel)
    drivers.register(recording)
    plan = Plan(actions=[stack("a"), stack("b"), stack("c", depends_on=["stack/b"])])

    result = execute(plan, drivers, resolve_secret=secrets)

    assert [o.status for o in result.outcomes] == ["ok", "skipped", "skipped"]
    assert result.cancelled and "controller is stopping" in result.outcomes[1].error
    assert [target for target, _ in recording.sent] == ["stack/a"]


def test_a_pause_after_an_action_ends_when_cancelled() -> None:
    cancel = CancelToken()
    drivers = Drivers(cancel=cancel)
    drivers.register(RecordingSystem())
    first = stack("a")
    first.wait_after_s = 30.0
    threading.Timer(0.1, cancel.cancel).start()
    started = time.monotonic()
    result = execute(Plan(actions=[first, stack("b", depends_on=["stack/a"])]), drivers, resolve_secret=secrets)
    assert time.monotonic() - started < 5
    assert [o.status for o in result.outcomes] == ["ok", "skipped"]
