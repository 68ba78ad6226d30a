"""How `serve` and `demo` run the app under uvicorn: a connection cap, a read timeout for request heads,
and accept errors logged once a while instead of once per failed accept.

`listening(host, port)` binds the API's socket before anything else starts, so a port in use is a clear
error at once (uvicorn binds only after the app's start-up, when the controller would already be
running). `server_config(app, settings, host, port)` is the one uvicorn configuration; `ReadTimeoutH11`
closes a connection that has not finished sending its request head within `api_read_timeout` seconds (a
slow client holding connections open), which uvicorn does not do by itself. Bodies are timed by
`gitops.api.limits`. `RateLimitedLog` lets one record of a kind through per interval.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from gitops.settings import Settings

ACCEPT_ERROR_INTERVAL = 60.0  # seconds between two log records about failed accepts
BACKLOG = 2048  # uvicorn's default


def listening(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host`:`port` and listening (OSError when it cannot be: a port in use, an
    address this machine does not have), for `uvicorn.Server.run(sockets=...)`."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a restart reuses the port at once
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


class ReadTimeoutH11(H11Protocol):
    """h11 with a deadline on each request head: the connection closes when no request has begun
    within the read timeout of the connection opening or of the previous response ending."""

    read_timeout = 15.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def shutdown(self) -> None:
        """The server stops: a response still being streamed (the live event stream, `gitops.api.live`) is
        cut as if its client had left, so the shutdown (and the controller's stop, in the lifespan) does not
        wait for the graceful timeout; the browser reconnects to whoever serves next. A response not yet
        started, or done, ends as uvicorn ends it."""
        cycle = self.cycle
        if cycle is not None and cycle.response_started and not cycle.response_complete:
            self.transport.close()
            return
        super().shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        timer: asyncio.TimerHandle | None = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        timer: asyncio.TimerHandle | None = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
        waiting_after = self.cycle
        self._head_timer = self.loop.call_later(self.read_timeout, self._expire, waiting_after)

    def _expire(self, waiting_after: Any) -> None:
        if self.cycle is waiting_after and not self.transport.is_closing():
            self.transport.close()  # no new request head arrived in time


class RateLimitedLog(logging.Filter):
    """Lets through the first record whose message starts with one of `prefixes`, then at most one per
    `interval` seconds, saying how many were held back in between. Other records pass untouched."""

    def __init__(self, prefixes: tuple[str, ...], interval: float, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        kind = next((p for p in self.prefixes if message.startswith(p)), None)
        if kind is None:
            return True
        now = self.clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            self._held[kind] = self._held.get(kind, 0) + 1
            return False
        self._last[kind] = now
        held = self._held.pop(kind, 0)
        if held:
            record.msg = f"{message} ({held} more like it in the last {self.interval:g} s were not logged)"
            record.args = ()
        return True


ACCEPT_ERRORS = ("socket.accept() out of system resource", "Error on transport creation for incoming connection")


def install_accept_error_limit(interval: float = ACCEPT_ERROR_INTERVAL) -> RateLimitedLog:
    """Rate-limit asyncio's and uvicorn's records about failed accepts (a descriptor shortage repeats
    them thousands of times a second)."""
    limiter = RateLimitedLog(ACCEPT_ERRORS, interval)
    for name in ("asyncio", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RateLimitedLog) for f in logger.filters):
            logger.addFilter(limiter)
    return limiter


def server_config(app: Any, settings: Settings, host: str, port: int, **extra: Any) -> uvicorn.Config:
    """The uvicorn configuration of the controller's API."""
    protocol = type("SettingsReadTimeoutH11", (ReadTimeoutH11,), {"read_timeout": settings.api_read_timeout})
    install_accept_error_limit()
    return uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, http=protocol,
                          limit_concurrency=settings.api_max_connections, timeout_keep_alive=5,
                          h11_max_incomplete_event_size=64 * 1024, **extra)
