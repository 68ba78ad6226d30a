"""The one boundary where httpx exceptions and Portainer's error answers become `gitops.errors` types.

Called by `connection.PortainerClient.request` only (every call to Portainer goes through it).
Portainer answers errors as `{"message": ..., "details": ...}`; the mapping, by what the caller
should do next:

    httpx ConnectError, timeouts, broken connections -> TransientError   (Portainer down, network trouble)
    TLS verification failure                         -> PermanentError   (CA or verify setting wrong)
    401, and 422 from POST /api/auth                 -> AuthenticationError
    403                                              -> PermanentError   (the user may not do this)
    409                                              -> ConflictError    (a name is taken)
    other 4xx                                        -> PermanentError
    5xx                                              -> TransientError   (retried, bounded; what is left
                                                                          is reported with Portainer's
                                                                          message and details)
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from gitops import errors


def from_exception(exc: BaseException, *, what: str, target: str | None = None) -> errors.DriverError:
    """The project's error for an httpx exception raised while doing `what` (e.g. `GET /api/stacks`)."""
    if isinstance(exc, errors.DriverError):
        return exc
    if isinstance(exc, httpx.ConnectError) and _is_tls(exc):
        return errors.PermanentError(
            f"{what}: TLS verification failed (set PHOENIX_PORTAINER_VERIFY_SSL to the CA bundle): {_first_line(exc)}",
            target=target)
    if isinstance(exc, httpx.TimeoutException):
        return errors.TransientError(f"{what}: Portainer did not answer in time", target=target)
    if isinstance(exc, httpx.TransportError):
        return errors.TransientError(f"{what}: cannot reach Portainer: {_first_line(exc)}", target=target)
    return errors.PermanentError(f"{what}: {type(exc).__name__}: {_first_line(exc)}", target=target)


def from_response(response: httpx.Response, *, what: str, target: str | None = None) -> errors.DriverError:
    """The project's error for an answer with an error status."""
    status = response.status_code
    message = f"{what}: {status} {error_text(response)}"
    if status == 401 or (status == 422 and response.request.url.path.endswith("/api/auth")):
        return errors.AuthenticationError(message, target=target)
    if status == 409:
        return errors.ConflictError(message, target=target)
    if status >= 500:
        return errors.TransientError(message, target=target)
    return errors.PermanentError(message, target=target)


def error_text(response: httpx.Response) -> str:
    """`message (details)` out of Portainer's error body; the raw text (cut short) when it is not one."""
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and ("message" in body or "details" in body):
        message = str(body.get("message") or "").strip()
        details = str(body.get("details") or "").strip()
        if details and details != message:
            return f"{message} ({details})" if message else details
        return message or response.reason_phrase
    text = response.text.strip()
    return text.splitlines()[0][:300] if text else response.reason_phrase


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
