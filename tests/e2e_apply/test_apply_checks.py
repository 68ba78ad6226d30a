"""`phoenix-gitops apply` runs the controller's post-apply checks (`Convergence` verify): every guest that
should run is running and each health check passes, or the apply fails naming guest and check."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e_apply.support import Cli, edit


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(autouse=True)
def loopback_allowed(cli: Cli) -> None:
    """These checks dial a service on loopback: the operator allows it (the default policy refuses it)."""
    cli.env["PHOENIX_POLICY__URL_ALLOW_PRIVATE"] = "true"


def _check_and_change(directory: Path, port: int, memory: int) -> None:
    def change(data: dict) -> None:  # type: ignore[type-arg]
        ct = data["lxc_configs"]["102"]
        ct["memory_mb"] = memory
        ct["health_checks"] = [{"type": "tcp", "host": "127.0.0.1", "port": port, "retries": 1, "timeout_s": 2}]
    edit(directory, "phoenix_lxc_configs.json", change)


def test_a_failing_health_check_fails_the_apply(cli: Cli, converged: Path) -> None:
    port = _closed_port()
    _check_and_change(converged, port, 1024)
    result = cli("apply", str(converged), "--yes")
    assert result.exit_code == 1, result.output
    assert "post-apply checks failed" in result.output
    assert f"lxc/102 tcp 127.0.0.1:{port}" in result.output


def test_passing_checks_converge(cli: Cli, converged: Path, listening: int) -> None:
    _check_and_change(converged, listening, 1024)
    result = cli("apply", str(converged), "--yes")
    assert result.exit_code == 0, result.output
    assert "Converged" in result.output



def test_a_loopback_check_is_refused_by_the_default_policy(cli: Cli, converged: Path, listening: int) -> None:
    del cli.env["PHOENIX_POLICY__URL_ALLOW_PRIVATE"]
    _check_and_change(converged, listening, 1024)
    result = cli("apply", str(converged), "--yes")
    assert result.exit_code == 1
    assert "policy-url" in result.output and "url_allow_private" in result.output
