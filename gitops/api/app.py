"""The FastAPI app: `create_app(store, controller, settings)` with the routes of ARCHITECTURE.md.

Built by the CLI's `serve`; tests build it around a fake controller. The routes live in
`gitops.api.routes`, one module per concern, and answer with the models of `gitops.api.models`, so
OpenAPI (`/openapi.json`, `/docs`, `/redoc`) shows every answer's schema. Read routes read the ledger;
write routes check the bearer token, then put a trigger in the controller's queue and answer 202: the
loop does the work. Webhooks are checked against PHOENIX_WEBHOOK_SECRET.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from importlib.resources import files

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gitops import version
from gitops.api import limits, metrics, openapi
from gitops.api.context import Api, ControllerPort
from gitops.api.live import LiveFeed
from gitops.api.readmodel import ReadModel
from gitops.api.routes import ROUTERS, docs
from gitops.settings import Settings
from gitops.store import Store

READ_MAX_AGE = 1.0  # seconds an in-memory answer may lag a write made by another replica
STATIC = str(files("gitops.api") / "static")

__all__ = ["ControllerPort", "create_app"]


def create_app(store: Store, controller: ControllerPort, settings: Settings,
               lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None) -> FastAPI:
    """The app; `lifespan` starts and stops the controller with the server (the CLI's `serve`)."""
    app = FastAPI(title="Phoenix GitOps", version=version.version(), lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None,  # served by routes.docs, behind the read token
                  description="GitOps controller for Proxmox VE: status, history, sync, rollback.")
    read_model = app.state.read_model = ReadModel(max_age=READ_MAX_AGE)
    registry = metrics.make_registry(store, lambda: controller.stats, lambda: controller.leader)
    app.state.api = Api(store, controller, settings, read_model, registry)
    app.state.live = LiveFeed(store)  # one reader of the ledger for every open event stream
    for router in ROUTERS:
        app.include_router(router)
    openapi.install(app)
    app.mount(docs.ASSETS_URL, StaticFiles(directory=docs.ASSETS), name="docs-assets")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(limits.BodyLimits, max_bytes=settings.api_max_body_bytes,
                       read_timeout=settings.api_read_timeout)
    return app
