"""A revision reads fresh only what can have changed: guests whose desired state changed (and what needs
them), guests `cluster/resources` shows changed, new or gone, and what the controller acted on; a drift check
reads everything. Counted in the requests the simulated PVE received."""

from __future__ import annotations

import json
from typing import Any

from gitops.controller.triggers import Trigger
from gitops.drivers.proxmox.connection import connect
from tests.controller.conftest import Ctl
from tests.controller.support import small_estate

GUESTS = 6  # 101 and 2000..2004, plus the template 900


def estate(memory: dict[str, int] | None = None, base: int = 512) -> dict[str, str]:
    files = small_estate(memory=base, extra_guests=GUESTS - 1)
    data = json.loads(files["phoenix_lxc_configs.json"])
    for ctid, mb in (memory or {}).items():
        data["lxc_configs"][ctid]["memory_mb"] = mb
    files["phoenix_lxc_configs.json"] = json.dumps(data)
    return files


def config_of(ctl: Ctl, vmid: int) -> dict[str, Any]:
    with connect(ctl.settings) as client:
        return dict(client.get(f"nodes/{client.node}/lxc/{vmid}/config"))


def hand_edit(ctl: Ctl, vmid: int, params: dict[str, Any]) -> None:
    with connect(ctl.settings) as client:
        client.request("PUT", f"nodes/{client.node}/lxc/{vmid}/config", params)


def guest_reads(pve: Any) -> list[int]:
    """The guests whose config (`.../pending`) was read since the last `clear`, sorted."""
    return sorted(int(p.split("/")[3]) for p in pve.paths("GET") if p.endswith("/pending"))


def test_a_revision_reads_only_what_it_changes(ctl: Ctl, pve: Any) -> None:
    ctl.remote.commit(estate(), "first")
    assert ctl.run().action == "applied"

    pve.fake.requests.clear()
    ctl.remote.commit(estate({"2002": 768}), "one guest more memory")
    assert ctl.run().action == "applied"
    # planned from a fresh read of 2002 only; its digest checked before the pre-apply snapshot; read again
    # after its update (the verify); no other guest
    assert guest_reads(pve) == [2002, 2002, 2002]
    # read ahead for the plan; the verify takes the same answer (the apply moved no guest) and asks 2002 itself
    assert pve.paths("GET").count("cluster/resources") == 1
    assert [p for p in pve.paths("GET") if p.endswith("/status/current")] == ["nodes/pve1/lxc/2002/status/current"]
    assert not [p for p in pve.paths("GET") if p.startswith("storage")]  # the cluster part is unchanged
    assert int(config_of(ctl, 2002)["memory"]) == 768

    # a hand edit that shows in cluster/resources (the memory: maxmem) is read at the next revision
    hand_edit(ctl, 2001, {"memory": 1024})
    pve.fake.requests.clear()
    ctl.remote.commit(estate({"2002": 768, "2003": 640}), "another guest")
    assert ctl.run().action == "applied"
    # 2002's line changed since the answer its verify took (its maxmem): read again, once
    assert set(guest_reads(pve)) == {2001, 2002, 2003}
    assert int(config_of(ctl, 2001)["memory"]) == 512  # planned from what it is, and set back

    # the drift check reads every guest fresh (the sweep)
    pve.fake.requests.clear()
    assert ctl.run(Trigger("drift")).action in ("none", "healed")
    assert set(guest_reads(pve)) == {900, 101, 2000, 2001, 2002, 2003, 2004}


def test_the_remembered_plan_still_sees_every_kind_of_change(ctl: Ctl, pve: Any) -> None:
    """Guests planned with nothing to do are not compared again (`LiveState.memo`) while the cache serves
    them as they were read; what is read again is planned again: a stale entry, the clones of a changed
    template. At the end, the drift check (a full read, no memo) finds the estate converged."""
    ctl.remote.commit(estate(), "first")
    assert ctl.run().action == "applied"
    cache = ctl.reconciler.live_cache

    # a hand edit cluster/resources does not show (onboot): a revision that does not read 2003 keeps it ...
    hand_edit(ctl, 2003, {"onboot": 0})
    ctl.remote.commit(estate({"2002": 768}), "one guest more memory")
    assert ctl.run().action == "applied"
    assert int(config_of(ctl, 2003)["onboot"]) == 0
    # ... until its entry is older than the drift interval: read again at the next revision, and set back
    cache.guests[2003].read_at -= cache.max_age + 1
    ctl.remote.commit(estate({"2002": 768, "2004": 640}), "another guest")
    assert ctl.run().action == "applied"
    assert int(config_of(ctl, 2003)["onboot"]) == 1 and int(config_of(ctl, 2004)["memory"]) == 640

    # the template changes: its clones are read again with it, and a hand edit on one of them is seen
    hand_edit(ctl, 2001, {"onboot": 0})
    pve.fake.requests.clear()
    ctl.remote.commit(estate({"900": 768, "2002": 768, "2004": 640}), "the template more memory")
    assert ctl.run().action == "applied"
    assert {900, 101, 2000, 2001, 2002, 2003, 2004} <= set(guest_reads(pve))
    assert int(config_of(ctl, 900)["memory"]) == 768 and int(config_of(ctl, 2001)["onboot"]) == 1

    assert ctl.run(Trigger("drift")).detail == "in sync"
