"""The controller records each script it ran per guest in the ledger (`provisioning_steps`); a failing
step fails the revision naming guest, step and exit status; a secret handed to a script is in none of
the ledger, the logs or the API's answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitops.api.app import create_app
from gitops.config.scripts import LXC_FEATURE
from gitops.controller.reconciling import Reconciler
from gitops.controller.systems import Convergence
from gitops.controller.triggers import Trigger, coalesce
from gitops.settings import Settings
from gitops.source.repository import ConfigRepo
from gitops.store import open_store
from tests.api.conftest import serve_app
from tests.api.test_app import FakeController
from tests.controller.conftest import Ctl, NoDial, isolated_git
from tests.controller.support import GitRemote, small_estate, write_secrets
from tests.guests.sshnode import NodeShell

__all__ = ["isolated_git", "serve_app"]
SECRET = "test-qdrant_api_key-value"
SCRIPT = "bin/" + LXC_FEATURE.format(name="base_setup")


@pytest.fixture
def pctl(tmp_path: Path, pve_settings: Settings, shell: NodeShell) -> Iterator[Ctl]:
    remote = GitRemote(tmp_path)
    settings = pve_settings.model_copy(update={
        "git_url": remote.url, "data_dir": tmp_path / "data", "secrets_dir": write_secrets(tmp_path / "secrets"),
        "boot_delays": False, "snapshots": True, "auto_rollback": True, "provisioning": True,
        "ssh_key": str(shell.key_file), "ssh_known_hosts": str(shell.known_hosts),
        "ssh_hosts": {"pve1": f"127.0.0.1:{shell.port}"},
    })
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'phoenix.db'}")
    repo = ConfigRepo.from_settings(settings)
    reconciler = Reconciler(settings, store, repo, Convergence(settings, sleep=lambda s: None),
                            sleep=lambda s: None, dial=NoDial())
    try:
        yield Ctl(remote, store, settings, repo, reconciler, NoDial())
    finally:
        repo.close()
        store.close()


def estate_with_script(script: str) -> dict[str, str]:
    files = small_estate()
    lxc = json.loads(files["phoenix_lxc_configs.json"])
    # A secret the script gets in its input (the upstream vLLM scripts read such keys from here).
    lxc["lxc_configs"]["101"]["vllm_engine_config"] = {"ServerConfig": {"api_key": "${secret:qdrant_api_key}"}}
    files["phoenix_lxc_configs.json"] = json.dumps(lxc, indent=2)
    files[SCRIPT] = script
    return files


LEAKY = """#!/bin/bash
input=$(cat)
echo "$input"
key=$(grep -o '"api_key": "[^"]*"' <<< "$input")
if [ "$1" = 101 ]; then echo "giving up with $key" >&2; exit 4; fi
"""


def test_steps_are_recorded_and_secrets_kept_out(pctl: Ctl, caplog: pytest.LogCaptureFixture,
                                                 tmp_path: Path, serve_app: Any) -> None:
    (pctl.remote.work / SCRIPT).parent.mkdir(parents=True)
    sha = pctl.remote.commit(estate_with_script(LEAKY), "scripts")
    with caplog.at_level("DEBUG"):
        outcome = pctl.reconciler.reconcile(coalesce((Trigger("poll"),)))
    assert outcome.action == "failed", outcome
    record = pctl.store.get_revision(sha)
    assert record.status == "failed"
    assert "lxc/101: step feature:base_setup exited with status 4" in (record.error or "")

    steps = {(s.target, s.step): s for s in pctl.store.list_steps()}
    assert steps[("lxc/900", "feature:base_setup")].status == "ok"
    assert steps[("lxc/900", "feature:base_setup")].exit_status == 0
    assert '"unprivileged": true' in steps[("lxc/900", "feature:base_setup")].output_tail  # its input's end
    failed = steps[("lxc/101", "feature:base_setup")]
    assert (failed.status, failed.exit_status, "bin/" + failed.script) == ("failed", 4, SCRIPT)
    assert "giving up with" in failed.output_tail and "(secret)" in failed.output_tail
    assert [s.target for s in pctl.store.list_steps(target="lxc/101")] == ["lxc/101"]

    # The secret reached the script (it printed it), and nothing kept it.
    assert SECRET not in caplog.text
    database = (tmp_path / "data" / "phoenix.db").read_bytes()
    assert SECRET.encode() not in database
    client = serve_app(create_app(pctl.store, FakeController(), pctl.settings))
    for path in (f"/api/v1/revisions/{sha}", "/api/v1/revisions", "/api/v1/status", "/api/v1/runs",
                 "/api/v1/provisioning"):
        answer = client.get(path)
        assert answer.status_code == 200 and SECRET not in answer.text
    shown = client.get("/api/v1/provisioning", params={"target": "lxc/101"}).json()["steps"]
    assert [(s["step"], s["status"], s["exit_status"]) for s in shown] == [("feature:base_setup", "failed", 4)]

    # Fixed: only the failed step runs again; then nothing runs.
    fixed = pctl.remote.commit({SCRIPT: "#!/bin/bash\nexit 0\n"}, "fix")
    assert pctl.reconciler.reconcile(coalesce((Trigger("poll"),))).action == "applied"
    assert pctl.store.get_revision(fixed).status == "applied"
    latest = pctl.store.list_steps(target="lxc/101")[0]
    assert (latest.status, latest.revision) == ("ok", fixed)
    count = len(pctl.store.list_steps())
    assert pctl.reconciler.reconcile(coalesce((Trigger("poll"),))).action == "none"
    assert len(pctl.store.list_steps()) == count
