"""The API's answers as pydantic models: what each route returns, and so what OpenAPI shows.

Used by the route modules of `gitops.api.routes`. Field names are the contract of ARCHITECTURE.md (tools
outside the code read them): add fields, never rename. Times are ISO 8601 strings as `datetime.isoformat()`
writes them (`+00:00`, the ledger keeps aware UTC times). The documents the ledger keeps (validation
report, plan, run result) are the typed documents of `gitops.planner.documents`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from gitops.api.resourceview import ResourcePage
from gitops.planner.documents import PlanDocument, RunResult, ValidationReport
from gitops.store import EventRecord, RevisionRecord, RunRecord, StepRecord

Time = Annotated[dt.datetime, PlainSerializer(lambda v: v.isoformat(), return_type=str),
                 WithJsonSchema({"type": "string", "format": "date-time"})]
Document = dict[str, Any]  # a document an event carries (a pull request review's report and plan)


class Answer(BaseModel):
    """Base of every answer: unknown fields refused when built, so a typo is a test failure."""

    model_config = ConfigDict(extra="forbid")


class Problem(Answer):
    """An error answer (400, 401, 403, 404, 408, 409, 413, 503): what went wrong, in words."""

    detail: str


class Health(Answer):
    ok: bool
    detail: str | None = Field(None, description="only when not ok: why the reconcile loop counts as wedged")


class Ready(Answer):
    ready: bool
    store: bool = Field(description="the ledger answered")
    leader: bool = Field(description="this replica leads")


class Leader(Answer):
    id: str | None = Field(description="the leading replica, as the ledger records it")
    heartbeat_at: Time | None
    this_replica: bool
    replica: str = Field(description="the identity of the replica that answered")


class Status(Answer):
    instance: str = Field("default", description="this controller's name among those sharing its database "
                                                 "(`PHOENIX_INSTANCE`)")
    applied_revision: str | None
    target_revision: str | None
    head_revision: str | None = Field(description="the newest commit of the followed branch, as last fetched")
    phase: str
    suspended: bool
    pinned: bool
    pinned_revision: str | None
    drift: bool
    drift_counts: dict[str, int] = Field(description="managed resources by state")
    last_drift_at: Time | None
    last_poll_at: Time | None
    last_error: str | None
    leader: Leader
    busy: bool
    progress: dict[str, Any] | None = Field(None, description="the running apply: `revision`, `kind`, `run`, "
                                            "`done` of `total` actions, the `current` one")
    version: str


class Resource(Answer):
    """One managed target's last known state (`gitops.controller.targetstates`)."""

    target: str = Field(description="`lxc/101`, `vm/1001`, `stack/NAME@ENV`, `storage/ID`...")
    state: str = Field(description="in_sync, drifted, missing, pending, failed or orphan")
    actions: list[str] = Field(default_factory=list, description="what a sync would do to it")
    reason: str | None = Field(None, description="why it is pending or failed")


class Resources(Answer):
    revision: str | None = Field(description="the revision the resources were compared with")
    checked_at: Time | None
    counts: dict[str, int] = Field(default_factory=dict, description="the resources by state")
    resources: list[Resource]


class Revision(Answer):
    sha: str
    short_sha: str
    status: str = Field(description="pending, rejected, applying, applied, failed, superseded or rolled_back")
    message: str
    author: str
    trigger: str
    committed_at: Time | None
    received_at: Time
    started_at: Time | None
    finished_at: Time | None
    duration_s: float | None
    error: str | None
    previous_revision: str | None = Field(description="the revision applied when this one's apply began")
    snapshot: str | None = Field(description="the pre-apply snapshot its apply took")

    @classmethod
    def of(cls, r: RevisionRecord) -> Revision:
        return cls(**_revision_fields(r))


def _revision_fields(r: RevisionRecord) -> dict[str, Any]:
    return {"sha": r.sha, "short_sha": r.short_sha, "status": r.status, "message": r.message, "author": r.author,
            "trigger": r.trigger, "committed_at": r.committed_at, "received_at": r.received_at,
            "started_at": r.started_at, "finished_at": r.finished_at, "duration_s": r.duration_s, "error": r.error,
            "previous_revision": r.previous_sha, "snapshot": r.snapshot}


class RevisionList(Answer):
    revisions: list[Revision]
    total: int = Field(description="revisions in the ledger with this status (all when none is given)")


class Event(Answer):
    id: int
    at: Time
    level: str
    kind: str
    message: str
    revision: str | None
    data: Any = Field(description="the event's payload (see gitops.events)")

    @classmethod
    def of(cls, e: EventRecord) -> Event:
        return cls(id=e.id, at=e.at, level=e.level, kind=e.kind, message=e.message, revision=e.revision, data=e.data)


class EventList(Answer):
    events: list[Event]


class Run(Answer):
    id: int
    revision: str
    kind: str = Field(description="apply, rollback, auto-rollback or self-heal")
    trigger: str
    status: str = Field(description="running, applied, failed, interrupted or not-corrected")
    started_at: Time
    finished_at: Time | None
    error: str | None
    drift: list[Any] = Field(description="the drifted resources a self-heal corrected")
    counts: dict[str, Any] = Field(description="the apply's outcomes by status")

    @classmethod
    def of(cls, r: RunRecord) -> Run:
        return cls(**_run_fields(r))


class RunDetail(Run):
    """A run with its plan and result (one revision's page)."""

    plan: PlanDocument | None
    result: RunResult | None

    @classmethod
    def of(cls, r: RunRecord) -> RunDetail:
        return cls(**_run_fields(r), plan=r.plan, result=r.result)


