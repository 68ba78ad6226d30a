"""A secret used inside longer strings (a description, a firewall comment) converges and never shows:
the second plan is empty, and the sentinel value is in none of the API's answers, the ledger's bytes,
the logs, the metrics or the dashboard."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from gitops import logs
from gitops.api.app import create_app
from gitops.config.secretrefs import SecretResolver
from gitops.config.validation import validate_directory
from gitops.controller import converging
from gitops.controller.systems import Convergence, drivers_for
from gitops.controller.triggers import Trigger
from gitops.drivers.proxmox.connection import connect
from tests.controller.conftest import Ctl
from tests.controller.support import small_estate

SENTINEL = "Sentinel-7f3a9c-NeverShowMe"
LXC = "phoenix_lxc_configs.json"
TOKEN = "api-token-for-the-sentinel-test"


def estate_using_the_secret() -> dict[str, str]:
    files = small_estate()
    data = json.loads(files[LXC])
    web = data["lxc_configs"]["101"]
    web["description"] = "web server; db password is ${secret:sentinel} (rotate yearly)"
    web["firewall"] = {"enabled": True, "rules": [
        {"type": "in", "action": "ACCEPT", "proto": "tcp", "port": "443",
         "comment": "from the proxy, key ${secret:sentinel}"}]}
    files[LXC] = json.dumps(data, indent=2)
    return files


class Port:
    identity, leader, ready, busy = "sentinel-test", True, True, False

    def request(self, trigger: object) -> None:
        pass

    def wedged(self) -> None:
        return None

    @property
    def stats(self) -> dict[str, float]:
        return {}


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    logs.configure(stream=stream, json_lines=True)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_secret_inside_strings_converges_and_is_never_shown(ctl: Ctl, tmp_path: Path,
                                                              captured_logs: io.StringIO) -> None:
    assert ctl.settings.secrets_dir is not None
    (ctl.settings.secrets_dir / "sentinel").write_text(SENTINEL + "\n")
    sha = ctl.remote.commit(estate_using_the_secret(), "a secret inside a description and a comment")
    assert ctl.run().action == "applied"
    assert ctl.status(sha) == "applied"

    with connect(ctl.settings) as client:
        live = client.get(f"nodes/{client.node}/lxc/101/config")
        assert SENTINEL in str(live["description"])  # PVE holds the real value
        options = Convergence(ctl.settings).plan_options(client.node, revision=sha, estate=None)
        desired, report = validate_directory(ctl.repo.checkout(sha))
        assert report.valid
        drivers = drivers_for(ctl.settings, client)
        second = converging.read_and_plan(drivers, desired, options, SecretResolver(ctl.settings.secrets_dir))
    assert second.plan.empty, second.plan.to_dict()  # converged: no perpetual diff
    assert SENTINEL not in json.dumps(second.plan.to_dict()) and SENTINEL not in repr(second.live)

    # A drift check (between commits) reads live state too: still nothing to do, nothing shown.
    checked = ctl.run(Trigger("drift"))
    assert (checked.action, checked.detail) == ("none", "in sync")
    assert not ctl.store.get_state().drift

    app = create_app(ctl.store, Port(), ctl.settings.model_copy(update={"api_token": SecretStr(TOKEN)}))  # type: ignore[arg-type]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    seen: dict[str, str] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as api:
            for path in ("/api/v1/status", "/api/v1/resources", "/api/v1/revisions", f"/api/v1/revisions/{sha}",
                         "/api/v1/events?limit=1000", "/metrics", "/"):
                answer = api.get(path)
                assert answer.status_code == 200, path
                seen[path] = answer.text
    finally:
        server.should_exit = True
        thread.join(10)
    assert "${secret:sentinel}" in seen[f"/api/v1/revisions/{sha}"] or "(secret)" in seen[f"/api/v1/revisions/{sha}"]
    for path, text in seen.items():
        assert SENTINEL not in text, path
    data_dir = tmp_path / "data"
    for file in data_dir.rglob("phoenix.db*"):
        assert SENTINEL.encode() not in file.read_bytes(), file
    assert SENTINEL not in captured_logs.getvalue()


def test_secret_values_in_live_data_are_replaced_by_their_reference() -> None:
    from gitops.planner.live import LiveFirewall, LiveGuest, LiveState
    from gitops.planner.redacting import redact_live

    live = LiveState(node="pve1")
    live.guests[1001] = LiveGuest("vm", 1001, "pve1", config={"ciuser": f"ops-{SENTINEL}", "memory": 2048,
                                                                "description": f"a {SENTINEL} b {SENTINEL}"},
                                  firewall=LiveFirewall(rules=[{"comment": f"key {SENTINEL}"}]))
    redact_live(live, {SENTINEL: "${secret:sentinel}", "abc": "${secret:short}"})
    guest: Any = live.guests[1001]
    assert guest.config == {"ciuser": "ops-${secret:sentinel}", "memory": 2048,
                            "description": "a ${secret:sentinel} b ${secret:sentinel}"}
    assert guest.firewall.rules == [{"comment": "key ${secret:sentinel}"}]
