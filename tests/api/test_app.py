"""The HTTP API over a real ledger and a fake controller port: reads, auth, triggers, webhooks, metrics."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from gitops.api.app import create_app
from gitops.controller.triggers import Trigger, handed_over
from gitops.settings import Settings
from gitops.source import PullRequestEvent
from gitops.store import Store, open_store

TOKEN = "t0ken-for-tests-0123456789"
SECRET = "hook-secret"
SHA1, SHA2 = "a" * 40, "b" * 40


class FakeController:
    identity = "replica-1"
    leader = True
    ready = True
    busy = False

    def __init__(self) -> None:
        self.triggers: list[Trigger] = []
        self.reviews: list[PullRequestEvent] = []

    def request(self, trigger: Trigger) -> None:
        self.triggers.append(trigger)

    def review(self, event: PullRequestEvent) -> bool:
        self.reviews.append(event)
        return True

    def wedged(self) -> str | None:
        return None

    @property
    def stats(self) -> dict[str, float]:
        return {"reconciles": 3, "applied": 2}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'phoenix.db'}")
    opened.record_revision(SHA1, "Ann <ann@example.org>", "first")
    opened.set_status(SHA1, "applying", plan={"actions": []})
    opened.set_status(SHA1, "applied", state={"applied_revision": SHA1}, result={"apply": {"ok": True}})
    opened.record_revision(SHA2, "Ann <ann@example.org>", "broken")
    opened.set_status(SHA2, "rejected", validation={"valid": False, "errors": [{"message": "CT 950"}]})
    opened.update_state(last_drift={"revision": SHA1, "counts": {"in_sync": 1},
                                    "resources": [{"target": "lxc/101", "state": "in_sync", "actions": []}]},
                        target_revision=SHA1)
    yield opened
    opened.close()


@pytest.fixture
def controller() -> FakeController:
    return FakeController()


@pytest.fixture
def client_for(serve_app):  # type: ignore[no-untyped-def]
    def make(store: Store, controller: FakeController, **settings: object) -> httpx.Client:
        base = {"api_token": SecretStr(TOKEN), "webhook_secret": SecretStr(SECRET)}
        return serve_app(create_app(store, controller, Settings(**{**base, **settings})))  # type: ignore[arg-type]

    return make


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_reads(store: Store, controller: FakeController, client_for) -> None:
    with client_for(store, controller) as api:
        assert api.get("/healthz").json() == {"ok": True}
        assert api.get("/readyz").status_code == 200
        status = api.get("/api/v1/status").json()
        assert status["applied_revision"] == SHA1 and status["phase"] == "idle"
        assert set(status) >= {"applied_revision", "target_revision", "phase", "suspended", "pinned", "drift", "leader"}
        revisions = api.get("/api/v1/revisions").json()["revisions"]
        assert [(r["sha"], r["status"]) for r in revisions] == [(SHA2, "rejected"), (SHA1, "applied")]
        assert api.get("/api/v1/revisions?status=applied").json()["total"] == 1
        detail = api.get(f"/api/v1/revisions/{SHA2[:8]}").json()
        assert detail["validation"]["errors"][0]["message"] == "CT 950"
        assert api.get("/api/v1/revisions/cccccccc").status_code == 404
        resources = api.get("/api/v1/resources").json()["resources"]
        assert resources == [{"target": "lxc/101", "state": "in_sync", "actions": [], "reason": None}]
        page = api.get("/")
        assert page.status_code == 200 and "Phoenix GitOps" in page.text and SHA1[:12] in page.text


def test_metrics(store: Store, controller: FakeController, client_for) -> None:
    with client_for(store, controller) as api:
        text = api.get("/metrics").text
    assert 'phoenix_revisions{status="applied"} 1.0' in text
    assert 'phoenix_revisions{status="rejected"} 1.0' in text
    assert "phoenix_reconciles_total 3.0" in text
    assert f'phoenix_applied_revision_info{{sha="{SHA1}"}} 1.0' in text
    assert 'phoenix_resources{state="in_sync"} 1.0' in text


def test_writes_need_the_token(store: Store, controller: FakeController, client_for) -> None:
    with client_for(store, controller) as api:
        assert api.post("/api/v1/sync").status_code == 401
        assert api.post("/api/v1/sync", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert api.post("/api/v1/suspend", headers={"Authorization": TOKEN}).status_code == 401
    assert controller.triggers == []
    with client_for(store, controller, api_token=None) as api:
        refused = api.post("/api/v1/sync", headers=AUTH)
        assert refused.status_code == 403 and "PHOENIX_API_TOKEN" in refused.json()["detail"]


def test_writes_enqueue_triggers(store: Store, controller: FakeController, client_for) -> None:
    with client_for(store, controller) as api:
        assert api.post("/api/v1/sync", headers=AUTH).status_code == 202
        assert api.post("/api/v1/rollback", json={"revision": SHA1[:7]}, headers=AUTH).status_code == 202
        data = api.post("/api/v1/rollback", json={"revision": SHA1, "restore_data": True}, headers=AUTH).json()
        assert "DATA ROLLBACK" in data["warning"]
        assert api.post("/api/v1/rollback", json={"revision": SHA2}, headers=AUTH).status_code == 409
        assert api.post("/api/v1/rollback", json={"revision": "c" * 40}, headers=AUTH).status_code == 404
        assert api.post("/api/v1/suspend", headers=AUTH).status_code == 202
        assert api.post("/api/v1/resume", headers=AUTH).status_code == 202
    assert [(t.kind, t.revision, t.restore_data) for t in controller.triggers] == [
        ("manual", None, False), ("rollback", SHA1, False), ("rollback", SHA1, True),
        ("suspend", None, False), ("resume", None, False),
    ]


def test_a_follower_accepts_writes_and_hands_them_over(store: Store, controller: FakeController,
                                                      client_for) -> None:
    controller.leader = False  # the controller's `request` hands it to the leader through the ledger
    with client_for(store, controller) as api:
        answer = api.post("/api/v1/sync", headers=AUTH)
        assert answer.status_code == 202 and answer.json()["via"] == "the ledger, to the leader"
        assert api.post("/api/v1/sync").status_code == 401  # still behind the token
    assert [t.kind for t in controller.triggers] == ["manual"]


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_webhooks(store: Store, controller: FakeController, client_for) -> None:
    body = json.dumps({"ref": "refs/heads/main", "after": SHA2}).encode()
    with client_for(store, controller) as api:
        ok = api.post("/api/v1/webhooks/github", content=body, headers={"X-Hub-Signature-256": sign(body)})
        assert ok.status_code == 202
        assert api.post("/api/v1/webhooks/github", content=body,
                        headers={"X-Hub-Signature-256": "sha256=00"}).status_code == 401
        assert api.post("/api/v1/webhooks/gitlab", content=body, headers={"X-Gitlab-Token": SECRET}).status_code == 202
        other = json.dumps({"ref": "refs/heads/dev", "after": SHA2}).encode()
        ignored = api.post("/api/v1/webhooks/generic", content=other, headers={"X-Signature": sign(other)})
        assert "ignored" in ignored.json()
        assert api.post("/api/v1/webhooks/svn", content=body).status_code == 404
    assert [(t.kind, t.source) for t in controller.triggers] == [("webhook", "github"), ("webhook", "gitlab")]
    with client_for(store, controller, webhook_secret=None) as api:
        assert api.post("/api/v1/webhooks/github", content=body,
                        headers={"X-Hub-Signature-256": sign(body)}).status_code == 401


CHROMIUM = Path("/usr/bin/chromium")


def test_dashboard_in_a_browser(store: Store, controller: FakeController, client_for, tmp_path: Path) -> None:
    """What a person sees at `/`: status, revisions (colour-coded) and resources, in Debian's Chromium."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with client_for(store, controller) as api, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"])
        try:
            page = browser.new_page()
            page.goto(str(api.base_url))
            assert page.title() == "Phoenix GitOps"
            status = page.locator("#status").inner_text()
            assert SHA1[:12] in status and "idle" in status
            rows = page.locator("#revisions tr")
            assert rows.count() == 3  # header + 2 revisions, newest first
            assert "rejected" in rows.nth(1).inner_text() and "broken" in rows.nth(1).inner_text()
            rejected = page.locator("#revisions td.rejected")
            assert rejected.evaluate("cell => getComputedStyle(cell).color") == "rgb(176, 0, 32)"
            assert "lxc/101" in page.locator("#resources").inner_text()
            assert "in_sync" in page.locator("#resources").inner_text()
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        finally:
            browser.close()


