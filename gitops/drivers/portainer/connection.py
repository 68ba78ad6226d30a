"""One authenticated session with the Portainer API: `connect(settings)` and the `PortainerClient` it returns.

Called by the controller, the CLI and the tests (against `gitops.demo.portainer`). Every request goes
through `PortainerClient.request`, which authenticates, retries transient failures and translates
errors at one place (`errors`). Two ways in, as Portainer offers them:

- an API key (`PHOENIX_PORTAINER_API_KEY`, `ptr_...`), sent as `X-API-Key` on every request;
- an admin user and password (`PHOENIX_PORTAINER_USER`/`_PASSWORD`): `POST /api/auth` gives a JWT,
  sent as `Authorization: Bearer`; it is renewed before it expires and once more if a call answers 401.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from gitops import errors
from gitops.drivers.portainer import errors as portainer_errors
from gitops.retrying import PORTAINER, RetryPolicy, call_with_retries
from gitops.settings import Settings

# httpx logs one line per request at INFO; the URLs carry no secret, but keep the logs about what we do.
logging.getLogger("httpx").setLevel(logging.WARNING)
log = logging.getLogger(__name__)
_RENEW_BEFORE_S = 60.0


class PortainerClient:
    """An httpx client on `base_url` (`https://portainer:9443`) with Portainer's authentication."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str = "",
        username: str = "",
        password: str = "",
        verify: bool | str = True,
        timeout: float = 30.0,
        read_concurrency: int = 16,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not api_key and not (username and password):
            raise errors.SettingsError(
                "Portainer needs PHOENIX_PORTAINER_API_KEY, or PHOENIX_PORTAINER_USER and PHOENIX_PORTAINER_PASSWORD")
        self.base_url = base_url.rstrip("/")
        self.read_concurrency = read_concurrency
        self.policy = policy or PORTAINER
        self.sleep = sleep
        self.clock = clock
        self._api_key = api_key
        self._username = username
        self._password = password
        self._jwt = ""
        self._jwt_expires = 0.0
        self._lock = threading.Lock()
        self._http = httpx.Client(base_url=self.base_url, verify=verify, timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        how = "API key" if self._api_key else f"user {self._username}"
        return f"PortainerClient({self.base_url}, {how})"

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json_body: Any = None,
                form: dict[str, str] | None = None, target: str | None = None, missing_ok: bool = False) -> Any:
        """One API call (`path` relative to `/api`, e.g. `stacks/3/file`), tried again on transient errors.

        Returns the decoded JSON answer (None for 204). With `missing_ok`, a 404 returns None.
        """
        what = f"{method} /api/{path.strip('/')}"

        def once() -> Any:
            return self._send(method, path, params=params, json_body=json_body, form=form, target=target,
                              missing_ok=missing_ok, what=what)

        return call_with_retries(once, policy=self.policy, sleep=self.sleep, what=what)

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, *, params: dict[str, Any] | None, json_body: Any,
              form: dict[str, str] | None, target: str | None, missing_ok: bool, what: str) -> Any:
        url = "/api/" + path.strip("/")
        for attempt in (1, 2):
            headers = self._auth_headers(target)
            try:
                if form is not None:
                    # Portainer reads these routes as multipart/form-data (the spec's `formData`).
                    files = {k: (None, v) for k, v in form.items()}
                    response = self._http.request(method, url, params=params, files=files, headers=headers)
                else:
                    response = self._http.request(method, url, params=params, json=json_body, headers=headers)
            except httpx.HTTPError as exc:
                raise portainer_errors.from_exception(exc, what=what, target=target) from None
            if response.status_code == 401 and not self._api_key and attempt == 1:
                log.info("Portainer refused the JWT (%s): logging in again", what)
                self._forget_jwt()
                continue
            break
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            raise portainer_errors.from_response(response, what=what, target=target)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise errors.PermanentError(f"{what}: Portainer answered something that is not JSON",
                                        target=target) from None

    def _auth_headers(self, target: str | None) -> dict[str, str]:
        if self._api_key:
            return {"X-API-Key": self._api_key}
        with self._lock:
            if not self._jwt or self.clock() >= self._jwt_expires - _RENEW_BEFORE_S:
                self._login(target)
            return {"Authorization": f"Bearer {self._jwt}"}

    def _login(self, target: str | None) -> None:
        what = "POST /api/auth"
        try:
            response = self._http.post("/api/auth", json={"username": self._username, "password": self._password})
        except httpx.HTTPError as exc:
            raise portainer_errors.from_exception(exc, what=what, target=target) from None
        if response.status_code >= 400:
            raise portainer_errors.from_response(response, what=what, target=target)
        jwt = str((response.json() or {}).get("jwt") or "")
        if not jwt:
            raise errors.AuthenticationError(f"{what}: Portainer answered without a JWT", target=target)
        self._jwt = jwt
        self._jwt_expires = jwt_expiry(jwt) or self.clock() + 3600.0

    def _forget_jwt(self) -> None:
        with self._lock:
            self._jwt = ""


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (seconds since the epoch), read without checking the signature."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def connect(settings: Settings, **kwargs: Any) -> PortainerClient:
    """A client from `PHOENIX_PORTAINER_*` settings (API key preferred over user and password)."""
    if not settings.portainer_url:
        raise errors.SettingsError("PHOENIX_PORTAINER_URL is not set: stacks cannot be deployed")
    key = settings.portainer_api_key.get_secret_value() if settings.portainer_api_key else ""
    password = settings.portainer_password.get_secret_value() if settings.portainer_password else ""
    return PortainerClient(
        settings.portainer_url, api_key=key, username=settings.portainer_user, password=password,
        verify=settings.portainer_verify, timeout=settings.portainer_timeout,
        read_concurrency=settings.portainer_read_concurrency, **kwargs,
    )
