"""The controller converging the example estate with its stacks: fakepve and the simulated Portainer, a real
git repository, the ledger. Stacks in the same plan graph as the guests, failures, drift, rollback."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from gitops.controller.triggers import Trigger
from gitops.demo.portainer import ADMIN, PortainerModel, SimulatedPortainer
from gitops.drivers.portainer import driver as portainer_driver
from gitops.drivers.portainer.connection import connect
from tests.controller.conftest import Ctl
from tests.controller.support import EXAMPLE, git

API_KEY = "ptr_controller_tests"
STACKS = "phoenix_stacks_config.json"


@pytest.fixture
def portainer(ctl: Ctl, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulatedPortainer]:
    # The controller's Portainer client retries with backoff: no real waiting in tests.
    monkeypatch.setattr(portainer_driver, "connect", lambda settings: connect(settings, sleep=lambda s: None))
    server = SimulatedPortainer(PortainerModel(api_keys={API_KEY: ADMIN}))
    ctl.reconciler.settings = ctl.settings = ctl.settings.model_copy(update={
        "portainer_url": server.url, "portainer_api_key": SecretStr(API_KEY)})
    yield server
    server.stop()


def commit_example(ctl: Ctl, change: Any = None, message: str = "the example") -> str:
    work = ctl.remote.work
    for path in EXAMPLE.rglob("*"):
        if path.is_file() and "schemas" not in path.parts:
            target = work / path.relative_to(EXAMPLE)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    if change is not None:
        data = json.loads((work / STACKS).read_text())
        change(data)
        (work / STACKS).write_text(json.dumps(data, indent=2))
    return ctl.remote.commit({}, message)


def staging_port(port: str) -> Any:
    def change(data: Any) -> None:
        data["docker_stacks"]["webapp"]["environments"]["staging"]["variables"][2]["value"] = port
    return change


def states(ctl: Ctl) -> dict[str, str]:
    ctl.reconciler.settings = ctl.settings.model_copy(update={"self_heal": False})
    ctl.run(Trigger("drift"))
    ctl.reconciler.settings = ctl.settings
    drift = ctl.store.get_state().last_drift or {}
    return {r["target"]: r["state"] for r in drift.get("resources", [])}


def env_of(portainer: SimulatedPortainer, name: str) -> dict[str, str]:
    stack = portainer.model.stack_named(name)
    assert stack is not None, name
    return {p["name"]: p["value"] for p in stack.env}


def test_the_example_converges_with_its_stacks_in_one_plan(ctl: Ctl, portainer: SimulatedPortainer) -> None:
    sha = commit_example(ctl)
    assert ctl.run().action == "applied"
    assert ctl.status(sha) == "applied"
    found = states(ctl)
    stacks = {t for t in found if t.startswith("stack/")}
    assert stacks == {"stack/portainer_service@local", "stack/qdrant_service@docker-agent",
                      "stack/webapp@docker-agent"}
    assert set(found.values()) == {"in_sync"}, found
    record = ctl.store.get_revision(sha)
    plan = record.plan.stored()["actions"]
    deploy = next(a for a in plan if a["target"] == "stack/webapp@docker-agent")
    assert deploy["system"] == "portainer" and "environment/docker-agent" in deploy["depends_on"]
    register = next(a for a in plan if a["target"] == "environment/docker-agent")
    assert "vm/1002" in register["depends_on"]
    ledger = json.dumps({"plan": record.plan.stored(), "result": record.result.stored()})
    assert "test-webapp_db_password_staging-value" not in ledger and "(secret)" in ledger


def test_one_changed_variable_redeploys_exactly_that_stack(ctl: Ctl, portainer: SimulatedPortainer) -> None:
    commit_example(ctl)
    ctl.run()
    before = len(portainer.model.writes())
    sha = commit_example(ctl, staging_port("8002"), "staging port")
    assert ctl.run().action == "applied"
    actions = ctl.store.get_revision(sha).plan.stored()["actions"]
    assert [(a["target"], a["action"]) for a in actions] == [("stack/webapp@docker-agent", "redeploy")]
    assert [(w.method, w.path.split("/")[2]) for w in portainer.model.writes()[before:]] == [("PUT", "stacks")]
    assert env_of(portainer, "webapp-staging")["API_PORT"] == "8002"


def test_portainer_failing_during_an_apply(ctl: Ctl, portainer: SimulatedPortainer) -> None:
    portainer.model.fail("POST", "^/api/stacks/create", 500)
    sha = commit_example(ctl)
    outcome = ctl.run()
    assert outcome.action == "failed", outcome
    record = ctl.store.get_revision(sha)
    assert record.status == "failed"
    assert "500 Internal server error" in (record.error or "")
    outcomes = [(o["target"], o["status"]) for o in record.result.stored()["apply"]["outcomes"]]
    guests = {status for target, status in outcomes if target.startswith(("lxc/", "vm/", "storage/"))}
    assert guests == {"ok"}  # the guests converged
    assert ("environment/docker-agent", "ok") in outcomes
    assert {t: s for t, s in outcomes if t.startswith("stack/")} == {
        "stack/portainer_service@local": "failed", "stack/qdrant_service@docker-agent": "failed",
        "stack/webapp@docker-agent": "failed"}
    portainer.model.clear_faults()
    assert ctl.run(Trigger("manual", revision=sha)).action == "applied"
    assert ctl.status(sha) == "applied"
    assert set(states(ctl).values()) == {"in_sync"}


def test_a_failed_stack_rolls_the_revision_back(ctl: Ctl, portainer: SimulatedPortainer) -> None:
    first = commit_example(ctl)
    ctl.run()
    portainer.model.fail("PUT", "^/api/stacks/", 500)
    bad = commit_example(ctl, staging_port("8002"), "staging port")
    assert ctl.run().action == "rolled_back"
    assert ctl.status(bad) == "rolled_back" and ctl.status(first) == "applied"
    assert env_of(portainer, "webapp-staging")["API_PORT"] == "8001"  # never changed: the redeploy failed


def test_rollback_covers_stacks(ctl: Ctl, portainer: SimulatedPortainer) -> None:
    first = commit_example(ctl)
    ctl.run()
    commit_example(ctl, staging_port("8002"), "staging port")
    ctl.run()
    assert env_of(portainer, "webapp-staging")["API_PORT"] == "8002"
    assert ctl.run(Trigger("rollback", revision=first)).action == "applied"
    assert env_of(portainer, "webapp-staging")["API_PORT"] == "8001"


def test_a_stack_changed_by_hand_is_drift_and_self_heal_corrects_it(ctl: Ctl, portainer: SimulatedPortainer) -> None:
    commit_example(ctl)
    ctl.run()
    webapp = portainer.model.stack_named("webapp-staging")
    assert webapp is not None
    original = webapp.file
    webapp.file = original.replace("webapp:1.4.2", "webapp:latest")
    assert states(ctl)["stack/webapp@docker-agent"] == "drifted"
    assert ctl.run(Trigger("drift")).action == "healed"
    assert webapp.file == original
    portainer.model.stacks.pop(webapp.id)  # deleted by hand
    assert states(ctl)["stack/webapp@docker-agent"] == "missing"
    assert ctl.run(Trigger("drift")).action == "healed"
    assert portainer.model.stack_named("webapp-staging") is not None


def test_removing_a_stack_deletes_it_only_with_allow_destroy(ctl: Ctl, portainer: SimulatedPortainer) -> None:
    commit_example(ctl)
    ctl.run()
    work = ctl.remote.work
    vms = json.loads((work / "phoenix_vm_configs.json").read_text())
    vms["vms"][2]["docker_stacks"] = ["qdrant_service"]
    (work / "phoenix_vm_configs.json").write_text(json.dumps(vms, indent=2))
    git("add", "--all", cwd=work)
    sha = ctl.remote.commit({}, "no webapp")
    assert ctl.run().action == "applied"
    assert portainer.model.stack_named("webapp-staging") is not None
    warnings = ctl.store.get_revision(sha).plan.stored()["warnings"]
    assert [(w["target"], w["code"]) for w in warnings] == [("stack/webapp@docker-agent", "destroy-skipped")]


def test_portainer_down_from_the_start_still_converges_the_guests(ctl: Ctl, portainer: SimulatedPortainer) -> None:
    portainer.stop()
    sha = commit_example(ctl)
    assert ctl.run().action == "failed"
    record = ctl.store.get_revision(sha)
    assert record.status == "failed" and "cannot reach Portainer" in (record.error or "")
    warnings = [(w["target"], w["code"]) for w in record.plan.stored()["warnings"]]
    assert ("stack/*", "portainer-unreadable") in warnings
    outcomes = [(o["target"], o["status"]) for o in record.result.stored()["apply"]["outcomes"]]
    assert {s for t, s in outcomes if t.startswith(("lxc/", "vm/", "storage/"))} == {"ok"}
    assert {s for t, s in outcomes if t.startswith(("stack/", "environment/"))} <= {"failed", "skipped"}
    portainer.start()
    assert ctl.run(Trigger("manual", revision=sha)).action == "applied"
    assert set(states(ctl).values()) == {"in_sync"}
