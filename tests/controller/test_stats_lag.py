"""PVE's `cluster/resources` shows a guest's status, name and sizes as pvestatd last broadcast them (up to 10
seconds old; a guest created since has status `unknown`): the simulated node does the same when asked
(`gitops.demo.guest_stats`). After an apply the controller reads the status of the guests it acted on from
`GET .../status/current`, which is current, so a guest it just created and started is verified running."""

from __future__ import annotations

from typing import Any

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
        checks = ctl.store.get_revision(sha).result.stored()["checks"]
        assert {"target": "lxc/102", "check": "running", "ok": True, "detail": "running"} in checks["results"]
        pve.requests.clear()
        assert ctl.run().action == "none"
    finally:
        pve.stats_interval = 0.0


def ctl_resources(ctl: Ctl) -> list[dict[str, Any]]:
    from gitops.drivers.proxmox.connection import connect

    with connect(ctl.settings) as client:
        return [item for item in client.get("cluster/resources") if item.get("type") in ("lxc", "qemu")]
