"""The demo's dashboard in Debian's Chromium: the estate graph shows every resource of configs-example with
its state, clicking a guest opens its page with desired and live values, and every page the walk opens
(dashboard, estate, resource, revision) has no serious axe-core violation and logs no console error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browsing import CHROMIUM, LAUNCH_ARGS, axe_violations
from tests.controller.support import wait_for
from tests.e2e.test_demo import Demo, demos  # noqa: F401

pytestmark = pytest.mark.slow
BOXES = """() => Object.fromEntries([...document.querySelectorAll('#graph li.box')].map(
    (li) => [li.querySelector('code').innerText, li.dataset.state]))"""


def applied(base: str) -> bool:
    try:
        status = httpx.get(f"{base}/api/v1/status", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return False
    return bool(status.get("applied_revision")) and status.get("phase") == "idle"


def test_the_demo_estate_graph_and_a_guest_page(tmp_path: Path, demos: list[Demo]) -> None:  # noqa: F811
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    demo = Demo(tmp_path, tmp_path / "data", "dashboard")
    demos.append(demo)
    base = f"http://127.0.0.1:{demo.port}"
    wait_for(lambda: applied(base), 180, 0.5, what="the example estate applied by the demo")
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(base)
            assert axe_violations(page) == []
            page.click("a[href='/estate']")
            page.wait_for_url("**/estate")

            def shown_as_listed() -> dict[str, Any] | None:
                listed = {r["target"]: r["state"] for r in httpx.get(f"{base}/api/v1/resources").json()["resources"]}
                page.reload()
                boxes = page.evaluate(BOXES)
                return listed if boxes == listed and listed else None

            listed = wait_for(shown_as_listed, 60, 1, what="the graph showing the resources the API lists")
            print(f"the demo's graph: {len(listed)} resources, {sorted(set(listed.values()))}")
            assert any(t.startswith("lxc/") for t in listed) and any(t.startswith("vm/") for t in listed)
            assert any(t.startswith("storage/") for t in listed)
            assert axe_violations(page) == []
            guest = sorted(t for t in listed if t.startswith("lxc/"))[0]
            page.click(f"#graph a[href='/resources/{guest}']")
            page.wait_for_url(f"**/resources/{guest}")
            rows = page.locator("#fields tr").all_inner_texts()
            memory = next(r for r in rows if r.startswith("memory"))
            desired, live = memory.split("\t")[1:3]
            assert desired.strip().isdigit() and live.strip().isdigit(), memory
            assert axe_violations(page) == []
            page.click("#actions a[href^='/revisions/']")
            page.wait_for_url("**/revisions/**")
            assert "phoenix_" in page.locator("#changes").inner_text()  # the first commit adds the config files
            assert axe_violations(page) == []
        finally:
            browser.close()
    assert problems == []
