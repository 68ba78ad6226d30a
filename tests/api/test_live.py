"""The live event stream (`GET /api/v1/live`) over a real ledger and real HTTP: ledger events arrive as they
are recorded, a reconnect resumes after `Last-Event-ID`, state changes without an event are told, a slow
body guard does not cut the stream, and reads need the read token like every other read."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from gitops.api.app import create_app
from gitops.settings import Settings
from gitops.store import Store, open_store
from tests.api.test_app import FakeController

READ_TOKEN = "read-t0ken-0123456789"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'phoenix.db'}")
    yield opened
    opened.close()


def messages(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The server-sent events of a streamed response, as {"id", "event", "data"} (comments skipped)."""
    current: dict[str, Any] = {}
    for line in response.iter_lines():
        if not line:
            if "event" in current:
                yield current
            current = {}
        elif line.startswith("id: "):
            current["id"] = int(line[4:])
        elif line.startswith("event: "):
            current["event"] = line[7:]
        elif line.startswith("data: "):
            current["data"] = json.loads(line[6:])


@contextmanager
def stream(client: httpx.Client, path: str = "/api/v1/live", **headers: str) -> Iterator[Iterator[dict[str, Any]]]:
    with client.stream("GET", path, headers=headers, timeout=httpx.Timeout(10, read=10)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield messages(response)


def later(delay: float, action: Any) -> None:
    threading.Timer(delay, action).start()


def test_events_arrive_as_they_are_recorded(store: Store, serve_app) -> None:  # type: ignore[no-untyped-def]
    store.add_event("applied", "before the page opened")
    client = serve_app(create_app(store, FakeController(), Settings()))
    with stream(client) as incoming:
        hello = next(incoming)
        assert hello["event"] == "hello" and hello["data"]["last"] == store.latest_event_id()
        started = time.monotonic()
        later(0.3, lambda: store.add_event("revision", "a new commit", revision=None))
        event = next(incoming)
        took = time.monotonic() - started - 0.3
    assert (event["event"], event["data"]["kind"], event["data"]["message"]) == ("ledger", "revision",
                                                                                 "a new commit")
    assert event["id"] == event["data"]["id"] == store.latest_event_id()
    assert took < 1.5  # written through this process's store: told at once, not at the next sweep


def test_a_reconnect_resumes_after_the_last_event_id(store: Store, serve_app) -> None:  # type: ignore[no-untyped-def]
    first = store.add_event("revision", "one")
    store.add_event("applied", "two")
    store.add_event("drift", "three", level="warning")
    client = serve_app(create_app(store, FakeController(), Settings()))
    with stream(client, **{"Last-Event-ID": str(first.id)}) as incoming:
        replayed = [next(incoming) for _ in range(3)]
    assert [m["data"]["message"] for m in replayed[:2]] == ["two", "three"]
    assert [m["id"] for m in replayed[:2]] == [first.id + 1, first.id + 2]
    assert replayed[2]["event"] == "hello" and replayed[2]["data"]["last"] == first.id + 2
    # the page's first connection starts after the newest event it was rendered with (?after=)
    with stream(client, f"/api/v1/live?after={first.id + 1}") as incoming:
        assert next(incoming)["data"]["message"] == "three"
    # an unreadable resume point is "from now", never an error
    with stream(client, **{"Last-Event-ID": "garbage"}) as incoming:
        assert next(incoming)["event"] == "hello"


def test_a_state_change_without_an_event_is_told(store: Store, serve_app) -> None:  # type: ignore[no-untyped-def]
    client = serve_app(create_app(store, FakeController(), Settings()))
    with stream(client) as incoming:
        assert next(incoming)["event"] == "hello"
        later(0.2, lambda: store.update_state(last_poll_at=None, leader_heartbeat_at=None))  # not news
        later(0.6, lambda: store.update_state(phase="applying"))
        message = next(incoming)
    assert message["event"] == "state" and message["data"]["phase"] == "applying" and "id" not in message


def test_the_body_read_timeout_does_not_cut_the_stream(store: Store, serve_app) -> None:  # type: ignore[no-untyped-def]
    client = serve_app(create_app(store, FakeController(), Settings(api_read_timeout=0.5)))
    with stream(client) as incoming:
        assert next(incoming)["event"] == "hello"
        later(1.5, lambda: store.add_event("applied", "after three read timeouts"))
        assert next(incoming)["data"]["message"] == "after three read timeouts"


def test_the_stream_is_a_read_and_needs_the_read_token(store: Store, serve_app) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(api_read_token=SecretStr(READ_TOKEN), api_token=SecretStr("w" * 24))
    client = serve_app(create_app(store, FakeController(), settings))
    assert client.get("/api/v1/live").status_code == 401
    with stream(client, Authorization=f"Bearer {READ_TOKEN}") as incoming:
        assert next(incoming)["event"] == "hello"


def test_many_listeners_share_one_reader(store: Store, serve_app) -> None:  # type: ignore[no-untyped-def]
    app = create_app(store, FakeController(), Settings())
    client = serve_app(app)
    streams = [stream(client) for _ in range(20)]
    feeds = [s.__enter__() for s in streams]
    try:
        for incoming in feeds:
            assert next(incoming)["event"] == "hello"
        reads = app.state.live.reads
        store.add_event("applied", "for everyone")
        assert all(next(incoming)["data"]["message"] == "for everyone" for incoming in feeds)
        assert app.state.live.reads - reads <= 2  # one read of the ledger for twenty listeners
    finally:
        for s in streams:
            s.__exit__(None, None, None)


def test_a_server_stopping_cuts_the_streams_at_once(store: Store) -> None:
    """An open event stream (a dashboard in a browser) does not hold `serve`'s shutdown, nor the controller's
    stop after it, for the graceful timeout: the stream is cut as if its client had left."""
    import uvicorn

    from gitops.api import serving

    settings = Settings()
    server = uvicorn.Server(serving.server_config(create_app(store, FakeController(), settings), settings,
                                                  "127.0.0.1", 0, lifespan="off", timeout_graceful_shutdown=20))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client, stream(client) as incoming:
        assert next(incoming)["event"] == "hello"
        started = time.monotonic()
        server.should_exit = True
        thread.join(30)
        took = time.monotonic() - started
        with pytest.raises(httpx.HTTPError):  # cut mid-body, with the server
            list(incoming)
    assert not thread.is_alive() and took < 5.0  # not the 20 s of the graceful timeout
