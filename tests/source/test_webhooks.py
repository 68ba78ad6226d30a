"""Webhook signatures of each provider, and the push payloads they send."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from pydantic import SecretStr

from gitops import errors
from gitops.source import webhooks

SECRET = "s3cret-webhook"
BODY = json.dumps({"ref": "refs/heads/main", "after": "a" * 40}).encode()
SHA = "0123456789abcdef0123456789abcdef01234567"


def hex_hmac(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


VALID_HEADERS = {
    "github": {"X-Hub-Signature-256": f"sha256={hex_hmac(BODY)}", "X-GitHub-Event": "push"},
    "gitea": {"X-Gitea-Signature": hex_hmac(BODY), "X-Gitea-Event": "push"},
    "gitlab": {"X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Push Hook"},
    "bitbucket": {"X-Hub-Signature": f"sha256={hex_hmac(BODY)}", "X-Event-Key": "repo:push"},
    "generic": {"X-Signature": f"sha256={hex_hmac(BODY)}"},
}
INVALID_HEADERS = {
    "github": {"X-Hub-Signature-256": f"sha256={hex_hmac(BODY, 'other')}"},
    "gitea": {"X-Gitea-Signature": hex_hmac(BODY + b" ")},
    "gitlab": {"X-Gitlab-Token": SECRET + "x"},
    "bitbucket": {"X-Hub-Signature": f"sha1={hex_hmac(BODY)}"},  # right digest, wrong algorithm label
    "generic": {"X-Signature": hex_hmac(BODY)},  # the sha256= prefix is required
}


@pytest.mark.parametrize("provider", webhooks.PROVIDERS)
def test_valid_signature(provider: str) -> None:
    assert webhooks.verify_webhook(provider, VALID_HEADERS[provider], BODY, SECRET)
    assert webhooks.verify_webhook(provider.upper(), VALID_HEADERS[provider], BODY, SecretStr(SECRET))
    lowered = {k.lower(): v for k, v in VALID_HEADERS[provider].items()}
    assert webhooks.verify_webhook(provider, lowered, BODY, SECRET.encode())


@pytest.mark.parametrize("provider", webhooks.PROVIDERS)
def test_invalid_signature(provider: str) -> None:
    assert not webhooks.verify_webhook(provider, INVALID_HEADERS[provider], BODY, SECRET)


@pytest.mark.parametrize("provider", webhooks.PROVIDERS)
def test_missing_header(provider: str) -> None:
    assert not webhooks.verify_webhook(provider, {"Content-Type": "application/json"}, BODY, SECRET)


@pytest.mark.parametrize("provider", webhooks.PROVIDERS)
def test_tampered_body(provider: str) -> None:
    tampered = BODY.replace(b"main", b"evil")
    verified = webhooks.verify_webhook(provider, VALID_HEADERS[provider], tampered, SECRET)
    assert verified == (provider == "gitlab")  # GitLab's token does not sign the body


@pytest.mark.parametrize("provider", webhooks.PROVIDERS)
@pytest.mark.parametrize("secret", [None, "", SecretStr("")])
def test_no_secret_verifies_nothing(provider: str, secret: str | SecretStr | None) -> None:
    empty_headers = {
        "X-Gitlab-Token": "",
        "X-Hub-Signature-256": f"sha256={hex_hmac(BODY, '')}",
        "X-Hub-Signature": f"sha256={hex_hmac(BODY, '')}",
        "X-Gitea-Signature": hex_hmac(BODY, ""),
        "X-Signature": f"sha256={hex_hmac(BODY, '')}",
    }
    assert not webhooks.verify_webhook(provider, empty_headers, BODY, secret)


def test_uppercase_hex_digest_is_accepted() -> None:
    headers = {"X-Hub-Signature-256": f"sha256={hex_hmac(BODY).upper()}"}
    assert webhooks.verify_webhook("github", headers, BODY, SECRET)


def test_unknown_provider() -> None:
    with pytest.raises(webhooks.UnknownProviderError, match="one of github"):
        webhooks.verify_webhook("sourcehut", {}, BODY, SECRET)
    with pytest.raises(errors.SourceError):
        webhooks.parse_push("sourcehut", BODY)


# -- payloads ----------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["github", "gitea"])
def test_github_and_gitea_push(provider: str) -> None:
    body = json.dumps({"ref": "refs/heads/main", "before": "1" * 40, "after": SHA, "commits": []})
    assert webhooks.parse_push(provider, body.encode()) == webhooks.PushEvent("main", SHA, "refs/heads/main")


def test_gitlab_push_prefers_checkout_sha() -> None:
    body = {"object_kind": "push", "ref": "refs/heads/release/v2", "after": "b" * 40, "checkout_sha": SHA}
    event = webhooks.parse_push("gitlab", json.dumps(body))
    assert (event.branch, event.after_sha) == ("release/v2", SHA)
    body = {"object_kind": "push", "ref": "refs/heads/main", "after": SHA, "checkout_sha": None}
    assert webhooks.parse_push("gitlab", json.dumps(body)).after_sha == SHA


def test_deleted_branch_has_no_after_sha() -> None:
    body = {"ref": "refs/heads/main", "after": "0" * 40}
    expected = webhooks.PushEvent("main", None, "refs/heads/main")
    assert webhooks.parse_push("github", json.dumps(body)) == expected


def test_tag_push_is_not_a_branch() -> None:
    event = webhooks.parse_push("github", json.dumps({"ref": "refs/tags/v1", "after": SHA}))
    assert event.branch is None
    assert event.ref == "refs/tags/v1"


def test_github_ping_has_neither_branch_nor_sha() -> None:
    assert webhooks.parse_push("github", json.dumps({"zen": "Keep it simple.", "hook_id": 1})) == (
        webhooks.PushEvent(None, None)
    )


def _bitbucket(*changes: object) -> bytes:
    payload = {"push": {"changes": list(changes)}, "repository": {"full_name": "ops/estate"}}
    return json.dumps(payload).encode()


def test_bitbucket_push() -> None:
    change = {"new": {"type": "branch", "name": "main", "target": {"hash": SHA.upper()}}, "old": None}
    assert webhooks.parse_push("bitbucket", _bitbucket(change)) == webhooks.PushEvent(
        "main", SHA, "refs/heads/main"
    )


def test_bitbucket_picks_the_followed_branch() -> None:
    other = {"new": {"type": "branch", "name": "feature", "target": {"hash": "c" * 40}}}
    tag = {"new": {"type": "tag", "name": "main", "target": {"hash": "d" * 40}}}
    main = {"new": {"type": "branch", "name": "main", "target": {"hash": SHA}}}
    body = _bitbucket(other, tag, main)
    assert webhooks.parse_push("bitbucket", body).branch == "feature"
    assert webhooks.parse_push("bitbucket", body, branch="main").after_sha == SHA
    assert webhooks.parse_push("bitbucket", body, branch="nope") == webhooks.PushEvent(None, None)


def test_bitbucket_deleted_branch() -> None:
    change = {"new": None, "old": {"type": "branch", "name": "main", "target": {"hash": SHA}}}
    assert webhooks.parse_push("bitbucket", _bitbucket(change)) == webhooks.PushEvent(
        "main", None, "refs/heads/main"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"ref": "refs/heads/main", "after": SHA}, webhooks.PushEvent("main", SHA, "refs/heads/main")),
        ({"ref": "main"}, webhooks.PushEvent("main", None, "main")),
        ({"branch": "main", "after": SHA}, webhooks.PushEvent("main", SHA, "refs/heads/main")),
        ({}, webhooks.PushEvent(None, None)),
    ],
)
def test_generic_push(body: dict[str, str], expected: webhooks.PushEvent) -> None:
    assert webhooks.parse_push("generic", json.dumps(body).encode()) == expected
    assert webhooks.parse_push("generic", b"") == webhooks.PushEvent(None, None)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_bad_payload(body: bytes) -> None:
    with pytest.raises(errors.SourceError, match="github webhook"):
        webhooks.parse_push("github", body)
