"""The drift check's sweep is paced (PHOENIX_DRIFT_RPS): it reads every guest, but the simulated PVE sees at most
that many requests a second; a revision's read is not paced. Requests are timed as the simulated PVE takes
them (real HTTPS through proxmoxer)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from gitops.controller.reconciling import Outcome, Reconciler
from gitops.controller.service import Service
from gitops.controller.systems import Convergence
from gitops.controller.triggers import Trigger
from tests.controller.conftest import Ctl
from tests.controller.support import wait_for
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


def test_a_push_during_the_timers_sweep_goes_first_and_the_sweep_runs_after(ctl: Ctl, pve: Any) -> None:
    """The timer's drift check gives way: a webhook arriving during its paced full read stops the read at its
    next request; the new revision is applied from the cache (reading only what it changed), and the drift
    check runs again right after it. A stop during a sweep does not wait for the sweep either."""
    ctl.remote.commit(estate(), "first")
    reconciler = paced(ctl, 1.0)  # a sweep of this estate (16+ GETs) takes 15 s or more
    outcomes: list[str] = []
    reconcile = reconciler.reconcile

    def recorded(work: Any) -> Outcome:
        outcome = reconcile(work)
        outcomes.append(outcome.action)
        return outcome

    reconciler.reconcile = recorded  # type: ignore[method-assign]
    reconciler.settings = reconciler.settings.model_copy(update={"poll_interval": 3600, "drift_interval": 0.5})
    service = Service(reconciler.settings, ctl.store, ctl.repo, reconciler.convergence, reconciler=reconciler,
                      identity="test-replica", settle_s=0.0)
    service.start()
    stopped = False
    try:
        first = wait_for(lambda: ctl.store.get_state().applied_revision, 30, what="first applied")
        wait_for(lambda: ctl.store.get_state().phase == "drift_check", 30, what="the timer's drift check")
        time.sleep(1.5)  # a few paced requests into the sweep
        second = ctl.remote.commit(estate({"2002": 768}), "one guest more memory")
        pve.fake.requests.clear()
        pushed = time.monotonic()
        service.request(Trigger("webhook"))
        wait_for(lambda: ctl.status(second) == "applied", 30, what="the push applied")
        took = time.monotonic() - pushed
        reads = guest_reads(pve)
        wait_for(lambda: ctl.store.get_state().phase == "drift_check", 30, what="the drift check again")
        assert first != second
        assert "yielded" in outcomes
        assert outcomes.index("yielded") < len(outcomes) - 1  # the apply came after the yield
        assert took < 6.0, f"the push waited {took:.1f} s"  # not the rest of a 15 s sweep
        assert 2002 in reads and len(set(reads)) <= 2, reads  # the cache outlived the stopped sweep
        asked_to_stop = time.monotonic()
        assert service.stop(30)
        stopped = True
        assert time.monotonic() - asked_to_stop < 5.0  # the second sweep gave way to the stop too
    finally:
        if not stopped:
            service.stop(30)


def test_a_push_handed_over_by_a_follower_stops_the_sweep_too(ctl: Ctl, pve: Any) -> None:
    """A webhook that reached a follower waits in the ledger's requests: the leader's sweep asks the ledger (at
    most once a second) and gives way to it as to one of its own."""
    ctl.remote.commit(estate(), "first")
    reconciler = paced(ctl, 1.0)  # a sweep of this estate (16+ GETs) takes 15 s or more
    reconciler.settings = reconciler.settings.model_copy(update={"poll_interval": 3600, "drift_interval": 0.5})
    service = Service(reconciler.settings, ctl.store, ctl.repo, reconciler.convergence, reconciler=reconciler,
                      identity="leader", settle_s=0.0)
    follower = Service(reconciler.settings, ctl.store, ctl.repo, reconciler.convergence, identity="follower")
    service.start()
    try:
        wait_for(lambda: ctl.store.get_state().applied_revision, 30, what="first applied")
        wait_for(lambda: ctl.store.get_state().phase == "drift_check", 30, what="the timer's drift check")
        time.sleep(1.5)  # a few paced requests into the sweep
        second = ctl.remote.commit(estate({"2002": 768}), "one guest more memory")
        pushed = time.monotonic()
        assert follower.request(Trigger("webhook", source="a forge")) is None  # not leading: kept in the ledger
        assert ctl.store.requests_waiting(["webhook"])
        wait_for(lambda: ctl.status(second) == "applied", 30, what="the push applied")
        took = time.monotonic() - pushed
        print(f"a push handed over by a follower: applied {took:.2f} s after it was kept")
        assert took < 6.0, f"the push waited {took:.1f} s"  # not the rest of a 15 s sweep
        assert not ctl.store.requests_waiting(["webhook"])
        wait_for(lambda: ctl.store.get_state().phase == "drift_check", 30, what="the drift check again")
    finally:
        assert service.stop(30)
