"""Many full clones of one template at once: PVE locks the source (`disk`) for the whole clone, so the
clones of one source take turns instead of failing on "CT is locked (disk)" once the retries run out."""

from __future__ import annotations

import threading
import time
from typing import Any

from gitops.drivers.proxmox.applying import apply_plan
from gitops.drivers.proxmox.connection import ProxmoxClient, connect
from gitops.planner.plan import Action, ApiCall, Plan
from gitops.settings import Settings


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


def test_a_source_locked_by_someone_else_is_waited_for_as_long_as_a_clone_takes(
        pve: Any, pve_settings: Settings) -> None:
    pve.add_ct(900, "tpl", template=True)
    pve.snapshot_lock(900, "disk")  # another tool (or a person) is cloning it

    async def unlock() -> None:
        pve.fake.unlock(900)

    slept: list[float] = []

    def sleep(seconds: float) -> None:  # short real waits, so the holder's half second passes in a few tries
        slept.append(seconds)
        time.sleep(0.05)

    release = threading.Timer(0.5, lambda: pve.run(unlock()))
    release.start()
    try:
        with connect(pve_settings, sleep=sleep) as client:
            result = apply_plan(client, Plan(actions=[clone_of(900, 2100)]), resolve_secret=lambda name: "")
    finally:
        release.join()
    assert result.ok, [o.error for o in result.outcomes]
    assert pve.ct(2100) is not None
    assert len(slept) > 5  # more tries than the default policy's five
