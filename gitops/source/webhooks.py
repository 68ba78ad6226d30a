"""Webhook signatures and push payloads of the git providers.

Called by the API's `POST /api/v1/webhooks/{provider}`: first `verify_webhook` (refuse the request
when it is false), then `parse_push` to learn which branch moved and to which commit. Comparisons
are constant-time; an empty secret verifies nothing.

    github     X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>
    gitea      X-Gitea-Signature:   <hex HMAC-SHA256 of the body>
    gitlab     X-Gitlab-Token:      <the secret itself>
    bitbucket  X-Hub-Signature:     sha256=<hex HMAC-SHA256 of the body>
    generic    X-Signature:         sha256=<hex HMAC-SHA256 of the body>
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from gitops import errors

PROVIDERS = ("github", "gitea", "gitlab", "bitbucket", "generic")
_ZERO_SHA = frozenset({"0" * 40, "0" * 64})

# provider -> (header, prefix before the hex digest); gitlab sends the secret itself instead.
_HMAC_HEADERS = {
    "github": ("x-hub-signature-256", "sha256="),
    "gitea": ("x-gitea-signature", ""),
    "bitbucket": ("x-hub-signature", "sha256="),
    "generic": ("x-signature", "sha256="),
}


class UnknownProviderError(errors.SourceError):
    """The webhook names a provider this controller does not know (the API answers 404)."""


@dataclass(frozen=True, slots=True)
class PushEvent:
    """A push as the provider reported it. `after_sha` is None when the branch was deleted or unsaid."""

    branch: str | None
    after_sha: str | None
    ref: str | None = None


def verify_webhook(
    provider: str, headers: Mapping[str, str], body: bytes, secret: str | bytes | SecretStr | None
) -> bool:
    """Whether the request carries a valid signature (or token) for `secret`."""
    provider = _known(provider)
    key = _secret_bytes(secret)
    if not key:
        return False
    lowered = {name.lower(): value for name, value in headers.items()}
    if provider == "gitlab":
        return hmac.compare_digest(lowered.get("x-gitlab-token", "").encode(), key)
    header, prefix = _HMAC_HEADERS[provider]
    given = lowered.get(header, "").strip()
    if not given.lower().startswith(prefix):
        return False
    digest = given[len(prefix):].strip().lower()
    expected = hmac.new(key, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(digest.encode(), expected.encode())


def parse_push(provider: str, body: bytes | str, *, branch: str | None = None) -> PushEvent:
    """The pushed branch and its new head. For payloads listing several branches (Bitbucket),
    `branch` picks the one the controller follows. SourceError when the body is not a JSON object."""
    provider = _known(provider)
    try:
        payload = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise errors.SourceError(f"{provider} webhook: the body is not JSON") from None
    except RecursionError:  # `[[[[...` nested beyond the parser's depth
        raise errors.SourceError(f"{provider} webhook: the body is not JSON (nested too deeply)") from None
    if not isinstance(payload, dict):
        raise errors.SourceError(f"{provider} webhook: the body is not a JSON object")
    if provider == "bitbucket":
        return _bitbucket(payload, branch)
    ref = _text(payload.get("ref"))
    after = _text(payload.get("checkout_sha")) if provider == "gitlab" else None
    after = after or _text(payload.get("after"))
    if provider == "generic" and ref is None and _text(payload.get("branch")):
        ref = f"refs/heads/{payload['branch']}"
    return PushEvent(branch=_branch_of(ref), after_sha=_sha(after), ref=ref)


def _bitbucket(payload: dict[str, Any], wanted: str | None) -> PushEvent:
    changes = payload.get("push", {}).get("changes", []) if isinstance(payload.get("push"), dict) else []
    found: list[PushEvent] = []
    for change in changes if isinstance(changes, list) else []:
        if not isinstance(change, dict):
            continue
        new, old = change.get("new"), change.get("old")
        side = new if isinstance(new, dict) else old if isinstance(old, dict) else None
        if side is None or side.get("type") not in ("branch", "named_branch", None):
            continue
        name = _text(side.get("name"))
        target = new.get("target") if isinstance(new, dict) else None
        sha = _text(target.get("hash")) if isinstance(target, dict) else None
        found.append(PushEvent(branch=name, after_sha=_sha(sha), ref=f"refs/heads/{name}" if name else None))
    for event in found:
        if wanted is None or event.branch == wanted:
            return event
    return PushEvent(branch=None, after_sha=None)


def _known(provider: str) -> str:
    name = provider.strip().lower()
    if name not in PROVIDERS:
        raise UnknownProviderError(f"unknown webhook provider {provider!r}: one of {', '.join(PROVIDERS)}")
    return name


def _secret_bytes(secret: str | bytes | SecretStr | None) -> bytes:
    if secret is None:
        return b""
    if isinstance(secret, SecretStr):
        secret = secret.get_secret_value()
    return secret.encode() if isinstance(secret, str) else secret


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _branch_of(ref: str | None) -> str | None:
    if ref is None:
        return None
    if ref.startswith("refs/heads/"):
        return ref.removeprefix("refs/heads/")
    return None if ref.startswith("refs/") else ref  # tags and other refs are not branches


def _sha(value: str | None) -> str | None:
    if value is None or value.lower() in _ZERO_SHA:
        return None
    return value.lower()
