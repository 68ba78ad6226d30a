"""The stack rules are pure: tables of (the example estate, a Portainer live state) -> plan, no server."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitops.config import queries
from gitops.config.secretrefs import digest
from gitops.planner.drift import orphans
from gitops.planner.live import LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Plan
from gitops.planner.portainer.desired import MARKER, desired_stacks
from gitops.planner.portainer.live import LiveEnvironment, LiveStack, LiveStacks
from gitops.planner.portainer.rules import plan_stack_changes, stack_targets
from tests.e2e_apply.support import EXAMPLE, SECRETS

OPTIONS = PlanOptions(node="pve1")
SOURCES = {("portainer_service", "production"): "services:\n  portainer:\n    image: p\n",
           ("qdrant_service", "production"): "services:\n  qdrant:\n    image: q\n",
           ("webapp", "staging"): "services:\n  app:\n    image: w\n"}
VALUES = {"${secret:qdrant_api_key}": SECRETS["qdrant_api_key"],
          "${secret:webapp_db_password_staging}": SECRETS["webapp_db_password_staging"]}


@pytest.fixture(scope="module")
def estate() -> Any:
    return queries.load(EXAMPLE)


def empty_portainer() -> LiveStacks:
    return LiveStacks(environments={"local": LiveEnvironment(1, "local", "unix:///var/run/docker.sock", 1)},
                      sources=dict(SOURCES), secret_digests={k: digest(v) for k, v in VALUES.items()})


def converged(estate: Any) -> LiveStacks:
    live = empty_portainer()
    live.environments["docker-agent"] = LiveEnvironment(2, "docker-agent", "tcp://10.20.0.32:9001", 2)
    stacks, problems = desired_stacks(estate, SOURCES)
    assert problems == []
    for i, s in enumerate(stacks):
        env = {name: VALUES.get(value, value) for name, value in s.env}
        live.stacks.append(LiveStack(10 + i, s.name, live.environments[s.endpoint].id, env=env, file=s.compose))
    return live


def planned(estate: Any, stacks: LiveStacks | None, **options: Any) -> Plan:
    plan = Plan()
    live = LiveState(node="pve1", stacks=stacks)
    plan_stack_changes(estate, live, PlanOptions(node="pve1", **options), plan)
    return plan


def test_a_fresh_portainer_gets_the_agent_registered_then_the_stacks(estate: Any) -> None:
    plan = planned(estate, empty_portainer())
    assert [(a.target, a.action, a.depends_on) for a in plan.actions] == [
        ("environment/docker-agent", "register", ["vm/1002"]),
        ("stack/portainer_service@local", "deploy", ["vm/1001", "environment/local"]),
        ("stack/qdrant_service@docker-agent", "deploy", ["vm/1002", "environment/docker-agent"]),
        ("stack/webapp@docker-agent", "deploy", ["vm/1002", "environment/docker-agent"]),
    ]
    assert all(a.system == "portainer" for a in plan.actions)
    webapp = plan.actions[3].calls[0]
    assert webapp.params["env.DATABASE_PASS"] == "${secret:webapp_db_password_staging}"
    assert webapp.params[f"env.{MARKER}"] == "webapp/staging"
    assert plan.to_dict()["actions"][3]["calls"][0]["params"]["env.DATABASE_PASS"] == "(secret)"


def test_converged_is_a_no_op(estate: Any) -> None:
    plan = planned(estate, converged(estate))
    assert plan.actions == [] and plan.errors == [] and plan.warnings == []


CASES: list[tuple[str, Any, list[tuple[str, str]], list[tuple[str, str]]]] = [
    ("a variable changed by hand",
     lambda live: live.stacks[2].env.__setitem__("API_PORT", "9999"),
     [("stack/webapp@docker-agent", "redeploy")], []),
    ("a secret rotated (its fingerprint differs)",
     lambda live: live.secret_digests.__setitem__("${secret:qdrant_api_key}", digest("new")),
     [("stack/qdrant_service@docker-agent", "redeploy")], []),
    ("a stack stopped by hand",
     lambda live: setattr(live.stacks[1], "status", 2),
     [("stack/qdrant_service@docker-agent", "start")], []),
    ("a stack made by hand under our name",
     lambda live: live.stacks[0].env.pop(MARKER),
     [], [("stack/portainer_service@local", "stack-conflict")]),
    ("Portainer's own environment is missing",
     lambda live: (live.environments.pop("local"), live.stacks.pop(0)),
     [], [("environment/local", "environment-missing")]),
    ("a compose file that did not render",
     lambda live: (live.sources.pop(("webapp", "staging")),
                   live.source_problems.__setitem__(("webapp", "staging"), "stacks/x.yml does not exist")),
     [], [("stack/webapp@docker-agent", "stack-compose-invalid")]),
]


@pytest.mark.parametrize(("change", "actions", "errors"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_one_difference(estate: Any, change: Any, actions: list[tuple[str, str]],
                        errors: list[tuple[str, str]]) -> None:
    live = converged(estate)
    change(live)
    plan = planned(estate, live)
    assert [(a.target, a.action) for a in plan.actions] == actions
    assert [(e.target, e.code) for e in plan.errors] == errors


def test_a_rotated_secret_is_shown_masked(estate: Any) -> None:
    live = converged(estate)
    live.secret_digests["${secret:qdrant_api_key}"] = digest("rotated")
    shown = planned(estate, live).to_dict()["actions"][0]
    assert shown["changes"] == [{"field": "env.QDRANT__SERVICE__API_KEY", "old": "(secret)", "new": "(secret)"}]
    assert SECRETS["qdrant_api_key"] not in str(shown)


def test_a_stack_no_longer_placed_is_deleted_only_with_allow_destroy(estate: Any) -> None:
    live = converged(estate)
    gone = copy.deepcopy(live.stacks[2])
    gone.id, gone.name, gone.env[MARKER] = 99, "old-production", "old/production"
    live.stacks.append(gone)
    kept = planned(estate, live)
    assert kept.actions == [] and [(w.target, w.code) for w in kept.warnings] == [
        ("stack/old@docker-agent", "destroy-skipped")]
    deleted = planned(estate, live, allow_destroy=True)
    assert [(a.target, a.action, a.destructive, a.calls[0].path) for a in deleted.actions] == [
        ("stack/old@docker-agent", "delete", True, "stacks/99")]


def test_a_stack_no_longer_placed_is_an_orphan_kept_or_pruned(estate: Any) -> None:
    live = converged(estate)
    gone = copy.deepcopy(live.stacks[2])
    gone.id, gone.name, gone.env[MARKER] = 99, "old-production", "old/production"
    live.stacks.append(gone)
    hand_made = copy.deepcopy(live.stacks[2])
    hand_made.id, hand_made.name = 98, "by-hand"
    del hand_made.env[MARKER]
    live.stacks.append(hand_made)
    managed = set(stack_targets(estate, LiveState(node="pve1", stacks=live), OPTIONS))

    kept = orphans(planned(estate, live), managed)
    assert [(r.target, r.state, r.actions) for r in kept] == [("stack/old@docker-agent", "orphan", [])]
    assert "PHOENIX_PRUNE" in kept[0].reason

    pruned = planned(estate, live, prune=True)
    assert [(a.target, a.action, a.calls[0].path) for a in pruned.actions] == [
        ("stack/old@docker-agent", "delete", "stacks/99")]
    assert [(r.target, r.state, r.actions) for r in orphans(pruned, managed)] == [
        ("stack/old@docker-agent", "orphan", ["delete"])]


def test_without_portainer_nothing_is_planned_or_listed(estate: Any) -> None:
    assert planned(estate, None).actions == []
    assert stack_targets(estate, LiveState(node="pve1"), OPTIONS) == []
    assert stack_targets(estate, LiveState(node="pve1", stacks=empty_portainer()), OPTIONS) == [
        "stack/portainer_service@local", "environment/docker-agent", "stack/qdrant_service@docker-agent",
        "stack/webapp@docker-agent"]


def test_an_agent_registered_elsewhere_is_a_warning_and_not_moved(estate: Any) -> None:
    live = converged(estate)
    live.environments["docker-agent"] = LiveEnvironment(2, "docker-agent", "tcp://10.99.0.1:9001", 2)
    plan = planned(estate, live)
    assert plan.actions == []
    assert [(w.target, w.code) for w in plan.warnings] == [("environment/docker-agent", "environment-url")]


def test_an_agent_without_an_address_cannot_be_registered(estate: Any) -> None:
    changed = copy.copy(estate)  # the estate is a dataclass: a shallow copy with its own VM file
    vms = copy.deepcopy(estate.vms)
    agent = next(vm for vm in vms.vms if vm.vmid == 1002)
    assert agent.network_config is not None
    agent.network_config.ip = "dhcp"
    changed.vms = vms
    plan = planned(changed, empty_portainer())
    assert [(e.target, e.code) for e in plan.errors] == [("environment/docker-agent", "environment-address")]
    assert {a.target for a in plan.actions} == {"stack/portainer_service@local"}


def test_an_environment_portainer_saw_down_is_a_warning(estate: Any) -> None:
    live = converged(estate)
    live.environments["docker-agent"] = LiveEnvironment(2, "docker-agent", "tcp://10.20.0.32:9001", 2, status=2)
    plan = planned(estate, live)
    assert plan.actions == [] and [(w.target, w.code) for w in plan.warnings] == [
        ("environment/docker-agent", "environment-down")]
