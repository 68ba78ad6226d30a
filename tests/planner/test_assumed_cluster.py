"""A config-to-config plan (PR reviews, `plan --base --head`) of the cluster's own resources lists only what
changes: the assumed live state holds the firewall, access control and bridges the config declares."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from gitops.config import queries
from gitops.planner.options import PlanOptions
from gitops.planner.systems import assumed_live, plan_changes
from tests.e2e_apply.support import EXAMPLE, edit
from tests.e2e_apply.test_cluster_access import ACCESS


def test_an_unchanged_cluster_config_plans_nothing_and_a_change_plans_only_itself(tmp_path: Path) -> None:
    base = tmp_path / "base"
    shutil.copytree(EXAMPLE, base)

    def declare(data: Any) -> None:
        data["access"] = ACCESS
        data["firewall"]["aliases"] = {"lan": "10.20.0.0/24"}
        data["network"]["vlans"] = {"vmbr0.30": {"raw_device": "vmbr0", "vlan_id": 30}}
    edit(base, "phoenix_hypervisor_config.json", declare)
    estate = queries.load(base)
    options = PlanOptions(node="pve1")
    plan = plan_changes(estate, assumed_live(estate, PlanOptions(node="pve1"), nodes=[], assumed=""), options)
    assert plan.actions == [] and plan.errors == []
    assert [w.code for w in plan.warnings] == ["firewall-lockout"]  # no connection: it cannot tell

    head = tmp_path / "head"
    shutil.copytree(base, head)
    edit(head, "phoenix_hypervisor_config.json",
         lambda d: d["firewall"]["global_firewall_rules"][0].update(source="10.20.0.0/25"))
    live = assumed_live(estate, PlanOptions(node="pve1"), nodes=[], assumed="")
    changed = plan_changes(queries.load(head), live, options)
    assert [(a.target, a.action) for a in changed.actions] == [("firewall/cluster", "firewall")]