def test_a_sync_of_some_resources(store: Store, controller: FakeController, client_for) -> None:
    with client_for(store, controller) as api:
        answer = api.post("/api/v1/sync", headers=AUTH, json={"targets": ["lxc/101", "lxc/101"]})
        assert answer.status_code == 202 and answer.json()["targets"] == ["lxc/101"]
        sent = controller.triggers[-1]
        assert sent == Trigger("manual", source="api", targets=("lxc/101",), request=sent.request)
        assert sent.request  # every write has its request id (for `--wait`)
        unknown = api.post("/api/v1/sync", headers=AUTH, json={"targets": ["lxc/999"]})
        assert unknown.status_code == 404 and "lxc/999" in unknown.json()["detail"]
        both = api.post("/api/v1/sync", headers=AUTH, json={"targets": ["lxc/101"], "revision": SHA1})
        assert both.status_code == 422
        assert api.post("/api/v1/sync", json={"targets": ["lxc/101"]}).status_code == 401
    assert len(controller.triggers) == 1


def test_a_follower_hands_a_targeted_sync_over_as_one(store: Store) -> None:
    store.queue_request("manual", source="api", targets=["lxc/101", "vm/1001"])
    [taken] = store.take_requests("leader")
    trigger = handed_over(taken.kind, taken.revision, taken.restore_data, taken.source, targets=taken.targets)
    assert trigger is not None and trigger.targets == ("lxc/101", "vm/1001") and trigger.kind == "manual"
