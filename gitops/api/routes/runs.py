"""Runs (applies, rollbacks, drift corrections), the scripts they ran in guests, and the journal."""

from __future__ import annotations

from fastapi import APIRouter, Query

from gitops.api.context import API, MAX_OFFSET, Context, read
from gitops.api.models import Event, EventList, Run, RunList, Step, StepList
from gitops.store.records import RunKind

router = APIRouter(prefix=API, tags=["history"])


@router.get("/runs", response_model=RunList, **read())
def runs(api: Context, limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET),
         kind: RunKind | None = Query(None, description="only the runs of this kind")) -> RunList:
    """Runs newest first: what happened and the counts (a revision's page has their plans and results)."""
    return RunList(runs=[Run.of(r) for r in api.store.list_runs(limit, offset, kind=kind)])


@router.get("/provisioning", response_model=StepList, **read())
def provisioning(api: Context, target: str | None = Query(None, description="one guest: `lxc/101`, `vm/1001`"),
                 limit: int = Query(100, ge=1, le=1000)) -> StepList:
    """The scripts runs ran in guests, newest first: step, script, identity, exit status, output tail."""
    return StepList(steps=[Step.of(s) for s in api.store.list_steps(target=target, limit=limit)])


@router.get("/events", response_model=EventList, **read())
def events(api: Context, limit: int = Query(100, ge=1, le=1000)) -> EventList:
    """The controller's journal, newest first."""
    return EventList(events=[Event.of(e) for e in api.store.list_events(limit)])
