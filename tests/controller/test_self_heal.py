"""Self-heal is the reconcile's step list under the self-heal policy: secrets checked, a plan with errors
never applied, the cancel token honoured, and every correction recorded as a run of the applied revision."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gitops import events
from gitops.controller.triggers import Trigger
from gitops.drivers.proxmox.connection import connect
from tests.controller.conftest import Ctl
from tests.controller.support import estate_with_api, small_estate


def live_config(ctl: Ctl, vmid: int = 101) -> dict[str, Any]:
    with connect(ctl.settings) as client:
        return dict(client.get(f"nodes/{client.node}/lxc/{vmid}/config"))


def set_live(ctl: Ctl, vmid: int, **values: Any) -> None:
    with connect(ctl.settings) as client:
        client.request("PUT", f"nodes/{client.node}/lxc/{vmid}/config", values)


def drift_events(ctl: Ctl) -> list[events.Payload | None]:
    return [events.parse(e.kind, e.data) for e in ctl.store.list_events(50, kind="drift")]


def test_a_drift_correction_is_a_run_of_the_applied_revision(ctl: Ctl) -> None:
    sha = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    set_live(ctl, 101, memory=2000)

    outcome = ctl.run(Trigger("drift"))

    assert outcome.action == "healed" and live_config(ctl)["memory"] == 512
    [run] = ctl.store.list_runs(kind="self-heal")
    assert (run.revision, run.status, run.trigger) == (sha, "applied", "drift")
    assert run.result is not None and run.result.drift == ["lxc/101"]
    assert run.result.apply is not None and run.result.apply.ok
    assert run.result.checks is not None and run.result.checks.ok
    assert ctl.status(sha) == "applied" and ctl.store.get_revision(sha).status == "applied"
    [found] = drift_events(ctl)
    assert isinstance(found, events.DriftFound) and found.corrected and found.targets == ["lxc/101"]
    [healed] = [events.parse(e.kind, e.data) for e in ctl.store.list_events(50, kind="self-heal")]
    assert isinstance(healed, events.DriftCorrected) and healed.ok and healed.run == run.id


def test_a_drift_whose_plan_has_an_error_is_recorded_and_not_corrected(ctl: Ctl) -> None:
    sha = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    set_live(ctl, 101, memory=2000)
    with connect(ctl.settings) as client:  # the disk grew by hand: the config's size would shrink it
        client.request("PUT", f"nodes/{client.node}/lxc/101/resize", {"disk": "rootfs", "size": "+4G"})

    outcome = ctl.run(Trigger("drift"))

    assert outcome.action == "none" and outcome.detail.startswith("drift recorded, not corrected")
    assert "disk" in outcome.detail
    assert live_config(ctl)["memory"] == 2000  # nothing applied, not even the memory
    [run] = ctl.store.list_runs(kind="self-heal")
    assert run.status == "not-corrected" and "the plan has errors" in (run.error or "")
    assert "apply" not in run.result
    [found] = drift_events(ctl)
    assert isinstance(found, events.DriftFound) and not found.corrected and "plan has errors" in found.reason
    assert ctl.store.get_state().drift and ctl.status(sha) == "applied"


def test_a_drift_on_a_guest_with_an_unresolvable_secret_is_recorded_and_not_corrected(ctl: Ctl) -> None:
    files = small_estate(memory=512)
    lxc = json.loads(files["phoenix_lxc_configs.json"])
    lxc["lxc_configs"]["101"]["description"] = "web, key ${secret:web_note}"
    files["phoenix_lxc_configs.json"] = json.dumps(lxc)
    note = ctl.settings.secrets_dir / "web_note"  # type: ignore[operator]
    note.write_text("n0te-value\n")
    ctl.remote.commit(files, "with a secret in the description")
    assert ctl.run().action == "applied"
    note.unlink()  # the secret is gone from the controller
    set_live(ctl, 101, memory=2000)

    outcome = ctl.run(Trigger("drift"))

    assert outcome.detail.startswith("drift recorded, not corrected") and "web_note" in outcome.detail
    assert live_config(ctl)["memory"] == 2000
    [run] = ctl.store.list_runs(kind="self-heal")
    assert run.status == "not-corrected"
    assert any(e["code"] == "secret-missing" for e in run.plan.stored()["errors"])


def test_self_heal_off_records_the_drift_without_a_run(ctl: Ctl) -> None:
    ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    set_live(ctl, 101, memory=2000)
    ctl.reconciler.settings = ctl.settings.model_copy(update={"self_heal": False})
    assert ctl.run(Trigger("drift")).detail == "drift recorded, not corrected"
    assert ctl.store.list_runs(kind="self-heal") == []
    [found] = drift_events(ctl)
    assert isinstance(found, events.DriftFound) and found.reason == "self-heal is off"


def test_sigterm_during_a_self_heal_stops_it_between_actions(ctl: Ctl, monkeypatch: pytest.MonkeyPatch) -> None:
    from gitops.controller.systems import Session

    ctl.remote.commit(small_estate(memory=512, extra_guests=2), "first")
    ctl.run()
    for vmid in (101, 2000, 2001):
        set_live(ctl, vmid, memory=2000)
    original = Session.apply

    def stop_after_first(session, run, on_event=None):  # type: ignore[no-untyped-def]
        def listen(event):  # type: ignore[no-untyped-def]
            if on_event is not None:
                on_event(event)
            if event.kind == "finished":
                ctl.reconciler.stopping.set()
        return original(session, run, listen)

    monkeypatch.setattr(Session, "apply", stop_after_first)
    ctl.reconciler.settings = ctl.settings.model_copy(update={"pve_concurrency": 1})

    outcome = ctl.run(Trigger("drift"))

    assert outcome.action == "interrupted", outcome
    memories = [live_config(ctl, vmid)["memory"] for vmid in (101, 2000, 2001)]
    assert memories.count(512) == 1 and memories.count(2000) == 2
    [run] = ctl.store.list_runs(kind="self-heal")
    assert run.status == "interrupted" and run.result.stored()["apply"]["cancelled"]
    assert sum("controller is stopping" in o["error"] for o in run.result.stored()["apply"]["outcomes"]) == 2


def test_a_rejection_is_one_event(ctl: Ctl) -> None:
    from tests.controller.support import invalid_estate

    bad = ctl.remote.commit(invalid_estate(), "broken")
    assert ctl.run().action == "rejected"
    [event] = ctl.store.list_events(50, kind="rejected")
    payload = events.parse(event.kind, event.data)
    assert isinstance(payload, events.StatusChanged) and payload.status == "rejected"
    assert event.revision == bad and any("950" in e for e in payload.errors)


def test_an_apply_records_a_run_and_the_previous_revision_and_snapshot_as_columns(ctl: Ctl) -> None:
    first = ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    second = ctl.remote.commit(small_estate(memory=640), "second")
    ctl.run()
    record = ctl.store.get_revision(second)
    assert (record.previous_sha, record.snapshot) == (first, f"phx-{second[:12]}")
    kinds = [(r.revision, r.kind, r.status) for r in ctl.store.list_runs()]
    assert kinds == [(second, "apply", "applied"), (first, "apply", "applied")]
    assert ctl.store.get_state().branch_head == second


def test_a_sync_of_one_resource_corrects_only_it(ctl: Ctl) -> None:
    sha = ctl.remote.commit(estate_with_api(memory=512), "two clones")
    ctl.run()
    set_live(ctl, 101, memory=2000)
    set_live(ctl, 102, memory=3000)
    ctl.run(Trigger("suspend"))  # a sync asked for is honoured even when suspended

    outcome = ctl.run(Trigger("manual", targets=("lxc/101",), source="api"))

    assert outcome.action == "healed" and outcome.detail == "lxc/101"
    assert live_config(ctl, 101)["memory"] == 512
    assert live_config(ctl, 102)["memory"] == 3000  # not asked for: left as it is
    [run] = ctl.store.list_runs(kind="self-heal")
    assert (run.revision, run.status, run.trigger) == (sha, "applied", "manual")
    assert run.result.stored()["targets"] == ["lxc/101"] and run.result.stored()["drift"] == ["lxc/101"]
    assert {a["target"] for a in run.plan.stored()["actions"]} == {"lxc/101"}
    assert {o["target"] for o in run.result.stored()["apply"]["outcomes"]} == {"lxc/101"}
    states = {r.target: r.state for r in ctl.store.get_state().drift_report.resources}  # type: ignore[union-attr]
    assert states["lxc/101"] == "in_sync" and states["lxc/102"] == "drifted"

    # a resource already in sync: nothing applied, no run
    assert ctl.run(Trigger("manual", targets=("lxc/101",), source="api")).detail == "in sync"
    assert len(ctl.store.list_runs(kind="self-heal")) == 1
