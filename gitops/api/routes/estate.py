"""The estate pages (HTML): `/estate`, every managed resource grouped by node with its state, filters and a
search box; `/resources/{target}`, one resource: desired against live per field, what was done to it, its
drift history and events, and a button that syncs it alone (and what it depends on).

Both follow the live event stream (`gitops.api.live`, `static/live.js` swaps the ids listed here); the
estate page is rendered once per ledger change (`gitops.api.readmodel`), its filters run in the browser
(`static/estate.js`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from gitops.api import resourceview, views
from gitops.api.context import Context, problems
from gitops.api.routes.pages import LOGIN, PAGE, html, login_needed

router = APIRouter(tags=["dashboard"])
ESTATE_LIVE = ("estate-facts", "graph")
RESOURCE_LIVE = ("facts", "fields", "actions", "drift", "events")


@router.get("/estate", **PAGE)
def estate_page(api: Context, request: Request) -> Response:
    """The estate: every managed resource by node (templates, clones, guests, stacks, storages, firewall,
    networks), each with its state and health, linked to its page; filters by kind, node and state."""
    if (login := login_needed(api, request)) is not None:
        return login
    store = api.store

    def render() -> bytes:
        found = resourceview.estate(store)
        return views.render("estate.html", estate=found, live=ESTATE_LIVE, after=store.latest_event_id()).encode()

    return html(api.read_model.get("estate", store.write_version, render))


@router.get("/resources/{target:path}", **{**PAGE, "responses": {401: LOGIN, **problems(404)}})
def resource_page(api: Context, target: str, request: Request) -> Response:
    """One resource: its state, desired against live per field, the actions done to it with their task
    logs, the scripts run in it, its drift history and events, and a sync of it alone."""
    if (login := login_needed(api, request)) is not None:
        return login
    page = api.resource(target)
    return html(views.render("resource.html", page=page, live=RESOURCE_LIVE, after=api.store.latest_event_id()))
