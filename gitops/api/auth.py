"""Tokens: the bearer token of the write routes (no configured token, no writes), and the optional
read token (PHOENIX_API_READ_TOKEN) that reads need when it is set. Constant-time compares.

Used by `gitops.api.app` as FastAPI dependencies. Browsers reach the read-protected pages with a
session cookie set by the login form: its expiry time and an HMAC of it keyed by the token, never the
token itself; past its expiry (`PHOENIX_API_SESSION_HOURS`) it is refused, whatever the browser kept.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from fastapi import HTTPException, Request, status
from pydantic import SecretStr


def check_bearer(request: Request, token: SecretStr | None) -> None:
    """Raise 403 when no token is configured, 401 when the request's token is missing or wrong."""
    expected = token.get_secret_value() if token is not None else ""
    if not expected:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "writes are disabled: the controller has no API token (PHOENIX_API_TOKEN)")
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})


SESSION_COOKIE = "phoenix_session"


def _bearer(request: Request) -> str:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" else ""


def _secret(token: SecretStr | None) -> str:
    return token.get_secret_value() if token is not None else ""


def session_value(token: str, expires: int) -> str:
    """The cookie that stands for `token` in a browser session until `expires` (epoch seconds)."""
    mac = hmac.new(token.encode(), f"phoenix-gitops dashboard session {expires}".encode(), hashlib.sha256)
    return f"{expires}.{mac.hexdigest()}"


def _valid_session(cookie: str, token: str, now: float) -> bool:
    expires, _, _ = cookie.partition(".")
    if not token or not expires.isdigit() or int(expires) <= now:
        return False
    return hmac.compare_digest(cookie.encode(), session_value(token, int(expires)).encode())


def accepted_token(given: str, read_token: SecretStr | None, write_token: SecretStr | None) -> str | None:
    """The configured token `given` equals (read or write), or None."""
    for token in (_secret(read_token), _secret(write_token)):
        if token and hmac.compare_digest(given.encode(), token.encode()):
            return token
    return None


def can_read(request: Request, read_token: SecretStr | None, write_token: SecretStr | None) -> bool:
    """Reads are open unless a read token is set; then the read or the write token (bearer), or a session."""
    if not _secret(read_token):
        return True
    if accepted_token(_bearer(request), read_token, write_token) is not None:
        return True
    cookie, now = request.cookies.get(SESSION_COOKIE, ""), time.time()
    return any(_valid_session(cookie, token, now) for token in (_secret(read_token), _secret(write_token)))


def check_reader(request: Request, read_token: SecretStr | None, write_token: SecretStr | None) -> None:
    if not can_read(request, read_token, write_token):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "reads need a token (PHOENIX_API_READ_TOKEN is set)",
                            headers={"WWW-Authenticate": "Bearer"})
