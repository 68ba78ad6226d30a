"""End-to-end fixtures: the controller as a process (`python -m gitops serve`) against the `pve` fake.

`controller(remote, **env)` starts a service on 127.0.0.1 (a free port) following `remote`, with its data
dir, secrets and token under tmp_path; `.api` is an httpx client with the token, `.kill()`, `.terminate()`,
`.restart()`. Every process started is killed at the end of the test, whatever happens.
`pg_url`: a fresh PostgreSQL database on 127.0.0.1:5432 (skips when none answers).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.controller.support import GitRemote, wait_for, write_secrets

TOKEN = "e2e-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Controller:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.api = httpx.Client(base_url=self.url, timeout=10, headers={"Authorization": f"Bearer {TOKEN}"})
        self.starts = 0

    def start(self, timeout: float = 30) -> Controller:
        self.starts += 1
        log = (self.root / f"serve-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gitops", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
        )
        log.close()
        wait_for(self._up, timeout, 0.1, what=f"the controller on port {self.port}")
        return self

    def _up(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the controller exited with {self.process.returncode}:\n{self.logs(tail=4000)}")
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def logs(self, tail: int | None = None) -> str:
        """What the controller logged (each start's log, whole: a line looked for may be the first of many;
        `tail`: only the last characters of each, for a failure's message)."""
        texts = (p.read_text(errors="replace") for p in sorted(self.root.glob("serve-*.log")))
        return "\n".join(t[-tail:] if tail else t for t in texts)

    def status(self) -> dict[str, Any]:
        return dict(self.api.get("/api/v1/status").json())

    def revision(self, sha: str) -> dict[str, Any]:
        answer = self.api.get(f"/api/v1/revisions/{sha}")
        return dict(answer.json()) if answer.status_code == 200 else {"status": "absent"}

    def wait_status(self, sha: str, status: str, timeout: float = 60) -> dict[str, Any]:
        try:
            return dict(wait_for(lambda: (r := self.revision(sha))["status"] == status and r, timeout, 0.2,
                                 what=f"{sha[:12]} {status}"))
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- controller log ---\n{self.logs(tail=4000)}") from None

    def terminate(self, timeout: float = 30) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def cli(self, *args: str, token: str | None = TOKEN) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in self.env.items() if k != "PHOENIX_API_TOKEN"}
        if token:
            env["PHOENIX_API_TOKEN"] = token
        return subprocess.run([sys.executable, "-m", "gitops", *args, "--api", self.url], env=env,
                              capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def controller(tmp_path: Path, pve, pve_cafile: str) -> Iterator[Callable[..., Controller]]:  # type: ignore[no-untyped-def]
    started: list[Controller] = []
    secrets_dir = write_secrets(tmp_path / "secrets")

    def make(remote: GitRemote, name: str = "a", **extra: str) -> Controller:
        root = tmp_path / f"controller-{name}"
        root.mkdir(exist_ok=True)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")},
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"),
            "PHOENIX_PVE_HOST": pve.address, "PHOENIX_PVE_USER": "root@pam", "PHOENIX_PVE_PASSWORD": pve.password,
            "PHOENIX_PVE_VERIFY_SSL": pve_cafile, "PHOENIX_PVE_TIMEOUT": "10",
            "PHOENIX_GIT_URL": remote.url, "PHOENIX_DATA_DIR": str(root / "data"),
            "PHOENIX_SECRETS_DIR": str(secrets_dir), "PHOENIX_API_TOKEN": TOKEN,
            "PHOENIX_POLL_INTERVAL": "0.5", "PHOENIX_DRIFT_INTERVAL": "3600", "PHOENIX_BOOT_DELAYS": "false",
            **extra,
        }
        ctl = Controller(root, env)
        started.append(ctl)
        return ctl

    yield make
    for ctl in started:
        ctl.kill()
        ctl.api.close()


@pytest.fixture
def remote(tmp_path: Path) -> GitRemote:
    return GitRemote(tmp_path, "config")


