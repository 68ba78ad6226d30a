"""`phoenix-gitops plan --base REF --head REF DIR`: config to config, as a CI job runs it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e_apply.support import EXAMPLE, edit

CLI = str(Path(sys.executable).with_name("phoenix-gitops"))


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Ann Operator")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "ann@example.org")
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo / "estate")
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "base", cwd=repo)
    git("checkout", "-qb", "more-memory", cwd=repo)
    edit(repo / "estate", "phoenix_lxc_configs.json", lambda d: d["lxc_configs"]["102"].__setitem__("memory_mb", 1024))
    git("commit", "-qam", "more memory for 102", cwd=repo)
    return repo


def plan(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    return subprocess.run([CLI, "plan", "estate", *args], cwd=checkout, capture_output=True, text=True,
                          timeout=60, env=env)


def test_one_memory_change_is_the_whole_plan(checkout: Path) -> None:
    done = plan(checkout, "--base", "main", "--head", "more-memory", "--format", "json", "--detailed-exitcode")
    assert done.returncode == 2, done.stderr
    out = json.loads(done.stdout)
    assert out["state"] == "success" and out["validation"]["valid"]
    [action] = out["plan"]["actions"]
    assert (action["target"], action["action"]) == ("lxc/102", "update")
    assert [(c["field"], c["old"], c["new"]) for c in action["changes"]] == [("memory", "512", "1024")]


def test_markdown_for_the_pull_request(checkout: Path) -> None:
    done = plan(checkout, "--base", "main", "--head", "HEAD", "--format", "markdown")
    assert done.returncode == 0, done.stderr
    assert "| 1 | `lxc/102` | update | `memory`: `512` → `1024` |" in done.stdout
    assert "Nothing in a pull request is applied" in done.stdout


def test_an_invalid_head_fails_with_file_and_line(checkout: Path) -> None:
    path = checkout / "estate" / "phoenix_lxc_configs.json"
    path.write_text(path.read_text().replace('"memory_mb": 1024', '"memory_mb": "lots"', 1))
    git("commit", "-qam", "broken", cwd=checkout)
    done = plan(checkout, "--base", "main", "--head", "HEAD", "--format", "markdown")
    assert done.returncode == 1
    assert "invalid" in done.stdout
    assert re.search(r"`phoenix_lxc_configs.json:\d+:\d+` `lxc_configs\.\d+\.memory_mb`: .*lots", done.stdout)


def test_unknown_ref_is_a_usage_error(checkout: Path) -> None:
    done = plan(checkout, "--base", "main", "--head", "no-such-branch")
    assert done.returncode == 2 and "no-such-branch" in done.stderr
    assert plan(checkout, "--base", "main").returncode == 2
