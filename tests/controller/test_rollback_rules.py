"""Rollback rules and failure streaks on a real reconcile (fakepve, a git repo, the HTTP API, the CLI):
only a revision that was applied can be rolled back to; a failing revision is retried on its backoff and
told once per streak, and once when it recovers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from gitops.api.app import create_app
from gitops.cli.main import app as cli
from gitops.controller.outbox import OutboxDispatcher
from gitops.controller.triggers import Trigger
from gitops.notify import WebhookTarget
from gitops.settings import NotifyTarget
from gitops.source import PullRequestEvent
from tests.api.conftest import serve_app  # noqa: F401  (the fixture)
from tests.controller.conftest import Ctl
from tests.controller.support import estate_with_api, small_estate
from tests.controller.test_outbox import receiver  # noqa: F401  (the fixture)
from tests.notify.receiver import Receiver

TOKEN = "t0ken-for-rollback-tests-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


class Loop:
    """The controller port of the API, running each trigger's reconcile at once (as the loop would)."""

    identity = "replica-1"
    leader = ready = True
    busy = False

    def __init__(self, ctl: Ctl) -> None:
        self.ctl = ctl

    def request(self, trigger: Trigger) -> None:
        self.ctl.run(trigger)

    def review(self, event: PullRequestEvent) -> bool:
        return False

    @property
    def stats(self) -> dict[str, float]:
        return {}


@pytest.fixture
def outbox(ctl: Ctl, receiver: Receiver) -> OutboxDispatcher:  # noqa: F811
    box = OutboxDispatcher(ctl.store, [WebhookTarget(NotifyTarget(kind="webhook", url=SecretStr(receiver.url())))])
    box.prime()
    return box


@pytest.fixture
def api(ctl: Ctl, serve_app: Callable[..., httpx.Client]) -> httpx.Client:  # noqa: F811
    settings = ctl.settings.model_copy(update={"api_token": SecretStr(TOKEN)})
    return serve_app(create_app(ctl.store, Loop(ctl), settings))


