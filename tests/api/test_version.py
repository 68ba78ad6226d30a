"""The running version is the installed package's, in `--version`, `/api/v1/status`, OpenAPI and `/metrics`."""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

from typer.testing import CliRunner

from gitops.api.app import create_app
from gitops.cli.main import app
from gitops.settings import Settings
from gitops.store import open_store
from tests.api.test_app import FakeController

INSTALLED = metadata.version("phoenix-gitops")


def test_version_comes_from_package_metadata() -> None:
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == INSTALLED


def test_cli_prints_the_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"phoenix-gitops {INSTALLED}"


def test_status_openapi_and_metrics_carry_the_version(tmp_path: Path, serve_app) -> None:  # type: ignore[no-untyped-def]
    with open_store(f"sqlite:///{tmp_path / 'phoenix.db'}") as store:
        api = serve_app(create_app(store, FakeController(), Settings()))  # type: ignore[arg-type]
        assert api.get("/api/v1/status").json()["version"] == INSTALLED
        assert api.get("/openapi.json").json()["info"]["version"] == INSTALLED
        metrics = api.get("/metrics").text
        expected = f'phoenix_build_info{{python="{platform.python_version()}",version="{INSTALLED}"}} 1.0'
        assert expected in metrics.splitlines()
