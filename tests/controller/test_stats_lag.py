"""PVE's `cluster/resources` shows a guest's status, name and sizes as pvestatd last broadcast them (up to 10
seconds old; a guest created since has status `unknown`): the simulated node does the same when asked
(`gitops.demo.guest_stats`). After an apply the controller reads the status of the guests it acted on from
`GET .../status/current`, which is current, so a guest it just created and started is verified running."""

from __future__ import annotations

from typing import Any

from gitops.controller.triggers import Trigger
from tests.controller.conftest import Ctl
from tests.controller.support import estate_with_api, small_estate


def test_the_simulated_resources_lag_as_pvestatd_does(ctl: Ctl, pve: Any) -> None:
    ctl.remote.commit(small_estate(), "first")
    assert ctl.run().action == "applied"
    pve.stats_interval = 3600.0
    try:
        ctl_resources(ctl)  # the first answer takes the broadcast
        pve.add_ct(4242, "by-hand", config={"memory": 512, "tags": "mine"})
        pve.ct(101).status = "stopped"
        lagging = {item["vmid"]: item for item in ctl_resources(ctl)}
    finally:
        pve.stats_interval = 0.0
    assert lagging[101]["status"] == "running"  # the broadcast's, not the guest's
    new = lagging[4242]
    assert (new["status"], "name" in new, "maxmem" in new, new["tags"], new["node"]) == (
        "unknown", False, False, "mine", "pve1")  # what the config filesystem says is current
    assert {item["vmid"]: item["status"] for item in ctl_resources(ctl)}[101] == "stopped"  # lag off: current


def test_a_guest_created_and_started_is_verified_running_while_resources_lag(ctl: Ctl, pve: Any) -> None:
    ctl.remote.commit(small_estate(), "first")
    assert ctl.run().action == "applied"
    pve.stats_interval = 3600.0  # no broadcast after the first answer: the new guest stays `unknown` there
    try:
        sha = ctl.remote.commit(estate_with_api(), "a second container")
        outcome = ctl.run()
        assert outcome.action == "applied", outcome
        result = ctl.store.get_revision(sha).result
        assert result is not None
        checks = result.stored()["checks"]
        assert {"target": "lxc/102", "check": "running", "ok": True, "detail": "running"} in checks["results"]
        pve.requests.clear()
        assert ctl.run().action == "none"
    finally:
        pve.stats_interval = 0.0


def ctl_resources(ctl: Ctl) -> list[dict[str, Any]]:
    from gitops.drivers.proxmox.connection import connect

    with connect(ctl.settings) as client:
        return [item for item in client.get("cluster/resources") if item.get("type") in ("lxc", "qemu")]


def broadcast_while(ctl: Ctl, pve: Any, vmid: int, status: str) -> None:
    """pvestatd's broadcast taken while `vmid` was `status`; the guest is back as it was after."""
    was = pve.ct(vmid).status
    pve.ct(vmid).status = status
    pve.stats_interval = 3600.0
    ctl_resources(ctl)
    pve.ct(vmid).status = was


def test_an_orphan_shown_stopped_but_running_is_stopped_before_it_is_destroyed(ctl: Ctl, pve: Any) -> None:
    ctl.reconciler.settings = ctl.settings.model_copy(update={"prune": True})
    ctl.remote.commit(estate_with_api(), "web and api")
    assert ctl.run().action == "applied" and pve.ct(102).status == "running"
    removed = ctl.remote.commit(small_estate(), "api removed")
    try:
        broadcast_while(ctl, pve, 102, "stopped")
        outcome = ctl.run()
    finally:
        pve.stats_interval = 0.0
    assert outcome.action == "applied", outcome
    assert pve.ct(102) is None
    planned = ctl.store.get_revision(removed).plan
    assert planned is not None
    plan = planned.model_dump()
    assert [(a["target"], a["action"]) for a in plan["actions"]] == [("lxc/102", "delete")]  # planned from "stopped"
    posts = [r[1] for r in pve.requests if r[0] == "POST" and "/lxc/102/" in r[1]]
    assert posts[-1].endswith("/lxc/102/status/stop")  # the driver asked the guest, and stopped it first


def test_a_start_of_a_guest_shown_stopped_but_running_is_not_sent(ctl: Ctl, pve: Any) -> None:
    ctl.remote.commit(small_estate(), "first")
    assert ctl.run().action == "applied"
    try:
        broadcast_while(ctl, pve, 101, "stopped")
        pve.requests.clear()
        outcome = ctl.run(Trigger("drift"))
    finally:
        pve.stats_interval = 0.0
    assert outcome.action == "healed", outcome  # the drift check saw it stopped and planned a start ...
    assert not [r for r in pve.requests if r[0] == "POST" and r[1].endswith("/status/start")]  # ... not sent
    assert pve.ct(101).status == "running"
