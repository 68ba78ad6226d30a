"""Reach the configured Portainer and check its API key, for `phoenix-gitops check`.

Called by `gitops.controller.preflight` only. `GET /api/system/status` is public (it says the server
answers and its version); `GET /api/endpoints` with the `X-API-KEY` header says whether the key is
accepted. Errors come out as the project's DriverError types, never with the key in them.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from gitops import errors
from gitops.settings import Settings


@dataclass(frozen=True, slots=True)
class PortainerProbe:
    url: str
    version: str
    environments: int


def probe(settings: Settings, *, timeout: float = 10.0) -> PortainerProbe:
    url = settings.portainer_url.rstrip("/")
    key = settings.portainer_api_key.get_secret_value() if settings.portainer_api_key else ""
    try:
        with httpx.Client(base_url=f"{url}/api", timeout=timeout) as client:
            status = client.get("/system/status")
            if status.status_code != 200:
                raise errors.PermanentError(f"{url}/api/system/status answered {status.status_code}: not Portainer?")
            version = str(status.json().get("Version", "unknown"))
            if not key:
                raise errors.AuthenticationError("no PHOENIX_PORTAINER_API_KEY is set")
            listed = client.get("/endpoints", headers={"X-API-KEY": key})
    except httpx.HTTPError as exc:
        raise errors.TransientError(f"cannot reach Portainer at {url}: {type(exc).__name__}: {exc}") from None
    except ValueError:
        raise errors.PermanentError(f"{url}/api/system/status did not answer JSON: not Portainer?") from None
    if listed.status_code in (401, 403):
        raise errors.AuthenticationError(f"Portainer at {url} refused the API key ({listed.status_code})")
    if listed.status_code != 200:
        raise errors.PermanentError(f"GET {url}/api/endpoints answered {listed.status_code}")
    found = listed.json()
    return PortainerProbe(url=url, version=version, environments=len(found) if isinstance(found, list) else 0)
