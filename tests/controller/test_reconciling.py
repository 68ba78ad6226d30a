"""The reconcile against an in-process fakepve and real git repositories: ledger, rejection, rollback,
automatic rollback, suspend, windows, drift, interrupted applies."""

from __future__ import annotations

import datetime as dt

import pytest

from gitops.controller.triggers import Trigger
from gitops.drivers.proxmox.connection import connect
from gitops.settings import SyncWindow
from tests.controller.conftest import Ctl
from tests.controller.support import estate_with_api, invalid_estate, small_estate


def live_config(ctl: Ctl, vmid: int = 101) -> dict[str, object]:
    with connect(ctl.settings) as client:
        return dict(client.get(f"nodes/{client.node}/lxc/{vmid}/config"))


def live_status(ctl: Ctl, vmid: int) -> str:
    with connect(ctl.settings) as client:
        return str(client.get(f"nodes/{client.node}/lxc/{vmid}/status/current")["status"])


def test_head_is_applied_and_recorded(ctl: Ctl, caplog: pytest.LogCaptureFixture) -> None:
    first = ctl.remote.commit(small_estate(memory=512), "first")
    with caplog.at_level("INFO", logger="gitops.controller.reconciling"):
        outcome = ctl.run()
    # each action is logged with its guest and the revision
    logged = [(r.__dict__.get("revision"), r.__dict__.get("guest")) for r in caplog.records]
    assert (first, "lxc/101") in logged
    assert outcome.action == "applied", outcome
    record = ctl.store.get_revision(first)
    assert record.status == "applied"
    assert record.plan is not None and record.plan.actions  # typed documents, read back from the ledger
    assert record.result is not None and record.result.apply is not None and record.result.apply.ok
    assert record.result.checks is not None and record.result.checks.ok
    assert record.validation is not None and record.validation.valid is True
    state = ctl.store.get_state()
    assert state.applied_revision == first and state.phase == "idle" and not state.drift
    assert live_config(ctl)["memory"] == 512
    assert live_status(ctl, 101) == "running"
    resources = {r["target"]: r["state"] for r in state.last_drift["resources"]}
    assert resources["lxc/101"] == "in_sync"
    # nothing new: a poll does nothing
    assert ctl.run().action == "none"


def test_invalid_commit_is_rejected_and_the_applied_revision_stays(ctl: Ctl) -> None:
    first = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    bad = ctl.remote.commit(invalid_estate(), "broken reference")
    outcome = ctl.run()
    assert outcome.action == "rejected"
    record = ctl.store.get_revision(bad)
    assert record.status == "rejected"
    assert record.validation.stored()["valid"] is False
    assert any("950" in e["message"] for e in record.validation.stored()["errors"])
    assert ctl.store.get_state().applied_revision == first
    # a rejected head is not tried again by polls
    assert ctl.run().action == "none"
    good = ctl.remote.commit(small_estate(memory=768), "more memory")
    assert ctl.run().action == "applied"
    assert ctl.status(good) == "applied"
    assert live_config(ctl)["memory"] == 768


def test_commits_arriving_together_apply_the_newest_and_supersede_the_others(ctl: Ctl) -> None:
    ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    middle = [ctl.remote.commit(small_estate(memory=600 + i), f"step {i}", push=False) for i in range(3)]
    newest = ctl.remote.commit(small_estate(memory=1024), "newest")
    assert ctl.run().action == "applied"
    assert [ctl.status(s) for s in middle] == ["superseded"] * 3
    assert ctl.status(newest) == "applied"
    assert live_config(ctl)["memory"] == 1024


def test_a_force_push_is_followed_and_said(ctl: Ctl) -> None:
    from tests.controller.support import git

    ctl.remote.commit(small_estate(memory=512), "first")
    dropped = ctl.remote.commit(small_estate(memory=600), "to be rewritten")
    ctl.run()
    git("reset", "--quiet", "--hard", "HEAD~1", cwd=ctl.remote.work)
    rewritten = ctl.remote.commit(small_estate(memory=700), "rewritten", push=False)
    git("push", "--quiet", "--force", "origin", "HEAD:refs/heads/main", cwd=ctl.remote.work)
    assert ctl.run().action == "applied"
    assert ctl.status(rewritten) == "applied" and live_config(ctl)["memory"] == 700
    [event] = ctl.store.list_events(kind="force-push")
    assert dropped[:12] in event.message and event.level == "warning"


