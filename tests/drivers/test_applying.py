"""apply_plan(): hand-written plans run against fakepve, in dependency order, with retries and secrets."""

from __future__ import annotations

import json
import threading
from typing import Any

from gitops.drivers.proxmox.applying import ApplyEvent, apply_plan, predecessors, resolve_params
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.planner.plan import Action, ApiCall, Plan

ROOT_PASSWORD = "hunter2-correct-horse"


def secrets(name: str) -> str:
    return {"root_pw": ROOT_PASSWORD}[name]


def create_ct(vmid: int, template: str, **extra: Any) -> Action:
    params = {"vmid": vmid, "ostemplate": template, "storage": "local-lvm", "hostname": f"ct{vmid}",
              "memory": 512, "rootfs": "local-lvm:8", "net0": "name=eth0,bridge=vmbr0,ip=dhcp", **extra}
    return Action(target=f"lxc/{vmid}", action="create", summary=f"create CT {vmid}",
                  calls=[ApiCall("POST", "nodes/pve1/lxc", params, wait=True)])


def start_ct(vmid: int, **kwargs: Any) -> Action:
    return Action(target=f"lxc/{vmid}", action="start",
                  calls=[ApiCall("POST", f"nodes/pve1/lxc/{vmid}/status/start", wait=True)], **kwargs)


def test_create_update_start(pve: Any, pve_client: ProxmoxClient) -> None:
    plan = Plan(actions=[
        create_ct(150, pve.debian_template, password="${secret:root_pw}"),
        Action(target="lxc/150", action="update", calls=[
            ApiCall("PUT", "nodes/pve1/lxc/150/config", {"memory": 1024, "onboot": True})]),
        start_ct(150),
    ])
    events: list[ApplyEvent] = []

    result = apply_plan(pve_client, plan, resolve_secret=secrets, on_event=events.append, concurrency=4)

    assert result.ok, result.to_dict()
    ct = pve.ct(150)
    assert ct.status == "running" and ct.config["memory"] == 1024 and ct.config["onboot"] == 1
    create, update, start = result.outcomes
    assert len(create.upids) == 1 and create.upids[0].startswith("UPID:pve1:")
    assert update.upids == [] and len(start.upids) == 1
    assert [(e.kind, e.index) for e in events if e.kind in ("started", "finished")] == [
        ("started", 0), ("finished", 0), ("started", 1), ("finished", 1), ("started", 2), ("finished", 2)]
    shown = json.dumps(result.to_dict()) + repr(events)
    assert ROOT_PASSWORD not in shown
    assert result.to_dict()["counts"] == {"ok": 3}


def test_a_failed_action_skips_its_dependants_not_independent_ones(pve: Any,
                                                                    pve_client: ProxmoxClient) -> None:
    plan = Plan(actions=[
        create_ct(200, "local:vztmpl/missing.tar.zst"),       # the task fails: no such template
        start_ct(200),                                         # same target: skipped
        create_ct(201, pve.debian_template),
        Action(target="lxc/201", action="update", depends_on=["lxc/200"],
               calls=[ApiCall("PUT", "nodes/pve1/lxc/201/config", {"memory": 2048})]),
        create_ct(202, pve.debian_template),                   # independent: runs
        start_ct(202),
    ])
    result = apply_plan(pve_client, plan, resolve_secret=secrets, concurrency=4)

    assert [o.status for o in result.outcomes] == ["failed", "skipped", "ok", "skipped", "ok", "ok"]
    failed = result.outcomes[0]
    assert "lxc/200" in failed.error
    assert "volume 'local:vztmpl/missing.tar.zst' does not exist" in failed.error
    assert failed.log[-1].startswith("TASK ERROR:") and not failed.transient
    assert result.outcomes[3].error == "skipped: lxc/200 did not succeed"
    assert pve.ct(202).status == "running" and pve.ct(201).config["memory"] == 512
    assert not result.ok and len(result.failed) == 1 and len(result.skipped) == 2


