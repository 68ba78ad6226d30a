"""Liveness (the reconcile loop is not wedged), readiness (the ledger answers) and the Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from fastapi.responses import PlainTextResponse

from gitops import errors
from gitops.api import metrics
from gitops.api.context import Context, read
from gitops.api.models import Health, Ready

router = APIRouter(tags=["health"])
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/healthz", response_model=Health, response_model_exclude_unset=True,
            responses={503: {"model": Health, "description": "the reconcile loop is wedged: restart the process"}})
def healthz(api: Context, response: Response) -> Health:
    """Liveness: the process answers and its reconcile loop turns, or its apply reports progress, within
    PHOENIX_LIVENESS_TIMEOUT (`gitops.controller.liveness`). Reads no database: the ledger is `/readyz`'s."""
    wedged = api.controller.wedged()
    if wedged is not None:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Health(ok=False, detail=wedged)
    return Health(ok=True)


@router.get("/readyz", response_model=Ready,
            responses={503: {"model": Ready, "description": "not ready: the ledger or the controller is not"}})
def readyz(api: Context, response: Response) -> Ready:
    """Ready when the ledger answers and the controller has started."""
    try:
        api.store.get_state()
        store_ok = True
    except errors.StoreError:
        store_ok = False
    ready = store_ok and api.controller.ready
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Ready(ready=ready, store=store_ok, leader=api.controller.leader)


@router.get("/metrics", response_class=PlainTextResponse, **read(responses={
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus' text format"}}))
async def metrics_route(api: Context) -> Response:
    """Prometheus metrics, rendered from memory on the event loop when nothing changed."""
    key = (api.store.write_version, api.controller.leader, tuple(sorted(api.controller.stats.items())))
    body = api.read_model.get("metrics", key, lambda: metrics.render(api.registry))
    return Response(body, media_type=PROMETHEUS)
