"""Under CI=true a skipped test is reported as failed, with the reason; locally it is a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_skipping_test(tmp_path: Path, ci: str) -> subprocess.CompletedProcess[str]:
    folder = tmp_path / "tests"
    folder.mkdir(exist_ok=True)
    (folder / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (folder / "test_skip.py").write_text(
        "import pytest\n\ndef test_needs_a_server():\n    pytest.skip('no server at 127.0.0.1:1')\n")
    env = {**os.environ, "CI": ci}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfs", str(folder)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)


def test_a_skip_fails_in_ci(tmp_path: Path) -> None:
    done = run_skipping_test(tmp_path, "true")
    assert done.returncode == 1, done.stdout
    assert "skipped in CI, where nothing may skip: Skipped: no server at 127.0.0.1:1" in done.stdout


def test_a_skip_says_why_locally(tmp_path: Path) -> None:
    done = run_skipping_test(tmp_path, "")
    assert done.returncode == 0, done.stdout
    assert "SKIPPED [1]" in done.stdout and "no server at 127.0.0.1:1" in done.stdout
