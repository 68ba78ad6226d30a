"""The estate and resource pages in Debian's Chromium over a running controller: the graph shows every
resource with its state and filters it; a guest's page shows desired and live values; a hand edit on the
node turns it `drifted` on the open page without a reload (the live stream); its sync button syncs it
alone (and what it depends on). axe-core finds nothing serious, the console stays clean, a phone fits."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from gitops.api.app import create_app
from gitops.controller.service import Service
from gitops.drivers.proxmox.connection import connect
from tests.api.conftest import serve_app  # noqa: F401
from tests.browsing import CHROMIUM, LAUNCH_ARGS, axe_violations, field_row, lines_settled
from tests.controller.conftest import Ctl
from tests.controller.support import estate_with_api, wait_for

DRIFT_INTERVAL = 3.0
TOKEN = "estate-token-0123456789"
NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"
pytestmark = pytest.mark.slow


def set_memory(ctl: Ctl, vmid: int, memory: int) -> None:
    with connect(ctl.settings) as client:
        client.request("PUT", f"nodes/{client.node}/lxc/{vmid}/config", {"memory": memory})


def live_memory(ctl: Ctl, vmid: int) -> int:
    with connect(ctl.settings) as client:
        return int(client.api.nodes(client.node).lxc(vmid).config.get()["memory"])


@pytest.fixture
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def test_estate_graph_resource_page_live_drift_and_targeted_sync(
        ctl: Ctl, serve_app: Callable[..., httpx.Client], browser: Any, tmp_path: Path) -> None:  # noqa: F811
    settings = ctl.settings.model_copy(update={"poll_interval": 0.3, "drift_interval": DRIFT_INTERVAL,
                                               "self_heal": False, "api_token": SecretStr(TOKEN)})
    ctl.reconciler.settings = settings
    service = Service(settings, ctl.store, ctl.repo, ctl.reconciler.convergence, reconciler=ctl.reconciler,
                      identity="estate-test", settle_s=0.0)
    first = ctl.remote.commit(estate_with_api(memory=512), "template, web and api")
    service.start()
    api = serve_app(create_app(ctl.store, service, settings))
    problems: list[str] = []
    try:
        wait_for(lambda: ctl.status(first) == "applied", 60, what="first applied")
        resources = api.get("/api/v1/resources").json()["resources"]
        targets = {r["target"]: r["state"] for r in resources}
        assert {"lxc/900", "lxc/101", "lxc/102"} <= set(targets)
        page = browser.new_page(viewport={"width": 375, "height": 812})  # a phone
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: d.accept(TOKEN) if d.type == "prompt" else d.accept())

        # the graph: every resource with its state, grouped by node, filterable
        page.goto(f"{api.base_url}/estate")
        page.wait_for_function("document.getElementById('live').innerText === 'live'")
        for target, state in targets.items():
            box = page.locator("#graph li.box", has=page.locator(f"code:text-is('{target}')"))
            assert box.count() == 1, target
            assert box.locator("span.state").inner_text() == state
        assert "node pve" in page.locator("#graph h2").first.inner_text()
        on_node = page.locator("#graph section").first.inner_text()
        assert "lxc/101" in on_node and "firewall/cluster" not in on_node
        if "network/pve1" in targets:
            assert "network/pve1" in on_node  # a node's networks go with the node
        assert page.evaluate(NO_OVERFLOW)
        assert axe_violations(page) == []
        page.fill("#search", "lxc/10")
        assert page.locator("#graph li.box:not([hidden])").count() == 2
        assert page.locator("#graph li.box[data-target='lxc/900']").is_hidden()  # out of sight, not only marked
        assert page.locator("#shown").inner_text() == "2 shown"
        page.fill("#search", "")
        page.select_option("#filter-kind", "storage")
        shown = page.locator("#graph li.box:not([hidden])").all_inner_texts()
        assert shown and all("storage/" in s for s in shown)
        # the lines are redrawn on the next animation frame: storages need nothing shown
        assert lines_settled(page) == []
        page.select_option("#filter-kind", "")

        # the dependency lines: one for each need between shown boxes; a focused box's own highlighted; the
        # needs are links, reached by keyboard
        drawn = lines_settled(page)
        assert {"lxc/101>lxc/900", "lxc/102>lxc/900"} <= set(drawn)
        page.focus("#graph li.box[data-target='lxc/101'] a.target")
        assert lines_settled(page, "path.edge.on") == [e for e in drawn if "lxc/101" in e.split(">")]
        page.keyboard.press("Tab")  # to its first need's link
        first_need = page.locator("#graph li.box[data-target='lxc/101']").get_attribute("data-needs").split()[0]
        assert page.evaluate("document.activeElement.getAttribute('href')") == f"/resources/{first_need}"
        page.fill("#search", "lxc/101")  # the template and storage it needs hidden: no line to them
        assert not [e for e in lines_settled(page) if e.startswith("lxc/101>")]
        page.fill("#search", "")
        page.uncheck("#show-edges")
        page.wait_for_selector("#edges", state="hidden", timeout=5000)
        page.check("#show-edges")
        page.wait_for_selector("#edges path.edge", timeout=5000)
        assert lines_settled(page) == drawn

        # clicking a guest opens its page with desired and live values
        page.click("#graph a[href='/resources/lxc/101']")
        page.wait_for_url("**/resources/lxc/101")
        page.wait_for_function("document.getElementById('live').innerText === 'live'")
        assert page.locator("#state").inner_text() == "in_sync"
        assert field_row(page, "memory") == ["512", "512", "no"]
        assert page.locator("#facts").inner_text().count("lxc/900") == 1  # depends on its template
        assert "clone" in page.locator("#actions").inner_text() or "ok" in page.locator("#actions").inner_text()
        assert page.evaluate(NO_OVERFLOW)
        assert axe_violations(page) == []

        # a hand edit on the node: drifted on the open page, without a reload, within the drift interval
        page.evaluate("window.notReloaded = true")
        set_memory(ctl, 900, 3000)  # its template too: a dependency the sync of lxc/101 takes along
        set_memory(ctl, 101, 3000)
        set_memory(ctl, 102, 3000)
        edited = time.monotonic()
        page.wait_for_function("document.getElementById('state').innerText === 'drifted'",
                               timeout=(DRIFT_INTERVAL + 10) * 1000, polling=50)
        print(f"hand edit -> drifted on the open resource page: {time.monotonic() - edited:.2f} s "
              f"(drift interval {DRIFT_INTERVAL:g} s)")
        assert page.evaluate("window.notReloaded === true")
        assert field_row(page, "memory") == ["512", "3000", "yes"]
        page.wait_for_function("document.getElementById('drift').innerText.includes('drift on')", timeout=10000)

        # its sync button applies only it (and what it depends on): the other drifted guest stays drifted
        page.keyboard.press("Tab")  # keyboard: the button is reachable and works with Enter
        page.focus("#sync-resource")
        page.keyboard.press("Enter")
        page.wait_for_function("document.getElementById('result').innerText.startsWith('accepted')")
        wait_for(lambda: live_memory(ctl, 101) == 512, 60, what="lxc/101 synced")
        page.wait_for_function("document.getElementById('state').innerText === 'in_sync'", timeout=30000,
                               polling=50)
        assert field_row(page, "memory") == ["512", "512", "no"]
        assert page.evaluate(NO_OVERFLOW)  # the answer shown fits the phone too
        assert live_memory(ctl, 102) == 3000  # not asked for, not touched
        runs = ctl.store.list_runs(5)
        healed = next(r for r in runs if r.kind == "self-heal" and r.result is not None
                      and r.result.targets == ["lxc/101"])
        assert healed.result is not None and healed.result.apply is not None
        assert [o.target for o in healed.result.apply.outcomes] == ["lxc/900", "lxc/101"]
        assert live_memory(ctl, 900) != 3000  # the dependency was synced with it
        page.wait_for_function("document.getElementById('actions').innerText.includes('self-heal')", timeout=10000)
        assert axe_violations(page) == []
        page.screenshot(path=str(tmp_path / "resource.png"), full_page=True)
        page.goto(f"{api.base_url}/estate")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(tmp_path / "estate.png"), full_page=True)
        page.goto(f"{api.base_url}/resources/lxc/102")
        assert page.locator("#state").inner_text() == "drifted"
        assert page.goto(f"{api.base_url}/resources/lxc/999").status == 404
    finally:
        service.stop(30)
    assert [p for p in problems if "404" not in p] == []  # the missing resource's answer is the only error
