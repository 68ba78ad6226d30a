"""Serve an app on 127.0.0.1 (a free port) with uvicorn in a thread; `serve_app(app)` -> httpx.Client.

Starlette's TestClient wants a package this project does not depend on, so the tests talk real HTTP.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI


@pytest.fixture
def serve_app() -> Iterator[Callable[[FastAPI], httpx.Client]]:
    running: list[tuple[uvicorn.Server, threading.Thread, httpx.Client]] = []

    def serve(app: FastAPI) -> httpx.Client:
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False,
                                               lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        running.append((server, thread, client))
        return client

    yield serve
    for server, thread, client in running:
        client.close()
        server.should_exit = True
        thread.join(10)
