"""The dashboard (HTML): `/`, one revision, one pull-request review, and the login form that trades a
read token for a session cookie when PHOENIX_API_READ_TOKEN is set.

Pages come from the templates of `gitops.api.views`; each answer carries a Content-Security-Policy that
allows this controller's own scripts and styles only. The dashboard and revision pages follow the live
event stream (`gitops.api.live`): no polling, no reload. The dashboard is rendered once per ledger change
(`gitops.api.readmodel`).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from gitops import errors
from gitops.api import auth, views
from gitops.api.context import Api, Context, problems
from gitops.api.routes.history import review_event
from gitops.controller import eligibility, targetstates
from gitops.planner.documents import PlanDocument, ValidationReport
from gitops.source import ConfigRepo
from gitops.source.changes import FileChange

router = APIRouter(tags=["dashboard"])
HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}
LOGIN = {"description": "a token is needed to read: the login form", **HTML}
PAGE: dict[str, Any] = {"response_class": HTMLResponse, "responses": {401: LOGIN}}
# What follows the live event stream (`gitops.api.live`; `static/live.js` swaps these ids).
DASHBOARD_LIVE = ("status", "revisions", "runs", "resources", "provisioning", "events")
REVISION_LIVE = ("facts", "checks", "events")


def html(body: str | bytes, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code, headers={"Content-Security-Policy": views.CSP})


def login_needed(api: Api, request: Request) -> HTMLResponse | None:
    if auth.can_read(request, api.settings.api_read_token, api.settings.api_token):
        return None
    return html(views.render("login.html", target=request.url.path, refused=False), 401)


@router.get("/", **PAGE)
def index(api: Context, request: Request) -> Response:
    """The dashboard: status, controls, revisions, runs, resources, the scripts run in guests, events."""
    store = api.store

    def render() -> bytes:
        events = store.list_events(30)
        return views.render("dashboard.html", state=store.get_state(), revisions=store.list_revisions(25),
                            runs=store.list_runs(10), events=events,
                            resources=targetstates.read(store).resources, steps=store.list_steps(limit=20),
                            live=DASHBOARD_LIVE, after=max((e.id for e in events), default=0)).encode()

    return login_needed(api, request) or html(api.read_model.get("dashboard", store.write_version, render))


@router.get("/revisions/{sha}", **{**PAGE, "responses": {401: LOGIN, **problems(404)}})
def revision_page(api: Context, sha: str, request: Request) -> Response:
    """One revision: validation, plan as a diff, apply result with task logs, events, a rollback button."""
    if (login := login_needed(api, request)) is not None:
        return login
    record = api.known(sha)
    changes, unavailable = config_changes(api, record.sha)
    return html(views.render("revision.html", record=record, changes=changes, changes_unavailable=unavailable,
                              events=api.store.list_events(100, revision=record.sha),
                              rollback_refused=eligibility.rollback_offer(api.store, record),
                              live=REVISION_LIVE, after=api.store.latest_event_id()))


def config_changes(api: Api, sha: str) -> tuple[list[FileChange], str]:
    """What the commit changed in the config files against its parent, from this replica's clone; or why not."""
    try:
        with ConfigRepo.reader(api.settings) as repo:
            if not (repo.git_dir / "HEAD").is_file():
                return [], "this replica has no clone of the config repository yet"
            return repo.changes(sha), ""
    except (errors.SourceError, errors.NotFoundError) as exc:
        return [], str(exc)


@router.get("/reviews/{sha}", **{**PAGE, "responses": {401: LOGIN, **problems(404)}})
def review_page(api: Context, sha: str, request: Request) -> Response:
    """One pull request's review: validation and plan, read-only."""
    if (login := login_needed(api, request)) is not None:
        return login
    found = review_event(api.store, sha)
    if found is None:
        raise HTTPException(404, f"no pull-request review of {sha}")
    data = found.data if isinstance(found.data, dict) else {}
    return html(views.render("review.html", review=data, validation=ValidationReport.read(data.get("validation")),
                             planned=PlanDocument.read(data.get("plan")), head=str(data.get("head_sha") or "")[:12],
                             at=found.at))


FORM = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["token"],
    "properties": {"token": {"type": "string", "description": "the read token or the write token"},
                   "next": {"type": "string", "description": "the page to go to (of this controller)"}}}}}}}


@router.post("/login", response_class=HTMLResponse, openapi_extra=FORM, status_code=303,
             responses={303: {"description": "accepted: a session cookie, and on to `next`"},
                        401: {"description": "the token was refused: the form again", **HTML}})
async def login(api: Context, request: Request) -> Response:
    """Trade a token for a session cookie (an HMAC of the token, never the token itself)."""
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    token = auth.accepted_token((form.get("token") or [""])[0], api.settings.api_read_token, api.settings.api_token)
    target = (form.get("next") or ["/"])[0]
    if not target.startswith("/") or target.startswith("//"):
        target = "/"  # only pages of this controller
    if token is None:
        return html(views.render("login.html", target=target, refused=True), 401)
    answer = RedirectResponse(target, status_code=303)
    lasts = int(api.settings.api_session_hours * 3600)
    answer.set_cookie(auth.SESSION_COOKIE, auth.session_value(token, int(time.time()) + lasts), max_age=lasts,
                      httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return answer
