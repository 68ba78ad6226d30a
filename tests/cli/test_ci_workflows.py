"""deploy/ci/: the ready workflows run validate and plan --base --head and post with `comment`; `comment`
against the forge simulator posts one comment, edited in place, and a status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gitops.demo.forges import ForgeSimulator

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("phoenix-gitops"))
SHA = "5" * 40


@pytest.mark.parametrize("name", ["github-actions.yml", "gitea-actions.yml"])
def test_workflows_validate_plan_and_comment(name: str) -> None:
    workflow = yaml.safe_load((ROOT / "deploy" / "ci" / name).read_text())
    assert workflow[True]["pull_request"]["types"] == ["opened", "synchronize", "reopened"]  # YAML's `on`
    script = "\n".join(step.get("run", "") for step in workflow["jobs"]["plan"]["steps"])
    assert 'phoenix-gitops validate "$CONFIG_DIR"' in script
    assert "--base" in script and "--head HEAD" in script and "--format markdown > plan.md" in script
    assert "phoenix-gitops comment plan.md" in script and "apply" not in script


@pytest.mark.parametrize("forge", ["github", "gitea", "gitlab", "bitbucket"])
def test_comment_posts_once_then_edits(tmp_path: Path, forge: str) -> None:
    with ForgeSimulator() as sim:
        sim.add_repo(forge, "ann/config", pulls=[3])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
        url_var = {"github": "PHOENIX_GITHUB_API_URL", "gitea": "PHOENIX_GITEA_URL", "gitlab": "PHOENIX_GITLAB_URL",
                   "bitbucket": "PHOENIX_BITBUCKET_API_URL"}
        env |= {f"PHOENIX_{forge.upper()}_TOKEN": sim.tokens[forge], url_var[forge]: sim.url}
        plan = tmp_path / "plan.md"
        for text in ("first plan", "second plan"):
            plan.write_text(text)
            done = subprocess.run([CLI, "comment", str(plan), "--forge", forge, "--repo", "ann/config", "--pr", "3",
                                   "--sha", SHA, "--state", "success"], env=env, capture_output=True, text=True,
                                  timeout=60)
            assert done.returncode == 0, done.stderr
        [body] = sim.bodies(forge, "ann/config", 3)
        assert body.startswith("second plan")
        assert len(sim.statuses(forge, "ann/config", SHA)) == 2
        assert sim.tokens[forge] not in done.stdout + done.stderr


@pytest.mark.parametrize("name", ["github-actions.yml", "gitea-actions.yml"])
def test_workflows_install_the_release_wheel_not_a_name_on_the_package_index(name: str) -> None:
    """No `pip install phoenix-gitops` from the index (no such package is ours): the wheel of this version."""
    workflow = yaml.safe_load((ROOT / "deploy" / "ci" / name).read_text())
    version = next(line.split('"')[1] for line in (ROOT / "pyproject.toml").read_text().splitlines()
                   if line.startswith("version = "))
    package = workflow["env"]["PHOENIX_GITOPS_PACKAGE"]
    assert package == f"./ci/phoenix_gitops-{version}-py3-none-any.whl"
    install = next(step["run"] for step in workflow["jobs"]["plan"]["steps"] if step.get("name") == "Install")
    assert 'pip install "$PHOENIX_GITOPS_PACKAGE"' in install and 'test -f "$PHOENIX_GITOPS_PACKAGE"' in install
