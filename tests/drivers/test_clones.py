"""Many full clones of one template at once: PVE locks the source (`disk`) for the whole clone, so the
clones of one source take turns instead of failing on "CT is locked (disk)" once the retries run out."""

from __future__ import annotations

from typing import Any

from gitops.drivers.proxmox.applying import apply_plan
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.planner.plan import Action, ApiCall, Plan


def clone_of(source: int, newid: int, kind: str = "lxc") -> Action:
    return Action(target=f"{kind}/{newid}", action="clone", summary=f"clone {source} to {newid}",
                  calls=[ApiCall("POST", f"nodes/pve1/{kind}/{source}/clone",
                                 {"newid": newid, "full": 1, "hostname": f"c{newid}"}, wait=True)])


def test_clones_of_one_template_at_concurrency_8_all_succeed(pve: Any, pve_client: ProxmoxClient) -> None:
    pve.add_ct(900, "tpl", template=True)
    pve.add_ct(901, "tpl2", template=True)
    pve.time_scale = 0.002  # a clone task takes a few milliseconds: long enough for the others to collide
    plan = Plan(actions=[clone_of(900 if i % 6 else 901, 2000 + i) for i in range(24)])
    result = apply_plan(pve_client, plan, resolve_secret=lambda name: "", concurrency=8)
    assert result.ok, [o.error for o in result.outcomes if o.status != "ok"][:3]
    assert all(pve.ct(2000 + i) is not None for i in range(24))
