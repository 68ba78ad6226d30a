"""The write routes: each checks the bearer token, puts a trigger in the controller's queue and answers
202; the loop does the work."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from gitops.api.context import API, Context, write
from gitops.api.models import Queued
from gitops.controller.triggers import Trigger

router = APIRouter(prefix=API, tags=["writes"])


class SyncBody(BaseModel):
    revision: str | None = Field(None, description="a commit to sync explicitly (lifts a rollback's pin)")


class RollbackBody(BaseModel):
    revision: str = Field(description="the sha (or unique prefix) of an earlier revision")
    restore_data: bool = Field(False, description="also restore the guests' pre-apply snapshots: DATA IS LOST")


@router.post("/sync", response_model=Queued, response_model_exclude_unset=True, **write(404))
def sync(api: Context, body: SyncBody | None = None) -> Queued:
    """Reconcile now (the head of the branch, or the revision given)."""
    revision = body.revision if body else None
    if revision:
        api.known(revision)
    return api.enqueue(Trigger("manual", revision=revision, source="api"))


@router.post("/rollback", response_model=Queued, response_model_exclude_unset=True, **write(404, 409))
def rollback(api: Context, body: RollbackBody) -> Queued:
    """Converge to an earlier revision and pin it there."""
    record = api.known(body.revision)
    if record.status == "rejected":
        raise HTTPException(409, f"{record.short_sha} was rejected as invalid: it cannot be rolled back to")
    out = api.enqueue(Trigger("rollback", revision=record.sha, restore_data=body.restore_data, source="api"))
    if body.restore_data:
        out.warning = "DATA ROLLBACK: the guests' disks go back to their pre-apply snapshots"
    return out


@router.post("/suspend", response_model=Queued, response_model_exclude_unset=True, **write())
def suspend(api: Context) -> Queued:
    """Stop automatic applies: new commits are recorded, not applied."""
    return api.enqueue(Trigger("suspend", source="api"))


@router.post("/resume", response_model=Queued, response_model_exclude_unset=True, **write())
def resume(api: Context) -> Queued:
    """Restart automatic applies."""
    return api.enqueue(Trigger("resume", source="api"))
