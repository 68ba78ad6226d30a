"""Many clusters, one PostgreSQL: three controllers (instances `east`, `west`, `lab`), each following its own
config repo and converging its own simulated cluster, share one database; `east` runs as two replicas. Each
converges its cluster only, keeps its own history, leader and pin, and a killed leader's replica takes over
within 15 s."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from pydantic import SecretStr

from gitops.drivers.proxmox.connection import connect
from gitops.settings import Settings
from tests.conftest import PASSWORD, PveHandle
from tests.controller.support import GitRemote, small_estate, wait_for
from tests.e2e.conftest import Controller

FAILOVER_LIMIT_S = 15
# Four controller processes and three clusters: minutes on a shared 2-core machine, seconds on an idle one.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def memory_of(pve: PveHandle, cafile: str, vmid: int = 101) -> int:
    settings = Settings(pve_host=pve.address, pve_user="root@pam", pve_password=SecretStr(PASSWORD),
                        pve_verify_ssl=cafile, pve_timeout=10.0)
    with connect(settings) as client:
        return int(client.get(f"nodes/{client.node}/lxc/{vmid}/config")["memory"])


def test_three_controllers_three_clusters_one_postgresql(
        controller: Callable[..., Controller], pve: PveHandle, more_pve: Callable[[], PveHandle],
        pve_cafile: str, pg_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    clusters = {"east": pve, "west": more_pve(), "lab": more_pve()}
    remotes = {name: GitRemote(tmp_path, f"config-{name}") for name in clusters}
    memory = {"east": 512, "west": 640, "lab": 768}
    first = {name: remotes[name].commit(small_estate(memory=memory[name]), f"{name}: first") for name in clusters}

    made = [controller(remotes[name], f"{name}-{replica}", PHOENIX_DATABASE_URL=pg_url, PHOENIX_INSTANCE=name,
                       PHOENIX_PVE_HOST=clusters[name].address)
            for name, replica in (("east", "1"), ("east", "2"), ("west", "1"), ("lab", "1"))]
    with ThreadPoolExecutor(len(made)) as pool:  # four processes starting together (slow on a loaded machine)
        east1, east2, west, lab = pool.map(lambda c: c.start(timeout=120), made)
    east = [east1, east2]
    ctl = {"east": east[0], "west": west, "lab": lab}
    for name in clusters:  # each converges its own cluster
        ctl[name].wait_status(first[name], "applied")
        assert memory_of(clusters[name], pve_cafile) == memory[name]
        assert ctl[name].status()["instance"] == name

    # one leader per instance: one of east's two replicas, and west and lab each lead their own
    east_leaders = [c for c in east if c.status()["leader"]["this_replica"]]
    assert len(east_leaders) == 1
    assert west.status()["leader"]["this_replica"] and lab.status()["leader"]["this_replica"]

    # no ledger row of one instance is visible to another: revisions, events, state
    for name in clusters:
        shas = {r["sha"] for r in ctl[name].api.get("/api/v1/revisions").json()["revisions"]}
        assert shas == {first[name]}, (name, shas)
        event_revisions = {e["revision"] for e in ctl[name].api.get("/api/v1/events?limit=500").json()["events"]}
        assert event_revisions <= {first[name], None}
        assert ctl[name].status()["applied_revision"] == first[name]
    # a pin (rollback) in one instance stays there
    assert west.api.post("/api/v1/rollback", json={"revision": first["west"]}).status_code == 202
    wait_for(lambda: west.status()["pinned"], 30, what="west pinned")
    assert not lab.status()["pinned"] and not east[0].status()["pinned"]

    # east's leader is killed: the other replica leads within 15 s and converges east's next commit
    leader = east_leaders[0]
    follower = east[1] if leader is east[0] else east[0]
    leader.kill()
    killed = time.monotonic()
    wait_for(lambda: follower.status()["leader"]["this_replica"], FAILOVER_LIMIT_S, 0.2, what="east's failover")
    failover = time.monotonic() - killed
    assert failover < FAILOVER_LIMIT_S
    second = remotes["east"].commit(small_estate(memory=1024), "east: second")
    follower.wait_status(second, "applied", timeout=60)
    assert memory_of(clusters["east"], pve_cafile) == 1024
    assert memory_of(clusters["west"], pve_cafile) == 640 and memory_of(clusters["lab"], pve_cafile) == 768
    for name in ("west", "lab"):  # the others never saw east's commit, and their leaders never changed
        assert ctl[name].revision(second)["status"] == "absent"
        assert ctl[name].status()["leader"]["this_replica"]
    print(f"east failed over in {failover:.1f} s")
