"""Orphans and prune: a guest the controller made that the config no longer has is listed as `orphan`
everywhere one state per target is read, and is deleted (backed up with vzdump first when a backup storage
is set, stopped, then destroyed, each a plan action) only with `PHOENIX_PRUNE`; a guest made by hand is
never listed nor touched."""

from __future__ import annotations

from typing import Any

from gitops.controller import targetstates
from gitops.controller.triggers import Trigger
from tests.controller.conftest import Ctl
from tests.controller.support import estate_with_api, small_estate


def converged_with_api(ctl: Ctl, pve: Any) -> str:
    """CT 101 and 102 applied, and CT 555 made by hand (no `phoenix-gitops` tag) beside them."""
    pve.add_ct(555, "hand-made", status="running")
    first = ctl.remote.commit(estate_with_api(), "web and api")
    ctl.run()
    assert ctl.status(first) == "applied" and pve.ct(102).status == "running"
    return ctl.remote.commit(small_estate(), "api removed")


def states(ctl: Ctl) -> dict[str, targetstates.TargetState]:
    return {r.target: r for r in targetstates.read(ctl.store).resources}


def backups(pve: Any, storage: str = "local") -> list[str]:
    return sorted(v for v in pve.storages[storage].get("volumes", {}) if v.startswith("backup/"))


def test_prune_off_lists_the_orphan_and_deletes_nothing(ctl: Ctl, pve: Any) -> None:
    removed = converged_with_api(ctl, pve)

    ctl.run()

    assert ctl.status(removed) == "applied"
    assert pve.ct(102) is not None and pve.ct(102).status == "running" and pve.ct(555) is not None
    found = states(ctl)
    assert found["lxc/102"].state == "orphan" and "PHOENIX_PRUNE" in found["lxc/102"].reason
    assert found["lxc/101"].state == "in_sync" and "lxc/555" not in found
    plan = ctl.store.get_revision(removed).plan.model_dump()
    assert [a["action"] for a in plan["actions"]] == []
    assert [(w["target"], w["code"]) for w in plan["warnings"]] == [("lxc/102", "orphan")]


def test_prune_on_backs_up_stops_and_deletes_only_what_the_controller_made(ctl: Ctl, pve: Any) -> None:
    ctl.reconciler.settings = ctl.settings.model_copy(update={"prune": True, "backup_storage": "local"})
    removed = converged_with_api(ctl, pve)

    ctl.run()

    assert ctl.status(removed) == "applied"
    assert pve.ct(102) is None
    assert pve.ct(555) is not None and pve.ct(555).status == "running"
    plan = ctl.store.get_revision(removed).plan.model_dump()
    assert [(a["target"], a["action"]) for a in plan["actions"]] == [
        ("lxc/102", "backup"), ("lxc/102", "stop"), ("lxc/102", "delete")]
    vzdump = plan["actions"][0]["calls"][0]
    assert (vzdump["method"], vzdump["path"]) == ("POST", "nodes/pve1/vzdump")
    assert vzdump["params"]["vmid"] == "102" and vzdump["params"]["storage"] == "local"
    [archive] = backups(pve)
    assert archive.startswith("backup/vzdump-lxc-102-") and archive.endswith(".tar.zst")
    found = states(ctl)
    assert "lxc/102" not in found and "lxc/555" not in found and found["lxc/101"].state == "in_sync"


def test_prune_without_a_usable_backup_storage_keeps_the_guest(ctl: Ctl, pve: Any) -> None:
    ctl.reconciler.settings = ctl.settings.model_copy(update={"prune": True, "backup_storage": "local-lvm"})
    removed = converged_with_api(ctl, pve)

    ctl.run()

    assert ctl.status(removed) == "failed" and pve.ct(102) is not None
    errors = ctl.store.get_revision(removed).plan.model_dump()["errors"]
    assert [(e["target"], e["code"]) for e in errors] == [("lxc/102", "backup-storage")]
    assert "does not hold backups" in errors[0]["message"]
    assert backups(pve) == [] and backups(pve, "local-lvm") == []


def test_prune_on_without_a_backup_storage_stops_and_deletes(ctl: Ctl, pve: Any) -> None:
    ctl.reconciler.settings = ctl.settings.model_copy(update={"prune": True})
    removed = converged_with_api(ctl, pve)

    ctl.run()

    assert ctl.status(removed) == "applied" and pve.ct(102) is None and pve.ct(555) is not None
    plan = ctl.store.get_revision(removed).plan.model_dump()
    assert [a["action"] for a in plan["actions"]] == ["stop", "delete"]
    assert backups(pve) == []


def test_turning_prune_on_deletes_the_orphans_at_the_next_drift_check(ctl: Ctl, pve: Any) -> None:
    removed = converged_with_api(ctl, pve)
    ctl.run()
    assert ctl.status(removed) == "applied" and pve.ct(102) is not None

    ctl.reconciler.settings = ctl.settings.model_copy(update={"prune": True})
    outcome = ctl.run(Trigger("drift"))

    assert outcome.action == "healed", outcome.detail
    assert pve.ct(102) is None and pve.ct(555) is not None
    [run] = ctl.store.list_runs(kind="self-heal")
    assert run.result is not None and run.result.drift == ["lxc/102"]
    assert "lxc/102" not in states(ctl)
