"""The estate and resource pages over a real ledger and a fake controller: what they show, a hostile
value escaped, a secret only as `(secret)`, an unknown resource 404, the graph's node groups; the JSON
of one resource (`GET /api/v1/resources/{target}`) says what its page shows; and the sync a resource
page's button sends is the targeted sync of `POST /api/v1/sync`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from gitops.api.app import create_app
from gitops.planner.details import Detail, FieldValue
from gitops.planner.documents import PlanDocument, RunResult
from gitops.settings import Settings
from gitops.store import Store, open_store
from tests.api.test_app import AUTH, TOKEN, FakeController

SHA = "c" * 40
HOSTILE = "<script>alert(1)</script>"


def detail(**values: object) -> dict[str, object]:
    return Detail.model_validate(values).model_dump(exclude_defaults=True)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'phoenix.db'}")
    opened.record_revision(SHA, "Ann <ann@example.org>", "estate")
    opened.set_status(SHA, "applying", plan=PlanDocument())
    run = opened.start_run(SHA, "apply", "poll")
    opened.finish_run(run.id, "applied", result=RunResult.model_validate({"apply": {"ok": True, "outcomes": [
        {"target": "lxc/101", "action": "clone", "status": "ok", "duration": 1.5, "log": ["task OK"],
         "upids": ["UPID:pve1:1"]},
        {"target": "lxc/900", "action": "create", "status": "ok", "duration": 2.0}]}}))
    opened.set_status(SHA, "applied", state={"applied_revision": SHA})
    opened.update_state(target_revision=SHA, last_drift={
        "revision": SHA, "resources": [
            {"target": "lxc/900", "state": "in_sync", "actions": []},
            {"target": "lxc/101", "state": "drifted", "actions": ["update: memory"]},
            {"target": "stack/web@prod", "state": "pending", "actions": ["deploy"]},
            {"target": "vm/8001", "state": "in_sync", "actions": []},
            {"target": "firewall/cluster", "state": "in_sync", "actions": []}],
        "details": {
            "lxc/900": detail(node="pve1", role="template", health="stopped"),
            "lxc/101": detail(node="pve1", role="clone", health="running", depends_on=["lxc/900"], fields=[
                FieldValue(field="memory", desired="512", live="3000", differs=True),
                FieldValue(field="description", desired=HOSTILE, live=HOSTILE),
                FieldValue(field="password", desired="(secret)", live="(secret)")]),
            "vm/8001": detail(node="pve2", role="guest", health="running"),
            "stack/web@prod": detail(role="stack", depends_on=["vm/8001"])}})
    opened.add_event("drift", "drift on lxc/101", level="warning", revision=SHA,
                     data={"revision": SHA, "targets": ["lxc/101"]})
    opened.add_event("applied", f"{SHA[:12]} applied", revision=SHA)
    yield opened
    opened.close()


@pytest.fixture
def client(store: Store, serve_app) -> httpx.Client:  # type: ignore[no-untyped-def]
    controller = FakeController()
    client = serve_app(create_app(store, controller, Settings(api_token=SecretStr(TOKEN))))  # type: ignore[arg-type]
    client.controller = controller  # type: ignore[attr-defined]
    return client


def test_a_resource_page_shows_desired_against_live_history_and_a_sync_button(client: httpx.Client) -> None:
    answer = client.get("/resources/lxc/101")
    assert answer.status_code == 200
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    page = answer.text
    assert "<td><code class='value'>512</code></td>" in page and "<td><code class='value'>3000</code></td>" in page
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "(secret)" in page
    assert "href='/resources/lxc/900'" in page  # what it depends on, linked
    assert "task OK" in page and "UPID:pve1:1" in page  # the action done to it, with its task log
    assert "drift on lxc/101" in page
    assert "data-body='{&#34;targets&#34;: [&#34;lxc/101&#34;]}'" in page or '"targets"' in page
    assert "id='sync-resource'" in page
    assert "<meta name='viewport'" in page


def test_unknown_resources_are_404_and_slashes_in_targets_work(client: httpx.Client) -> None:
    assert client.get("/resources/lxc/999").status_code == 404
    assert client.get("/resources/" + HOSTILE).status_code == 404
    assert client.get("/resources/" + HOSTILE).headers["content-type"] == "application/json"  # never as HTML
    assert client.get("/resources/firewall/cluster").status_code == 200
    assert client.get("/resources/stack/web@prod").status_code == 200


def test_one_resource_as_json_is_what_its_page_shows(client: httpx.Client) -> None:
    answer = client.get("/api/v1/resources/lxc/101")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    found = answer.json()
    assert {k: found[k] for k in ("target", "state", "actions", "reason", "revision", "role", "node", "health",
                                  "depends_on")} == {
        "target": "lxc/101", "state": "drifted", "actions": ["update: memory"], "reason": None, "revision": SHA,
        "role": "clone", "node": "pve1", "health": "running", "depends_on": ["lxc/900"]}
    assert found["fields"] == [
        {"field": "memory", "desired": "512", "live": "3000", "differs": True},
        {"field": "description", "desired": HOSTILE, "live": HOSTILE, "differs": False},
        {"field": "password", "desired": "(secret)", "live": "(secret)", "differs": False}]
    [done] = found["recent_actions"]
    assert {k: done[k] for k in ("revision", "kind", "action", "status", "duration_s", "log", "upids")} == {
        "revision": SHA, "kind": "apply", "action": "clone", "status": "ok", "duration_s": 1.5, "log": ["task OK"],
        "upids": ["UPID:pve1:1"]}
    assert [e["message"] for e in found["drift"]] == ["drift on lxc/101"] and found["events"] == []
    assert found["steps"] == []
    page = client.get("/resources/lxc/101").text  # the page shows the same: one read for both
    for text in ("drifted", "update: memory", "clone", "pve1", "running", "href='/resources/lxc/900'", "task OK",
                 "UPID:pve1:1", "drift on lxc/101", "<code class='value'>512</code>",
                 "<code class='value'>3000</code>", "href='/api/v1/resources/lxc/101'"):
        assert text in page, text
    bare = client.get("/api/v1/resources/stack/web@prod").json()  # nothing run on it, no node of its own
    assert (bare["node"], bare["health"], bare["role"], bare["fields"]) == (None, None, "stack", [])
    assert bare["depends_on"] == ["vm/8001"] and bare["recent_actions"] == []


def test_one_resource_as_json_unknown_is_404_and_published(client: httpx.Client) -> None:
    for target in ("lxc/999", HOSTILE, "lxc"):
        answer = client.get(f"/api/v1/resources/{target}")
        assert answer.status_code == 404 and answer.json()["detail"].startswith("not a managed resource"), target
    assert client.get("/api/v1/resources/firewall/cluster").json()["target"] == "firewall/cluster"
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/api/v1/resources/{target}"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ResourceDetail"}
    assert {"401", "404"} <= set(operation["responses"]) and {"bearerToken": []} in operation["security"]
    schema = document["components"]["schemas"]["ResourceDetail"]
    assert {"fields", "recent_actions", "depends_on", "health", "node"} <= set(schema["required"])


def test_the_estate_groups_by_node_and_a_stack_goes_with_its_vm(client: httpx.Client) -> None:
    page = client.get("/estate").text
    assert "node pve1" in page and "node pve2" in page and "cluster-wide" in page
    pve2 = page[page.index("node pve2"):]
    pve2 = pve2[:pve2.index("</section>")]
    assert "stack/web@prod" in pve2 and "vm/8001" in pve2  # the stack runs on its VM's node
    assert "data-state='drifted'" in page
    assert "<script src='/static/estate.js'></script>" in page
    assert client.get("/static/estate.js").status_code == 200


def test_the_page_button_is_the_api_targeted_sync(client: httpx.Client) -> None:
    answer = client.post("/api/v1/sync", json={"targets": ["lxc/101"]}, headers=AUTH)
    assert answer.status_code == 202 and answer.json()["targets"] == ["lxc/101"]
    [trigger] = client.controller.triggers  # type: ignore[attr-defined]
    assert trigger.targets == ("lxc/101",)


def test_a_revision_and_targets_together_are_a_validation_error(client: httpx.Client) -> None:
    answer = client.post("/api/v1/sync", json={"revision": SHA, "targets": ["lxc/101"]}, headers=AUTH)
    assert answer.status_code == 422
    assert "not both" in answer.json()["detail"][0]["msg"]  # FastAPI's validation shape, as documented
    assert client.controller.triggers == []  # type: ignore[attr-defined]
