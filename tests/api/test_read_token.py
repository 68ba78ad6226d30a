"""PHOENIX_API_READ_TOKEN: reads need the read or the write token (API) or a session (pages); the read token
never writes; open reads stay open when it is not set."""
# ruff: noqa: F811 -- the fixtures of test_app are imported, then asked for by name as parameters

from __future__ import annotations

from pydantic import SecretStr

from gitops.store import Store
from tests.api.test_app import SHA1, TOKEN, FakeController, client_for, controller, store  # noqa: F401

READ = "read-token-0123456789"
READS = ["/api/v1/status", "/api/v1/resources", "/api/v1/resources/lxc/101", "/api/v1/revisions",
         f"/api/v1/revisions/{SHA1}", "/api/v1/events", "/metrics"]


def test_reads_need_a_token_when_one_is_set(store: Store, controller: FakeController, client_for) -> None:
    with client_for(store, controller, api_read_token=SecretStr(READ)) as api:
        for path in READS:
            assert api.get(path).status_code == 401, path
            assert api.get(path, headers={"Authorization": f"Bearer {READ}"}).status_code == 200, path
            assert api.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200, path
            assert api.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401, path
        assert api.get("/healthz").status_code == 200 and api.get("/readyz").status_code == 200
        assert api.post("/api/v1/sync", headers={"Authorization": f"Bearer {READ}"}).status_code == 401
        assert controller.triggers == []


def test_pages_ask_for_the_token_and_keep_a_session(store: Store, controller: FakeController, client_for) -> None:
    with client_for(store, controller, api_read_token=SecretStr(READ)) as api:
        for path in ("/", f"/revisions/{SHA1}"):
            page = api.get(path)
            assert page.status_code == 401 and "name='token'" in page.text
            assert "id='revisions'" not in page.text and "id='facts'" not in page.text
        refused = api.post("/login", content=f"token=wrong&next=/revisions/{SHA1}",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert refused.status_code == 401 and "refused" in refused.text
        answer = api.post("/login", content=f"token={READ}&next=/revisions/{SHA1}",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 303 and answer.headers["location"] == f"/revisions/{SHA1}"
        cookie = answer.cookies["phoenix_session"]
        assert READ not in cookie and "httponly" in answer.headers["set-cookie"].lower()
        api.cookies.set("phoenix_session", cookie)
        assert SHA1[:12] in api.get("/").text
        assert api.get("/api/v1/status").status_code == 200
        api.cookies.clear()
        elsewhere = api.post("/login", content=f"token={READ}&next=//evil.example.org/",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert elsewhere.headers["location"] == "/"


def test_reads_stay_open_without_a_read_token(store: Store, controller: FakeController, client_for) -> None:
    with client_for(store, controller) as api:
        assert api.get("/api/v1/status").status_code == 200 and api.get("/").status_code == 200


def test_the_login_page_in_a_browser(store: Store, controller: FakeController, client_for, tmp_path) -> None:
    import pytest

    sync_api = pytest.importorskip("playwright.sync_api")
    from pathlib import Path

    if not Path("/usr/bin/chromium").is_file():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from tests.browsing import axe_violations

    problems: list[str] = []
    with client_for(store, controller, api_read_token=SecretStr(READ)) as api, \
            sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "401" not in m.text
                    else None)
            page.goto(f"{api.base_url}/revisions/{SHA1}")
            assert axe_violations(page) == []
            page.fill("#token", "not-the-token")
            page.click("#login")
            assert page.locator("#refused").is_visible()
            page.fill("#token", READ)
            page.click("#login")
            assert "first" in page.locator("#facts").inner_text()
            assert axe_violations(page) == []
            page.screenshot(path=str(tmp_path / "after-login.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []


def test_the_api_docs_need_the_read_token_too(store: Store, controller: FakeController, client_for) -> None:
    """Issue 18: `/docs`, `/redoc` and `/openapi.json` answered without the read token."""
    with client_for(store, controller, api_read_token=SecretStr(READ)) as api:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert api.get(path).status_code == 401, path
            assert api.get(path, headers={"Authorization": f"Bearer {READ}"}).status_code == 200, path
        assert api.get("/openapi.json", headers={"Authorization": f"Bearer {READ}"}).json()["info"]["title"]
    with client_for(store, controller, api_read_token=SecretStr(READ), api_docs_need_read_token=False) as api:
        assert api.get("/openapi.json").status_code == 200 and api.get("/docs").status_code == 200
    with client_for(store, controller) as api:  # no read token: open, as every read
        assert api.get("/openapi.json").status_code == 200


def test_the_dashboard_session_expires(store: Store, controller: FakeController, client_for,
                                       monkeypatch) -> None:
    """Issue 18: the session cookie never expired."""
    import time

    with client_for(store, controller, api_read_token=SecretStr(READ), api_session_hours=1.0) as api:
        answer = api.post("/login", content=f"token={READ}&next=/",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert "max-age=3600" in answer.headers["set-cookie"].lower()
        cookie = answer.cookies["phoenix_session"]
        api.cookies.set("phoenix_session", cookie)
        assert api.get("/api/v1/status").status_code == 200
        later = time.time() + 3601
        monkeypatch.setattr(time, "time", lambda: later)  # the browser kept it past its expiry
        assert api.get("/api/v1/status").status_code == 401
        forged = "9999999999." + cookie.partition(".")[2]  # a later expiry without the MAC to match
        monkeypatch.undo()
        api.cookies.set("phoenix_session", forged)
        assert api.get("/api/v1/status").status_code == 401
