"""The HTTP face as published: OpenAPI shows a schema for every answer and the bearer token the writes
need; pages come from autoescaped templates (hostile ledger text shows as text) under a script policy;
`/docs` and `/redoc` work with no network beyond the controller (their assets come from a package)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from gitops.api import app as app_module
from gitops.api.app import create_app
from gitops.settings import Settings
from gitops.store import Store
from tests.api.test_app import SHA1, TOKEN, FakeController, client_for, controller, store  # noqa: F401

HOSTILE = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>"


def test_create_app_is_short() -> None:
    assert len(inspect.getsource(app_module.create_app).splitlines()) < 60


def test_every_answer_has_a_schema(store: Store, controller: FakeController) -> None:  # noqa: F811
    doc = create_app(store, controller, Settings()).openapi()
    operations = [(path, method, op) for path, ops in doc["paths"].items() for method, op in ops.items()]
    assert len(operations) >= 20
    for path, method, op in operations:
        for code, answer in op["responses"].items():
            if code == "303":  # the login's redirect has no body
                continue
            assert answer.get("content"), (path, method, code)
            for media, body in answer["content"].items():
                assert body.get("schema"), (path, method, code, media)
                if (path, code) == ("/api/v1/live", "200"):  # the live event stream
                    assert media == "text/event-stream", (path, method, code, media)
                elif (int(code) >= 400 and code != "401") or path.startswith("/api"):
                    assert media == "application/json", (path, method, code, media)
    schemas = doc["components"]["schemas"]
    assert {"Status", "Resources", "RevisionList", "RevisionDetail", "RunList", "EventList", "Queued",
            "Problem"} <= set(schemas)
    status = doc["paths"]["/api/v1/status"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert status == {"$ref": "#/components/schemas/Status"}
    assert doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"] == {"text/plain": {"schema": {
        "type": "string"}}}


def test_writes_declare_the_bearer_token_and_reads_make_it_optional(store: Store,  # noqa: F811
                                                                      controller: FakeController) -> None:  # noqa: F811
    doc = create_app(store, controller, Settings()).openapi()
    assert doc["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    for path in ("/api/v1/sync", "/api/v1/rollback", "/api/v1/suspend", "/api/v1/resume"):
        post = doc["paths"][path]["post"]
        assert post["security"] == [{"bearerToken": []}], path
        assert {"401", "403", "202"} <= set(post["responses"]), path
    for path in ("/api/v1/status", "/api/v1/revisions", "/api/v1/runs", "/metrics"):
        assert doc["paths"][path]["get"]["security"] == [{}, {"bearerToken": []}], path
    params = {p["name"]: p for p in doc["paths"]["/api/v1/runs"]["get"]["parameters"]}
    kind = params["kind"]["schema"]["anyOf"][0]
    assert kind["enum"] == ["apply", "rollback", "auto-rollback", "self-heal"]
    assert params["offset"]["schema"]["maximum"] == 2**31 - 1


def test_pages_escape_what_the_ledger_holds(store: Store, controller: FakeController, client_for) -> None:  # noqa: F811
    sha = "f" * 40
    store.record_revision(sha, HOSTILE, HOSTILE)
    store.set_status(sha, "failed", plan={"actions": [{"target": HOSTILE, "action": "update", "summary": HOSTILE,
                                                       "changes": [{"field": "memory", "old": HOSTILE, "new": 2}]}]},
                     result={"apply": {"ok": False, "outcomes": [{"target": "lxc/1", "error": HOSTILE,
                                                                  "log": [HOSTILE]}]}}, error=HOSTILE)
    store.add_event("error", HOSTILE, revision=sha)
    with client_for(store, controller) as api:
        for path in ("/", f"/revisions/{sha}"):
            page = api.get(path)
            assert page.status_code == 200, path
            assert "<script>alert" not in page.text and "<img" not in page.text, path
            assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&#34;&gt;&lt;img" in page.text, path
            policy = page.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy
            scripts = re.findall(r"<script([^>]*)>", page.text)
            assert scripts and all("src='/static/" in s for s in scripts), scripts  # no inline script
        page = api.get(f"/revisions/{sha}").text  # a failed revision never applied: no button, the reason
        assert "restore-data" not in page and "id='rollback-refused'" in page and "never applied" in page


def test_static_files_and_docs_are_served_from_packages(store: Store, controller: FakeController,  # noqa: F811
                                                       client_for) -> None:  # noqa: F811
    with client_for(store, controller) as api:
        css = api.get("/static/phoenix.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert api.get("/static/actions.js").status_code == 200
        for page in ("/docs", "/redoc"):
            html = api.get(page)
            assert html.status_code == 200
            urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html.text)
            assert urls and not [u for u in urls if "//" in u], urls  # nothing from another host
            for url in urls:
                assert api.get(url).status_code == 200, url
        assert api.get("/openapi.json").json()["info"]["title"] == "Phoenix GitOps"


CHROMIUM = Path("/usr/bin/chromium")


def test_docs_render_offline_in_a_browser(store: Store, controller: FakeController, client_for,  # noqa: F811
                                          tmp_path: Path) -> None:
    """Swagger UI and ReDoc draw the API with every request outside the controller refused."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    elsewhere: list[str] = []
    problems: list[str] = []
    with client_for(store, controller) as api, sync_api.sync_playwright() as playwright:
        base = str(api.base_url)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page()

            def only_the_controller(route: object) -> None:
                url = route.request.url  # type: ignore[attr-defined]
                if url.startswith(base) or url.startswith("data:") or url.startswith("blob:"):
                    route.continue_()  # type: ignore[attr-defined]
                else:
                    elsewhere.append(url)
                    route.abort()  # type: ignore[attr-defined]

            page.route("**/*", only_the_controller)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{base}/docs")
            page.wait_for_selector(".opblock", timeout=30000)
            operations = page.locator(".opblock").count()
            assert operations >= 15, operations
            assert "/api/v1/rollback" in page.locator("body").inner_text()
            page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
            page.goto(f"{base}/redoc")
            page.wait_for_selector("text=\"/api/v1/rollback\"", timeout=30000)
            page.screenshot(path=str(tmp_path / "redoc.png"), full_page=False)
        finally:
            browser.close()
    assert elsewhere == [] and problems == []


def test_the_cli_says_what_a_422_refused(store: Store, controller: FakeController, client_for) -> None:  # noqa: F811
    from typer.testing import CliRunner

    from gitops.cli.main import app as cli_app

    with client_for(store, controller) as api:
        result = CliRunner().invoke(cli_app, ["history", "--limit", "5000", "--api", str(api.base_url)])
    assert result.exit_code != 0
    assert "422 query.limit: Input should be less than or equal to 1000" in result.output, result.output
