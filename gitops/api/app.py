"""The FastAPI app: `create_app(store, controller, settings)` with the routes of ARCHITECTURE.md.

Built by the CLI's `serve`; tests build it around a fake controller. Read routes read the ledger;
write routes check the bearer token, then put a trigger in the controller's queue and answer 202:
the loop does the work. Webhooks are checked against PHOENIX_WEBHOOK_SECRET.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from gitops import errors, version
from gitops.api import auth, dashboard, limits, live, metrics, pages
from gitops.api.readmodel import ReadModel
from gitops.controller.triggers import Trigger
from gitops.settings import Settings
from gitops.source import (
    PullRequestEvent,
    UnknownProviderError,
    event_type,
    parse_pull_request,
    parse_push,
    same_repository,
    verify_webhook,
)
from gitops.store import REVISION_STATUSES, EventRecord, RevisionRecord, RunRecord, Store
from gitops.store.records import RUN_KINDS

API = "/api/v1"
JSON = "application/json"
READ_MAX_AGE = 1.0  # seconds an in-memory answer may lag a write made by another replica
MAX_OFFSET = 2**31 - 1  # far beyond any ledger; keeps the value inside every database's integer


class ControllerPort(Protocol):
    """What the API needs from the running controller."""

    identity: str
    leader: bool
    ready: bool
    busy: bool

    def request(self, trigger: Trigger) -> None: ...

    def review(self, event: PullRequestEvent) -> bool: ...

    @property
    def stats(self) -> dict[str, float]: ...


class SyncBody(BaseModel):
    revision: str | None = Field(None, description="a commit to sync explicitly (lifts a rollback's pin)")
    targets: list[str] = Field(default_factory=list, max_length=100,
                               description="sync only these resources (`lxc/101`...) and what they depend on, "
                                           "to the applied revision (a self-heal run of their own)")


class RollbackBody(BaseModel):
    revision: str = Field(description="the sha (or unique prefix) of an earlier revision")
    restore_data: bool = Field(False, description="also restore the guests' pre-apply snapshots: DATA IS LOST")


def create_app(store: Store, controller: ControllerPort, settings: Settings,
               lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None) -> FastAPI:
    """The app; `lifespan` starts and stops the controller with the server (the CLI's `serve`)."""
    app = FastAPI(title="Phoenix GitOps", version=version.version(), lifespan=lifespan,
                  description="GitOps controller for Proxmox VE: status, history, sync, rollback.")
    registry = metrics.make_registry(store, lambda: controller.stats, lambda: controller.leader)

    def writer(request: Request) -> None:
        auth.check_bearer(request, settings.api_token)

    def reader(request: Request) -> None:
        auth.check_reader(request, settings.api_read_token, settings.api_token)

    def login_needed(request: Request) -> HTMLResponse | None:
        if auth.can_read(request, settings.api_read_token, settings.api_token):
            return None
        return HTMLResponse(pages.login_page(request.url.path), status_code=401)

    def enqueue(trigger: Trigger) -> dict[str, Any]:
        """Any replica accepts a write: the leader queues it, a follower hands it over through the ledger."""
        try:
            controller.request(trigger)
        except errors.StoreError as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"cannot hand the request over: {exc}") from None
        return {"queued": trigger.kind, "revision": trigger.revision,
                "via": "this replica" if controller.leader else "the ledger, to the leader"}

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/readyz")
    def readyz(response: Response) -> dict[str, Any]:
        try:
            store.get_state()
            store_ok = True
        except errors.StoreError:
            store_ok = False
        ready = store_ok and controller.ready
        if not ready:
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"ready": ready, "store": store_ok, "leader": controller.leader}

    read_model = app.state.read_model = ReadModel(max_age=READ_MAX_AGE)

    def _json(data: dict[str, Any]) -> bytes:
        return json.dumps(data, default=str).encode()

    # The three routes below answer from memory on the event loop (no thread hop): a render, when due,
    # is one short ledger read.
    @app.get("/metrics", dependencies=[Depends(reader)])
    async def metrics_route() -> Response:
        key = (store.write_version, controller.leader, tuple(sorted(controller.stats.items())))
        body = read_model.get("metrics", key, lambda: metrics.render(registry))
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get(f"{API}/status", dependencies=[Depends(reader)])
    async def get_status() -> Response:
        key = (store.write_version, controller.leader, controller.busy)
        return Response(read_model.get("status", key, lambda: _json(_status())), media_type=JSON)

    def _status() -> dict[str, Any]:
        state = store.get_state()
        report = state.drift_report
        return {
            "applied_revision": state.applied_revision,
            "target_revision": state.target_revision,
            "head_revision": state.branch_head,
            "phase": state.phase,
            "suspended": state.suspended,
            "pinned": state.pinned,
            "pinned_revision": state.pinned_revision,
            "drift": state.drift,
            "drift_counts": report.counts() if report is not None else {},
            "last_drift_at": _iso(state.last_drift_at),
            "last_poll_at": _iso(state.last_poll_at),
            "last_error": state.last_error,
            "leader": {"id": state.leader_id, "heartbeat_at": _iso(state.leader_heartbeat_at),
                       "this_replica": controller.leader, "replica": controller.identity},
            "busy": controller.busy,
            "version": version.version(),
        }

    @app.get(f"{API}/resources", dependencies=[Depends(reader)])
    async def resources() -> Response:
        return Response(read_model.get("resources", store.write_version, lambda: _json(_resources())),
                        media_type=JSON)

    def _resources() -> dict[str, Any]:
        state = store.get_state()
        report = state.drift_report
        if report is None:
            return {"revision": None, "checked_at": None, "resources": []}
        items = [r.model_dump() for r in report.resources]
        if report.revision and report.revision != state.target_revision:
            items = [{**r, "state": "pending"} for r in items]  # a newer revision is on its way
        return {"revision": report.revision, "checked_at": _iso(report.checked_at), "resources": items}

    @app.get(f"{API}/revisions", dependencies=[Depends(reader)])
    def revisions(limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET),
                  status_: str | None = Query(None, alias="status")) -> dict[str, Any]:
        if status_ is not None and status_ not in REVISION_STATUSES:
            raise HTTPException(422, f"status must be one of {', '.join(REVISION_STATUSES)}")
        rows = store.list_revisions(limit, offset, status=status_)
        return {"revisions": [_revision(r) for r in rows], "total": store.count_revisions(status=status_)}

    @app.get(f"{API}/revisions/{{sha}}", dependencies=[Depends(reader)])
    def revision(sha: str) -> dict[str, Any]:
        try:
            record = store.get_revision(sha)
        except errors.NotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        events = store.list_events(50, revision=record.sha)
        return {**_revision(record), "validation": record.validation, "plan": record.plan,
                "result": record.result, "events": [_event(e) for e in events],
                "runs": [_run(r, detail=True) for r in store.list_runs(50, revision=record.sha)]}

    @app.get(f"{API}/runs", dependencies=[Depends(reader)])
    def runs(limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0),
             kind: str | None = Query(None, description="apply, rollback, auto-rollback or self-heal")
             ) -> dict[str, Any]:
        if kind is not None and kind not in RUN_KINDS:
            raise HTTPException(422, f"kind must be one of {', '.join(RUN_KINDS)}")
        return {"runs": [_run(r) for r in store.list_runs(limit, offset, kind=kind)]}

    @app.get(f"{API}/provisioning", dependencies=[Depends(reader)])
    def provisioning(target: str | None = Query(None, description="one guest: `lxc/101`, `vm/1001`"),
                     limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
        """The scripts runs ran in guests, newest first: step, script, identity, exit status, output tail."""
        return {"steps": [{**dataclasses.asdict(s), "at": _iso(s.at)}
                          for s in store.list_steps(target=target, limit=limit)]}

    @app.get(f"{API}/events", dependencies=[Depends(reader)])
    def events(limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
        return {"events": [_event(e) for e in store.list_events(limit)]}

    @app.post(f"{API}/sync", status_code=202, dependencies=[Depends(writer)])
    def sync(body: SyncBody | None = None) -> dict[str, Any]:
        revision = body.revision if body else None
        targets = tuple(dict.fromkeys(body.targets)) if body else ()
        if targets:
            if revision:
                raise HTTPException(422, "give a revision or targets, not both")
            _managed(store, targets)
        if revision:
            _known(store, revision)
        return {**enqueue(Trigger("manual", revision=revision, source="api", targets=targets)),
                **({"targets": list(targets)} if targets else {})}

    @app.post(f"{API}/rollback", status_code=202, dependencies=[Depends(writer)])
    def rollback(body: RollbackBody) -> dict[str, Any]:
        record = _known(store, body.revision)
        if record.status == "rejected":
            raise HTTPException(409, f"{record.short_sha} was rejected as invalid: it cannot be rolled back to")
        out = enqueue(Trigger("rollback", revision=record.sha, restore_data=body.restore_data, source="api"))
        if body.restore_data:
            out["warning"] = "DATA ROLLBACK: the guests' disks go back to their pre-apply snapshots"
        return out

    @app.post(f"{API}/suspend", status_code=202, dependencies=[Depends(writer)])
    def suspend() -> dict[str, Any]:
        return enqueue(Trigger("suspend", source="api"))

    @app.post(f"{API}/resume", status_code=202, dependencies=[Depends(writer)])
    def resume() -> dict[str, Any]:
        return enqueue(Trigger("resume", source="api"))

    @app.post(f"{API}/webhooks/{{provider}}", status_code=202)
    async def webhook(provider: str, request: Request) -> dict[str, Any]:
        body = await request.body()
        try:
            valid = verify_webhook(provider, dict(request.headers), body, settings.webhook_secret)
        except UnknownProviderError as exc:
            raise HTTPException(404, str(exc)) from None
        if not valid:
            raise HTTPException(401, "invalid or missing webhook signature"
                                + ("" if settings.webhook_secret else " (no PHOENIX_WEBHOOK_SECRET is set)"))
        kind = event_type(provider, dict(request.headers))
        if kind == "ignored":
            return {"ignored": "not a push or a pull-request event"}
        if kind == "pull_request":
            return pull_request(provider, dict(request.headers), body)
        try:
            push = parse_push(provider, body, branch=settings.git_branch)
        except errors.SourceError as exc:
            raise HTTPException(400, str(exc)) from None
        if push.branch is not None and push.branch != settings.git_branch:
            return {"ignored": f"push to {push.branch}, the controller follows {settings.git_branch}"}
        return enqueue(Trigger("webhook", revision=push.after_sha, source=provider))

    def pull_request(provider: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        try:
            pr = parse_pull_request(provider, headers, body)
        except errors.SourceError as exc:
            raise HTTPException(400, str(exc)) from None
        if not pr.wants_review:
            return {"ignored": f"pull request #{pr.number} was {pr.action}"}
        if not same_repository(pr.repo, settings.git_url, settings.forge_repo):
            return {"ignored": f"pull request of {pr.repo}, not of the config repository"}
        if not controller.review(pr):
            return {"ignored": "pull-request reviews are turned off (PHOENIX_PR_REVIEWS=false)"}
        return {"queued": "review", "pull_request": pr.number, "head": pr.head_sha}

    @app.get(f"{API}/reviews/{{sha}}", dependencies=[Depends(reader)])
    def review(sha: str) -> dict[str, Any]:
        found = _review_event(store, sha)
        if found is None:
            raise HTTPException(404, f"no pull-request review of {sha}")
        return {"at": _iso(found.at), "message": found.message, **found.data}

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> Response:
        return login_needed(request) or HTMLResponse(read_model.get("dashboard", store.write_version, lambda: (
            dashboard.render(store.get_state(), store.list_revisions(25), store.list_runs(10), store.list_events(30))
        ).encode()))

    @app.get("/revisions/{sha}", response_class=HTMLResponse)
    def revision_page(sha: str, request: Request) -> Response:
        if (login := login_needed(request)) is not None:
            return login
        record = _known(store, sha)
        return HTMLResponse(pages.revision_page(record, store.list_events(100, revision=record.sha)))

    @app.get("/reviews/{sha}", response_class=HTMLResponse)
    def review_page(sha: str, request: Request) -> Response:
        if (login := login_needed(request)) is not None:
            return login
        found = _review_event(store, sha)
        if found is None:
            raise HTTPException(404, f"no pull-request review of {sha}")
        return HTMLResponse(pages.review_page(found))

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
        token = auth.accepted_token((form.get("token") or [""])[0], settings.api_read_token, settings.api_token)
        target = (form.get("next") or ["/"])[0]
        if not target.startswith("/") or target.startswith("//"):
            target = "/"  # only pages of this controller
        if token is None:
            return HTMLResponse(pages.login_page(target, refused=True), status_code=401)
        answer = RedirectResponse(target, status_code=303)
        answer.set_cookie(auth.SESSION_COOKIE, auth.session_value(token), httponly=True, samesite="strict",
                          secure=request.url.scheme == "https")
        return answer

    app.state.live = live.LiveFeed(store)
    app.include_router(live.router(app.state.live), prefix=API, dependencies=[Depends(reader)])

    app.add_middleware(limits.BodyLimits, max_bytes=settings.api_max_body_bytes,
                       read_timeout=settings.api_read_timeout)
    return app


def _known(store: Store, ref: str) -> RevisionRecord:
    try:
        return store.get_revision(ref)
    except errors.NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None


def _managed(store: Store, targets: tuple[str, ...]) -> None:
    """404 unless every target is a resource of the last drift check (what the controller manages)."""
    report = store.get_state().drift_report
    known = {r.target for r in report.resources} if report is not None else set()
    unknown = [t for t in targets if t not in known]
    if unknown:
        raise HTTPException(404, f"not a managed resource: {', '.join(t[:80] for t in unknown[:5])}")


def _review_event(store: Store, sha: str) -> EventRecord | None:
    """The newest `pr-review` event of a head sha (or unique prefix of at least 7 digits)."""
    text = sha.strip().lower()
    if len(text) < 7:
        return None
    for event in store.list_events(1000, kind="pr-review"):
        head = event.data.get("head_sha") if isinstance(event.data, dict) else None
        if isinstance(head, str) and head.startswith(text):
            return event
    return None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _revision(r: RevisionRecord) -> dict[str, Any]:
    return {
        "sha": r.sha, "short_sha": r.short_sha, "status": r.status, "message": r.message, "author": r.author,
        "trigger": r.trigger, "committed_at": _iso(r.committed_at), "received_at": _iso(r.received_at),
        "started_at": _iso(r.started_at), "finished_at": _iso(r.finished_at), "duration_s": r.duration_s,
        "error": r.error, "previous_revision": r.previous_sha, "snapshot": r.snapshot,
    }


def _run(r: RunRecord, *, detail: bool = False) -> dict[str, Any]:
    """A run; `detail` adds its plan and result (the list shows what happened and the counts only)."""
    result = r.result if isinstance(r.result, dict) else {}
    out: dict[str, Any] = {
        "id": r.id, "revision": r.revision, "kind": r.kind, "trigger": r.trigger, "status": r.status,
        "started_at": _iso(r.started_at), "finished_at": _iso(r.finished_at), "error": r.error,
        "drift": result.get("drift", []), "counts": (result.get("apply") or {}).get("counts", {}),
    }
    if detail:
        out.update(plan=r.plan, result=r.result)
    return out


def _event(e: EventRecord) -> dict[str, Any]:
    return {"id": e.id, "at": _iso(e.at), "level": e.level, "kind": e.kind, "message": e.message,
            "revision": e.revision, "data": e.data}
