"""The liveness probe: `GET /healthz` answers 503 when the reconcile loop is wedged (no turn and no apply
progress for longer than the bound the settings give), and 200 while it turns or an apply reports
progress, however long that apply takes. The loop is wedged for real: a health check of the guest (a step
of the reconcile) blocks on an event; the long apply is a real one against a slow fakepve."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
from pydantic import SecretStr

from gitops.api.app import create_app
from gitops.controller.liveness import GRACE_S, STEP_WAIT_S, wedged_after
from gitops.controller.service import Service
from gitops.settings import Settings
from tests.api.conftest import serve_app  # noqa: F401
from tests.conftest import PveHandle
from tests.controller.conftest import Ctl
from tests.controller.support import small_estate, wait_for

BOUND_S = 1.5


def make_service(ctl: Ctl) -> Service:
    ctl.reconciler.settings = ctl.settings.model_copy(update={
        "poll_interval": 0.2, "drift_interval": 3600, "liveness_timeout": BOUND_S, "api_token": SecretStr("t" * 24)})
    return Service(ctl.reconciler.settings, ctl.store, ctl.repo, ctl.reconciler.convergence,
                   reconciler=ctl.reconciler, identity="live-replica", settle_s=0.0)


def test_a_wedged_loop_fails_the_liveness_probe_and_recovers(ctl: Ctl, serve_app: Callable[..., httpx.Client]) -> None:  # noqa: F811
    release, probing = threading.Event(), threading.Event()

    def stuck_probe(check: object, host: str) -> str | None:  # a guest's health check that never answers
        probing.set()
        release.wait(60)
        return None

    ctl.remote.commit(small_estate(), "first")
    service = make_service(ctl)
    api = serve_app(create_app(ctl.store, service, service.settings))
    service.start()
    try:
        wait_for(lambda: ctl.store.get_state().applied_revision, 30, what="the first apply")
        assert api.get("/healthz").json() == {"ok": True}
        ctl.reconciler.dial = stuck_probe
        ctl.remote.commit(small_estate(memory=700, health_checks=[{"type": "tcp", "host": "svc.example.org", "port": 9,
                                                                   "retries": 1}]), "wedges on its check")
        assert probing.wait(30), "the health check never ran"
        wedged = wait_for(lambda: (a := api.get("/healthz")).status_code == 503 and a, 10, what="a 503")
        assert service.liveness.silent_for() > BOUND_S  # not before the bound
        assert wedged.json()["ok"] is False and "no sign of life" in wedged.json()["detail"]
        assert api.get("/readyz").status_code == 200  # readiness is the ledger's: liveness is the loop's
        release.set()
        wait_for(lambda: api.get("/healthz").status_code == 200, 10, what="alive again")
    finally:
        release.set()
        assert service.stop(30)


def test_a_long_apply_that_reports_progress_is_alive(ctl: Ctl, pve: PveHandle,
                                                     serve_app: Callable[..., httpx.Client]) -> None:  # noqa: F811
    """The apply proper (24 actions, each a few slow calls and a task) lasts several bounds; it beats at every
    action event, so the probe answers 200 all along it. (Planning and the post-apply reads beat once per
    phase: the default bound, an hour and more, covers them; this test's bound of 1.5 s does not.)"""
    service = make_service(ctl)
    api = serve_app(create_app(ctl.store, service, service.settings))
    pve.time_scale = 0.1  # PVE seconds are tenths of real ones: its tasks take time
    pve.slow_network(1.5)  # and every answer is late (0.15 s): the apply's many calls take long
    first = ctl.remote.commit(small_estate(extra_guests=6), "many guests")
    service.start()
    during: list[tuple[float, int]] = []  # while applying: (when, the probe's answer)
    deadline = time.monotonic() + 120
    try:
        while ctl.store.get_state().applied_revision != first:
            assert time.monotonic() < deadline, "the apply did not end"
            before = ctl.store.get_state().phase
            answer = api.get("/healthz").status_code
            # applying before and after the probe: a probe while planning (one beat for the whole phase, more
            # than this bound here) that the phase turned `applying` after is not a probe of the apply
            if before == "applying" and ctl.store.get_state().phase == "applying":
                during.append((time.monotonic(), answer))
            time.sleep(0.1)
    finally:
        assert service.stop(30)
    took = during[-1][0] - during[0][0] if during else 0.0
    assert took > 2 * BOUND_S, f"the apply took {took:.1f}s: too short to tell"
    assert {answer for _, answer in during} == {200}


def test_a_loop_that_is_not_running_is_not_wedged_and_the_bound_follows_the_settings(ctl: Ctl) -> None:
    service = make_service(ctl)
    assert service.wedged() is None  # not started (a replica starting up): the probe's start period covers it
    assert wedged_after(Settings(poll_interval=60)) == 60 + STEP_WAIT_S + GRACE_S
    assert wedged_after(Settings(poll_interval=30, provisioning=True, ssh_timeout=7200)) == 30 + 7200 + GRACE_S
    assert wedged_after(Settings(poll_interval=30, liveness_timeout=90)) == 90
