"""`GET /api/v1/requests/{id}`: what became of one write request (sync, rollback, resume), for `--wait`.

The write routes give every request an id (`request` in their 202 answer); the reconcile that takes it
records a `request-done` event with its outcome (`gitops.controller.reconciling`). This route reads the
ledger only: the request is `done` once that event exists; until then it shows the running apply's
progress (actions done of total, the one running) from the controller state.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException

from gitops import events
from gitops.store import Store

SCAN = 1000  # newest events searched for a request's outcome
_ID = re.compile(r"^[0-9a-f]{16}$")


def new_request_id() -> str:
    return secrets.token_hex(8)


def router(store: Store, reader: Callable[..., None]) -> APIRouter:
    routes = APIRouter(prefix="/api/v1", dependencies=[Depends(reader)])

    @routes.get("/requests/{request_id}")
    def request_state(request_id: str) -> dict[str, Any]:
        """`done` with the outcome (`action`, `revision`, `detail`), or the progress of the apply running."""
        if not _ID.match(request_id):
            raise HTTPException(422, "a request id is 16 hex digits, as the write routes answer it")
        for event in store.list_events(SCAN):
            if event.kind != events.EventKind.REQUEST_DONE.value:
                continue
            done = events.parse(event.kind, event.data)
            if isinstance(done, events.RequestDone) and done.request == request_id:
                return {"request": request_id, "done": True, "action": done.action, "revision": done.revision,
                        "detail": done.detail, "at": event.at.isoformat()}
        state = store.get_state()
        return {"request": request_id, "done": False, "phase": state.phase,
                "progress": state.extra.get("progress")}

    return routes
