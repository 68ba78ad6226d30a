"""A config planned against the live state it would converge to plans nothing; one edit plans one change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitops.config import queries
from gitops.planner.options import PlanOptions
from gitops.planner.systems import assumed_live, plan_changes
from tests.e2e_apply.support import EXAMPLE, edit

UPSTREAM = Path(__file__).parents[1] / "data" / "phoenix-upstream"
OPTIONS = PlanOptions(node="pve1")


@pytest.mark.parametrize("directory", [EXAMPLE, UPSTREAM], ids=["example", "upstream"])
def test_a_config_against_itself_plans_nothing(directory: Path) -> None:
    estate = queries.load(directory)
    plan = plan_changes(estate, assumed_live(estate, PlanOptions(node="pve1"), nodes=[], assumed=""), OPTIONS)
    assert (plan.actions, plan.errors) == ([], [])


def test_one_memory_edit_is_one_change(tmp_path: Path) -> None:
    base = queries.load(EXAMPLE)
    head_dir = tmp_path / "head"
    shutil.copytree(EXAMPLE, head_dir)
    edit(head_dir, "phoenix_lxc_configs.json", lambda d: d["lxc_configs"]["102"].__setitem__("memory_mb", 1024))
    live = assumed_live(base, PlanOptions(node="pve1"), nodes=[], assumed="")
    plan = plan_changes(queries.load(head_dir), live, OPTIONS)
    [action] = plan.actions
    assert (action.target, action.action) == ("lxc/102", "update")
    assert [(c.field, c.new) for c in action.changes] == [("memory", "1024")]
