"""The read API answers from memory: many requests cost one ledger read per change, and a change made
through the store (or by another replica, after `max_age`) shows at once (or within `max_age`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from gitops.api.app import create_app
from gitops.api.readmodel import ReadModel
from gitops.settings import Settings
from gitops.store import Store, open_store
from tests.api.test_app import SECRET, TOKEN, FakeController


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'phoenix.db'}")
    yield store
    store.close()


def test_status_resources_and_metrics_are_rendered_once_per_change(
        ledger: Store, serve_app: Callable[[FastAPI], httpx.Client]) -> None:
    controller = FakeController()
    app = create_app(ledger, controller, Settings(api_token=SecretStr(TOKEN), webhook_secret=SecretStr(SECRET)))  # type: ignore[arg-type]
    model: ReadModel = app.state.read_model
    model.max_age = 3600
    with serve_app(app) as api:
        for _ in range(30):
            for path in ("/api/v1/status", "/api/v1/resources", "/metrics", "/"):
                assert api.get(path).status_code == 200
        assert model.renders == 4
        ledger.update_state(phase="applying", last_drift={"revision": None, "resources": [
            {"target": "lxc/101", "state": "drifted", "actions": []}]})
        assert api.get("/api/v1/status").json()["phase"] == "applying"  # a write through the store shows at once
        assert api.get("/api/v1/resources").json()["resources"][0]["state"] == "drifted"
        controller.busy = True
        assert api.get("/api/v1/status").json()["busy"] is True
        assert model.renders == 7


def test_a_write_by_another_process_shows_after_max_age(tmp_path: Path) -> None:
    now = [0.0]
    model = ReadModel(max_age=1.0, clock=lambda: now[0])
    values = iter([b"one", b"two"])
    assert model.get("status", 1, lambda: next(values)) == b"one"
    now[0] = 0.5
    assert model.get("status", 1, lambda: next(values)) == b"one"
    now[0] = 1.6
    assert model.get("status", 1, lambda: next(values)) == b"two"
