"""The controller's status, the managed resources' sync state, and one resource in full.

Status and the resources answer from memory on the event loop (no thread hop): a render, when due, is one
short ledger read (`gitops.api.readmodel`). One resource is read as its page reads it (`Api.resource`).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from gitops import version
from gitops.api.context import API, Api, Context, read
from gitops.api.models import Leader, Resource, ResourceDetail, Resources, Status
from gitops.controller import targetstates

router = APIRouter(prefix=API, tags=["state"])
JSON = "application/json"


@router.get("/status", response_model=Status, **read())
async def get_status(api: Context) -> Response:
    """What is applied, what is wanted, whether automatic applies run, drift, the leader."""
    key = (api.store.write_version, api.controller.leader, api.controller.busy)
    return Response(api.read_model.get("status", key, lambda: _status(api).model_dump_json().encode()),
                    media_type=JSON)


def _status(api: Api) -> Status:
    state = api.store.get_state()
    targets = targetstates.read(api.store)
    return Status(
        instance=api.store.instance, applied_revision=state.applied_revision, target_revision=state.target_revision,
        head_revision=state.branch_head, phase=state.phase, suspended=state.suspended, pinned=state.pinned,
        pinned_revision=state.pinned_revision, drift=state.drift,
        drift_counts=targets.counts(),
        last_drift_at=state.last_drift_at, last_poll_at=state.last_poll_at, last_error=state.last_error,
        leader=Leader(id=state.leader_id, heartbeat_at=state.leader_heartbeat_at,
                      this_replica=api.controller.leader, replica=api.controller.identity),
        busy=api.controller.busy, progress=state.extra.get("progress"), version=version.version())


@router.get("/resources", response_model=Resources, **read())
async def resources(api: Context) -> Response:
    """Every managed resource with its state (`in_sync`, `drifted`, `missing`, `pending`, `failed`,
    `orphan`: made by the controller, no longer in the config), and why."""
    body = api.read_model.get("resources", api.store.write_version, lambda: _resources(api).model_dump_json().encode())
    return Response(body, media_type=JSON)


def _resources(api: Api) -> Resources:
    """One state per target, the record `status`, the metrics and the dashboard read too."""
    targets = targetstates.read(api.store)
    return Resources(revision=targets.revision, checked_at=targets.checked_at, counts=targets.counts(),
                     resources=[Resource(**r.to_dict()) for r in targets.resources])


@router.get("/resources/{target:path}", response_model=ResourceDetail, **read(404))
def resource(api: Context, target: str) -> ResourceDetail:
    """One managed resource (`lxc/101`, `stack/NAME@ENV`, `firewall/node/pve1`...) as its page shows it:
    state, node, health, what it depends on, every managed field desired against live (secrets as
    `(secret)`), the actions runs took on it with their task logs, the scripts run in it, its drift
    history and events. 404 when the controller does not manage it."""
    return ResourceDetail.of(api.resource(target))