def test_rollback_restores_and_pins_until_resumed(ctl: Ctl) -> None:
    first = ctl.remote.commit(small_estate(memory=512, cores=1), "first")
    ctl.run()
    second = ctl.remote.commit(small_estate(memory=1024, cores=2), "bigger")
    ctl.run()
    assert live_config(ctl)["cores"] == 2
    outcome = ctl.run(Trigger("rollback", revision=first[:10]))
    assert outcome.action == "applied" and outcome.revision == first
    assert live_config(ctl)["memory"] == 512 and live_config(ctl)["cores"] == 1
    state = ctl.store.get_state()
    assert state.pinned_revision == first and state.applied_revision == first
    assert ctl.status(second) == "rolled_back"
    # newer commits are recorded, not applied
    third = ctl.remote.commit(small_estate(memory=2048), "even bigger")
    ctl.run()
    assert ctl.status(third) == "pending"
    assert live_config(ctl)["memory"] == 512
    # resume: the head is applied, the pin lifted
    assert ctl.run(Trigger("resume")).action == "applied"
    assert ctl.status(third) == "applied"
    assert ctl.store.get_state().pinned_revision is None
    assert live_config(ctl)["memory"] == 2048


def test_explicit_sync_of_a_commit_lifts_the_pin(ctl: Ctl) -> None:
    first = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    second = ctl.remote.commit(small_estate(memory=640), "second")
    ctl.run()
    ctl.run(Trigger("rollback", revision=first))
    assert ctl.run(Trigger("manual", revision=second)).action == "applied"
    assert ctl.store.get_state().pinned_revision is None
    assert live_config(ctl)["memory"] == 640


def test_failed_apply_rolls_back_to_the_last_applied_revision(ctl: Ctl, pve) -> None:  # type: ignore[no-untyped-def]
    first = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    files = estate_with_api(memory=1024)
    pve.fail("POST", "/nodes/pve1/lxc/102/status/start", error="quotas_not_supported_unprivileged_containers")
    bad = ctl.remote.commit(files, "add api")
    outcome = ctl.run()
    assert outcome.action == "rolled_back", outcome
    record = ctl.store.get_revision(bad)
    assert record.status == "rolled_back"
    assert "Quotas are not supported" in (record.error or "") and "rolled back to" in (record.error or "")
    assert ctl.store.get_state().applied_revision == first
    assert ctl.status(first) == "applied"
    assert live_config(ctl)["memory"] == 512
    kinds = [e.kind for e in ctl.store.list_events(50)]
    assert "auto-rollback" in kinds and "failed" in kinds
    # the bad head is not retried by polls
    assert ctl.run().action == "none"


def test_failed_health_check_rolls_back(ctl: Ctl) -> None:
    first = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    checks = [{"type": "tcp", "host": "svc.example.org", "port": 9, "retries": 2}]
    ctl.dial.answers["svc.example.org:9"] = "cannot connect: refused"
    bad = ctl.remote.commit(small_estate(memory=900, health_checks=checks), "with a failing check")
    assert ctl.run().action == "rolled_back"
    assert ctl.status(bad) == "rolled_back"
    assert ctl.dial.calls == [("svc.example.org", 9)] * 2
    assert live_config(ctl)["memory"] == 512
    assert ctl.store.get_state().applied_revision == first


def test_auto_rollback_can_be_switched_off(ctl: Ctl) -> None:
    ctl.reconciler.settings = ctl.settings.model_copy(update={"auto_rollback": False})
    ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    ctl.dial.answers["svc.example.org:9"] = "refused"
    bad = ctl.remote.commit(small_estate(memory=900, health_checks=[{"type": "tcp", "host": "svc.example.org",
                                                                     "port": 9, "retries": 1}]))
    assert ctl.run().action == "failed"
    assert ctl.status(bad) == "failed"
    assert live_config(ctl)["memory"] == 900


def test_suspend_records_without_applying_and_resume_applies(ctl: Ctl) -> None:
    ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    ctl.run(Trigger("suspend"))
    second = ctl.remote.commit(small_estate(memory=700), "second")
    assert ctl.run().action == "skipped"
    assert ctl.status(second) == "pending" and ctl.store.get_state().suspended
    ctl.run(Trigger("resume"))
    assert ctl.status(second) == "applied" and not ctl.store.get_state().suspended


def test_sync_windows_hold_automatic_applies_but_not_manual_ones(ctl: Ctl) -> None:
    ctl.reconciler.settings = ctl.settings.model_copy(update={"sync_windows": [SyncWindow(kind="deny")]})
    first = ctl.remote.commit(small_estate(), "first")
    assert ctl.run().action == "skipped"
    assert ctl.store.get_state().phase == "waiting_window"
    assert ctl.run(Trigger("manual")).action == "applied"
    assert ctl.status(first) == "applied"


