"""The bearer token of the write routes: constant-time compare; no configured token, no writes.

Used by `gitops.api.app` as a FastAPI dependency.
"""

from __future__ import annotations

import hmac

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
