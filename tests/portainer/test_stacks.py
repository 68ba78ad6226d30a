"""Stacks converged on the simulated Portainer over HTTP: the example's stacks, one change, drift, removal,
hand-made stacks, conflicts and outages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops.demo.portainer import SimulatedPortainer
from gitops.planner.portainer.desired import MARKER
from tests.e2e_apply.support import SECRETS
from tests.portainer.conftest import RecordingClient
from tests.portainer.support import edit_json, example_copy, failures, plan, run, secrets

STACKS = "phoenix_stacks_config.json"
TARGETS = {"environment/docker-agent", "stack/portainer_service@local", "stack/qdrant_service@docker-agent",
           "stack/webapp@docker-agent"}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return example_copy(tmp_path)


def converge(client: RecordingClient, config: Path, **kw: Any) -> None:
    resolver = secrets()
    first = plan(client, config, resolver, **kw)
    assert not first.errors, first.errors
    assert failures(run(client, first, resolver)) == {}
    assert not plan(client, config, resolver, **kw).actions


def test_the_example_converges_and_then_plans_nothing(portainer: SimulatedPortainer, client: RecordingClient,
                                                      config: Path) -> None:
    resolver = secrets()
    first = plan(client, config, resolver)
    assert not first.errors
    assert {a.target for a in first.actions} == TARGETS
    stack_actions = [a for a in first.actions if a.target.startswith("stack/")]
    assert all("environment/docker-agent" in a.depends_on or a.target.endswith("@local") for a in stack_actions)
    assert failures(run(client, first, resolver)) == {}
    assert not plan(client, config, resolver).actions

    model = portainer.model
    agent = model.environment_named("docker-agent")
    assert agent is not None and agent.url == "tcp://10.20.0.32:9001" and agent.type == 2
    webapp = model.stack_named("webapp-staging", agent.id)
    assert webapp is not None
    env = {p["name"]: p["value"] for p in webapp.env}
    assert env == {"DATABASE_USER": "webapp_staging", "DATABASE_PASS": SECRETS["webapp_db_password_staging"],
                   "API_PORT": "8001", MARKER: "webapp/staging"}
    deployed = yaml.safe_load(webapp.file)
    assert deployed["configs"]["phx-stacks-webapp-staging-env"]["content"] == \
        (config / "stacks/webapp/staging.env").read_text()
    assert deployed["services"]["app"]["configs"] == [{"source": "phx-stacks-webapp-staging-env",
                                                       "target": "/app/.env"}]
    portainer_stack = model.stack_named("portainer_service-production", 1)
    assert portainer_stack is not None
    labels = yaml.safe_load(portainer_stack.file)["services"]["portainer"]["labels"]
    assert labels[0] == "com.example.owner=platform" and "traefik.enable=true" in labels
    qdrant = model.stack_named("qdrant_service-production", agent.id)
    assert qdrant is not None
    assert qdrant.file == (config / "stacks/qdrant/docker-compose.yml").read_text()  # no merge: byte for byte


def test_one_changed_variable_redeploys_exactly_that_stack(portainer: SimulatedPortainer, client: RecordingClient,
                                                           config: Path) -> None:
    converge(client, config)
    edit_json(config / STACKS, lambda d: d["docker_stacks"]["webapp"]["environments"]["staging"]["variables"]
              .__setitem__(2, {"name": "API_PORT", "value": "8002"}))
    resolver = secrets()
    second = plan(client, config, resolver)
    assert [(a.target, a.action) for a in second.actions] == [("stack/webapp@docker-agent", "redeploy")]
    assert [(c.field, c.old, c.new) for c in second.actions[0].changes] == [("env.API_PORT", "8001", "8002")]
    before = len(portainer.model.writes())
    assert failures(run(client, second, resolver)) == {}
    writes = portainer.model.writes()[before:]
    webapp = portainer.model.stack_named("webapp-staging")
    assert webapp is not None
    assert [(w.method, w.path) for w in writes] == [("PUT", f"/api/stacks/{webapp.id}")]
    assert not plan(client, config, resolver).actions


def test_a_changed_secret_redeploys_and_is_never_shown(portainer: SimulatedPortainer, client: RecordingClient,
                                                       config: Path) -> None:
    converge(client, config)
    resolver = secrets(qdrant_api_key="rotated-qdrant-key")
    second = plan(client, config, resolver)
    assert [a.target for a in second.actions] == ["stack/qdrant_service@docker-agent"]
    shown = json.dumps([a.to_dict() for a in second.actions])
    assert "(secret)" in shown
    for value in (*SECRETS.values(), "rotated-qdrant-key"):
        assert value not in shown
    assert failures(run(client, second, resolver)) == {}
    qdrant = portainer.model.stack_named("qdrant_service-production")
    assert qdrant is not None
    assert {"name": "QDRANT__SERVICE__API_KEY", "value": "rotated-qdrant-key"} in qdrant.env


def test_drift_by_hand_is_planned_back(portainer: SimulatedPortainer, client: RecordingClient, config: Path) -> None:
    converge(client, config)
    webapp = portainer.model.stack_named("webapp-staging")
    qdrant = portainer.model.stack_named("qdrant_service-production")
    assert webapp is not None and qdrant is not None
    webapp.file = webapp.file.replace("webapp:1.4.2", "webapp:latest")  # edited in Portainer's editor
    # stopped by hand, through the API as Portainer's UI does it
    client.request("POST", f"stacks/{qdrant.id}/stop", params={"endpointId": qdrant.endpoint_id}, json_body={})
    assert qdrant.status == 2
    resolver = secrets()
    drift = plan(client, config, resolver)
    assert {(a.target, a.action) for a in drift.actions} == {("stack/webapp@docker-agent", "redeploy"),
                                                             ("stack/qdrant_service@docker-agent", "start")}
    [edited] = [a.changes for a in drift.actions if a.action == "redeploy"]
    assert [c.field for c in edited] == ["compose"] and str(edited[0].new).endswith("(+1 -1 lines)")
    assert failures(run(client, drift, resolver)) == {}
    assert not plan(client, config, resolver).actions


def test_a_stack_deleted_by_hand_is_created_again(portainer: SimulatedPortainer, client: RecordingClient,
                                                  config: Path) -> None:
    converge(client, config)
    webapp = portainer.model.stack_named("webapp-staging")
    assert webapp is not None
    portainer.model.stacks.pop(webapp.id)
    again = plan(client, config, secrets())
    assert [(a.target, a.action) for a in again.actions] == [("stack/webapp@docker-agent", "deploy")]


def test_removal_needs_allow_destroy(portainer: SimulatedPortainer, client: RecordingClient, config: Path) -> None:
    converge(client, config)

    def drop(data: Any) -> None:
        data["vms"][2]["docker_stacks"] = ["qdrant_service"]
    edit_json(config / "phoenix_vm_configs.json", drop)
    resolver = secrets()
    kept = plan(client, config, resolver)
    assert not kept.actions
    assert [(w.target, w.code) for w in kept.warnings] == [("stack/webapp@docker-agent", "destroy-skipped")]
    destroy = plan(client, config, resolver, allow_destroy=True)
    assert [(a.target, a.action, a.destructive) for a in destroy.actions] == [
        ("stack/webapp@docker-agent", "delete", True)]
    assert failures(run(client, destroy, resolver)) == {}
    assert portainer.model.stack_named("webapp-staging") is None


def test_a_hand_made_stack_is_never_touched(portainer: SimulatedPortainer, client: RecordingClient,
                                            config: Path) -> None:
    converge(client, config)
    agent = portainer.model.environment_named("docker-agent")
    assert agent is not None
    mine = portainer.model.add_stack_by_hand(agent.id, "grafana", "services:\n  grafana:\n    image: grafana\n")
    taken = portainer.model.add_stack_by_hand(1, "other-production", "services:\n  x:\n    image: x\n")
    resolver = secrets()
    assert not plan(client, config, resolver, allow_destroy=True).actions  # not ours: not deleted either

    # A config stack whose Portainer name a hand-made stack holds: an error, and nothing sent to it.
    def add(data: Any) -> None:
        data["docker_stacks"]["other"] = {"compose_file_path": "stacks/qdrant/docker-compose.yml",
                                          "environments": {"production": {}}}
    edit_json(config / STACKS, add)
    edit_json(config / "phoenix_vm_configs.json", lambda d: d["vms"][1]["docker_stacks"].append("other"))
    conflict = plan(client, config, resolver)
    assert [(e.target, e.code) for e in conflict.errors] == [("stack/other@local", "stack-conflict")]
    assert not conflict.actions
    assert portainer.model.stacks[mine.id].deploys == 1 and portainer.model.stacks[taken.id].deploys == 1


def test_a_409_on_create_is_not_success(portainer: SimulatedPortainer, client: RecordingClient, config: Path) -> None:
    resolver = secrets()
    first = plan(client, config, resolver)
    # Between plan and apply someone makes a stack of that name by hand.
    portainer.model.add_stack_by_hand(1, "portainer_service-production", "services:\n  p:\n    image: p\n")
    failed = failures(run(client, first, resolver))
    assert list(failed) == ["stack/portainer_service@local"]
    assert "409" in failed["stack/portainer_service@local"]
    assert "did not create" in failed["stack/portainer_service@local"]
    hand_made = portainer.model.stack_named("portainer_service-production")
    assert hand_made is not None and hand_made.deploys == 1 and hand_made.created_by == "someone"


def test_a_create_whose_answer_was_lost_is_finished_by_an_update(portainer: SimulatedPortainer,
                                                                 client: RecordingClient, config: Path) -> None:
    resolver = secrets()
    first = plan(client, config, resolver)
    assert failures(run(client, first, resolver)) == {}
    assert failures(run(client, first, resolver)) == {}  # the same creates again: 409, ours, so redeployed
    created = portainer.model.stack_named("portainer_service-production")
    assert created is not None and created.deploys == 2
    creates = [r.status for r in portainer.model.received if r.path.endswith("/standalone/string")]
    assert creates == [200] * 3 + [409] * 3
    assert [r.status for r in portainer.model.received if r.path == "/api/endpoints" and r.method == "POST"] == [
        200, 409]


def test_portainer_failing_fails_the_stack_actions_with_a_named_cause(
        portainer: SimulatedPortainer, client: RecordingClient, config: Path) -> None:
    resolver = secrets()
    first = plan(client, config, resolver)
    portainer.model.fail("POST", "^/api/stacks/create", 500)
    result = run(client, first, resolver)
    failed = {o.target: o for o in result.outcomes if o.status == "failed"}
    assert set(failed) == {"stack/portainer_service@local", "stack/qdrant_service@docker-agent",
                           "stack/webapp@docker-agent"}
    assert all(o.transient and "500 Internal server error" in o.error for o in failed.values())
    for value in SECRETS.values():
        assert all(value not in o.error for o in failed.values())
    portainer.model.clear_faults()
    converge(client, config)  # the next apply converges


def test_portainer_down_fails_with_a_named_cause(portainer: SimulatedPortainer, client: RecordingClient,
                                                 config: Path) -> None:
    resolver = secrets()
    first = plan(client, config, resolver)
    portainer.stop()
    result = run(client, first, resolver)
    assert {o.target: o.status for o in result.outcomes} == {
        "environment/docker-agent": "failed", "stack/portainer_service@local": "failed",
        "stack/qdrant_service@docker-agent": "skipped", "stack/webapp@docker-agent": "skipped"}
    assert all("cannot reach Portainer" in o.error and o.transient for o in result.failed)
    portainer.start()
    converge(client, config)


def test_errors_are_scrubbed_of_secret_values(portainer: SimulatedPortainer, client: RecordingClient,
                                              config: Path) -> None:
    resolver = secrets()
    first = plan(client, config, resolver)
    # Portainer's deploy errors quote docker compose, which may quote an interpolated value.
    portainer.model.fail("POST", "^/api/stacks/create", 400,
                         details=f"invalid value {SECRETS['qdrant_api_key']} for QDRANT__SERVICE__API_KEY")
    failed = failures(run(client, first, resolver))
    why = failed["stack/qdrant_service@docker-agent"]
    assert "invalid value (secret) for QDRANT__SERVICE__API_KEY" in why
    assert SECRETS["qdrant_api_key"] not in why
    sent = [r.body for r in portainer.model.received if r.path.endswith("/standalone/string")]
    assert any({"name": "QDRANT__SERVICE__API_KEY", "value": SECRETS["qdrant_api_key"]} in b["env"] for b in sent)


def test_a_secret_change_is_seen_only_through_its_fingerprint(client: RecordingClient, config: Path) -> None:
    resolver = secrets()
    converge(client, config)
    live_plan = plan(client, config, resolver)
    assert not live_plan.actions
    shown = json.dumps(live_plan.to_dict())
    assert all(value not in shown for value in SECRETS.values())


def test_an_agent_that_does_not_answer_fails_its_registration_and_its_stacks_wait(
        portainer: SimulatedPortainer, client: RecordingClient, config: Path) -> None:
    portainer.model.agent_reachable = lambda url: url != "tcp://10.20.0.32:9001"
    resolver = secrets()
    result = run(client, plan(client, config, resolver), resolver)
    assert {o.target: o.status for o in result.outcomes} == {
        "environment/docker-agent": "failed", "stack/portainer_service@local": "ok",
        "stack/qdrant_service@docker-agent": "skipped", "stack/webapp@docker-agent": "skipped"}
    assert "Unable to initiate communications with environment" in result.failed[0].error
    portainer.model.agent_reachable = lambda url: True  # the agent came up
    converge(client, config)


def test_an_agent_portainer_sees_down_is_warned_about(portainer: SimulatedPortainer, client: RecordingClient,
                                                      config: Path) -> None:
    converge(client, config)
    agent = portainer.model.environment_named("docker-agent")
    assert agent is not None
    agent.status = 2
    result = plan(client, config, secrets())
    assert [(w.target, w.code) for w in result.warnings] == [("environment/docker-agent", "environment-down")]
