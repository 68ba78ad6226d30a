"""The drift check's sweep is paced (PHOENIX_DRIFT_RPS): it reads every guest, but the simulated PVE sees at most
that many requests a second; a revision's read is not paced. Requests are timed as the simulated PVE takes
them (real HTTPS through proxmoxer)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from gitops.controller.reconciling import Reconciler
from gitops.controller.systems import Convergence
from gitops.controller.triggers import Trigger
from tests.controller.conftest import Ctl
from tests.controller.test_live_cache import estate, guest_reads

RPS = 25.0


class TimedRequests(list[Any]):
    """fakepve's request log, with the time each request arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, item: Any) -> None:
        self.times.append(time.monotonic())
        super().append(item)


def most_in_a_second(times: list[float]) -> int:
    return max((sum(1 for t in times if start <= t < start + 1.0) for start in times), default=0)


def sweep_gets(log: TimedRequests) -> list[float]:
    """When the GETs of the read arrived (from `cluster/resources` on: before it, the login)."""
    timed = list(zip(log.times, log, strict=True))
    first = next(i for i, (_t, (_m, path, _b)) in enumerate(timed) if path.endswith("/cluster/resources"))
    return [t for t, (method, _path, _body) in timed[first:] if method == "GET"]


def paced(ctl: Ctl, rps: float) -> Reconciler:
    settings = ctl.settings.model_copy(update={"drift_rps": rps})
    return Reconciler(settings, ctl.store, ctl.repo, Convergence(settings, sleep=lambda s: None),
                      sleep=lambda s: None, dial=ctl.dial)


def test_the_sweep_stays_under_the_setting(ctl: Ctl, pve: Any, tmp_path: Path) -> None:
    ctl.remote.commit(estate(), "first")
    reconciler = paced(ctl, RPS)
    ctl.reconciler = reconciler
    assert ctl.run().action == "applied"

    pve.fake.requests = log = TimedRequests()
    started = time.monotonic()
    assert ctl.run(Trigger("drift")).action in ("none", "healed")
    took = time.monotonic() - started
    gets = sweep_gets(log)
    assert set(guest_reads(pve)) == {900, 101, 2000, 2001, 2002, 2003, 2004}  # still every guest
    assert len(gets) >= 10
    assert most_in_a_second(gets) <= RPS + 1  # never more than the setting in any second
    assert (gets[-1] - gets[0]) >= (len(gets) - 1) / RPS * 0.9  # spread out, not a burst and a wait
    assert took >= (len(gets) - 1) / RPS * 0.9
    pace = reconciler.live_cache.last_pace
    assert pace is not None and pace.rate == RPS and pace.waited > 0

    # a revision's read is not paced: its requests come as fast as the API answers
    pve.fake.requests = log = TimedRequests()
    ctl.remote.commit(estate({"2002": 768}), "one guest more memory")
    reconciler.live_cache.last_pace = None
    assert ctl.run().action == "applied"
    assert reconciler.live_cache.last_pace is None
    gets = sweep_gets(log)
    assert most_in_a_second(gets) > RPS or gets[-1] - gets[0] < (len(gets) - 1) / RPS / 2


def test_unpaced_by_default(ctl: Ctl, pve: Any) -> None:
    assert ctl.settings.drift_rps == 0
    ctl.remote.commit(estate(), "first")
    assert ctl.run().action == "applied"
    assert ctl.run(Trigger("drift")).action in ("none", "healed")
    assert ctl.reconciler.live_cache.last_pace is None
