"""Every request the driver sends, and every answer the simulator gives, checked against the Portainer API
spec (`tests/data/portainer-api/swagger.yaml`, its source in the README beside it): the route and method
exist, query, form and body fields are declared, and the status is one the spec lists (or 401/403, which
every secured route may answer)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops.demo.portainer import Received, SimulatedPortainer
from tests.portainer.conftest import ClientFactory, RecordingClient
from tests.portainer.support import edit_json, example_copy, failures, plan, run, secrets

SPEC = Path(__file__).resolve().parents[1] / "data" / "portainer-api" / "swagger.yaml"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return dict(yaml.load(SPEC.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


def operation(spec: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    relative = path.removeprefix(spec["basePath"])
    for template, ops in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, relative) and method.lower() in ops:
            return template, ops[method.lower()]
    raise AssertionError(f"{method} {path} is not in the spec")


def body_fields(spec: dict[str, Any], op: dict[str, Any]) -> set[str] | None:
    for param in op.get("parameters", []):
        if param["in"] == "body":
            ref = param["schema"].get("$ref", "")
            schema = spec["definitions"][ref.split("/")[-1]] if ref else param["schema"]
            return {name.lower() for name in schema.get("properties", {})}
    return None


def check(spec: dict[str, Any], seen: Received) -> None:
    template, op = operation(spec, seen.method, seen.path)
    declared = {p["name"]: p["in"] for p in op.get("parameters", [])}
    for name in seen.query:
        assert declared.get(name) == "query", f"{seen.method} {template}: query {name} is not declared"
    form = {n for n, where in declared.items() if where == "formData"}
    if form:
        assert set(seen.body) <= form, f"{template}: form fields {set(seen.body) - form} are not declared"
        required = {p["name"] for p in op["parameters"] if p["in"] == "formData" and p.get("required")}
        assert required <= set(seen.body), f"{template}: required form fields {required - set(seen.body)} missing"
    elif seen.body:
        fields = body_fields(spec, op)
        assert fields is not None, f"{seen.method} {template} takes no body"
        assert {k.lower() for k in seen.body} <= fields, f"{template}: {set(seen.body)} not all in {fields}"
    allowed = set(op["responses"]) | ({"401", "403"} if op.get("security") else set())
    assert str(seen.status) in allowed, f"{seen.method} {template} answered {seen.status}, the spec lists {allowed}"


def test_every_request_and_answer_is_the_specs(spec: dict[str, Any], portainer: SimulatedPortainer,
                                               client: RecordingClient, new_client: ClientFactory,
                                               tmp_path: Path) -> None:
    config = example_copy(tmp_path)
    resolver = secrets()
    assert failures(run(client, plan(client, config, resolver), resolver)) == {}          # register, deploy
    assert failures(run(client, plan(client, config, resolver), resolver)) == {}          # nothing
    webapp = portainer.model.stack_named("webapp-staging")
    assert webapp is not None
    client.request("POST", f"stacks/{webapp.id}/stop", params={"endpointId": webapp.endpoint_id}, json_body={})
    edit_json(config / "phoenix_stacks_config.json", lambda d: d["docker_stacks"]["webapp"]["environments"]["staging"]
              ["variables"].__setitem__(2, {"name": "API_PORT", "value": "8002"}))
    assert failures(run(client, plan(client, config, resolver), resolver)) == {}          # start, redeploy
    edit_json(config / "phoenix_vm_configs.json", lambda d: d["vms"][2].__setitem__("docker_stacks", []))
    assert failures(run(client, plan(client, config, resolver, allow_destroy=True), resolver)) == {}  # delete
    portainer.model.add_stack_by_hand(1, "portainer_service-production-x", "services:\n  a:\n    image: a\n")
    jwt = new_client(api_key="", username="admin", password="admin-password-42")
    plan(jwt, config, resolver)                                                          # login
    refused = plan(new_client(api_key="", username="admin", password="wrong"), config, resolver)
    assert "422 Invalid credentials" in refused.warnings[0].message  # unreadable: stacks fail, guests go on

    sent = portainer.model.received
    assert {(r.method, r.status) for r in sent} >= {("POST", 200), ("PUT", 200), ("DELETE", 204), ("GET", 200),
                                                     ("POST", 422)}
    for seen in sent:
        check(spec, seen)
