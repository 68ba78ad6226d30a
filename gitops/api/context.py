"""What every route needs: the ledger, the controller's port, the settings, the in-memory answers; and
the two guards, `reader` and `writer`, declared to OpenAPI as the `bearerToken` security scheme.

`create_app` puts one `Api` on `app.state.api`; routes ask for it as the `Context` dependency. A write
route declares `WRITE` (the bearer token is required: 401 without it, 403 when the controller has none);
a read route declares `READ` (open unless PHOENIX_API_READ_TOKEN is set: the token is optional to OpenAPI).
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Depends, Header, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry

from gitops import errors
from gitops.api import auth, resourceview
from gitops.api.models import Problem, Queued
from gitops.api.readmodel import ReadModel
from gitops.controller.triggers import Trigger
from gitops.settings import Settings
from gitops.source import PullRequestEvent
from gitops.store import RequestRecord, RevisionRecord, Store

API = "/api/v1"
SCHEME = "bearerToken"
MAX_OFFSET = 2**31 - 1  # far beyond any ledger; keeps the value inside every database's integer


class ControllerPort(Protocol):
    """What the API needs from the running controller."""

    identity: str
    leader: bool
    ready: bool
    busy: bool

    def request(self, trigger: Trigger) -> RequestRecord | None: ...

    def review(self, event: PullRequestEvent) -> bool: ...

    def wedged(self) -> str | None: ...

    @property
    def stats(self) -> dict[str, float]: ...


@dataclass(frozen=True)
class Api:
    """The app's parts, shared by its routes."""

    store: Store
    controller: ControllerPort
    settings: Settings
    read_model: ReadModel
    registry: CollectorRegistry

    def enqueue(self, trigger: Trigger, key: str | None = None) -> Queued:
        """Any replica accepts a write: the leader queues it, a follower hands it over through the ledger.
        With an `Idempotency-Key`, the request's id is the key's digest and the ledger keeps it once: a replay
        (to any replica) queues nothing and gets the first answer again; 409 if the key named another request."""
        request = idempotent_request_id(key) if key is not None else secrets.token_hex(8)
        trigger = dataclasses.replace(trigger, request=request, once=key is not None)
        try:
            earlier = self.controller.request(trigger)
        except errors.StoreError as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"cannot hand the request over: {exc}") from None
        if earlier is not None:
            return _replayed(earlier, trigger)
        return Queued(queued=trigger.kind, revision=trigger.revision, request=trigger.request,
                      via="this replica" if self.controller.leader else "the ledger, to the leader")

    def known(self, ref: str) -> RevisionRecord:
        """The revision `ref` names (sha or unique prefix), or a 404."""
        try:
            return self.store.get_revision(ref)
        except errors.NotFoundError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None

    def resource(self, target: str) -> resourceview.ResourcePage:
        """One managed resource as its page and `GET /api/v1/resources/{target}` show it, or a 404."""
        page = resourceview.resource_page(self.store, target)
        if page is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"not a managed resource: {target[:80]}")
        return page


def idempotent_request_id(key: str) -> str:
    """The request id an `Idempotency-Key` stands for: the same on every replica, 16 hex digits like the
    random ones (`GET /api/v1/requests/{id}` finds it)."""
    return hashlib.sha256(b"phoenix-idempotency-key\0" + key.encode()).hexdigest()[:16]


def _replayed(earlier: RequestRecord, trigger: Trigger) -> Queued:
    """The answer to a replay: the first request's, unless the key was used for a different request (409)."""
    if (earlier.kind, earlier.revision, earlier.restore_data, earlier.targets) != (
            trigger.kind, trigger.revision, trigger.restore_data, trigger.targets):
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"this Idempotency-Key was used for another request ({earlier.kind} at "
                            f"{earlier.at.isoformat(timespec='seconds')}): use a new key for a new request")
    out = Queued(queued=earlier.kind, revision=earlier.revision, request=earlier.request, replayed=True,
                 via="nothing: a request with this Idempotency-Key was queued already")
    if earlier.targets:
        out.targets = list(earlier.targets)
    return out


IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$",
    description="makes the write safe to retry: a repeat with the same key (to any replica) queues nothing and "
                "answers the first request's id again (`replayed`); a key used for a different request gets 409. "
                "1 to 255 visible ASCII characters, e.g. a UUID; the ledger keeps it for good.")]


def _api(request: Request) -> Api:
    found: Api = request.app.state.api
    return found


Context = Annotated[Api, Depends(_api)]

_bearer = HTTPBearer(auto_error=False, scheme_name=SCHEME,
                     description="PHOENIX_API_TOKEN: needed by every write. When PHOENIX_API_READ_TOKEN is set, "
                                 "reads need it or the read token.")


def writer(request: Request, api: Context,
           _token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]) -> None:
    auth.check_bearer(request, api.settings.api_token)


def reader(request: Request, api: Context) -> None:
    auth.check_reader(request, api.settings.api_read_token, api.settings.api_token)


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI's `responses` for error answers with a `{"detail": str}` body."""
    return {code: {"model": Problem, "description": _WHY.get(code, "refused")} for code in codes}


_WHY = {
    400: "the request is malformed (a body that is not JSON, a webhook that is not its forge's event)",
    401: "a valid token is missing",
    403: "writes are disabled: the controller has no API token",
    404: "not found",
    409: "the request conflicts with the ledger",
    503: "the ledger cannot take the request now",
}

def read(*codes: int, responses: dict[int | str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """A read route's guard and answers: the token is optional to OpenAPI (needed only when
    PHOENIX_API_READ_TOKEN is set), and a 401 documented with the other errors `codes`."""
    return {"dependencies": [Depends(reader)], "openapi_extra": {"security": [{}, {SCHEME: []}]},
            "responses": {**problems(401, *codes), **(responses or {})}}


def write(*codes: int) -> dict[str, Any]:
    """A write route's guard and answers: 202 when queued; 401, 403, 409 (an `Idempotency-Key` used for another
    request), 503 and the other errors `codes`."""
    return {"dependencies": [Depends(writer)], "status_code": status.HTTP_202_ACCEPTED,
            "responses": problems(401, 403, 409, 503, *codes)}
