"""The revision and pull-request review pages in Debian's Chromium: a revision shows what its commit changed
in the config files (a unified diff against its parent, escaped: a committed `<script>` is text) beside its
plan; axe-core finds nothing serious on either page; no console error; a phone needs no side scroll."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from gitops.api.app import create_app
from gitops.planner.documents import PlanDocument, RunResult
from gitops.settings import Settings
from gitops.source import ConfigRepo
from gitops.store import Store, open_store
from tests.api.test_app import TOKEN, FakeController
from tests.browsing import CHROMIUM, LAUNCH_ARGS, axe_violations
from tests.controller.support import GitRemote

pytestmark = pytest.mark.slow
LXC = "phoenix_lxc_configs.json"
HOSTILE = "<script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'>"
NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


def lxc(memory: int, description: str) -> str:
    return json.dumps({"lxc_configs": {"101": {"name": "web", "memory_mb": memory, "description": description}}},
                      indent=2) + "\n"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[tuple[Store, Settings, str]]:
    remote = GitRemote(tmp_path)
    remote.commit({LXC: lxc(512, "web")}, "first")
    sha = remote.commit({LXC: lxc(600, HOSTILE)}, "more memory, and a hostile description")
    settings = Settings(api_token=SecretStr(TOKEN), git_url=remote.url, data_dir=tmp_path / "data")
    with ConfigRepo.from_settings(settings) as repo:
        repo.fetch()  # the controller's clone, as the controller leaves it
    store = open_store(f"sqlite:///{tmp_path / 'phoenix.db'}")
    store.record_revision(sha, "Ann <ann@example.org>", "more memory, and a hostile description")
    store.set_status(sha, "applying", plan=PlanDocument.model_validate({"actions": [{
        "target": "lxc/101", "action": "update", "summary": "set memory",
        "changes": [{"field": "memory", "old": "512", "new": "600"}, {"field": "description", "old": "web",
                                                                     "new": HOSTILE}]}]}))
    store.set_status(sha, "applied", state={"applied_revision": sha},
                     result=RunResult.model_validate({"apply": {"ok": True, "outcomes": []}}))
    store.add_event("pr-review", "pull request #7 reviewed", data={
        "repo": "ann/config", "number": 7, "state": "failure", "against": sha, "head_sha": "e" * 40,
        "error": None, "validation": {"valid": False, "errors": [{
            "file": LXC, "line": 3, "column": 5, "path": "lxc_configs.101", "code": "x", "message": HOSTILE}]},
        "plan": None})
    try:
        yield store, settings, sha
    finally:
        store.close()


def test_the_revision_diff_beside_its_plan_and_the_review_page(ledger: tuple[Store, Settings, str],
                                                              serve_app: Any) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    store, settings, sha = ledger
    client: httpx.Client = serve_app(create_app(store, FakeController(), settings))  # type: ignore[arg-type]
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            for width in (1280, 375):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))
                page.goto(f"{client.base_url}/revisions/{sha}")
                changes = page.locator("#changes").inner_text()
                assert f"--- a/{LXC}" in changes and f"+++ b/{LXC}" in changes
                assert '-      "memory_mb": 512,' in changes and '+      "memory_mb": 600,' in changes
                assert HOSTILE.replace("'", '\\"') in changes or "<script>window.pwned = 1</script>" in changes
                assert page.evaluate("window.pwned === undefined")  # shown as text, never run
                assert page.locator("#changes span.add").count() >= 2
                assert "memory" in page.locator("#plan").inner_text()
                boxes = [page.locator(s).bounding_box() for s in ("#changes", "#plan")]
                assert boxes[0] and boxes[1]
                beside = abs(boxes[0]["y"] - boxes[1]["y"]) < 80 and boxes[0]["x"] < boxes[1]["x"]
                assert beside == (width > 800)  # beside the plan on a wide screen, above it on a phone
                assert page.evaluate(NO_OVERFLOW)
                assert axe_violations(page) == []

                page.goto(f"{client.base_url}/reviews/{'e' * 12}")
                assert "ann/config #7" in page.locator("#facts").inner_text()
                assert "<script>window.pwned = 1</script>" in page.locator("#problems").inner_text()
                assert page.evaluate("window.pwned === undefined")
                assert page.evaluate(NO_OVERFLOW)
                assert axe_violations(page) == []
                page.close()
        finally:
            browser.close()
    assert problems == []
