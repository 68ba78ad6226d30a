"""Reach the configured Portainer and check its credentials, for `phoenix-gitops check`.

Called by `gitops.controller.preflight` only. Goes through the driver's own client (`connection`), so
the check authenticates exactly as the controller will (API key, or user and password), with one try
and no retries. `GET /api/system/status` is public (it says the server answers and its version);
`GET /api/endpoints` says whether the credentials are accepted. Errors come out as the project's
DriverError types, never with the key or the password in them.
"""

from __future__ import annotations

import re
from contextlib import closing
from dataclasses import dataclass

from gitops import errors
from gitops.drivers.portainer.connection import connect
from gitops.drivers.portainer.environments import list_environments
from gitops.retrying import RetryPolicy
from gitops.settings import Settings


@dataclass(frozen=True, slots=True)
class PortainerProbe:
    url: str
    version: str
    environments: int


def probe(settings: Settings, *, timeout: float = 10.0) -> PortainerProbe:
    url = settings.portainer_url.rstrip("/")
    what = "API key" if settings.portainer_api_key else "user and password"
    try:
        client = connect(settings.model_copy(update={"portainer_timeout": timeout}), policy=RetryPolicy(attempts=1))
    except errors.SettingsError as exc:
        raise errors.AuthenticationError(str(exc)) from None
    with closing(client):
        try:
            status = client.request("GET", "system/status")
            version = str(status.get("Version", "unknown")) if isinstance(status, dict) else "unknown"
            found = list_environments(client)
        except errors.AuthenticationError as exc:
            raise errors.AuthenticationError(f"Portainer at {url} refused the {what} ({_status(exc)})") from None
        except errors.TransientError as exc:
            raise errors.TransientError(f"Portainer at {url}: {exc}") from None
        except errors.PermanentError as exc:
            if _status(exc) == "403":
                raise errors.AuthenticationError(f"Portainer at {url} refused the {what} (403)") from None
            raise
    return PortainerProbe(url=url, version=version, environments=len(found))


def _status(exc: BaseException) -> str:
    """The HTTP status in a driver error's message (`GET /api/endpoints: 401 Unauthorized`)."""
    found = re.search(r": (\d{3}) ", str(exc))
    return found.group(1) if found else "refused"
