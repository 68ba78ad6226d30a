"""What every route needs: the ledger, the controller's port, the settings, the in-memory answers; and
the two guards, `reader` and `writer`, declared to OpenAPI as the `bearerToken` security scheme.

`create_app` puts one `Api` on `app.state.api`; routes ask for it as the `Context` dependency. A write
route declares `WRITE` (the bearer token is required: 401 without it, 403 when the controller has none);
a read route declares `READ` (open unless PHOENIX_API_READ_TOKEN is set: the token is optional to OpenAPI).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry

from gitops import errors
from gitops.api import auth
from gitops.api.models import Problem, Queued
from gitops.api.readmodel import ReadModel
from gitops.controller.triggers import Trigger
from gitops.settings import Settings
from gitops.source import PullRequestEvent
from gitops.store import RevisionRecord, Store

API = "/api/v1"
SCHEME = "bearerToken"
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


@dataclass(frozen=True)
class Api:
    """The app's parts, shared by its routes."""

    store: Store
    controller: ControllerPort
    settings: Settings
    read_model: ReadModel
    registry: CollectorRegistry

    def enqueue(self, trigger: Trigger) -> Queued:
        """Any replica accepts a write: the leader queues it, a follower hands it over through the ledger."""
        try:
            self.controller.request(trigger)
        except errors.StoreError as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"cannot hand the request over: {exc}") from None
        return Queued(queued=trigger.kind, revision=trigger.revision,
                      via="this replica" if self.controller.leader else "the ledger, to the leader")

    def known(self, ref: str) -> RevisionRecord:
        """The revision `ref` names (sha or unique prefix), or a 404."""
        try:
            return self.store.get_revision(ref)
        except errors.NotFoundError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


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
    400: "the request is malformed",
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
    """A write route's guard and answers: 202 when queued; 401, 403, 503 and the other errors `codes`."""
    return {"dependencies": [Depends(writer)], "status_code": status.HTTP_202_ACCEPTED,
            "responses": problems(401, 403, 503, *codes)}
