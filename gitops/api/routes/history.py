"""The revisions the controller saw, newest first; one revision in full; one pull request's review."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Response

from gitops.api.context import API, MAX_OFFSET, Context, read
from gitops.api.models import Review, Revision, RevisionDetail, RevisionList
from gitops.store import EventRecord, Store
from gitops.store.records import RevisionStatus

router = APIRouter(prefix=API, tags=["history"])
JSON = "application/json"


@router.get("/revisions", response_model=RevisionList, **read())
def revisions(api: Context, limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET),
              status: RevisionStatus | None = Query(None, description="only the revisions in this status")
              ) -> RevisionList:
    """History, newest first (by the time the controller received each commit)."""
    rows = api.store.list_revisions(limit, offset, status=status)
    return RevisionList(revisions=[Revision.of(r) for r in rows], total=api.store.count_revisions(status=status))


@router.get("/revisions/{sha}", response_model=RevisionDetail, **read(404))
def revision(api: Context, sha: str) -> Response:
    """One revision (sha or unique prefix) with its validation result, plan, apply result, events and runs."""

    def render() -> bytes:
        record = api.known(sha)
        return RevisionDetail.detailed(record, api.store.list_events(50, revision=record.sha),
                                       api.store.list_runs(50, revision=record.sha)).model_dump_json().encode()

    # Serialized once from the typed answer (a plan can hold thousands of actions: FastAPI would dump and
    # validate it again), and kept until the ledger changes: `--wait` and dashboards poll this.
    return Response(api.read_model.get("revision", (sha, api.store.write_version), render), media_type=JSON)


@router.get("/reviews/{sha}", response_model=Review, response_model_exclude_unset=True, **read(404))
def review(api: Context, sha: str) -> Review:
    """The newest review of a pull request's head commit (sha or a prefix of at least 7 digits)."""
    found = review_event(api.store, sha)
    if found is None:
        raise HTTPException(404, f"no pull-request review of {sha}")
    return Review.model_validate({**found.data, "at": found.at, "message": found.message})


def review_event(store: Store, sha: str) -> EventRecord | None:
    """The newest `pr-review` event of a head sha (or unique prefix of at least 7 digits)."""
    text = sha.strip().lower()
    if len(text) < 7:
        return None
    for event in store.list_events(1000, kind="pr-review"):
        head = event.data.get("head_sha") if isinstance(event.data, dict) else None
        if isinstance(head, str) and head.startswith(text):
            return event
    return None
