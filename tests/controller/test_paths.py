"""The reconcile's less travelled paths: plan errors, fetch and checkout failures, a commit not yet in the
ledger, data rollbacks that cannot restore, an auto-rollback that fails too, drift checks that cannot run,
and the service when a reconcile crashes or the ledger goes away."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from gitops import errors, events
from gitops.controller.service import Service
from gitops.controller.triggers import Trigger, Work
from gitops.drivers.proxmox.connection import connect
from gitops.source import ConfigRepo
from gitops.store import open_store
from tests.controller.conftest import Ctl
from tests.controller.support import small_estate, wait_for


def live_config(ctl: Ctl, vmid: int = 101) -> dict[str, Any]:
    with connect(ctl.settings) as client:
        return dict(client.get(f"nodes/{client.node}/lxc/{vmid}/config"))


def guest_exists(ctl: Ctl, vmid: int) -> bool:
    with connect(ctl.settings) as client:
        return any(int(r.get("vmid", 0)) == vmid for r in client.get("cluster/resources", type="vm"))


def test_a_plan_with_errors_is_never_applied(ctl: Ctl) -> None:
    files = small_estate(memory=512)
    lxc = json.loads(files["phoenix_lxc_configs.json"])
    lxc["lxc_configs"]["101"]["description"] = "${secret:nobody_set_this}"
    files["phoenix_lxc_configs.json"] = json.dumps(lxc)
    sha = ctl.remote.commit(files, "names a secret nobody set")

    outcome = ctl.run()

    assert outcome.action == "failed" and "the plan has errors" in outcome.detail
    record = ctl.store.get_revision(sha)
    assert record.status == "failed" and any(e["code"] == "secret-missing" for e in record.plan.stored()["errors"])
    assert not guest_exists(ctl, 101) and not guest_exists(ctl, 900)  # nothing was created
    assert ctl.store.list_runs() == []  # nothing began: no run


def test_a_fetch_error_is_recorded_and_waits(ctl: Ctl) -> None:
    ctl.remote.commit(small_estate(), "first")
    settings = ctl.settings.model_copy(update={"git_url": (ctl.remote.bare.parent / "gone.git").as_uri()})
    ctl.reconciler.repo = ConfigRepo.from_settings(settings.model_copy(update={"data_dir": ctl.settings.data_dir
                                                                               / "other"}))
    try:
        outcome = ctl.run()
    finally:
        ctl.reconciler.repo.close()
    assert outcome.action == "waiting"
    [event] = ctl.store.list_events(kind="fetch-error")
    assert isinstance(events.parse(event.kind, event.data), events.FetchFailed)
    assert ctl.store.get_state().last_error == event.message


def test_a_commit_not_yet_in_the_ledger_can_be_synced_by_sha(ctl: Ctl) -> None:
    sha = ctl.remote.commit(small_estate(memory=700), "pushed, never polled")
    ctl.repo.fetch()  # the clone has it, the ledger does not
    with pytest.raises(errors.NotFoundError):
        ctl.store.get_revision(sha)
    outcome = ctl.reconciler.reconcile(Work(revision=sha[:10], force=True, trigger="manual", kinds=["manual"]))
    assert outcome.action == "applied" and ctl.status(sha) == "applied"
    assert ctl.store.get_revision(sha).trigger == "manual"


def test_a_config_folder_missing_from_the_commit_is_rejected(ctl: Ctl) -> None:
    sha = ctl.remote.commit(small_estate(), "first")
    settings = ctl.settings.model_copy(update={"git_path": "estate"})  # not a folder of this repo
    ctl.reconciler.repo = ConfigRepo.from_settings(settings)
    try:
        outcome = ctl.run()
    finally:
        ctl.reconciler.repo.close()
    assert outcome.action == "rejected" and "estate" in outcome.detail
    assert ctl.status(sha) == "rejected"


def test_a_commit_without_the_config_files_is_rejected(ctl: Ctl) -> None:
    sha = ctl.remote.commit({"README.md": "nothing here yet\n"}, "empty repo")
    outcome = ctl.run()
    assert outcome.action == "rejected"
    record = ctl.store.get_revision(sha)
    assert record.status == "rejected" and record.validation.stored()["valid"] is False
    assert len(ctl.store.list_events(kind="rejected")) == 1


def test_a_data_rollback_without_a_snapshot_fails_and_changes_nothing(ctl: Ctl) -> None:
    ctl.reconciler.settings = ctl.settings.model_copy(update={"snapshots": False})
    first = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    ctl.remote.commit(small_estate(memory=1024), "second")
    ctl.run()
    outcome = ctl.run(Trigger("rollback", revision=first, restore_data=True))
    assert outcome.action == "failed" and "no pre-apply snapshot" in outcome.detail
    assert live_config(ctl)["memory"] == 1024  # neither restored nor reconfigured


def test_a_failed_restore_stops_the_rollback(ctl: Ctl, pve: Any) -> None:
    first = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    second = ctl.remote.commit(small_estate(memory=1024), "second")
    ctl.run()
    pve.fail("POST", f"/nodes/pve1/lxc/101/snapshot/phx-{second[:12]}/rollback", 500,
             "snapshot 'phx-x' does not exist", times=5)
    outcome = ctl.run(Trigger("rollback", revision=first, restore_data=True))
    assert outcome.action == "failed" and "restoring snapshots failed" in outcome.detail
    assert live_config(ctl)["memory"] == 1024
    assert any(e.kind == "data-rollback" for e in ctl.store.list_events(50))


def test_an_auto_rollback_that_fails_too_is_said(ctl: Ctl) -> None:
    checks = [{"type": "tcp", "host": "svc.example.org", "port": 9, "retries": 1}]
    first = ctl.remote.commit(small_estate(memory=512, health_checks=checks), "first")
    assert ctl.run().action == "applied"
    ctl.dial.answers["svc.example.org:9"] = "refused"  # the service is down: both revisions' checks fail now
    bad = ctl.remote.commit(small_estate(memory=900, health_checks=checks), "second")

    outcome = ctl.run()

    assert outcome.action == "failed" and "the rollback failed too" in outcome.detail
    assert ctl.status(bad) == "failed" and ctl.status(first) == "failed"
    [event] = ctl.store.list_events(kind="auto-rollback-failed")
    payload = events.parse(event.kind, event.data)
    assert isinstance(payload, events.AutoRollbackFailed) and payload.to == first
    assert [r.kind for r in ctl.store.list_runs()][:2] == ["auto-rollback", "apply"]


def test_a_drift_check_that_cannot_reach_proxmox_waits(ctl: Ctl) -> None:
    ctl.remote.commit(small_estate(), "first")
    ctl.run()
    settings = ctl.settings.model_copy(update={"pve_host": "127.0.0.1:1", "pve_timeout": 2.0})
    ctl.reconciler.settings = settings
    outcome = ctl.run(Trigger("drift"))
    assert outcome.action == "waiting" and "127.0.0.1:1" in outcome.detail
    assert "127.0.0.1:1" in (ctl.store.get_state().last_error or "")
    assert ctl.store.list_runs(kind="self-heal") == []


def make_service(ctl: Ctl) -> Service:
    ctl.reconciler.settings = ctl.settings.model_copy(update={"poll_interval": 0.2, "drift_interval": 3600})
    return Service(ctl.reconciler.settings, ctl.store, ctl.repo, ctl.reconciler.convergence,
                   reconciler=ctl.reconciler, identity="test-replica", settle_s=0.0)


def test_a_crashing_reconcile_does_not_end_the_loop(ctl: Ctl, monkeypatch: pytest.MonkeyPatch) -> None:
    sha = ctl.remote.commit(small_estate(), "first")
    original = ctl.reconciler.reconcile
    crashes: list[int] = []

    def crash_once(work: Work) -> Any:
        if not crashes:
            crashes.append(1)
            raise RuntimeError("a bug")
        return original(work)

    monkeypatch.setattr(ctl.reconciler, "reconcile", crash_once)
    service = make_service(ctl)
    service.start()
    try:
        wait_for(lambda: ctl.status(sha) == "applied", 30, what="applied after the crash")
    finally:
        assert service.stop(30)
    assert crashes == [1]


def test_a_lost_ledger_makes_the_replica_unready_and_it_says_so(
    ctl: Ctl, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(pg_url)
    service = Service(ctl.settings.model_copy(update={"poll_interval": 3600, "drift_interval": 3600}), store,
                      ctl.repo, ctl.reconciler.convergence, identity="pg-replica", settle_s=0.0)
    service.start()
    try:
        wait_for(lambda: service.ready and service.leader, 30, what="leading")
        name = pg_url.rsplit("/", 1)[1]
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        with caplog.at_level("ERROR", logger="gitops.controller.service"):
            wait_for(lambda: not service.ready and not service.leader, 30, what="unready")
            wait_for(lambda: any("ledger unreachable" in r.getMessage() for r in caplog.records), 10,
                     what="the log line")
    finally:
        service.stop(30)
        store.close()


def test_a_run_left_running_by_a_crash_is_closed_as_interrupted(ctl: Ctl) -> None:
    sha = ctl.remote.commit(small_estate(), "first")
    ctl.repo.fetch()
    ctl.store.record_revision(sha)
    ctl.store.set_status(sha, "applying")
    left = ctl.store.start_run(sha, "apply", "poll")  # what the crashed process had open
    assert ctl.reconciler.recover_interrupted() == [sha]
    [run] = [r for r in ctl.store.list_runs() if r.id == left.id]
    assert run.status == "interrupted" and "stopped during this run" in (run.error or "")
    assert ctl.run(Trigger("startup")).action == "applied"
    assert ctl.store.list_runs(status="running") == []
