"""The write routes: each checks the bearer token, puts a trigger in the controller's queue and answers
202; the loop does the work. Each takes an `Idempotency-Key` header (`context.IdempotencyKey`): a retry
with the same key queues nothing twice."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gitops.api.context import API, Api, Context, IdempotencyKey, write
from gitops.api.models import Queued
from gitops.controller import eligibility
from gitops.controller.triggers import Trigger

router = APIRouter(prefix=API, tags=["writes"])


class SyncBody(BaseModel):
    # A revision and targets together are refused (422, in FastAPI's validation shape); the schema says so.
    model_config = ConfigDict(json_schema_extra={"not": {
        "required": ["revision", "targets"],
        "properties": {"revision": {"type": "string"}, "targets": {"type": "array", "minItems": 1}}}})

    revision: str | None = Field(None, description="a commit to sync explicitly (lifts a rollback's pin)")
    targets: list[str] = Field(default_factory=list, max_length=100,
                               description="sync only these resources (`lxc/101`...) and what they depend on, "
                                           "to the applied revision (a self-heal run of their own)")

    @model_validator(mode="after")
    def _revision_or_targets(self) -> SyncBody:
        if self.revision is not None and self.targets:
            raise ValueError("give a revision or targets, not both")
        return self


class RollbackBody(BaseModel):
    revision: str = Field(description="the sha (or unique prefix) of an earlier revision")
    restore_data: bool = Field(False, description="also restore the guests' pre-apply snapshots: DATA IS LOST")


@router.post("/sync", response_model=Queued, response_model_exclude_unset=True, **write(400, 404))
def sync(api: Context, body: SyncBody | None = None, idempotency_key: IdempotencyKey = None) -> Queued:
    """Reconcile now (the head of the branch, or the revision given); with `targets`, only those resources
    and what they depend on, to the applied revision."""
    revision = body.revision if body else None
    targets = tuple(dict.fromkeys(body.targets)) if body else ()
    if targets:
        _managed(api, targets)
    if revision:
        api.known(revision)
    out = api.enqueue(Trigger("manual", revision=revision, source="api", targets=targets), idempotency_key)
    if targets:
        out.targets = list(targets)
    return out


def _managed(api: Api, targets: tuple[str, ...]) -> None:
    """404 unless every target is a resource of the last drift check (what the controller manages)."""
    report = api.store.get_state().drift_report
    known = {r.target for r in report.resources} if report is not None else set()
    unknown = [t for t in targets if t not in known]
    if unknown:
        raise HTTPException(404, f"not a managed resource: {', '.join(t[:80] for t in unknown[:5])}")


@router.post("/rollback", response_model=Queued, response_model_exclude_unset=True, **write(400, 404, 409))
def rollback(api: Context, body: RollbackBody, idempotency_key: IdempotencyKey = None) -> Queued:
    """Converge to an earlier revision and pin it there: only one that was applied at some time (409
    otherwise, with the reason)."""
    record = api.known(body.revision)
    refusal = eligibility.rollback_refusal(api.store, record)
    if refusal:
        raise HTTPException(409, refusal)
    out = api.enqueue(Trigger("rollback", revision=record.sha, restore_data=body.restore_data, source="api"),
                      idempotency_key)
    if body.restore_data:
        out.warning = "DATA ROLLBACK: the guests' disks go back to their pre-apply snapshots"
    return out


@router.post("/suspend", response_model=Queued, response_model_exclude_unset=True, **write())
def suspend(api: Context, idempotency_key: IdempotencyKey = None) -> Queued:
    """Stop automatic applies: new commits are recorded, not applied."""
    return api.enqueue(Trigger("suspend", source="api"), idempotency_key)


@router.post("/resume", response_model=Queued, response_model_exclude_unset=True, **write())
def resume(api: Context, idempotency_key: IdempotencyKey = None) -> Queued:
    """Restart automatic applies."""
    return api.enqueue(Trigger("resume", source="api"), idempotency_key)
