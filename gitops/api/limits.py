"""Limits on what a client may send: request bodies over a size are refused (413) before they are read,
and a body that trickles in slower than the read timeout is cut off (408). On every route.

`BodyLimits` is a plain ASGI middleware wrapped around the FastAPI app by `create_app`. A declared
`Content-Length` over the limit is answered at once, without reading a byte of the body; a chunked body
is counted as it arrives and refused the moment it passes the limit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimits:
    """413 for bodies over `max_bytes`, 408 when the next part of a body takes over `read_timeout` seconds."""

    def __init__(self, app: App, *, max_bytes: int, read_timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(send, 413, f"request body over {self.max_bytes} bytes")
            return
        answered = False
        body_done = False  # after the last body part, receive() only waits for the client to leave: not timed
        seen = 0

        async def guarded_send(message: Message) -> None:
            if not answered:
                await send(message)

        async def guarded_receive() -> Message:
            nonlocal answered, body_done, seen
            if body_done:  # a long response (the live event stream) listening for the client's disconnect
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout)
            except TimeoutError:
                if not answered:
                    answered = True
                    await _refuse(send, 408, f"the request body was not received within {self.read_timeout:g} s")
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    if not answered:
                        answered = True
                        await _refuse(send, 413, f"request body over {self.max_bytes} bytes")
                    return {"type": "http.disconnect"}
                body_done = not message.get("more_body", False)
            return message

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if not answered:
                raise
            # The client was already refused; the app only noticed the body ending early.


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
