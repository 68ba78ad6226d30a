"""The planner is pure: tables of (desired config, live state) -> plan, no server involved."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest

from gitops.config import queries
from gitops.planner.live import LiveGuest, LiveState, LiveStorage
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Plan
from gitops.planner.systems import assumed_live, plan_changes
from tests.e2e_apply.support import EXAMPLE, edit

NODE = "pve1"
OPTIONS = PlanOptions(node=NODE, snapshot_name="phx-abc123")


@pytest.fixture(scope="module")
def estate() -> Any:
    return queries.load(EXAMPLE)


def converged_live(estate: Any) -> LiveState:
    """A live state exactly as PVE would report the example after a converge, generated parts included."""
    live = assumed_live(estate, PlanOptions(node=NODE), nodes=[], assumed="")
    live.controller_address = "10.20.0.9"
    return live


def test_converged_live_plans_nothing(estate: Any) -> None:
    plan = plan_changes(estate, converged_live(estate), OPTIONS)
    assert plan.actions == [] and plan.errors == [] and plan.pending == []


def _plan(estate: Any, live: LiveState, **options: Any) -> Plan:
    return plan_changes(estate, live, PlanOptions(node=NODE, snapshot_name="phx-abc123", **options))


def test_live_drift_plans_one_update_with_snapshot_first(estate: Any) -> None:
    live = converged_live(estate)
    live.guests[102].config["memory"] = 2048
    plan = _plan(estate, live)
    [action] = plan.actions
    assert (action.target, action.action) == ("lxc/102", "update")
    assert [(c.field, c.old, c.new) for c in action.changes] == [("memory", 2048, "512")]
    assert action.calls[0].path.endswith("/snapshot") and action.calls[0].params["snapname"] == "phx-abc123"
    assert action.calls[1].params == {"memory": "512"}


def test_pending_values_count_as_applied(estate: Any) -> None:
    live = converged_live(estate)
    live.guests[1001].config["cores"] = "1"
    live.guests[1001].pending = {"cores": "2"}
    plan = _plan(estate, live)
    assert plan.actions == [] and plan.pending == ["vm/1001"]


def test_pending_restart_when_policy_asks(estate: Any) -> None:
    live = converged_live(estate)
    live.guests[101].pending = {"hostname": "gateway"}  # 101 has restart_policy on-change
    [action] = _plan(estate, live).actions
    assert (action.target, action.action) == ("lxc/101", "restart")


def test_shrink_is_refused(estate: Any) -> None:
    live = converged_live(estate)
    live.guests[120].config["rootfs"] = "tank-lxc-disks:subvol-120-disk-0,size=64G"
    plan = _plan(estate, live)
    assert plan.actions == []
    assert [(e.target, e.code) for e in plan.errors] == [("lxc/120", "disk-shrink")]


def test_kind_mismatch_and_template_irreversible(estate: Any) -> None:
    live = converged_live(estate)
    live.guests[120].kind = "vm"
    live.guests[102].template = True
    codes = {(e.target, e.code) for e in _plan(estate, live).errors}
    assert codes == {("lxc/120", "kind-mismatch"), ("lxc/102", "template-irreversible")}


def test_orphans_kept_unless_destroy_allowed_and_foreign_guests_untouched(estate: Any) -> None:
    live = converged_live(estate)
    live.guests[777] = LiveGuest("lxc", 777, NODE, name="old", status="running", tags=["phoenix-gitops"])
    live.guests[778] = LiveGuest("vm", 778, NODE, name="someone-elses", status="running", tags=["prod"])
    plan = _plan(estate, live)
    assert plan.actions == [] and [(w.target, w.code) for w in plan.warnings] == [("lxc/777", "orphan")]
    plan = _plan(estate, live, allow_destroy=True)
    stop, delete = plan.actions
    assert (stop.target, stop.action, stop.destructive) == ("lxc/777", "stop", False)
    assert [(c.method, c.path) for c in stop.calls] == [("POST", "nodes/pve1/lxc/777/status/stop")]
    assert (delete.target, delete.action, delete.destructive) == ("lxc/777", "delete", True)
    assert [(c.method, c.path) for c in delete.calls] == [("DELETE", "nodes/pve1/lxc/777")]
    assert _plan(estate, live, prune=True).to_dict() == plan.to_dict()


def test_a_pruned_orphan_is_backed_up_first_when_a_backup_storage_is_set(estate: Any) -> None:
    live = converged_live(estate)
    live.guests[777] = LiveGuest("lxc", 777, NODE, name="old", status="stopped", tags=["phoenix-gitops"])
    live.storages["backups"] = LiveStorage("backups", "dir", content={"backup"})
    plan = _plan(estate, live, prune=True, backup_storage="backups", backup_mode="stop")
    assert [(a.target, a.action) for a in plan.actions] == [("lxc/777", "backup"), ("lxc/777", "delete")]
    [call] = plan.actions[0].calls
    assert (call.method, call.path, call.wait) == ("POST", "nodes/pve1/vzdump", True)
    assert call.params == {"vmid": "777", "storage": "backups", "mode": "stop", "compress": "zstd"}
    missing = _plan(estate, live, prune=True, backup_storage="nowhere")
    assert missing.actions == [] and [(e.target, e.code) for e in missing.errors] == [("lxc/777", "backup-storage")]
    live.assumed = "the state the base converges to"  # a plan between two configs: not checked, said so
    unchecked = _plan(estate, live, prune=True, backup_storage="nowhere")
    assert [a.action for a in unchecked.actions] == ["backup", "delete"] and unchecked.errors == []
    assert [(w.target, w.code) for w in unchecked.warnings] == [("lxc/777", "reference-unchecked")]


def test_firewall_rule_change_replaces_rules_in_order(estate: Any) -> None:
    live = converged_live(estate)
    live.guests[102].firewall.rules[0]["dport"] = "5353"
    [action] = _plan(estate, live).actions
    assert action.action == "firewall"
    posts = [c.params for c in action.calls if c.method == "POST"]
    deletes = [c.path for c in action.calls if c.method == "DELETE"]
    assert deletes == ["nodes/pve1/lxc/102/firewall/rules/1", "nodes/pve1/lxc/102/firewall/rules/0"]
    # The reviewer reads the rule that changes, not a count.
    assert [(c.field, c.old, c.new) for c in action.changes] == [
        ("firewall.rules[0]", "in ACCEPT udp dport=5353 source=10.20.0.0/24 (DNS)",
         "in ACCEPT udp dport=53 source=10.20.0.0/24 (DNS)")]
    # Inserted bottom-up at the top, so the final order is the config's.
    assert [p["dport"] for p in posts] == ["53", "53"] and posts[-1]["proto"] == "udp"


def test_fresh_node_orders_templates_dependencies_and_boot_groups(estate: Any) -> None:
    plan = plan_changes(estate, LiveState(node=NODE), OPTIONS)
    index = {(a.target, a.action): i for i, a in enumerate(plan.actions)}
    assert index[("lxc/900", "create")] < index[("lxc/900", "convert-to-template")] < index[("lxc/901", "clone")]
    clone_110 = plan.actions[index[("lxc/110", "clone")]]
    assert {"lxc/901", "lxc/101", "storage/tank-models"} <= set(clone_110.depends_on)
    start_101 = plan.actions[index[("lxc/101", "start")]]
    assert "lxc/102" in start_101.depends_on  # boot order 1 before 2, and a dependency too
    assert plan.actions[index[("lxc/102", "start")]].wait_after_s == 3  # its boot_delay
    downloads = [a for a in plan.actions if a.action == "download-template"]
    assert {a.target for a in downloads} == {"template/tank-iso:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                                            "template/tank-iso:import/noble-server-cloudimg-amd64.qcow2"}


def test_missing_template_without_url_is_an_error(tmp_path: Path) -> None:
    directory = tmp_path / "config"
    shutil.copytree(EXAMPLE, directory)
    edit(directory, "phoenix_lxc_configs.json", lambda d: d["lxc_configs"]["900"].pop("template_url"))
    plan = plan_changes(queries.load(directory), LiveState(node=NODE), OPTIONS)
    assert ("lxc/900", "template-missing") in {(e.target, e.code) for e in plan.errors}
    assert not any(a.target == "lxc/900" for a in plan.actions)


def test_plan_is_deterministic_and_pure(estate: Any) -> None:
    live = converged_live(estate)
    live.guests[102].config["memory"] = 2048
    frozen = copy.deepcopy(live)
    first = _plan(estate, live).to_dict()
    assert _plan(estate, live).to_dict() == first
    assert live == frozen  # the live snapshot is not modified


def test_secrets_are_masked_in_the_plan(estate: Any) -> None:
    data = plan_changes(estate, LiveState(node=NODE), OPTIONS).to_dict()
    vm = next(a for a in data["actions"] if a["target"] == "vm/9000" and a["action"] == "create")
    assert vm["calls"][0]["params"]["cipassword"] == "(secret)"


def test_guest_on_another_node_is_migrated_back_then_updated(estate: Any) -> None:
    live = converged_live(estate)
    live.nodes = [NODE, "pve2"]
    live.guests[102].node = "pve2"
    live.guests[102].config["memory"] = 4096
    plan = _plan(estate, live)
    migrate, update = plan.actions
    assert (migrate.action, migrate.node) == ("migrate", "pve2")
    assert migrate.calls[0].path == "nodes/pve2/lxc/102/migrate"
    assert migrate.calls[0].params == {"target": NODE, "restart": 1}  # a running container: restart mode
    assert update.action == "update" and update.calls[-1].path == f"nodes/{NODE}/lxc/102/config"


def test_a_new_guest_with_nothing_to_wait_for_is_created_and_started_in_one_task(tmp_path: Path) -> None:
    directory = tmp_path / "config"
    shutil.copytree(EXAMPLE, directory)

    def from_template(data: Any) -> None:
        ct = data["lxc_configs"]["120"]
        del ct["clone_from_ctid"]
        ct["template"] = data["lxc_configs"]["900"]["template"]
        ct["template_url"] = data["lxc_configs"]["900"]["template_url"]

    edit(directory, "phoenix_lxc_configs.json", from_template)
    plan = plan_changes(queries.load(directory), LiveState(node=NODE), OPTIONS)
    mine = [a for a in plan.actions if a.target == "lxc/120"]
    assert [a.action for a in mine] == ["create"] and mine[0].calls[0].params["start"] == 1
    # 102 is a clone, and starts in boot group 1 after 120's group: its start stays an action.
    assert [a.action for a in plan.actions if a.target == "lxc/102"] == ["clone", "start"]


def test_a_guest_we_did_not_create_is_adopted_only_when_its_name_matches(estate: Any) -> None:
    live = converged_live(estate)
    live.guests[120].tags = []
    live.guests[120].config["tags"] = ""
    [action] = _plan(estate, live).actions  # same name: adopted, the tag is added
    assert action.action == "update" and [c.field for c in action.changes] == ["tags"]
    live.guests[120].name = "prod-db"
    plan = _plan(estate, live)
    assert plan.actions == [] and [(e.target, e.code) for e in plan.errors] == [("lxc/120", "adopt-conflict")]


def test_a_field_pve_sets_only_at_creation_needs_a_re_create_allowed_by_allow_destroy(estate: Any) -> None:
    live = converged_live(estate)
    del live.guests[102].config["unprivileged"]  # privileged on the node; the config says unprivileged
    plan = _plan(estate, live)
    assert plan.actions == []
    [error] = plan.errors
    assert (error.target, error.code) == ("lxc/102", "recreate-needed")
    assert "unprivileged" in error.message and "--allow-destroy" in error.message and "data" in error.message
    plan = _plan(estate, live, allow_destroy=True)
    assert plan.errors == []
    steps = [(a.target, a.action, a.destructive) for a in plan.actions]
    assert steps[:2] == [("lxc/102", "stop", False), ("lxc/102", "delete", True)]
    assert [s[1] for s in steps if s[0] == "lxc/102"][2:] in (["create"], ["create", "start"], ["clone", "start"],
                                                               ["clone"])
    delete = plan.actions[1]
    assert [(c.field, c.old, c.new) for c in delete.changes] == [("unprivileged", None, "1")]
    assert "ALL DATA" in delete.summary


def test_a_re_create_never_touches_a_guest_we_did_not_create(estate: Any) -> None:
    live = converged_live(estate)
    live.guests[102].config["unprivileged"] = 0
    live.guests[102].tags = []
    plan = _plan(estate, live, allow_destroy=True)
    assert [(e.target, e.code) for e in plan.errors] == [("lxc/102", "recreate-needed")]
    assert plan.actions == []
