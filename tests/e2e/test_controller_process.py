"""The controller as a process: follow a repo, reject, apply, roll back and pin, survive restarts and
SIGKILL, roll back automatically, and lead alone among replicas on PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from gitops.drivers.proxmox.connection import connect
from gitops.settings import Settings
from tests.controller.support import GitRemote, invalid_estate, small_estate, wait_for
from tests.e2e.conftest import Controller

pytestmark = pytest.mark.slow


def live(settings: Settings, vmid: int = 101) -> dict[str, object]:
    with connect(settings) as client:
        return dict(client.get(f"nodes/{client.node}/lxc/{vmid}/config"))


def test_follow_reject_apply_rollback_pin_restart(controller: Callable[..., Controller], remote: GitRemote,
                                                  pve_settings: Settings) -> None:
    first = remote.commit(small_estate(memory=512, cores=1), "first")
    ctl = controller(remote).start()
    ctl.wait_status(first, "applied")
    assert ctl.status()["applied_revision"] == first
    assert live(pve_settings)["memory"] == 512

    bad = remote.commit(invalid_estate(), "broken reference")
    rejected = ctl.wait_status(bad, "rejected")
    assert any("950" in e["message"] for e in rejected["validation"]["errors"])
    assert ctl.status()["applied_revision"] == first

    second = remote.commit(small_estate(memory=1024, cores=2), "bigger")
    ctl.wait_status(second, "applied")
    assert live(pve_settings)["memory"] == 1024 and live(pve_settings)["cores"] == 2

    # an unauthenticated write is refused, by the API and through the CLI
    assert ctl.api.post("/api/v1/sync", headers={"Authorization": ""}).status_code == 401
    refused = ctl.cli("rollback", first, token=None)
    assert refused.returncode == 1 and "401" in refused.stderr

    done = ctl.cli("rollback", first[:12])
    assert done.returncode == 0, done.stderr
    wait_for(lambda: ctl.status()["applied_revision"] == first, 60, 0.2, what="rollback applied")
    assert ctl.status()["pinned"] is True
    assert live(pve_settings)["memory"] == 512 and live(pve_settings)["cores"] == 1
    assert ctl.revision(second)["status"] == "rolled_back"

    third = remote.commit(small_estate(memory=2048), "much bigger")
    ctl.wait_status(third, "pending")
    time.sleep(1.5)  # three more polls: still held by the pin
    assert ctl.revision(third)["status"] == "pending" and live(pve_settings)["memory"] == 512

    # a restart keeps the ledger and the pin
    assert ctl.terminate() == 0
    ctl.start()
    time.sleep(1.0)
    status = ctl.status()
    assert status["pinned_revision"] == first and status["applied_revision"] == first
    assert ctl.revision(third)["status"] == "pending"
    history = ctl.cli("history")
    assert history.returncode == 0 and "rejected" in history.stdout and "rolled_back" in history.stdout
    shown = ctl.cli("status")
    assert shown.returncode == 0 and f"pinned    {first[:12]}" in shown.stdout

    assert ctl.cli("resume").returncode == 0
    ctl.wait_status(third, "applied")
    assert live(pve_settings)["memory"] == 2048
    assert ctl.status()["pinned"] is False


def test_sigkill_during_an_apply_then_restart_converges(controller: Callable[..., Controller], remote: GitRemote,
                                                        pve, pve_settings: Settings) -> None:  # type: ignore[no-untyped-def]
    pve.time_scale = 0.2  # a container task takes seconds now
    first = remote.commit(small_estate(memory=512, extra_guests=3), "first")
    ctl = controller(remote).start()
    ctl.wait_status(first, "applying", timeout=30)
    time.sleep(0.5)
    assert ctl.revision(first)["status"] == "applying"
    ctl.kill()
    pve.time_scale = 0
    ctl.start()
    ctl.wait_status(first, "applied", timeout=90)
    assert ctl.api.get("/api/v1/revisions?status=applying").json()["total"] == 0
    assert live(pve_settings, 2001)["memory"] == 512
    events = ctl.api.get("/api/v1/events").json()["events"]
    assert any("interrupted" in e["message"] for e in events)


def test_sigterm_during_an_apply_finishes_the_running_actions_records_and_exits(
        controller: Callable[..., Controller], remote: GitRemote, pve, pve_settings: Settings) -> None:  # type: ignore[no-untyped-def]
    pve.time_scale = 0.2  # a container task takes seconds now
    first = remote.commit(small_estate(memory=512, extra_guests=3), "first")
    ctl = controller(remote).start()
    ctl.wait_status(first, "applying", timeout=30)
    time.sleep(0.5)
    assert ctl.terminate(timeout=60) == 0
    # It waited for the tasks of the actions it had started: none is left running on the node.
    assert [t["upid"] for t in list(pve.tasks.values()) if t["status"] == "running"] == []
    # Recorded before exiting: the revision is not left `applying`; it waits for the next start.
    from gitops.store import open_store

    ledger = open_store(f"sqlite:///{ctl.root / 'data' / 'phoenix.db'}")
    try:
        assert ledger.get_revision(first).status in ("pending", "applied")
        assert ledger.revisions_in_status("applying") == []
    finally:
        ledger.close()
    pve.time_scale = 0
    ctl.start()
    ctl.wait_status(first, "applied", timeout=90)
    assert live(pve_settings, 2001)["memory"] == 512


def test_a_task_error_rolls_back_automatically(controller: Callable[..., Controller], remote: GitRemote,
                                               pve, pve_settings: Settings) -> None:  # type: ignore[no-untyped-def]
    first = remote.commit(small_estate(memory=512), "first")
    ctl = controller(remote).start()
    ctl.wait_status(first, "applied")
    files = small_estate(memory=1024)
    lxc = json.loads(files["phoenix_lxc_configs.json"])
    lxc["lxc_configs"]["102"] = {**lxc["lxc_configs"]["101"], "name": "api"}
    files["phoenix_lxc_configs.json"] = json.dumps(lxc)
    pve.fail("POST", "/nodes/pve1/lxc/102/status/start", error="quotas_not_supported_unprivileged_containers")
    bad = remote.commit(files, "add api")
    record = ctl.wait_status(bad, "rolled_back")
    assert "Quotas are not supported" in record["error"]
    assert ctl.status()["applied_revision"] == first
    assert live(pve_settings)["memory"] == 512
    metrics = ctl.api.get("/metrics").text
    assert "phoenix_auto_rollbacks_total 1.0" in metrics


def test_two_replicas_on_postgresql_one_leader_applies(controller: Callable[..., Controller], remote: GitRemote,
                                                       pg_url: str) -> None:
    first = remote.commit(small_estate(memory=512), "first")
    one = controller(remote, "one", PHOENIX_DATABASE_URL=pg_url).start()
    two = controller(remote, "two", PHOENIX_DATABASE_URL=pg_url).start()
    one.wait_status(first, "applied")
    leaders = [c for c in (one, two) if c.status()["leader"]["this_replica"]]
    assert len(leaders) == 1
    follower = two if leaders[0] is one else one
    # a write sent to the follower is handed to the leader through the ledger (a load balancer just works)
    assert follower.api.post("/api/v1/suspend").status_code == 202
    wait_for(lambda: leaders[0].status()["suspended"], 30, what="the leader suspended")
    assert follower.api.post("/api/v1/resume").status_code == 202
    wait_for(lambda: not leaders[0].status()["suspended"], 30, what="the leader resumed")
    events = one.api.get("/api/v1/events?limit=500").json()["events"]
    assert len([e for e in events if e["kind"] == "applied" and e["revision"] == first]) == 1
    assert len([e for e in events if e["kind"] == "leader"]) == 1
    # the leader goes away: the other replica takes over and applies the next commit
    assert leaders[0].terminate() == 0
    second = remote.commit(small_estate(memory=640), "second")
    follower.wait_status(second, "applied", timeout=60)
    assert follower.status()["leader"]["this_replica"] is True
