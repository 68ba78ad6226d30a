"""Fixtures for the config tests: copies of the example and upstream estates, and a position reader.

- `example_dir`: a fresh copy of `configs-example/` in tmp_path (tests edit it freely).
- `upstream_dir`: the real upstream files (read-only; copy before editing).
- `text_at`: `text_at(directory, problem)` -> the file's text from the problem's line:column on, so a
  test can assert that the position lands on the right key (`startswith('"clone_from_ctid"')`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitops.config.estate import CONFIG_FILES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs-example"
UPSTREAM = ROOT / "tests" / "data" / "phoenix-upstream"  # byte-for-byte copies of upstream's files (README there)


def copy_estate(source: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in CONFIG_FILES:
        shutil.copyfile(source / name, target / name)
        (target / name).chmod(0o644)
    if (source / "stacks").is_dir():  # the compose files the example's stacks name
        shutil.copytree(source / "stacks", target / "stacks", dirs_exist_ok=True)
    return target


def read_at(directory: Path, file: str, line: int, column: int) -> str:
    """The text of `file` from 1-based line:column to the end of the file."""
    lines = (directory / file).read_text(encoding="utf-8").splitlines(keepends=True)
    assert 1 <= line <= len(lines), f"line {line} outside {file} ({len(lines)} lines)"
    assert 1 <= column <= len(lines[line - 1]), f"column {column} outside line {line} of {file}"
    return lines[line - 1][column - 1:] + "".join(lines[line:])


@pytest.fixture
def example_dir(tmp_path: Path) -> Path:
    return copy_estate(EXAMPLE, tmp_path / "estate")


@pytest.fixture(scope="session")
def upstream_dir() -> Path:
    if not (UPSTREAM / CONFIG_FILES[0]).is_file():
        pytest.skip(f"upstream files not found at {UPSTREAM}")
    return UPSTREAM


@pytest.fixture
def text_at() -> Callable[[Path, Any], str]:
    def at(directory: Path, problem: Any) -> str:
        line, column = (problem["line"], problem["column"]) if isinstance(problem, dict) else (
            problem.line, problem.column)
        file = problem["file"] if isinstance(problem, dict) else problem.file
        return read_at(directory, file, line, column)

    return at


@pytest.fixture
def edit_json() -> Callable[[Path, str, Callable[[Any], Any]], None]:
    """`edit_json(dir, file, fn)`: load the file, let `fn` change the data (or return new data), write it back."""

    def edit(directory: Path, file: str, fn: Callable[[Any], Any]) -> None:
        path = directory / file
        data = json.loads(path.read_text(encoding="utf-8"))
        result = fn(data)
        path.write_text(json.dumps(data if result is None else result, indent=4) + "\n", encoding="utf-8")

    return edit
