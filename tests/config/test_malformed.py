"""Config files built to break the parser: deep nesting and huge integers are clear problems, not tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gitops.config.validation import validate_directory

LXC = "phoenix_lxc_configs.json"
CLI = str(Path(sys.executable).with_name("phoenix-gitops"))

HOSTILE = {  # case: (field of CT 120, raw JSON text of its value, code)
    "deep nesting": ("description", "[" * 100_000 + "]" * 100_000, "json-too-deep"),
    "deep nesting in a free-form field": ("vllm_engine_config",
                                          '{"ModelConfig": {"a": ' + "[" * 500 + "]" * 500 + "}}", "json-too-deep"),
    "5,000-digit integer": ("memory_mb", "9" * 5000, "json-number-too-long"),
}


def put_raw(directory: Path, field: str, raw: str) -> None:
    """Set CT 120's `field` to the raw JSON text `raw` (which json.dumps could not write)."""
    path = directory / LXC
    data = json.loads(path.read_text(encoding="utf-8"))
    data["lxc_configs"]["120"][field] = "@@RAW@@"
    path.write_text(json.dumps(data, indent=2).replace('"@@RAW@@"', raw), encoding="utf-8")


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_file_is_a_clear_problem(example_dir: Path, case: str) -> None:
    field, raw, code = HOSTILE[case]
    put_raw(example_dir, field, raw)
    _, report = validate_directory(example_dir)
    assert not report.valid
    assert [(p.file, p.code) for p in report.errors] == [(LXC, code)]
    assert len(report.errors[0].message) < 300


def test_the_command_line_says_so_without_a_traceback(example_dir: Path) -> None:
    put_raw(example_dir, "description", HOSTILE["deep nesting"][1])
    done = subprocess.run([CLI, "validate", str(example_dir)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert "[json-too-deep]" in done.stdout


def test_a_large_number_inside_the_limits_of_the_parser_is_a_bound_error(example_dir: Path) -> None:
    put_raw(example_dir, "memory_mb", "1" + "0" * 30)
    _, report = validate_directory(example_dir)
    assert [(p.code, p.to_dict()["path"]) for p in report.errors] == [("invalid-value", "lxc_configs.120.memory_mb")]
