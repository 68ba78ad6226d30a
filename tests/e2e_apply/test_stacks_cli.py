"""`phoenix-gitops plan/apply` with Portainer configured: the stacks in the same plan as the guests, removal
only with --allow-destroy, and the plan's output without secrets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitops.demo.portainer import ADMIN, PortainerModel, SimulatedPortainer
from tests.e2e_apply.support import SECRETS, Cli, edit

KEY = "ptr_cli_tests"


@pytest.fixture
def portainer(cli: Cli) -> Iterator[SimulatedPortainer]:
    server = SimulatedPortainer(PortainerModel(api_keys={KEY: ADMIN}))
    cli.env.update({"PHOENIX_PORTAINER_URL": server.url, "PHOENIX_PORTAINER_API_KEY": KEY})
    yield server
    server.stop()


def test_apply_converges_stacks_and_deletes_one_only_with_allow_destroy(cli: Cli, portainer: SimulatedPortainer,
                                                                         example: Path) -> None:
    shown = cli("plan", str(example), "--format", "json")
    assert shown.exit_code == 0, shown.output
    for value in SECRETS.values():
        assert value not in shown.stdout
    plan = json.loads(shown.stdout)
    assert {a["target"] for a in plan["actions"] if a["system"] == "portainer"} == {
        "environment/docker-agent", "stack/portainer_service@local", "stack/qdrant_service@docker-agent",
        "stack/webapp@docker-agent"}
    applied = cli("apply", str(example), "--yes")
    assert applied.exit_code == 0, applied.output
    assert cli("plan", str(example), "--detailed-exitcode").exit_code == 0

    def drop_webapp(data: Any) -> None:
        data["vms"][2]["docker_stacks"] = ["qdrant_service"]
    edit(example, "phoenix_vm_configs.json", drop_webapp)
    kept = cli("apply", str(example), "--yes")
    assert kept.exit_code == 0, kept.output
    assert "--allow-destroy" in kept.output
    assert portainer.model.stack_named("webapp-staging") is not None
    destroyed = cli("apply", str(example), "--yes", "--allow-destroy")
    assert destroyed.exit_code == 0, destroyed.output
    assert portainer.model.stack_named("webapp-staging") is None
    assert portainer.model.stack_named("qdrant_service-production") is not None
