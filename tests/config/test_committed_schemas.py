"""The JSON Schemas committed in `configs-example/schemas/` are generated from the models: CI fails when
they differ (regenerate them with `phoenix-gitops schema --out configs-example/schemas`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gitops.config.schema import MODELS, json_schema, schema_name

ROOT = Path(__file__).parents[2]
COMMITTED = ROOT / "configs-example" / "schemas"
CLI = str(Path(sys.executable).with_name("phoenix-gitops"))
FIX = "regenerate them: phoenix-gitops schema --out configs-example/schemas"


@pytest.mark.parametrize("config_file", sorted(MODELS))
def test_the_committed_schema_is_the_generated_one(config_file: str) -> None:
    committed = json.loads((COMMITTED / schema_name(config_file)).read_text(encoding="utf-8"))
    assert committed == json_schema(config_file), f"{schema_name(config_file)} is stale; {FIX}"


def test_the_cli_writes_exactly_the_committed_files(tmp_path: Path) -> None:
    done = subprocess.run([CLI, "schema", "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in COMMITTED.glob("*.schema.json"))
    for name in written:
        assert (tmp_path / name).read_bytes() == (COMMITTED / name).read_bytes(), f"{name} differs; {FIX}"


def test_the_committed_schemas_know_the_newer_blocks() -> None:
    hypervisor = json.loads((COMMITTED / "phoenix_hypervisor_config.schema.json").read_text(encoding="utf-8"))
    properties = hypervisor["properties"]
    assert {"access", "network", "firewall"} <= set(properties)
