"""Stacks that name a Git repository: Portainer's repository routes, with a real repository served on loopback
over http (git's dumb protocol), as the host policy lets an operator allow."""

from __future__ import annotations

import functools
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gitops.demo.portainer import SimulatedPortainer
from tests.portainer.conftest import RecordingClient
from tests.portainer.support import edit_json, example_copy, failures, plan, run, secrets

COMPOSE = "services:\n  api:\n    image: ghcr.io/example/api:{version}\n"


def git(*args: str, cwd: Path) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def app_repo(tmp_path: Path) -> Iterator[str]:
    """The repository's URL on loopback."""
    served = made_repo(tmp_path)
    git("update-server-info", cwd=served)
    handler = functools.partial(QuietFiles, directory=str(served / ".git"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def made_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "app"
    repo.mkdir()
    git("init", "--quiet", "--initial-branch", "main", cwd=repo)
    (repo / "deploy").mkdir()
    (repo / "deploy" / "compose.yml").write_text(COMPOSE.format(version="1.0"))
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "-m", "v1", cwd=repo)
    git("branch", "release-2", cwd=repo)
    (repo / "deploy" / "compose.yml").write_text(COMPOSE.format(version="2.0"))
    git("commit", "--quiet", "-am", "v2", "--allow-empty", cwd=repo)
    git("checkout", "--quiet", "release-2", cwd=repo)
    (repo / "deploy" / "compose.yml").write_text(COMPOSE.format(version="2.0-rc"))
    git("commit", "--quiet", "-am", "release 2", cwd=repo)
    git("checkout", "--quiet", "main", cwd=repo)
    return repo


def git_webapp(url: str, ref: str | None = None) -> Any:
    def change(data: Any) -> None:
        webapp = data["docker_stacks"]["webapp"]
        webapp["git_url"] = url
        webapp["compose_file_path"] = "deploy/compose.yml"
        if ref:
            webapp["git_ref"] = ref
        for env in webapp["environments"].values():
            env["files"] = []
    return change


def test_a_git_stack_is_deployed_and_redeployed_from_its_repository(
        portainer: SimulatedPortainer, client: RecordingClient, tmp_path: Path, app_repo: str) -> None:
    config = example_copy(tmp_path)
    edit_json(config / "phoenix_stacks_config.json", git_webapp(app_repo))
    resolver = secrets()
    first = plan(client, config, resolver)
    deploy = next(a for a in first.actions if a.target == "stack/webapp@docker-agent")
    assert deploy.calls[0].path == "stacks/create/standalone/repository"
    assert failures(run(client, first, resolver)) == {}
    webapp = portainer.model.stack_named("webapp-staging")
    assert webapp is not None and webapp.git is not None
    assert webapp.git["URL"] == app_repo and webapp.git["ReferenceName"] == "refs/heads/main"
    assert "api:2.0" in webapp.file and webapp.git["ConfigHash"] == git("rev-parse", "HEAD", cwd=tmp_path / "app")
    assert not plan(client, config, resolver).actions

    # Another reference: a Git redeploy of that one stack.
    edit_json(config / "phoenix_stacks_config.json", git_webapp(app_repo, "refs/heads/release-2"))
    second = plan(client, config, resolver)
    assert [(a.target, [c.path for c in a.calls]) for a in second.actions] == [
        ("stack/webapp@docker-agent", [f"stacks/{webapp.id}/git/redeploy"])]
    assert failures(run(client, second, resolver)) == {}
    assert "api:2.0-rc" in webapp.file and webapp.git["ReferenceName"] == "refs/heads/release-2"
    assert not plan(client, config, resolver).actions


def test_a_stack_moving_to_git_is_replaced(portainer: SimulatedPortainer, client: RecordingClient, tmp_path: Path,
                                           app_repo: str) -> None:
    config = example_copy(tmp_path)
    resolver = secrets()
    assert failures(run(client, plan(client, config, resolver), resolver)) == {}
    edit_json(config / "phoenix_stacks_config.json", git_webapp(app_repo))
    moved = plan(client, config, resolver)
    assert [(a.target, [(c.method, c.path.split("/")[0]) for c in a.calls]) for a in moved.actions] == [
        ("stack/webapp@docker-agent", [("DELETE", "stacks"), ("POST", "stacks")])]
    assert failures(run(client, moved, resolver)) == {}
    webapp = portainer.model.stack_named("webapp-staging")
    assert webapp is not None and webapp.git is not None
    assert not plan(client, config, resolver).actions


def test_a_repository_that_cannot_be_cloned_fails_with_portainers_message(
        portainer: SimulatedPortainer, client: RecordingClient, tmp_path: Path) -> None:
    config = example_copy(tmp_path)
    edit_json(config / "phoenix_stacks_config.json", git_webapp(f"http://127.0.0.1:{closed_port()}/nowhere.git"))
    resolver = secrets()
    client.policy = type(client.policy)(attempts=1)
    failed = failures(run(client, plan(client, config, resolver), resolver))
    assert list(failed) == ["stack/webapp@docker-agent"]
    assert "500 Unable to clone git repository" in failed["stack/webapp@docker-agent"]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
