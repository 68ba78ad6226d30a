"""Post-apply checks: running guests and health checks, on loopback only."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops.config.validation import validate_directory
from gitops.controller import checks
from gitops.planner.live import LiveGuest, LiveState
from tests.controller.support import small_estate


def estate_with(tmp_path: Path, health: list[dict[str, object]]):  # type: ignore[no-untyped-def]
    for name, text in small_estate(health_checks=health).items():
        (tmp_path / name).write_text(text)
    estate, report = validate_directory(tmp_path)
    assert report.valid, report.to_dict()
    return estate


def live(status: str = "running") -> LiveState:
    state = LiveState(node="pve1")
    state.guests[900] = LiveGuest("lxc", 900, "pve1", template=True)
    state.guests[101] = LiveGuest("lxc", 101, "pve1", status=status)
    return state


@pytest.fixture
def http_server() -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/ok" else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_stopped_guest_fails_and_templates_are_skipped(tmp_path: Path) -> None:
    report = checks.run_checks(estate_with(tmp_path, []), live("stopped"))
    assert [(r.target, r.ok) for r in report.results] == [("lxc/101", False)]
    assert "lxc/101 running: stopped" in report.summary()


def test_real_tcp_and_http_checks_on_loopback(tmp_path: Path, http_server: int) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    health = [
        {"type": "tcp", "host": "127.0.0.1", "port": http_server},
        {"type": "http", "url": f"http://127.0.0.1:{http_server}/ok"},
        {"type": "http", "url": f"http://127.0.0.1:{http_server}/bad", "retries": 2},
        {"type": "tcp", "host": "127.0.0.1", "port": dead_port, "retries": 1, "timeout_s": 1},
    ]
    sleeps: list[float] = []
    report = checks.run_checks(estate_with(tmp_path, health), live(), sleep=sleeps.append)
    assert [r.ok for r in report.results] == [True, True, True, False, False]
    assert "status 503, expected 200" in report.results[3].detail
    assert sleeps == [checks.RETRY_PAUSE_S]


def test_a_check_without_a_host_on_a_dhcp_guest_fails_without_dialling(tmp_path: Path) -> None:
    dialled: list[str] = []
    report = checks.run_checks(estate_with(tmp_path, [{"type": "tcp", "port": 22}]), live(),
                               dial=lambda c, h: dialled.append(h))  # type: ignore[func-returns-value]
    assert not report.ok and dialled == []
    assert "no host" in report.failures[0].detail
