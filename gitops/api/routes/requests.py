"""`GET /api/v1/requests/{id}`: what became of one write request (sync, rollback, resume), for `--wait`.

The write routes give every request an id (`request` in their 202 answer); the reconcile that takes it
records a `request-done` event with its outcome (`gitops.controller.reconciling`). This route reads the
ledger only: the request is `done` once that event exists; until then it shows the running apply's
progress (actions done of total, the one running) from the controller state.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path
from pydantic import Field

from gitops import events
from gitops.api.context import API, Context, read
from gitops.api.models import Answer, Time

router = APIRouter(prefix=API, tags=["writes"])
SCAN = 1000  # newest events searched for a request's outcome


class RequestState(Answer):
    request: str
    done: bool
    action: str | None = Field(None, description="done: applied, none (nothing to do), failed, rolled_back, "
                               "rejected, refused, skipped, waiting, interrupted or error")
    revision: str | None = None
    detail: str | None = None
    at: Time | None = None
    phase: str | None = Field(None, description="not done yet: the controller's phase")
    progress: dict[str, Any] | None = Field(None, description="not done yet: the running apply's progress")


@router.get("/requests/{request_id}", response_model=RequestState, **read())
def request_state(api: Context, request_id: str = Path(pattern="^[0-9a-f]{16}$")) -> RequestState:
    """`done` with the outcome, or the progress of the apply running."""
    for event in api.store.list_events(SCAN):
        if event.kind != events.EventKind.REQUEST_DONE.value:
            continue
        done = events.parse(event.kind, event.data)
        if isinstance(done, events.RequestDone) and done.request == request_id:
            return RequestState(request=request_id, done=True, action=done.action, revision=done.revision,
                                detail=done.detail, at=event.at)
    state = api.store.get_state()
    return RequestState(request=request_id, done=False, phase=state.phase, progress=state.extra.get("progress"))
