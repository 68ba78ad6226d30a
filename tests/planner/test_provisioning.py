"""Provisioning rules (pure): tables of (config, scripts, live record) -> plan."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from gitops.config import queries
from gitops.config.lxc import IdMap, LxcGuest
from gitops.config.scripts import LXC_FEATURE, VM_FEATURE, load_provisioning
from gitops.planner.guests.host_settings import host_settings, idmap_lines
from gitops.planner.live import LiveHostConfig, LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.systems import plan_changes
from tests.e2e_apply.support import EXAMPLE
from tests.planner.test_planning import NODE, converged_live

FEATURES = {"lxc": ("base_setup", "nvidia", "trusted_ca", "dns_server", "ollama", "docker"),
            "vm": ("base_setup", "docker")}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    import shutil
    target = tmp_path / "config"
    shutil.copytree(EXAMPLE, target)
    for kind, pattern in (("lxc", LXC_FEATURE), ("vm", VM_FEATURE)):
        for name in FEATURES[kind]:
            path = target / "bin" / pattern.format(name=name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"#!/bin/bash\necho {name}\n")
    return target


def planned(config: Path, live: LiveState | None = None, *, provisioning: bool = True) -> Any:
    estate = queries.load(config)
    prov = load_provisioning(estate) if provisioning else None
    options = PlanOptions(node=NODE, provisioning=prov)
    live = live if live is not None else converged_live(estate)
    return estate, prov, plan_changes(estate, live, options)


def recorded(config: Path) -> tuple[Any, LiveState]:
    """A converged live state whose guests say every current step ran."""
    estate = queries.load(config)
    prov = load_provisioning(estate)
    live = converged_live(estate)
    for target, steps in prov.guests.items():
        live.provisioned[target] = {s.name: s.identity for s in steps.steps}
    return estate, live


def test_off_by_default_and_nothing_to_do_when_every_step_ran(config: Path) -> None:
    assert planned(config, provisioning=False)[2].empty
    _, live = recorded(config)
    assert planned(config, live)[2].empty


def test_a_changed_script_reruns_that_step_on_the_guests_using_it(config: Path) -> None:
    _, live = recorded(config)
    (config / "bin" / VM_FEATURE.format(name="docker")).write_text("#!/bin/bash\necho v2\n")
    plan = planned(config, live)[2]
    assert [(a.target, a.action, a.system, [c.field for c in a.changes]) for a in plan.actions] == [
        ("vm/1001", "provision", "guests", ["feature:docker"]),
        ("vm/1002", "provision", "guests", ["feature:docker"]),
    ]


def test_a_changed_input_reruns_every_step_of_that_guest(config: Path) -> None:
    _, live = recorded(config)
    path = config / "phoenix_lxc_configs.json"
    path.write_text(path.read_text().replace('"build-runner"', '"build-runner-2"'))
    plan = planned(config, live)[2]
    provisions = [(a.target, [c.field for c in a.changes]) for a in plan.actions if a.action == "provision"]
    assert provisions == [("lxc/120", ["feature:base_setup", "feature:docker"])]


def test_templates_and_stopped_guests_are_warnings_not_actions(config: Path) -> None:
    _, live = recorded(config)
    live.provisioned["lxc/900"] = {"feature:base_setup": "old"}
    live.guests[120].status = "stopped"
    live.provisioned["lxc/120"] = None
    plan = planned(config, live)[2]
    assert not [a for a in plan.actions if a.action == "provision"]
    codes = {(w.target, w.code) for w in plan.warnings}
    assert ("lxc/900", "template-provisioning-stale") in codes and ("lxc/120", "provisioning-unknown") in codes


def test_a_missing_script_is_a_plan_error(config: Path) -> None:
    (config / "bin" / LXC_FEATURE.format(name="ollama")).unlink()
    plan = planned(config, LiveState(node=NODE, nodes=[NODE]))[2]
    assert [(e.target, e.code) for e in plan.errors] == [("lxc/110", "script-missing")]


def test_new_template_is_started_provisioned_shut_down_then_converted(config: Path) -> None:
    plan = planned(config, LiveState(node=NODE, nodes=[NODE]))[2]
    assert [a.action for a in plan.actions if a.target == "lxc/901"] == [
        "clone", "start", "provision", "stop", "convert-to-template"]
    provision = next(a for a in plan.actions if a.target == "lxc/901" and a.action == "provision")
    assert [c.path for c in provision.calls] == [
        "lxc/901/input", "lxc/901/steps/feature:base_setup", "lxc/901/steps/feature:nvidia"]
    # A new guest's scripts run once it started.
    assert [a.action for a in plan.actions if a.target == "lxc/120"] == ["clone", "start", "provision"]


def test_host_settings_split_a_folded_start_and_are_diffed() -> None:
    ct = LxcGuest(name="web", lxc_options=["lxc.cap.keep=sys_admin,net_admin", "lxc.apparmor.profile: unconfined"],
                  id_maps=[IdMap(type="uid", host_id=1000, container_id=1000)])
    wanted = host_settings(ct)
    assert wanted.lxc_lines == ["lxc.cap.keep: sys_admin", "lxc.cap.keep: net_admin",
                                "lxc.apparmor.profile: unconfined",
                                "lxc.idmap: u 0 100000 1000", "lxc.idmap: u 1000 1000 1",
                                "lxc.idmap: u 1001 101001 64535", "lxc.idmap: g 0 100000 65536"]
    assert host_settings(LxcGuest(name="x", lxc_options=["apparmor=1"])).problems
    assert idmap_lines([]) == ["lxc.idmap: u 0 100000 65536", "lxc.idmap: g 0 100000 65536"]


def test_host_settings_of_a_new_and_an_existing_container(config: Path) -> None:
    path = config / "phoenix_lxc_configs.json"
    option = '"lxc_options": ["lxc.apparmor.profile=unconfined"],'
    path.write_text(path.read_text().replace('"name": "build-runner",', '"name": "build-runner", ' + option))
    plan = planned(config, LiveState(node=NODE, nodes=[NODE]))[2]
    # Settings PVE reads at start are written before it (a start folded into a create is split off).
    assert [a.action for a in plan.actions if a.target == "lxc/120"] == ["clone", "host-config", "start", "provision"]
    clone = next(a for a in plan.actions if a.target == "lxc/120" and a.action == "clone")
    assert all("start" not in c.params for c in clone.calls)

    _, live = recorded(config)
    live.host_configs["lxc/120"] = LiveHostConfig(["lxc.apparmor.profile: unconfined"])
    assert planned(config, live)[2].empty
    live.host_configs["lxc/120"] = dataclasses.replace(live.host_configs["lxc/120"], lxc_lines=[])
    plan = planned(config, live)[2]
    assert [(a.target, a.action, a.restart_required) for a in plan.actions] == [("lxc/120", "host-config", True)]
