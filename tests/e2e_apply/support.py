"""Helpers for applying configs to the simulated node through the real command line (in-process)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gitops.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs-example"
UPSTREAM = ROOT / "tests" / "data" / "phoenix-upstream"
SECRETS = {
    "portainer_admin_password": "example-admin-pass",
    "portainer_api_key": "ptr_examplekey",
    "vm_default_password": "hunter2hunter2",
    "qdrant_api_key": "qdrant-example",
    "webapp_db_password_prod": "prod-pass",
    "webapp_db_password_staging": "staging-pass",
}


@dataclass
class Cli:
    """Runs `phoenix-gitops` in-process against the `pve` fixture's simulated node."""

    env: dict[str, str]
    runner: CliRunner

    def __call__(self, *args: str) -> Any:
        return self.runner.invoke(app, list(args), env=self.env, catch_exceptions=False)

    def plan_json(self, directory: Path) -> dict[str, Any]:
        result = self("plan", str(directory), "--format", "json")
        assert result.exit_code in (0, 1), result.output
        return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def cli(pve: Any, pve_cafile: str, tmp_path: Path) -> Cli:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name, value in SECRETS.items():
        (secrets / name).write_text(value + "\n")
    env = {
        "PHOENIX_PVE_HOST": pve.address,
        "PHOENIX_PVE_USER": "root@pam",
        "PHOENIX_PVE_PASSWORD": pve.password,
        "PHOENIX_PVE_VERIFY_SSL": pve_cafile,
        "PHOENIX_SECRETS_DIR": str(secrets),
        "PHOENIX_STATE_DIR": str(tmp_path / "state"),
        "PHOENIX_BOOT_DELAYS": "false",
        "COLUMNS": "200",
    }
    return Cli(env, CliRunner())


@pytest.fixture
def example(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(EXAMPLE, target)
    return target


def edit(directory: Path, file: str, change: Callable[[Any], None]) -> None:
    """Load one config file, let `change` edit the data in place, write it back."""
    path = directory / file
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


@pytest.fixture
def converged(cli: Cli, example: Path) -> Iterator[Path]:
    result = cli("apply", str(example), "--yes")
    assert result.exit_code == 0, result.output
    yield example
