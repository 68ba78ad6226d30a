"""The dashboard in Debian's Chromium over a running controller: a push shows up by itself (live, from the
event stream, under 2 s after it is applied, in every table), a wrong token is refused, a rollback from a
revision page works end to end, and the console stays clean."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from gitops.api.app import create_app
from gitops.controller.service import Service
from gitops.drivers.proxmox.connection import connect
from tests.api.conftest import serve_app  # noqa: F401
from tests.browsing import APPLIED_ROW, CHROMIUM, LAUNCH_ARGS, axe_violations
from tests.controller.conftest import Ctl
from tests.controller.support import small_estate, wait_for

DRIFT_INTERVAL = 3.0
# true once the resources table shows the resource (first argument) in the state (second)
RESOURCE_IN = """([target, state]) => [...document.querySelectorAll('#resources tr')].some(
    (row) => row.cells[0] && row.cells[0].innerText === target && row.cells[1].innerText === state)"""
TOKEN = "dashboard-token-0123456789"
pytestmark = pytest.mark.slow


def live_memory(ctl: Ctl) -> Any:
    with connect(ctl.settings) as client:
        return client.api.nodes(client.node).lxc(101).config.get()["memory"]


def test_push_wrong_token_rollback_in_the_browser(ctl: Ctl, serve_app: Callable[..., httpx.Client],  # noqa: F811
                                                  tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    settings = ctl.settings.model_copy(update={"poll_interval": 0.3, "drift_interval": DRIFT_INTERVAL,
                                               "self_heal": False, "api_token": SecretStr(TOKEN)})
    ctl.reconciler.settings = settings
    service = Service(settings, ctl.store, ctl.repo, ctl.reconciler.convergence, reconciler=ctl.reconciler,
                      identity="browser-test", settle_s=0.0)
    first = ctl.remote.commit(small_estate(memory=512), "first: 512 MB")
    service.start()
    api = serve_app(create_app(ctl.store, service, settings))
    problems: list[str] = []
    try:
        wait_for(lambda: ctl.status(first) == "applied", 60, what="first applied")
        second = ctl.remote.commit(small_estate(memory=600), "second: 600 MB")
        wait_for(lambda: ctl.status(second) == "applied", 60, what="second applied")
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
            try:
                page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))
                answers = {"prompt": "wrong-token"}
                page.on("dialog", lambda d: d.accept(answers["prompt"]) if d.type == "prompt" else d.accept())
                page.goto(str(api.base_url))
                assert second[:12] in page.locator("#revisions").inner_text()
                assert axe_violations(page) == []

                # a push shows up by itself, applied, in every table, under 2 s after it was applied
                runs_before = page.locator("#runs tr").count()
                third = ctl.remote.commit(small_estate(memory=640), "third: 640 MB")
                page.wait_for_function(APPLIED_ROW, arg=third[:12], timeout=60000, polling=20)
                shown_at = dt.datetime.now(dt.UTC)
                applied_at = ctl.store.get_revision(third).finished_at
                assert applied_at is not None
                latency = (shown_at - applied_at).total_seconds()
                print(f"applied -> shown on the open dashboard: {latency:.2f} s")
                assert latency < 2.0
                assert third[:12] in page.locator("#runs").inner_text()  # the runs table follows too
                assert page.locator("#runs tr").count() == min(runs_before + 1, 11)
                assert third[:12] in page.locator("#status").inner_text()
                assert page.locator("#live").inner_text() == "live"

                # a wrong token is refused, and forgotten
                page.click("#sync")
                page.wait_for_function("document.getElementById('result').innerText.startsWith('refused')")
                assert "401" in page.locator("#result").inner_text() or "token" in page.locator("#result").inner_text()
                page.screenshot(path=str(tmp_path / "refused.png"), full_page=True)

                # a rollback from the first revision's page
                answers["prompt"] = TOKEN
                page.click(f"#revisions a[href='/revisions/{first}']")
                assert "first: 512 MB" in page.locator("#facts").inner_text()
                assert axe_violations(page) == []
                assert "memory" in page.locator("#plan").inner_text()
                assert "ok" in page.locator("#outcomes").inner_text()
                page.click("#rollback")
                page.wait_for_function("document.getElementById('result').innerText.startsWith('accepted')")
                wait_for(lambda: ctl.store.get_state().pinned_revision == first and live_memory(ctl) == 512, 60,
                         what="rolled back to the first revision")
                page.screenshot(path=str(tmp_path / "revision.png"), full_page=True)
                page.goto(str(api.base_url))
                assert first[:12] in page.locator("#status").inner_text()
                page.wait_for_function(RESOURCE_IN, arg=["lxc/101", "in_sync"], timeout=30000, polling=50)

                # a hand edit on the node: the open page shows the guest drifted within the drift interval
                with connect(ctl.settings) as client:
                    client.request("PUT", f"nodes/{client.node}/lxc/101/config", {"memory": 3000})
                edited = time.monotonic()
                page.wait_for_function(RESOURCE_IN, arg=["lxc/101", "drifted"],
                                       timeout=(DRIFT_INTERVAL + 10) * 1000, polling=50)
                print(f"hand edit -> drifted on the open dashboard: {time.monotonic() - edited:.2f} s "
                      f"(drift interval {DRIFT_INTERVAL:g} s)")
                assert time.monotonic() - edited < DRIFT_INTERVAL + 5  # one check, plus its read of the node
                page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
            finally:
                browser.close()
    finally:
        service.stop(30)
    assert [p for p in problems if "401" not in p] == []  # the refused request is the only error logged