def failing_second(ctl: Ctl, pve) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A first revision applied, and a second whose new container cannot start (never applied)."""
    first = ctl.remote.commit(small_estate(memory=512), "first")
    assert ctl.run().action == "applied"
    pve.fail("POST", "/nodes/pve1/lxc/102/status/start", error="quotas_not_supported_unprivileged_containers")
    second = ctl.remote.commit(estate_with_api(), "add api")
    assert ctl.run().action == "rolled_back"
    return first, second


def test_a_rollback_to_a_revision_never_applied_is_refused_everywhere(
        ctl: Ctl, pve, api: httpx.Client, outbox: OutboxDispatcher, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    clock = Clock()
    ctl.reconciler.clock = clock
    first, second = failing_second(ctl, pve)
    outbox.run_once()
    told = len(receiver.deliveries)
    runs = len(ctl.store.list_runs(100))

    refused = api.post("/api/v1/rollback", json={"revision": second[:10]}, headers=AUTH)
    assert refused.status_code == 409
    assert f"{second[:12]} was never applied (it is rolled_back)" in refused.json()["detail"]
    result = CliRunner().invoke(cli, ["rollback", second, "--api", str(api.base_url)],
                                env={"PHOENIX_API_TOKEN": TOKEN})
    assert result.exit_code == 1 and "409" in result.output and "was never applied" in result.output
    page = api.get(f"/revisions/{second}").text
    assert "id='rollback-refused'" in page and "never applied" in page and "Roll back to" not in page

    # handed over by another replica, the request is refused by the reconcile too: nothing pinned or run
    ctl.run(Trigger("rollback", revision=second))
    assert len(ctl.store.list_runs(100)) == runs
    for _ in range(12):  # two minutes of polls at 10 s: the failed head is retried on its backoff only
        clock.now += dt.timedelta(seconds=10)
        ctl.run()
    state = ctl.store.get_state()
    assert state.pinned_revision is None and state.applied_revision == first
    assert not [r for r in ctl.store.list_runs(100) if r.kind == "rollback"]
    assert len(ctl.store.list_runs(100, revision=second, kind="apply")) == 1 + 2  # after 30 s, then 60 s
    assert any(e.kind == "rollback-error" and "never applied" in e.message for e in ctl.store.list_events(50))
    outbox.run_once()
    assert len(receiver.deliveries) == told  # no notification

    # the applied revision offers no button; an earlier applied one does, and is accepted
    assert "Roll back to" not in api.get(f"/revisions/{first}").text
    pve.fake.failures.clear()
    third = ctl.remote.commit(small_estate(memory=640), "third")
    assert ctl.run().action == "applied" and ctl.status(third) == "applied"
    assert f"Roll back to {first[:12]}" in api.get(f"/revisions/{first}").text
    assert api.post("/api/v1/rollback", json={"revision": first}, headers=AUTH).status_code == 202
    assert ctl.store.get_state().applied_revision == first and ctl.store.get_state().pinned_revision == first
    assert api.post("/api/v1/rollback", json={"revision": third}, headers=AUTH).status_code == 202  # applied once


@pytest.mark.timeout(900)  # 360 polls, each a git fetch: slow on a loaded machine
def test_a_revision_failing_for_an_hour_is_told_at_most_twice_then_once_when_it_recovers(
        ctl: Ctl, pve, outbox: OutboxDispatcher, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    clock = Clock()
    ctl.reconciler.clock = clock
    ctl.remote.commit(small_estate(memory=512), "first")
    assert ctl.run().action == "applied"
    outbox.run_once()
    receiver.deliveries.clear()
    pve.fail("POST", "/nodes/pve1/lxc/102/status/start", error="quotas_not_supported_unprivileged_containers")
    second = ctl.remote.commit(estate_with_api(), "add api")
    attempts = 0
    for _ in range(360):  # one hour at a 10 s poll
        attempts += ctl.run().action == "rolled_back"
        outbox.run_once()
        clock.now += dt.timedelta(seconds=10)
    assert 5 <= attempts <= 8  # 30 s, 60 s, 120 s... backoff: not 360 tries
    assert len(receiver.deliveries) <= 2, [d.json["message"] for d in receiver.deliveries]
    assert {d.json["revision"] for d in receiver.deliveries} == {second}

    receiver.deliveries.clear()
    pve.fake.failures.clear()
    clock.now += dt.timedelta(seconds=ctl.settings.retry_max_interval)
    assert ctl.run().action == "applied"
    outbox.run_once()
    [recovered] = [d.json for d in receiver.deliveries]
    assert recovered["kind"] == "applied" and recovered["revision"] == second
    assert f"recovered after {attempts} failed attempts" in recovered["message"]
    assert recovered["data"]["recovered_after"] == attempts


def test_a_failed_rollback_waits_for_its_backoff(ctl: Ctl, pve) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    ctl.reconciler.clock = clock
    first = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    ctl.remote.commit(small_estate(memory=640), "second")
    assert ctl.run().action == "applied"
    pve.fail("PUT", "/nodes/pve1/lxc/101/config", error="param_value")
    assert ctl.run(Trigger("rollback", revision=first)).action in ("failed", "rolled_back")
    tries = len(ctl.store.list_runs(100, revision=first))
    for _ in range(3):  # 30 s of polls: the pinned revision is not tried at every one
        clock.now += dt.timedelta(seconds=9)
        ctl.run()
    assert len(ctl.store.list_runs(100, revision=first)) == tries
    clock.now += dt.timedelta(seconds=ctl.settings.retry_interval)
    ctl.run()
    assert len(ctl.store.list_runs(100, revision=first)) > tries


class Queue(Loop):
    """A controller port that queues and never reconciles (a busy or stuck controller)."""

    def request(self, trigger: Trigger) -> None:
        pass


def wait(api: httpx.Client, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*args, "--wait", "--api", str(api.base_url)], env={"PHOENIX_API_TOKEN": TOKEN})
    return result.exit_code, result.output


def test_commands_that_wait_exit_0_applied_1_failed_124_timed_out(
        ctl: Ctl, pve, api: httpx.Client, serve_app: Callable[..., httpx.Client]) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    seen: list[dict[str, object]] = []  # the progress the reconcile writes for `--wait` to show
    update = ctl.store.update_state

    def spy(**fields: object) -> object:
        extra = fields.get("extra")
        if isinstance(extra, dict) and extra.get("progress"):
            seen.append(dict(extra["progress"]))
        return update(**fields)
    ctl.store.update_state = spy  # type: ignore[method-assign]
    first = ctl.remote.commit(small_estate(memory=512), "first")
    code, out = wait(api, "sync")
    assert code == 0 and f"{first[:12]} applied" in out
    assert seen[0]["done"] == 0 and seen[-1]["done"] == seen[-1]["total"] == len(
        ctl.store.get_revision(first).plan.stored()["actions"])
    assert any(str(p["current"]).startswith("lxc/101 ") for p in seen)
    assert ctl.store.get_state().extra.get("progress") is None
    second = ctl.remote.commit(small_estate(memory=640), "second")
    assert wait(api, "sync")[0] == 0 and ctl.status(second) == "applied"

    code, out = wait(api, "rollback", first)
    assert code == 0 and f"{first[:12]} applied" in out
    assert ctl.store.get_state().applied_revision == first
    code, out = wait(api, "resume")
    assert code == 0 and ctl.store.get_state().applied_revision == second

    pve.fail("PUT", "/nodes/pve1/lxc/101/config", error="param_value")
    code, out = wait(api, "rollback", first)
    assert code == 1 and f"{first[:12]} " in out and "failed" in out
    pve.fake.failures.clear()

    stuck = serve_app(create_app(ctl.store, Queue(ctl), ctl.settings.model_copy(
        update={"api_token": SecretStr(TOKEN)})))
    result = CliRunner().invoke(cli, ["rollback", first, "--wait", "--timeout", "1.5", "--api", str(stuck.base_url)],
                                env={"PHOENIX_API_TOKEN": TOKEN})
    assert result.exit_code == 124 and "timed out after 1.5s" in result.output


def test_history_is_one_timeline_with_rollback_runs(ctl: Ctl, api: httpx.Client) -> None:
    first = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    second = ctl.remote.commit(small_estate(memory=640), "second")
    ctl.run()
    ctl.run(Trigger("rollback", revision=first))
    result = CliRunner().invoke(cli, ["history", "--api", str(api.base_url)])
    lines = result.output.splitlines()
    assert lines[0].startswith(first[:12])  # the most recent activity: the rollback to it
    assert lines[1].strip().startswith("rollback #") and "applied" in lines[1]
    assert lines[2].strip().startswith("apply #")
    assert any(line.startswith(second[:12]) and "rolled_back" in line for line in lines)


def test_after_a_failed_revision_resources_and_status_agree_on_every_target(
        ctl: Ctl, pve, api: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    _first, second = failing_second(ctl, pve)
    env = {"PHOENIX_API_TOKEN": TOKEN}
    resources = CliRunner().invoke(cli, ["resources", "--json", "--api", str(api.base_url)], env=env)
    status = CliRunner().invoke(cli, ["status", "--json", "--api", str(api.base_url)], env=env)
    import json

    items = json.loads(resources.output)["resources"]
    by_target = {r["target"]: r for r in items}
    counts: dict[str, int] = {}
    for r in items:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    assert json.loads(status.output)["drift_counts"] == counts
    assert by_target["lxc/102"]["state"] == "failed" and "Quotas are not supported" in by_target["lxc/102"]["reason"]
    assert by_target["lxc/101"]["state"] == "in_sync"
    text = CliRunner().invoke(cli, ["resources", "--api", str(api.base_url)], env=env).output
    assert any(line.startswith("lxc/102") and "failed" in line and second[:12] in line for line in text.splitlines())
    metrics = api.get("/metrics").text
    assert f'phoenix_resources{{state="failed"}} {float(counts["failed"])}' in metrics
    assert "lxc/102" in api.get("/").text.split("<table id='resources'", 1)[1]
