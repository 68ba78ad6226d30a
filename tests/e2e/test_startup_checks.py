"""`serve` runs `phoenix-gitops check`'s checks at start and logs one line per system."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.controller.support import GitRemote, wait_for
from tests.e2e.conftest import Controller


def test_serve_logs_the_checks_at_start(controller: Callable[..., Controller], remote: GitRemote) -> None:
    remote.commit({"README": "x\n"}, "first")
    ctl = controller(remote, PHOENIX_WEBHOOK_SECRET="hook-secret").start()
    wait_for(lambda: "check: portainer" in ctl.logs(), 30, 0.2, what="the start-up checks in the log")
    logs = ctl.logs()
    for system in ("settings", "database", "proxmox", "git"):
        assert f"check: {system:<10} ok" in logs, logs
    assert "check: portainer  skipped" in logs
    assert f"listening on http://127.0.0.1:{ctl.port}" in logs


def test_serve_warns_about_a_variable_no_setting_reads(controller: Callable[..., Controller],
                                                       remote: GitRemote) -> None:
    remote.commit({"README": "x\n"}, "first")
    ctl = controller(remote, PHOENIX_WEBHOOK_SECRET="hook-secret", PHOENIX_POLL_INTERVALL="5").start()
    assert "warning: PHOENIX_POLL_INTERVALL is not a setting (did you mean PHOENIX_POLL_INTERVAL?)" in ctl.logs()


def test_serve_refuses_to_be_one_of_several_replicas_on_sqlite(controller: Callable[..., Controller],
                                                               remote: GitRemote, tmp_path: Path) -> None:
    ctl = controller(remote, PHOENIX_REPLICAS="2")
    done = subprocess.run([sys.executable, "-m", "gitops", "serve", "--port", "1"], env=ctl.env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "error: PHOENIX_REPLICAS=2 needs PostgreSQL (PHOENIX_DATABASE_URL)" in done.stderr
    assert not (ctl.root / "data" / "phoenix.db").exists()  # refused before opening a ledger


def test_serve_on_a_port_in_use_says_so_before_anything_starts(controller: Callable[..., Controller],
                                                               remote: GitRemote) -> None:
    ctl = controller(remote, PHOENIX_WEBHOOK_SECRET="hook-secret")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "gitops", "serve", "--port", str(port)], env=ctl.env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"error: cannot listen on 127.0.0.1:{port}: in use" in done.stderr
    assert not (ctl.root / "data" / "phoenix.db").exists()  # refused before the ledger or the loop