def test_drift_is_recorded_and_healed(ctl: Ctl) -> None:
    first = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    with connect(ctl.settings) as client:
        client.request("PUT", f"nodes/{client.node}/lxc/101/config", {"memory": 2000})
    ctl.reconciler.settings = ctl.settings.model_copy(update={"self_heal": False})
    outcome = ctl.run(Trigger("drift"))
    assert outcome.detail == "drift recorded, not corrected"
    state = ctl.store.get_state()
    assert state.drift
    assert {r["target"]: r["state"] for r in state.last_drift["resources"]}["lxc/101"] == "drifted"
    assert live_config(ctl)["memory"] == 2000
    ctl.reconciler.settings = ctl.settings  # self_heal on
    assert ctl.run(Trigger("drift")).action == "healed"
    assert live_config(ctl)["memory"] == 512
    assert not ctl.store.get_state().drift
    assert ctl.status(first) == "applied"


def test_an_interrupted_apply_is_applied_again(ctl: Ctl) -> None:
    sha = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.repo.fetch()
    ctl.store.record_revision(sha)
    ctl.store.set_status(sha, "applying")
    assert ctl.reconciler.recover_interrupted() == [sha]
    assert ctl.status(sha) == "pending"
    assert ctl.run(Trigger("startup")).action == "applied"
    assert ctl.store.revisions_in_status("applying") == []


def test_stopping_before_the_apply_leaves_the_revision_pending(ctl: Ctl) -> None:
    sha = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.reconciler.stopping.set()
    outcome = ctl.run()
    assert outcome.action == "interrupted"
    assert ctl.status(sha) == "pending"


def test_unreachable_proxmox_keeps_the_revision_pending(ctl: Ctl, pve) -> None:  # type: ignore[no-untyped-def]
    sha = ctl.remote.commit(small_estate(), "first")
    settings = ctl.settings.model_copy(update={"pve_host": "127.0.0.1:1", "pve_timeout": 2.0})
    ctl.reconciler.settings = settings
    outcome = ctl.run()
    assert outcome.action == "waiting"
    assert ctl.status(sha) == "pending"
    assert "127.0.0.1:1" in (ctl.store.get_state().last_error or "")


def test_data_rollback_restores_snapshots(ctl: Ctl) -> None:
    first = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    second = ctl.remote.commit(small_estate(memory=1024), "second")
    ctl.run()
    snap = ctl.store.get_revision(second).result.stored()["snapshot"]
    assert snap == f"phx-{second[:12]}"
    outcome = ctl.run(Trigger("rollback", revision=first, restore_data=True))
    assert outcome.action == "applied", outcome
    record = ctl.store.get_revision(first)
    assert record.plan.stored()["warnings"][0]["code"] == "data-rollback"
    assert "DATA ROLLBACK" in record.plan.stored()["warnings"][0]["message"]
    assert record.result.stored()["restore"]["ok"]
    assert live_config(ctl)["memory"] == 512
    assert any(e.kind == "data-rollback" for e in ctl.store.list_events(50))


def test_sync_window_clock_is_the_reconcilers(ctl: Ctl) -> None:
    window = SyncWindow(kind="allow", weekdays=[0], start=dt.time(9), end=dt.time(10))
    ctl.reconciler.settings = ctl.settings.model_copy(update={"sync_windows": [window]})
    ctl.reconciler.clock = lambda: dt.datetime(2025, 1, 6, 9, 30, tzinfo=dt.UTC)  # a Monday
    ctl.remote.commit(small_estate(), "first")
    assert ctl.run().action == "applied"


def test_rollback_to_the_applied_revision_pins_it(ctl: Ctl) -> None:
    first = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    ctl.run(Trigger("rollback", revision=first))
    assert ctl.store.get_state().pinned_revision == first
    second = ctl.remote.commit(small_estate(memory=640), "second")
    ctl.run()
    assert ctl.status(second) == "pending"


def test_stopping_during_an_apply_finishes_running_actions_and_starts_no_new_one(
    ctl: Ctl, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gitops.controller.systems import Session

    sha = ctl.remote.commit(small_estate(memory=512, extra_guests=2), "first")
    original = Session.apply

    def stop_after_first(session, run, on_event=None):  # type: ignore[no-untyped-def]
        def listen(event):  # type: ignore[no-untyped-def]
            if on_event is not None:
                on_event(event)
            if event.kind == "finished":
                ctl.reconciler.stopping.set()
        return original(session, run, listen)

    monkeypatch.setattr(Session, "apply", stop_after_first)
    outcome = ctl.run()
    assert outcome.action == "interrupted", outcome
    record = ctl.store.get_revision(sha)
    assert record.status == "pending" and "interrupted" in (record.error or "")
    outcomes = record.result.stored()["apply"]["outcomes"]
    assert outcomes[0]["status"] == "ok"
    assert any("controller is stopping" in o["error"] for o in outcomes)
