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
    assert pve.paths("GET").count("cluster/resources") == 2  # one per plan (plan, verify)
    assert not [p for p in pve.paths("GET") if p.startswith("storage")]  # the cluster part is unchanged
    assert int(config_of(ctl, 2002)["memory"]) == 768

    # a hand edit that shows in cluster/resources (the memory: maxmem) is read at the next revision
    hand_edit(ctl, 2001, {"memory": 1024})
    pve.fake.requests.clear()
    ctl.remote.commit(estate({"2002": 768, "2003": 640}), "another guest")
    assert ctl.run().action == "applied"
    assert set(guest_reads(pve)) == {2001, 2003}
    assert int(config_of(ctl, 2001)["memory"]) == 512  # planned from what it is, and set back

    # the drift check reads every guest fresh (the sweep)
    pve.fake.requests.clear()
    assert ctl.run(Trigger("drift")).action in ("none", "healed")
    assert set(guest_reads(pve)) == {900, 101, 2000, 2001, 2002, 2003, 2004}
