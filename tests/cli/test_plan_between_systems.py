"""`plan --base REF --head REF` plans as the controller does (through `Convergence`): provisioning actions
shown, a missing script an error, an estate over three nodes planned without error, and the words say that
nothing live was read."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gitops.config.scripts import LXC_FEATURE, VM_FEATURE
from tests.cli.test_plan_between import CLI, git
from tests.e2e_apply.support import EXAMPLE, edit

FEATURES = ("base_setup", "nvidia", "trusted_ca", "dns_server", "ollama", "docker")
OLLAMA = "bin/" + LXC_FEATURE.format(name="ollama")


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Ann Operator")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "ann@example.org")
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo / "estate")
    for name in FEATURES:
        for pattern in (LXC_FEATURE, VM_FEATURE):
            path = repo / "estate" / "bin" / pattern.format(name=name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"#!/bin/bash\necho {name}\n")
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "base", cwd=repo)
    return repo


def plan(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    env["PHOENIX_PROVISIONING"] = "true"
    return subprocess.run([CLI, "plan", "estate", *args], cwd=checkout, capture_output=True, text=True,
                          timeout=60, env=env)


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(done.stdout)


def test_an_unchanged_config_plans_nothing_and_says_nothing_live_was_read(checkout: Path) -> None:
    done = plan(checkout, "--base", "main", "--head", "main", "--format", "markdown", "--detailed-exitcode")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "nothing live was read" in done.stdout and "Live state matches" not in done.stdout


def test_a_changed_script_is_a_provision_action_of_each_guest_that_runs_it(checkout: Path) -> None:
    (checkout / "estate" / OLLAMA).write_text("#!/bin/bash\necho ollama 2\n")
    git("commit", "-qam", "a new ollama script", cwd=checkout)
    done = plan(checkout, "--base", "main~1", "--head", "main", "--format", "json", "--detailed-exitcode")
    assert done.returncode == 2, done.stdout + done.stderr
    out = as_json(done)
    lxc = json.loads((checkout / "estate" / "phoenix_lxc_configs.json").read_text())["lxc_configs"]
    users = sorted(f"lxc/{i}" for i, ct in lxc.items() if "ollama" in ct.get("features", []))
    assert users
    actions = out["plan"]["actions"]
    assert sorted(a["target"] for a in actions) == users and {a["action"] for a in actions} == {"provision"}
    for action in actions:
        [step] = [c for c in action["calls"] if "/steps/" in c["path"]]
        assert step["path"].endswith("/steps/feature:ollama")
        assert step["params"]["script"] == OLLAMA.removeprefix("bin/")
    assert out["against"].endswith("assumed converged") and "main~1" in out["plan"]["assumed"]
    for action in actions:  # the base's script ran: the change is a diff from it, line by line
        [change] = action["changes"]
        assert change["diff"].splitlines()[2:] == ["@@ -1,2 +1,2 @@", " #!/bin/bash", "-echo ollama", "+echo ollama 2"]
    markdown = plan(checkout, "--base", "main~1", "--head", "main", "--format", "markdown").stdout
    assert f"<summary><code>{users[0]} feature:ollama (diff)</code></summary>" in markdown
    assert "-echo ollama" in markdown.splitlines() and "+echo ollama 2" in markdown.splitlines()


def test_a_missing_script_fails_the_plan(checkout: Path) -> None:
    git("rm", "-q", f"estate/{OLLAMA}", cwd=checkout)
    git("commit", "-qm", "no ollama script", cwd=checkout)
    done = plan(checkout, "--base", "main~1", "--head", "main", "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    out = as_json(done)
    assert out["state"] == "failure"
    assert {e["code"] for e in out["plan"]["errors"]} == {"script-missing"}


def test_an_estate_over_three_nodes_plans_config_to_config(checkout: Path) -> None:
    def spread(data: Any) -> None:
        for i, ct in enumerate(data["lxc_configs"].values()):
            ct["node"] = f"pve{i % 3 + 1}"
    edit(checkout / "estate", "phoenix_lxc_configs.json", spread)
    git("commit", "-qam", "over three nodes", cwd=checkout)
    same = plan(checkout, "--base", "main", "--head", "main", "--format", "json", "--detailed-exitcode")
    assert same.returncode == 0, same.stdout + same.stderr
    assert as_json(same)["plan"]["errors"] == []

    edit(checkout / "estate", "phoenix_lxc_configs.json",
         lambda d: d["lxc_configs"]["102"].__setitem__("memory_mb", 1024))
    git("commit", "-qam", "more memory", cwd=checkout)
    done = plan(checkout, "--base", "main~1", "--head", "main", "--format", "json", "--detailed-exitcode")
    assert done.returncode == 2, done.stdout + done.stderr
    out = as_json(done)
    assert out["plan"]["errors"] == [] and out["state"] == "success"
    # the scripts get the guest's config as input: they run again, as the controller would run them
    assert [(a["target"], a["action"]) for a in out["plan"]["actions"]] == [("lxc/102", "update"),
                                                                          ("lxc/102", "provision")]
    for change in out["plan"]["actions"][1]["changes"]:  # the same scripts, with another input
        assert change["old"].endswith("(the same script; its input changed)") and "diff" not in change
