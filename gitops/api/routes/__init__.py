"""The app's routes, one `APIRouter` per concern; `ROUTERS` is what `create_app` includes, in order.

    health      /healthz, /readyz, /metrics
    state       /api/v1/status, /api/v1/resources, /api/v1/resources/{target}
    live        /api/v1/live: server-sent events from the outbox (the pages follow it)
    history     /api/v1/revisions, /api/v1/revisions/{sha}, /api/v1/reviews/{sha}
    runs        /api/v1/runs, /api/v1/provisioning, /api/v1/events
    writes      /api/v1/sync, /api/v1/rollback, /api/v1/suspend, /api/v1/resume (the bearer token)
    requests    /api/v1/requests/{id}: what became of a write (`--wait`)
    webhooks    /api/v1/webhooks/{provider} (a signature)
    pages       /, /revisions/{sha}, /reviews/{sha}, /login: the dashboard (HTML)
    estate      /estate, /resources/{target}: the estate graph and one resource's page (HTML)
    docs        /docs, /redoc: OpenAPI's pages, their assets served from an installed package
"""

from __future__ import annotations

from gitops.api.routes import docs, estate, health, history, live, pages, requests, runs, state, webhooks, writes

ROUTERS = [health.router, state.router, live.router, history.router, runs.router, writes.router, requests.router,
           webhooks.router,
           pages.router, estate.router, docs.router]
