"""The controller as a process with Portainer configured: the example estate and its stacks converge, the
resources list (API and `phoenix-gitops resources`) shows every guest and stack in sync, and no secret
reaches the logs or the API."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from gitops.demo.portainer import ADMIN, PortainerModel, SimulatedPortainer
from tests.controller.support import EXAMPLE, GitRemote, wait_for
from tests.e2e.conftest import Controller

pytestmark = pytest.mark.slow
API_KEY = "ptr_e2e_stacks_key"


def test_the_example_with_its_stacks_converges_in_a_running_controller(
        controller: Callable[..., Controller], remote: GitRemote) -> None:
    portainer = SimulatedPortainer(PortainerModel(api_keys={API_KEY: ADMIN}))
    try:
        shutil.copytree(EXAMPLE, remote.work, dirs_exist_ok=True)
        sha = remote.commit({}, "the example estate")
        ctl = controller(remote, PHOENIX_PORTAINER_URL=portainer.url, PHOENIX_PORTAINER_API_KEY=API_KEY)
        ctl.start()
        ctl.wait_status(sha, "applied")
        ctl.api.post("/api/v1/sync")
        resources = wait_for(lambda: (r := ctl.api.get("/api/v1/resources").json())["resources"] and r, 30,
                             what="a resources list")
        states = {r["target"]: r["state"] for r in resources["resources"]}
        assert {t for t in states if t.startswith("stack/")} == {
            "stack/portainer_service@local", "stack/qdrant_service@docker-agent", "stack/webapp@docker-agent"}
        assert {t for t in states if t.startswith(("vm/", "lxc/"))} >= {"vm/1001", "vm/1002", "lxc/101"}
        assert set(states.values()) == {"in_sync"}, states

        listed = ctl.cli("resources", "--kind", "stack")
        assert listed.returncode == 0, listed.stderr
        assert [line.split()[:2] for line in listed.stdout.splitlines()] == [
            ["stack/portainer_service@local", "in_sync"], ["stack/qdrant_service@docker-agent", "in_sync"],
            ["stack/webapp@docker-agent", "in_sync"]]

        dashboard = ctl.api.get("/").text
        assert all(target in dashboard for target in states if target.startswith("stack/"))

        secret_values = [p.read_text().strip() for p in (ctl.root.parent / "secrets").iterdir()]
        seen = ctl.logs() + ctl.api.get(f"/api/v1/revisions/{sha}").text + str(resources)
        assert all(value not in seen for value in secret_values)
        webapp = portainer.model.stack_named("webapp-staging")
        assert webapp is not None
        assert {"name": "DATABASE_PASS", "value": "test-webapp_db_password_staging-value"} in webapp.env
    finally:
        portainer.stop()
