"""The repository's own CI: one job on the lock (.ci/run), one on the newest allowed versions (.ci/newest)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_the_project_ci_runs_the_locked_and_the_newest_job() -> None:
    workflow = yaml.safe_load((ROOT / "deploy" / "ci" / "project-ci.yml").read_text())
    jobs = workflow["jobs"]
    assert "bash .ci/run" in jobs["locked"]["steps"][-1]["run"]
    assert "bash .ci/newest" in jobs["newest"]["steps"][-1]["run"]
    assert jobs["newest"]["continue-on-error"] is True and "locked" not in jobs["newest"].get("needs", [])
    assert workflow[True]["schedule"]  # YAML's `on`: daily, so a new release is noticed without a push


def test_run_installs_the_lock_and_newest_does_not() -> None:
    run = (ROOT / ".ci" / "run").read_text()
    newest = (ROOT / ".ci" / "newest").read_text()
    assert "-c requirements.lock" in run
    assert "requirements.lock" in newest and "-c requirements.lock" not in newest and "--upgrade" in newest
    for script in (run, newest):
        assert ". .ci/services" in script and "ensure_services" in script and "export CI=true" in script
