"""`GET /api/v1/live`: the ledger's events and the controller's state changes as server-sent events, for
the pages (no polling) and for anyone who wants to follow the controller. See `gitops.api.live`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from gitops.api.context import API, read
from gitops.api.live import LiveFeed, event_id

router = APIRouter(prefix=API, tags=["state"])
STREAM: dict[int | str, dict[str, Any]] = {200: {
    "description": "`text/event-stream`: `ledger` events (with ids), `state`, `hello`, `reset`",
    "content": {"text/event-stream": {"schema": {
        "type": "object", "description": "one server-sent event",
        "properties": {"event": {"type": "string"}, "data": {"type": "string"}, "id": {"type": "string"},
                       "retry": {"type": "integer"}}}}}}}


@router.get("/live", response_class=StreamingResponse, **read(responses=STREAM))
async def live(request: Request,
               after: int | None = Query(None, ge=0, le=2**63 - 1, description="start after this event id"),
               last_event_id: str | None = Header(None, alias="Last-Event-ID",
                                                  description="resume after this event id (EventSource sends it)")
               ) -> StreamingResponse:
    """Server-sent events: each ledger event as it is recorded (`event: ledger`, `id:` the event id, data as
    in `/api/v1/events`), state changes without an event (`event: state`), `hello` once caught up, `reset`
    when a client is too far behind to replay. A reconnect resumes after `Last-Event-ID`."""
    feed: LiveFeed = request.app.state.live
    resume = event_id(last_event_id)
    return StreamingResponse(feed.stream(resume if resume is not None else after), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
