"""Hostile input to the API gets a clear 4xx, never a 500: deep nesting in a signed webhook body, an offset
beyond any integer the database holds.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from gitops.api.app import create_app
from gitops.settings import Settings
from gitops.store import open_store
from tests.api.test_app import SECRET, TOKEN, FakeController

Api = tuple[httpx.Client, FakeController]


@pytest.fixture
def api(tmp_path: Path, serve_app: Callable[[FastAPI], httpx.Client]) -> Iterator[Api]:
    store = open_store(f"sqlite:///{tmp_path / 'phoenix.db'}")
    controller = FakeController()
    settings = Settings(api_token=SecretStr(TOKEN), webhook_secret=SecretStr(SECRET))
    yield serve_app(create_app(store, controller, settings)), controller  # type: ignore[arg-type]
    store.close()


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_deeply_nested_webhook_body_is_a_400(api: Api) -> None:
    client, controller = api
    body = b"[" * 100_000 + b"]" * 100_000
    obj = b'{"ref": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with client:
        for payload in (body, obj):
            headers = {"X-Hub-Signature-256": sign(payload)}
            got = client.post("/api/v1/webhooks/github", content=payload, headers=headers)
            assert got.status_code == 400, got.text
            assert "JSON" in got.json()["detail"]
        assert client.get("/healthz").status_code == 200
    assert controller.triggers == []


def test_huge_offset_is_a_422(api: Api) -> None:
    client, _ = api
    with client:
        for offset in ("9223372036854775808", "9" * 5000, "-1"):
            got = client.get(f"/api/v1/revisions?offset={offset}")
            assert got.status_code == 422, (offset, got.status_code)
        assert client.get("/api/v1/revisions?offset=1000000").json()["revisions"] == []


