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
from gitops.settings import HostPolicy
from tests.controller.support import small_estate

LOOPBACK_ALLOWED = HostPolicy(url_allow_private=True, url_allow_http=True)  # these tests dial loopback


def estate_with(tmp_path: Path, health: list[dict[str, object]],  # type: ignore[no-untyped-def]
                policy: HostPolicy = LOOPBACK_ALLOWED):
    for name, text in small_estate(health_checks=health).items():
        (tmp_path / name).write_text(text)
    estate, report = validate_directory(tmp_path, policy)
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
    report = checks.run_checks(estate_with(tmp_path, health), live(), sleep=sleeps.append, policy=LOOPBACK_ALLOWED)
    assert [r.ok for r in report.results] == [True, True, True, False, False]
    assert "status 503, expected 200" in report.results[3].detail
    assert sleeps == [checks.RETRY_PAUSE_S]


def test_a_check_without_a_host_on_a_dhcp_guest_fails_without_dialling(tmp_path: Path) -> None:
    dialled: list[str] = []
    report = checks.run_checks(estate_with(tmp_path, [{"type": "tcp", "port": 22}]), live(),
                               dial=lambda c, h: dialled.append(h))  # type: ignore[func-returns-value]
    assert not report.ok and dialled == []
    assert "no host" in report.failures[0].detail


class Names:
    """A resolver for the tests: names to addresses, and the names asked."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError("Name or service not known")
        return [self.table[host]]


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "10.1.2.3", "::1"])
def test_a_name_resolving_inward_is_refused_when_the_check_runs(tmp_path: Path, http_server: int,
                                                                 address: str) -> None:
    health = [{"type": "tcp", "host": "svc.example.org", "port": http_server, "retries": 1},
              {"type": "http", "url": f"https://svc.example.org:{http_server}/ok", "retries": 1}]
    estate = estate_with(tmp_path, health, HostPolicy())  # a name passes validation
    names = Names({"svc.example.org": address})
    report = checks.run_checks(estate, live(), policy=HostPolicy(), resolve=names)
    refused = report.results[1:]
    assert [r.ok for r in refused] == [False, False]
    assert all(f"resolves to {address}" in r.detail and "url_allow_private" in r.detail for r in refused)
    assert names.asked == ["svc.example.org", "svc.example.org"]


def test_a_name_resolving_to_an_allowed_address_is_dialled_at_that_address(tmp_path: Path, http_server: int) -> None:
    health = [{"type": "tcp", "host": "svc.example.org", "port": http_server, "retries": 1},
              {"type": "http", "url": f"http://svc.example.org:{http_server}/ok", "retries": 1},
              {"type": "tcp", "host": "nowhere.example.org", "port": http_server, "retries": 1}]
    estate = estate_with(tmp_path, health)
    report = checks.run_checks(estate, live(), policy=LOOPBACK_ALLOWED,
                               resolve=Names({"svc.example.org": "127.0.0.1"}))
    assert [r.ok for r in report.results[1:]] == [True, True, False]
    assert "cannot resolve" in report.results[3].detail


def test_a_redirect_is_not_followed(tmp_path: Path) -> None:
    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = int(server.server_address[1])
        estate = estate_with(tmp_path, [{"type": "http", "url": f"http://127.0.0.1:{port}/", "retries": 1}])
        report = checks.run_checks(estate, live(), policy=LOOPBACK_ALLOWED)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert not report.results[1].ok and "status 302, expected 200" in report.results[1].detail
