"""`phoenix-gitops demo` as a newcomer meets it: the banner on stdout, its "Try" lines run as printed in a
fresh shell (no virtualenv on PATH, no git identity), and a second demo on the same data folder is
refused before it touches anything of the running one."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.controller.support import wait_for
from tests.e2e.conftest import free_port

CLI = str(Path(sys.executable).with_name("phoenix-gitops"))


def fresh_env(home: Path) -> dict[str, str]:
    """A new user's shell: system PATH only, an empty home, no git identity, no PHOENIX_* settings."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(home / ".gitconfig")}


class Demo:
    def __init__(self, root: Path, data: Path, name: str, env: dict[str, str] | None = None,
                 port: int | None = None) -> None:
        self.port = port or free_port()
        self.out, self.err = root / f"{name}.out", root / f"{name}.err"
        env = {**fresh_env(root), "PHOENIX_DATA_DIR": str(data), **(env or {})}
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen([CLI, "demo", "--port", str(self.port)], env=env, stdout=out, stderr=err,
                                            cwd=root)

    def stdout(self) -> str:
        return self.out.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
def demos(tmp_path: Path) -> Iterator[list[Demo]]:
    started: list[Demo] = []
    yield started
    for demo in started:
        demo.stop()


def serving(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def try_lines(banner: str) -> list[str]:
    """The commands under "Try", continuation lines joined."""
    text = banner.split("Try, in another shell:\n", 1)[1].replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip()]


def shell(line: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", line], env=fresh_env(home), cwd=home, capture_output=True, text=True,
                          timeout=120)


def test_the_demo_banner_and_its_try_lines_work_in_a_fresh_shell(tmp_path: Path, demos: list[Demo]) -> None:
    demo = Demo(tmp_path, tmp_path / "data", "first")
    demos.append(demo)
    wait_for(lambda: "Try, in another shell:" in demo.stdout() and demo.stdout().rstrip().endswith("resume" + (
        "" if demo.port == 8080 else f" --api http://127.0.0.1:{demo.port}")), 90, 0.2, what="the banner on stdout")
    lines = try_lines(demo.stdout())
    export, memory, _stack, status, resources, history, rollback = lines
    token = (tmp_path / "data" / "api-token").read_text().strip()
    assert export.startswith("export PHOENIX_API_TOKEN=$(cat ")
    for line in (status, resources, history, rollback):
        assert line.startswith(CLI + " "), line  # the full path: a fresh shell has no virtualenv on PATH
    prefix = f"export PHOENIX_API_TOKEN=$(cat {tmp_path / 'data' / 'api-token'}); "

    def applied() -> bool:
        done = shell(prefix + status, tmp_path)
        return done.returncode == 0 and "phase     idle" in done.stdout and "applied   " in done.stdout \
            and "applied   -" not in done.stdout
    wait_for(applied, 120, 0.5, what="the example estate applied")

    committed = shell(prefix + memory, tmp_path)
    assert committed.returncode == 0, committed.stderr  # git has no identity here: the demo repo brings its own
    head = subprocess.run(["git", "-C", str(tmp_path / "data" / "config-repo"), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    wait_for(lambda: re.search(rf"^{head[:12]}\s+applied", shell(prefix + history, tmp_path).stdout, re.M),
             120, 0.5, what="the commit of the Try lines applied")
    assert shell(prefix + resources, tmp_path).returncode == 0
    rolled = shell(prefix + rollback, tmp_path)
    assert rolled.returncode == 0 and "queued" in rolled.stdout, rolled.stdout + rolled.stderr
    assert token not in demo.err.read_text(errors="replace")  # the token is shown once, on stdout


def settled_files(data: Path) -> list[Path]:
    """The data folder's files a second demo must leave alone. Not what the running demo changes as it
    works: its git repositories (the mirror too) and config checkouts, which it makes and removes
    meanwhile (a walk into them can meet a folder that is gone), nor its ledger."""
    found = []
    for folder, subfolders, files in os.walk(data):  # os.walk skips a folder that vanished under it
        subfolders[:] = [d for d in subfolders if not d.endswith(".git") and d != "checkouts"]  # .git, mirror.git
        found += [Path(folder) / f for f in files if Path(f).suffix not in (".db", ".db-wal", ".db-shm", ".lock")]
    return sorted(found)


def test_a_second_demo_on_the_same_folder_is_refused_untouched(tmp_path: Path, demos: list[Demo]) -> None:
    first = Demo(tmp_path, tmp_path / "data", "first")
    demos.append(first)
    wait_for(lambda: "Try, in another shell:" in first.stdout(), 90, 0.2, what="the first demo's banner")
    wait_for(lambda: serving(first.port), 60, 0.2, what="the first demo serving")
    data = tmp_path / "data"
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in settled_files(data)}
    mtimes = {p: p.stat().st_mtime_ns for p in before}

    second = Demo(tmp_path, data, "second")
    demos.append(second)
    assert second.process.wait(60) == 1
    message = second.err.read_text()
    assert f"another demo is running with the data folder {data} (pid {first.process.pid})" in message
    assert "PHOENIX_DATA_DIR" in message
    time.sleep(0.5)
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in before} == before  # PKI, token, secrets, repo
    assert {p: p.stat().st_mtime_ns for p in before} == mtimes
    assert first.process.poll() is None
    assert httpx.get(f"http://127.0.0.1:{first.port}/api/v1/status", timeout=5).status_code == 200

    first.stop()  # the lock goes with the demo: the folder is free again
    third = Demo(tmp_path, data, "third")
    demos.append(third)
    wait_for(lambda: "Try, in another shell:" in third.stdout(), 90, 0.2, what="a new demo on the freed folder")
    assert os.path.exists(data / "demo.lock")


def test_a_demo_on_a_port_in_use_says_so_and_starts_nothing(tmp_path: Path, demos: list[Demo]) -> None:
    with socket.socket() as taken:  # another program on the port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        demo = Demo(tmp_path, tmp_path / "data", "busy", port=port)
        demos.append(demo)
        assert demo.process.wait(60) == 2
    message = demo.err.read_text()
    assert f"error: cannot listen on 127.0.0.1:{port}: in use (by another controller, demo or program)" in message
    assert "--port" in message
    assert "Try, in another shell" not in demo.stdout()  # no banner for a demo that never served
    assert not (tmp_path / "data").exists()  # no simulator, repository or ledger made
