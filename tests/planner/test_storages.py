"""Every storage the hypervisor file defines is converged, used by a guest or not."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from gitops.config import queries
from gitops.planner.live import LiveState, LiveStorage
from gitops.planner.options import PlanOptions
from gitops.planner.systems import managed_targets, plan_changes
from tests.e2e_apply.support import EXAMPLE, edit


def test_an_unused_nfs_storage_is_defined_and_then_left_alone(tmp_path: Path) -> None:
    directory = tmp_path / "config"
    shutil.copytree(EXAMPLE, directory)

    def add(data: Any) -> None:
        data["storages"] = {"backups": {"type": "nfs", "content": "backup", "server": "10.20.0.5",
                                        "export": "/export/backups"}}
    edit(directory, "phoenix_hypervisor_config.json", add)
    estate = queries.load(directory)
    options = PlanOptions(node="pve1")
    plan = plan_changes(estate, LiveState(node="pve1", nodes=["pve1"]), options)
    [action] = [a for a in plan.actions if a.target == "storage/backups"]
    assert action.calls[0].path == "storage"
    assert action.calls[0].params == {"storage": "backups", "type": "nfs", "content": "backup",
                                      "server": "10.20.0.5", "export": "/export/backups"}
    assert "storage/backups" in managed_targets(estate, LiveState(node="pve1"), options)

    live = LiveState(node="pve1", nodes=["pve1"])
    live.storages["backups"] = LiveStorage("backups", "nfs", {"backup"})
    again = plan_changes(estate, live, options)
    assert not [a for a in again.actions if a.target == "storage/backups"]
