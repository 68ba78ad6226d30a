"""The demo's dashboard in Debian's Chromium, on `phoenix-gitops demo` run as a process: the estate graph
shows every resource of configs-example with its state; the needs of each box are links and lines,
followed by keyboard; clicking a guest opens its page with desired and live values; a commit pushed to
the demo's repository shows on the open dashboard under 2 s after it is applied; a hand edit of the
guest's memory on the demo's simulated node (with the credentials the demo writes to
`demo-settings.toml`) turns it `drifted` on the open page within the drift interval. Neither page is
reloaded. Every page the walk opens has no serious axe-core violation and logs no console error."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browsing import APPLIED_ROW, CHROMIUM, LAUNCH_ARGS, axe_violations, field_row, lines_settled
from tests.controller.support import wait_for
from tests.e2e.test_demo import Demo, demos  # noqa: F401

pytestmark = pytest.mark.slow
DRIFT_INTERVAL = 3.0  # the demo's own is 30 s; PHOENIX_DRIFT_INTERVAL shortens it
MARGIN = 5.0  # the drift check's own read of the node and the write, on a loaded machine
BOXES = """() => Object.fromEntries([...document.querySelectorAll('#graph li.box')].map(
    (li) => [li.querySelector('code').innerText, li.dataset.state]))"""
LIVE = "document.getElementById('live').innerText === 'live'"


def applied(base: str) -> bool:
    try:
        status = httpx.get(f"{base}/api/v1/status", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return False
    return bool(status.get("applied_revision")) and status.get("phase") == "idle"


def commit_memory(repo: Path, ctid: str, memory_mb: int) -> str:
    """Commit a new `memory_mb` of container `ctid` to the demo's config repo, as a user would; its sha."""
    path = repo / "phoenix_lxc_configs.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["lxc_configs"][ctid]["memory_mb"] = memory_mb
    path.write_text(json.dumps(document, indent=4) + "\n", encoding="utf-8")
    git = ["git", "-C", str(repo), "-c", "user.name=Demo user", "-c", "user.email=user@demo.invalid"]
    subprocess.run([*git, "commit", "--quiet", "-am", f"lxc {ctid}: {memory_mb} MB"], check=True, timeout=60)
    return subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True,
                          timeout=60).stdout.strip()


def set_memory_by_hand(settings_file: Path, vmid: int, memory: int) -> None:
    """Change a container's memory on the demo's simulated node the way an operator would by hand: the PVE
    API over HTTPS (proxmoxer), with the node's address, CA and root password from `demo-settings.toml`."""
    from proxmoxer import ProxmoxAPI

    demo = tomllib.loads(settings_file.read_text(encoding="utf-8"))
    pve = ProxmoxAPI(demo["pve_host"], user=demo["pve_user"], password=demo["pve_password"],
                     verify_ssl=demo["pve_verify_ssl"], timeout=30)
    node = next(n["node"] for n in pve.nodes.get()
                if any(int(c["vmid"]) == vmid for c in pve.nodes(n["node"]).lxc.get()))
    pve.nodes(node).lxc(vmid).config.put(memory=memory)
    assert int(pve.nodes(node).lxc(vmid).config.get()["memory"]) == memory


