"""Runs through the API and `phoenix-gitops history`: a drift correction is visible beside its revision."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from gitops.api.app import create_app
from gitops.cli.main import app as cli_app
from gitops.settings import Settings
from gitops.store import Store, open_store
from tests.api.test_app import FakeController

SHA = "d" * 40


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'phoenix.db'}")
    opened.record_revision(SHA, "Ann <ann@example.org>", "bigger web")
    run = opened.start_run(SHA, "apply", "poll", plan={"actions": []})
    opened.finish_run(run.id, "applied", result={"apply": {"ok": True, "counts": {"ok": 2}}})
    opened.set_status(SHA, "applied", state={"applied_revision": SHA}, previous_sha="e" * 40,
                      snapshot=f"phx-{SHA[:12]}")
    heal = opened.start_run(SHA, "self-heal", "drift")
    opened.finish_run(heal.id, "applied", result={"drift": ["lxc/101"], "apply": {"ok": True, "counts": {"ok": 1}}})
    blocked = opened.start_run(SHA, "self-heal", "drift")
    opened.finish_run(blocked.id, "not-corrected", result={"drift": ["lxc/102"]},
                      error="the plan has errors: lxc/102: secret 'x' is not set")
    yield opened
    opened.close()


def test_runs_are_listed_and_shown_with_their_revision(store: Store, serve_app) -> None:  # type: ignore[no-untyped-def]
    with serve_app(create_app(store, FakeController(), Settings())) as api:
        runs = api.get("/api/v1/runs").json()["runs"]
        assert [(r["kind"], r["status"]) for r in runs] == [
            ("self-heal", "not-corrected"), ("self-heal", "applied"), ("apply", "applied")]
        assert runs[1]["drift"] == ["lxc/101"] and runs[1]["counts"] == {"ok": 1}
        heals = api.get("/api/v1/runs?kind=self-heal").json()["runs"]
        assert len(heals) == 2
        assert api.get("/api/v1/runs?kind=nonsense").status_code == 422
        detail = api.get(f"/api/v1/revisions/{SHA[:8]}").json()
        assert [r["kind"] for r in detail["runs"]] == ["self-heal", "self-heal", "apply"]
        assert detail["previous_revision"] == "e" * 40 and detail["snapshot"] == f"phx-{SHA[:12]}"
        assert detail["runs"][2]["plan"]["actions"] == []  # a typed plan: every field, defaults for the rest
        assert detail["runs"][2]["plan"]["errors"] == [] and detail["runs"][2]["result"]["apply"]["counts"] == {"ok": 2}


def test_history_shows_drift_corrections_under_their_revision(store: Store, serve_app) -> None:  # type: ignore[no-untyped-def]
    client: httpx.Client = serve_app(create_app(store, FakeController(), Settings()))
    result = CliRunner().invoke(cli_app, ["history", "--api", str(client.base_url)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(SHA[:12]) and "applied" in lines[0]
    assert "self-heal" in lines[1] and "not-corrected" in lines[1] and "lxc/102" in lines[1]
    assert "self-heal" in lines[2] and "applied" in lines[2] and "lxc/101" in lines[2]


def test_the_dashboard_lists_the_runs(store: Store, serve_app) -> None:  # type: ignore[no-untyped-def]
    with serve_app(create_app(store, FakeController(), Settings())) as api:
        page = api.get("/").text
    runs = page.split("<table id='runs' tabindex='0'>", 1)[1].split("</table>", 1)[0]
    assert runs.count("<tr>") == 4  # the header and three runs
    assert "self-heal" in runs and "not-corrected" in runs and "lxc/102" in runs
    assert "secret &#39;x&#39; is not set" in runs  # escaped (by the template)


def test_the_scripts_run_in_guests_are_listed_by_the_cli_and_the_dashboard(store: Store, serve_app) -> None:  # type: ignore[no-untyped-def]
    from gitops.store.records import StepRecord

    [run] = store.list_runs(kind="apply")
    store.record_steps(run.id, [
        StepRecord("lxc/101", "feature:base_setup", "a" * 64, "ok", "lxc_setup/base.sh", 0, "done", revision=SHA),
        StepRecord("vm/1001", "feature:docker", "b" * 64, "failed", "vm_features/docker.sh", 7, "no <disk>",
                   revision=SHA)])
    client: httpx.Client = serve_app(create_app(store, FakeController(), Settings()))
    listed = CliRunner().invoke(cli_app, ["provisioning", "--api", str(client.base_url)])
    assert listed.exit_code == 0, listed.output
    assert [line.split()[1:5] for line in listed.output.splitlines()] == [
        ["vm/1001", "failed", "feature:docker", "vm_features/docker.sh"],
        ["lxc/101", "ok", "feature:base_setup", "lxc_setup/base.sh"]]
    one = CliRunner().invoke(cli_app, ["provisioning", "--target", "lxc/101", "--api", str(client.base_url)])
    assert [line.split()[1] for line in one.output.splitlines()] == ["lxc/101"]
    page = client.get("/").text
    table = page.split("<table id='provisioning' tabindex='0'>", 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 3 and "feature:docker" in table and "failed (exit 7)" in table