def test_dependants_start_only_after_their_dependency_finished(pve: Any, pve_client: ProxmoxClient) -> None:
    pve.time_scale = 0.002  # tasks take real (short) time, so parallel branches overlap
    pve.ct_secs["create"] = 20
    order: list[tuple[str, str]] = []
    lock = threading.Lock()

    def record(event: ApplyEvent) -> None:
        if event.kind in ("started", "finished"):
            with lock:
                order.append((event.kind, event.target))

    plan = Plan(actions=[
        create_ct(301, pve.debian_template),
        create_ct(302, pve.debian_template),
        create_ct(303, pve.debian_template),
        start_ct(303, depends_on=["lxc/301", "lxc/302"]),
    ])
    result = apply_plan(pve_client, plan, resolve_secret=secrets, on_event=record, concurrency=3)

    assert result.ok, result.to_dict()
    started_start = order.index(("started", "lxc/303"), order.index(("finished", "lxc/303")))
    assert order.index(("finished", "lxc/301")) < started_start
    assert order.index(("finished", "lxc/302")) < started_start
    # the three creates ran side by side
    assert [kind for kind, _ in order[:3]] == ["started"] * 3


def test_transient_errors_are_retried_and_parameter_errors_are_not(pve: Any,
                                                                   pve_client: ProxmoxClient) -> None:
    pve.add_ct(101, "web")
    pve.fail("POST", "/nodes/pve1/lxc/101/status/start", 500, "temporary failure", times=2)
    plan = Plan(actions=[
        start_ct(101),
        Action(target="lxc/102", action="create", calls=[
            ApiCall("POST", "nodes/pve1/lxc", {"vmid": 102, "ostemplate": pve.debian_template,
                                               "hostname": "not_valid!"}, wait=True)]),
    ])
    result = apply_plan(pve_client, plan, resolve_secret=secrets, concurrency=2)

    assert [o.status for o in result.outcomes] == ["ok", "failed"]
    assert pve.paths("POST").count("nodes/pve1/lxc/101/status/start") == 3
    assert pve.paths("POST").count("nodes/pve1/lxc") == 1
    assert "hostname: invalid format" in result.outcomes[1].error
    assert len(pve_client.sleep.calls) == 2  # type: ignore[attr-defined]


def test_a_task_that_failed_on_a_held_lock_is_tried_again(pve: Any, pve_client: ProxmoxClient) -> None:
    pve.add_ct(101, "web")
    pve.hold_config_lock(101, None)
    pve_client.sleep = lambda seconds: pve.release_config_lock(101)  # the other task ends meanwhile
    result = apply_plan(pve_client, Plan(actions=[start_ct(101)]), resolve_secret=secrets)
    assert result.ok, result.to_dict()
    assert len(result.outcomes[0].upids) == 2  # the failed try and the good one


def test_wait_after_pauses_before_dependants_start(pve: Any, pve_client: ProxmoxClient) -> None:
    pve.add_ct(101, "a")
    pve.add_ct(102, "b")
    first = start_ct(101)
    first.wait_after_s = 30.0
    result = apply_plan(pve_client, Plan(actions=[first, start_ct(102, depends_on=["lxc/101"])]),
                        resolve_secret=secrets)
    assert result.ok and pve_client.sleep.calls == [30.0]  # type: ignore[attr-defined]


def test_an_unresolvable_secret_fails_the_action_only(pve: Any, pve_client: ProxmoxClient) -> None:
    plan = Plan(actions=[create_ct(150, pve.debian_template, password="${secret:nope}"),
                         create_ct(151, pve.debian_template)])
    result = apply_plan(pve_client, plan, resolve_secret=secrets)
    assert [o.status for o in result.outcomes] == ["failed", "ok"]
    assert "secret" in result.outcomes[0].error and pve.ct(150) is None


def test_a_dependency_cycle_fails_its_actions(pve: Any, pve_client: ProxmoxClient) -> None:
    plan = Plan(actions=[start_ct(1, depends_on=["lxc/2"]), start_ct(2, depends_on=["lxc/1"])])
    result = apply_plan(pve_client, plan, resolve_secret=secrets)
    assert [o.status for o in result.outcomes] == ["failed", "failed"]
    assert "cycle" in result.outcomes[0].error
    assert not [p for p in pve.paths() if "status" in p]


def test_predecessors_and_params() -> None:
    actions = [Action("lxc/1", "create"), Action("lxc/2", "create", depends_on=["lxc/1"]),
               Action("lxc/1", "start"), Action("lxc/2", "start")]
    assert predecessors(actions) == [set(), {0, 2}, {0}, {1}]
    sent, used = resolve_params({"password": "${secret:root_pw}", "onboot": False, "x": None,
                                 "ssh": ["k ${secret:root_pw}"]}, secrets)
    assert sent == {"password": ROOT_PASSWORD, "onboot": 0, "ssh": [f"k {ROOT_PASSWORD}"]}
    assert used == [ROOT_PASSWORD, ROOT_PASSWORD]