def test_the_demo_estate_graph_a_guest_page_a_push_and_a_hand_edit(tmp_path: Path, demos: list[Demo]) -> None:  # noqa: F811
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    data = tmp_path / "data"
    # self-heal off: the hand edit stays for the page to show (with it on, the same check corrects it)
    demo = Demo(tmp_path, data, "dashboard", env={"PHOENIX_DRIFT_INTERVAL": f"{DRIFT_INTERVAL:g}",
                                                  "PHOENIX_SELF_HEAL": "false"})
    demos.append(demo)
    base = f"http://127.0.0.1:{demo.port}"
    wait_for(lambda: applied(base), 180, 0.5, what="the example estate applied by the demo")
    assert f"drift check:            every {DRIFT_INTERVAL:g} s" in demo.stdout()
    settings_file = data / "demo-settings.toml"
    assert settings_file.stat().st_mode & 0o777 == 0o600
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
            ctid = guest.split("/")[1]

            # what depends on what: a line for each need, and the needs as links, followed by keyboard
            needs = lines_settled(page)
            assert any(n.startswith("stack/") for n in needs) and any(n.startswith("lxc/") for n in needs)
            page.screenshot(path=str(tmp_path / "estate.png"), full_page=True)
            clone = next(n.split(">") for n in needs if n.startswith("lxc/") and n.split(">")[1].startswith("lxc/"))
            page.focus(f"#graph li.box[data-target='{clone[0]}'] a.target")
            assert clone[0] + ">" + clone[1] in lines_settled(page, "path.edge.on")
            # a live event redraws the lines: the focused box's stay highlighted
            page.evaluate("document.dispatchEvent(new CustomEvent('phoenix:refreshed'))")
            page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
            assert clone[0] + ">" + clone[1] in lines_settled(page, "path.edge.on")
            while page.evaluate("document.activeElement.getAttribute('href')") != f"/resources/{clone[1]}":
                page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            page.wait_for_url(f"**/resources/{clone[1]}")
            assert axe_violations(page) == []
            page.go_back()
            page.wait_for_url("**/estate")
            page.click(f"#graph a[href='/resources/{guest}']")
            page.wait_for_url(f"**/resources/{guest}")
            desired, live, _ = field_row(page, "memory")
            assert desired.isdigit() and live == desired, (desired, live)
            assert axe_violations(page) == []
            page.click("#actions a[href^='/revisions/']")
            page.wait_for_url("**/revisions/**")
            assert "phoenix_" in page.locator("#changes").inner_text()  # the first commit adds the config files
            assert axe_violations(page) == []

            # a commit pushed to the demo's repository: on the open dashboard under 2 s after it is applied
            page.goto(base)
            page.wait_for_function(LIVE)
            page.evaluate("window.notReloaded = true")
            pushed = commit_memory(data / "config-repo", ctid, int(desired) + 256)
            page.wait_for_function(APPLIED_ROW, arg=pushed[:12], timeout=120000, polling=20)
            shown_at = dt.datetime.now(dt.UTC)
            finished = httpx.get(f"{base}/api/v1/revisions/{pushed}", timeout=10).json()["finished_at"]
            latency = (shown_at - dt.datetime.fromisoformat(finished)).total_seconds()
            print(f"the demo: applied -> shown on the open dashboard: {latency:.2f} s")
            assert latency < 2.0
            assert page.evaluate("window.notReloaded === true")
            assert pushed[:12] in page.locator("#runs").inner_text()

            # a hand edit on the node: `drifted` on the open guest page, within the drift interval, no reload
            page.goto(f"{base}/resources/{guest}")
            page.wait_for_function(LIVE)
            page.wait_for_function("document.getElementById('state').innerText === 'in_sync'", timeout=60000)
            assert field_row(page, "memory") == [str(int(desired) + 256)] * 2 + ["no"]
            page.evaluate("window.notReloaded = true")
            set_memory_by_hand(settings_file, int(ctid), 3000)
            edited = time.monotonic()
            page.wait_for_function("document.getElementById('state').innerText === 'drifted'",
                                   timeout=(DRIFT_INTERVAL + 30) * 1000, polling=50)
            took = time.monotonic() - edited
            print(f"the demo: hand edit -> drifted on the open guest page: {took:.2f} s "
                  f"(drift interval {DRIFT_INTERVAL:g} s)")
            assert took < DRIFT_INTERVAL + MARGIN
            assert page.evaluate("window.notReloaded === true")
            assert field_row(page, "memory") == [str(int(desired) + 256), "3000", "yes"]
            assert axe_violations(page) == []
        finally:
            browser.close()
    assert problems == []
