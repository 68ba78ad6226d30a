"""Resource limits of the API as served: bodies over the limit get 413 before they are read (every route),
slow clients are cut off, connections are capped, and failed accepts are logged once a while."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from gitops.api import serving
from gitops.api.app import create_app
from gitops.settings import Settings
from gitops.store import open_store
from tests.api.test_app import SECRET, TOKEN, FakeController

LIMIT = 4096


class Served:
    def __init__(self, server: uvicorn.Server, thread: threading.Thread, port: int, controller: FakeController,
                 app: object) -> None:
        self.server, self.thread, self.port, self.controller, self.app = server, thread, port, controller, app
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)

    def raw(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        return sock


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    running: list[Served] = []
    store = open_store(f"sqlite:///{tmp_path / 'phoenix.db'}")

    def start(**overrides: object) -> Served:
        settings = Settings(api_token=SecretStr(TOKEN), webhook_secret=SecretStr(SECRET),
                            api_max_body_bytes=LIMIT, **overrides)  # type: ignore[arg-type]
        controller = FakeController()
        app = create_app(store, controller, settings)  # type: ignore[arg-type]
        server = uvicorn.Server(serving.server_config(app, settings, "127.0.0.1", 0, lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.01)
        served = Served(server, thread, server.servers[0].sockets[0].getsockname()[1], controller, app)
        running.append(served)
        return served

    yield start
    for served in running:
        served.client.close()
        served.server.should_exit = True
        served.thread.join(10)
    store.close()


def _response_of(sock: socket.socket, timeout: float = 10) -> bytes:
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data and b'"}' in data:
                break
    except TimeoutError:
        pass
    return data


def test_every_route_refuses_a_large_body_before_reading_it(serve: Callable[..., Served]) -> None:
    api = serve()
    paths = api.app.openapi()["paths"]  # type: ignore[attr-defined]  # every route (routers are included, not copied)
    routes = [(m.upper(), path.replace("{provider}", "github").replace("{sha}", "a" * 40))
              for path, operations in paths.items() for m in operations]
    assert len(routes) >= 12
    for method, path in routes:
        # Declares 100 MB and sends none of it: only a server that does not read the body answers at once.
        sock = api.raw()
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n"
                     f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\r\n".encode())
        head = _response_of(sock, 5).split(b"\r\n", 1)[0]
        sock.close()
        assert head == b"HTTP/1.1 413 Request Entity Too Large", (method, path, head)
    assert api.controller.triggers == []


def test_a_chunked_body_is_refused_once_it_passes_the_limit(serve: Callable[..., Served]) -> None:
    api = serve()

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"[" * 1024

    got = api.client.post("/api/v1/webhooks/generic", content=chunks(), headers={"X-Signature": "sha256=00"})
    assert got.status_code == 413
    assert api.client.get("/healthz").status_code == 200


def test_a_body_under_the_limit_is_served(serve: Callable[..., Served]) -> None:
    api = serve()
    got = api.client.post("/api/v1/sync", json={"revision": None}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert got.status_code == 202


def test_a_slow_body_is_cut_off(serve: Callable[..., Served]) -> None:
    api = serve(api_read_timeout=0.5)
    sock = api.raw()
    sock.sendall(b"POST /api/v1/webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    started = time.monotonic()
    head = _response_of(sock).split(b"\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 408"), head
    assert time.monotonic() - started < 5
    sock.close()


def test_a_slow_request_head_is_cut_off(serve: Callable[..., Served]) -> None:
    api = serve(api_read_timeout=0.5)
    sock = api.raw()
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    started = time.monotonic()
    sock.settimeout(5)
    assert sock.recv(100) == b""  # closed by the server
    assert time.monotonic() - started < 4
    sock.close()


def test_connections_are_capped(serve: Callable[..., Served]) -> None:
    api = serve(api_max_connections=4)
    idle = [api.raw() for _ in range(4)]
    time.sleep(0.2)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{api.port}", timeout=5) as fresh:
            assert fresh.get("/healthz").status_code == 503
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.2)
    assert api.client.get("/healthz").status_code == 200


def test_a_flood_of_accept_errors_is_logged_once_a_while(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limiter = serving.RateLimitedLog(serving.ACCEPT_ERRORS, 60.0, clock=lambda: now[0])
    logger = logging.getLogger("test.accept")
    logger.addFilter(limiter)
    try:
        with caplog.at_level(logging.ERROR, logger="test.accept"):
            for _ in range(378_000 // 100):
                logger.error("socket.accept() out of system resource")
                now[0] += 0.001
            logger.error("something else entirely")
            now[0] += 61
            logger.error("socket.accept() out of system resource")
    finally:
        logger.removeFilter(limiter)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["socket.accept() out of system resource", "something else entirely",
                        "socket.accept() out of system resource (3779 more like it in the last 60 s were not logged)"]


def test_the_served_config_limits_accept_errors_on_asyncios_logger(serve: Callable[..., Served],
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    serve()
    limiters = [f for f in logging.getLogger("asyncio").filters if isinstance(f, serving.RateLimitedLog)]
    assert len(limiters) == 1
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        for _ in range(1000):
            logging.getLogger("asyncio").error("socket.accept() out of system resource\nsocket: <socket>")
    assert len([r for r in caplog.records if r.name == "asyncio"]) <= 1