def _run_fields(r: RunRecord) -> dict[str, Any]:
    return {"id": r.id, "revision": r.revision, "kind": r.kind, "trigger": r.trigger, "status": r.status,
            "started_at": r.started_at, "finished_at": r.finished_at, "error": r.error,
            "drift": list(r.result.drift) if r.result is not None else [],
            "counts": r.result.counts if r.result is not None else {}}


class RunList(Answer):
    runs: list[Run]


class RevisionDetail(Revision):
    """One revision with its validation result, plan, apply result, events and runs."""

    validation: ValidationReport | None
    plan: PlanDocument | None
    result: RunResult | None
    events: list[Event]
    runs: list[RunDetail]

    @classmethod
    def detailed(cls, r: RevisionRecord, events: list[EventRecord], runs: list[RunRecord]) -> RevisionDetail:
        return cls(**_revision_fields(r), validation=r.validation, plan=r.plan, result=r.result,
                   events=[Event.of(e) for e in events], runs=[RunDetail.of(x) for x in runs])


class Step(Answer):
    """One script a run ran in a guest."""

    target: str
    step: str
    identity: str
    status: str = Field(description="ok or failed")
    script: str
    exit_status: int | None
    output_tail: str
    run_id: int | None
    revision: str
    at: Time | None

    @classmethod
    def of(cls, s: StepRecord) -> Step:
        return cls(target=s.target, step=s.step, identity=s.identity, status=s.status, script=s.script,
                   exit_status=s.exit_status, output_tail=s.output_tail, run_id=s.run_id, revision=s.revision,
                   at=s.at)


class StepList(Answer):
    steps: list[Step]


class FieldState(Answer):
    """One managed field of a resource as the last drift check read it, as text; a secret (or a
    `${secret:NAME}` reference) is `(secret)`."""

    field: str
    desired: str | None = Field(description="the value the config wants; null: the config does not set it")
    live: str | None = Field(description="the value the system has; null: it has none (or the resource is absent)")
    differs: bool


class ActionDone(Answer):
    """One action a run took on the resource, with its task log."""

    run: int
    revision: str
    kind: str = Field(description="the run's kind: apply, rollback, auto-rollback or self-heal")
    started_at: Time = Field(description="when the run started")
    action: str
    status: str
    duration_s: float
    error: str
    log: list[str] = Field(description="the task log (Proxmox) or the system's answer")
    upids: list[str] = Field(description="the Proxmox tasks it ran")


class ResourceDetail(Resource):
    """One managed resource as its page (`/resources/{target}`) shows it: its state, where it runs, its
    health, what it depends on, every managed field desired against live, what was done to it, the
    scripts run in it, its drift history and its events."""

    revision: str | None = Field(description="the revision it was compared with")
    checked_at: Time | None
    role: str = Field(description="template, clone, guest, storage, stack, ...")
    node: str | None = Field(description="the node it runs on; null: cluster-wide or not known")
    health: str | None = Field(description="running, stopped, absent, ...; null: not known")
    depends_on: list[str] = Field(description="the resources it depends on (a clone's template, a stack's VM)")
    fields: list[FieldState] = Field(description="from the last drift check; secrets as `(secret)`")
    recent_actions: list[ActionDone] = Field(description="the actions runs took on it, newest runs first (of the "
                                             "newest runs)")
    steps: list[Step] = Field(description="the scripts run in it (provisioning), newest first")
    drift: list[Event] = Field(description="its drift history: the `drift` and `self-heal` events naming it")
    events: list[Event] = Field(description="the other events naming it (of the newest events)")

    @classmethod
    def of(cls, page: ResourcePage) -> ResourceDetail:
        detail = page.detail
        return cls(
            **page.state.to_dict(), revision=page.revision, checked_at=page.checked_at,
            role=page.role, node=detail.node or None, health=detail.health or None, depends_on=list(detail.depends_on),
            fields=[FieldState(**f.model_dump()) for f in detail.fields],
            recent_actions=[ActionDone(run=a.run, revision=a.revision, kind=a.kind, started_at=a.started_at,
                                       action=a.action, status=a.status, duration_s=a.duration, error=a.error,
                                       log=a.log, upids=a.upids) for a in page.actions],
            steps=[Step.of(s) for s in page.steps], drift=[Event.of(e) for e in page.drift],
            events=[Event.of(e) for e in page.events])


class Review(BaseModel):
    """A pull request's review: the `pr-review` event's payload (`gitops.events.PullRequestReviewed`, fields
    as it was recorded) with when it was recorded and the event's message."""

    model_config = ConfigDict(extra="allow")

    at: Time
    message: str
    provider: str | None = None
    repo: str | None = None
    number: int | None = None
    head_sha: str | None = None
    state: str | None = Field(None, description="success, failure or error")
    against: str | None = Field(None, description="what the head was planned against")
    error: str | None = None
    validation: Document | None = None
    plan: Document | None = None
    markdown: str | None = Field(None, description="the comment posted on the pull request")


class Queued(Answer):
    """A write accepted: the trigger is in the leader's queue (or in the ledger, on its way there)."""

    queued: str = Field(description="the trigger's kind")
    revision: str | None
    via: str = Field(description="`this replica`, or `the ledger, to the leader` on a follower")
    request: str | None = Field(None, description="the request's id: `GET /api/v1/requests/{id}` says what "
                                "became of it")
    warning: str | None = Field(None, description="only on a rollback that restores data")
    targets: list[str] | None = Field(None, description="only on a sync of some resources: those resources")
    replayed: bool | None = Field(None, description="only on a repeat of an `Idempotency-Key`: true, nothing was "
                                  "queued again (`request` is the first one's)")


class ReviewQueued(Answer):
    queued: str = Field(description="`review`")
    pull_request: int
    head: str


class Ignored(Answer):
    ignored: str = Field(description="why the webhook changes nothing")
