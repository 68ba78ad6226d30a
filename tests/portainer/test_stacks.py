"""Stacks converged on the simulated Portainer over HTTP: the example's stacks, one change, drift, removal,
hand-made stacks, conflicts and outages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops import errors
from gitops.demo.portainer import SimulatedPortainer
from gitops.drivers.portainer.applying import run_operation
from gitops.planner.stacks.comparing import StackOperation
from gitops.planner.stacks.desired import MARKER, DesiredStack
from tests.e2e_apply.support import SECRETS
from tests.portainer.conftest import RecordingClient
from tests.portainer.support import edit_json, example_copy, plan, run, secrets

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
    outcome = run(client, first, resolver)
    assert not outcome.failed, outcome.failed
    assert not plan(client, config, resolver, **kw).actions


def test_the_example_converges_and_then_plans_nothing(portainer: SimulatedPortainer, client: RecordingClient,
                                                      config: Path) -> None:
    resolver = secrets()
    first = plan(client, config, resolver)
    assert not first.errors
    assert {a.target for a in first.actions} == TARGETS
    stack_actions = [a for a in first.actions if a.target.startswith("stack/")]
    assert all("environment/docker-agent" in a.depends_on or a.target.endswith("@local") for a in stack_actions)
    outcome = run(client, first, resolver)
    assert not outcome.failed
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
    assert [(a.target, a.action) for a in second.actions] == [("stack/webapp@docker-agent", "update")]
    assert [(c.field, c.old, c.new) for c in second.actions[0].changes] == [("env.API_PORT", "8001", "8002")]
    before = len(portainer.model.writes())
    assert not run(client, second, resolver).failed
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
    assert not run(client, second, resolver).failed
    qdrant = portainer.model.stack_named("qdrant_service-production")
    assert qdrant is not None
    assert {"name": "QDRANT__SERVICE__API_KEY", "value": "rotated-qdrant-key"} in qdrant.env


def test_drift_by_hand_is_planned_back(portainer: SimulatedPortainer, client: RecordingClient, config: Path) -> None:
    converge(client, config)
    webapp = portainer.model.stack_named("webapp-staging")
    qdrant = portainer.model.stack_named("qdrant_service-production")
    assert webapp is not None and qdrant is not None
    webapp.file = webapp.file.replace("webapp:1.4.2", "webapp:latest")  # edited in Portainer's editor
    qdrant.status = 2  # stopped by hand
    resolver = secrets()
    drift = plan(client, config, resolver)
    assert {(a.target, a.action) for a in drift.actions} == {("stack/webapp@docker-agent", "update"),
                                                             ("stack/qdrant_service@docker-agent", "start")}
    assert not run(client, drift, resolver).failed
    assert not plan(client, config, resolver).actions


def test_a_stack_deleted_by_hand_is_created_again(portainer: SimulatedPortainer, client: RecordingClient,
                                                  config: Path) -> None:
    converge(client, config)
    webapp = portainer.model.stack_named("webapp-staging")
    assert webapp is not None
    portainer.model.stacks.pop(webapp.id)
    again = plan(client, config, secrets())
    assert [(a.target, a.action) for a in again.actions] == [("stack/webapp@docker-agent", "create")]


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
    assert not run(client, destroy, resolver).failed
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
    outcome = run(client, first, resolver)
    assert outcome.failed["stack/portainer_service@local"].startswith("ConflictError")
    assert "did not create" in outcome.failed["stack/portainer_service@local"]
    hand_made = portainer.model.stack_named("portainer_service-production")
    assert hand_made is not None and hand_made.deploys == 1 and hand_made.created_by == "someone"


def test_a_create_whose_answer_was_lost_is_finished_by_an_update(portainer: SimulatedPortainer,
                                                                 client: RecordingClient, config: Path) -> None:
    resolver = secrets()
    first = plan(client, config, resolver)
    op = first.operations["stack/portainer_service@local"]
    assert op.stack is not None
    run_operation(client, op, resolver.value)
    run_operation(client, op, resolver.value)  # the same create again: 409, ours, so it is updated
    created = portainer.model.stack_named("portainer_service-production")
    assert created is not None and created.deploys == 2
    assert [r.status for r in portainer.model.received if r.path.endswith("/standalone/string")] == [200, 409]


def test_portainer_down_fails_the_stack_actions_with_a_named_cause(
        portainer: SimulatedPortainer, client: RecordingClient, config: Path) -> None:
    resolver = secrets()
    first = plan(client, config, resolver)
    portainer.model.fail("POST", "^/api/stacks/create", 500)
    outcome = run(client, first, resolver)
    assert set(outcome.failed) == {"stack/portainer_service@local", "stack/qdrant_service@docker-agent",
                                   "stack/webapp@docker-agent"}
    assert all("TransientError" in why and "500 Internal server error" in why for why in outcome.failed.values())
    for value in SECRETS.values():
        assert all(value not in why for why in outcome.failed.values())
    portainer.model.clear_faults()
    converge(client, config)  # the next apply converges


def test_a_secret_that_cannot_resolve_is_a_plan_error(client: RecordingClient, config: Path) -> None:
    resolver = secrets()
    resolver.environ = {k: v for k, v in resolver.environ.items() if "QDRANT" not in k}
    result = plan(client, config, resolver)
    assert [(e.target, e.code) for e in result.errors] == [("stack/qdrant_service@docker-agent", "secret-missing")]


def test_run_operation_scrubs_secrets_from_errors(portainer: SimulatedPortainer, client: RecordingClient) -> None:
    # Portainer's deploy errors quote docker compose, which may quote an interpolated value.
    portainer.model.fail("POST", "^/api/stacks/create", 400, details="invalid port top-secret-value in ports")
    stack = DesiredStack("s", "production", 1, "local", "s-production", env=(("PASS", "${secret:pw}"),),
                         compose="services:\n  a:\n    image: a\n")
    with pytest.raises(errors.PermanentError) as caught:
        run_operation(client, StackOperation(steps=("create",), stack=stack), lambda name: "top-secret-value",
                      target="stack/s@local")
    assert str(caught.value) == ("POST /api/stacks/create/standalone/string: 400 Injected error "
                                 "(invalid port (secret) in ports)")
    assert caught.value.target == "stack/s@local"
    sent = portainer.model.received[-1].body
    assert sent["env"] == [{"name": "PASS", "value": "top-secret-value"}]
