"""`Idempotency-Key` on the write routes, over HTTP, with two real replicas (`Service`) on one ledger: a
retry with the same key, to the same or the other replica, answers the first request's id and queues
nothing twice; a key used for another request is refused; without a key every POST is a new request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from gitops.api.app import create_app
from gitops.controller.service import Service
from gitops.controller.systems import Convergence
from gitops.settings import Settings
from gitops.source import ConfigRepo
from gitops.store import Store, open_store
from tests.controller.support import GitRemote, small_estate, wait_for, write_secrets

TOKEN = "t0ken-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig-global"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@dataclass
class Pair:
    store: Store
    leader: Service
    follower: Service
    to_leader: httpx.Client
    to_follower: httpx.Client

    def suspends(self) -> int:
        return len(self.store.list_events(kind="suspend"))


@pytest.fixture
def pair(tmp_path: Path, pve_settings: Settings,
         serve_app: Callable[[FastAPI], httpx.Client]) -> Iterator[Pair]:
    remote = GitRemote(tmp_path)
    first = remote.commit(small_estate(), "first")
    settings = pve_settings.model_copy(update={
        "git_url": remote.url, "data_dir": tmp_path / "data", "secrets_dir": write_secrets(tmp_path / "secrets"),
        "boot_delays": False, "poll_interval": 3600, "drift_interval": 3600, "api_token": SecretStr(TOKEN)})
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'phoenix.db'}")
    repo = ConfigRepo.from_settings(settings)
    convergence = Convergence(settings, sleep=lambda s: None)
    leader = Service(settings, store, repo, convergence, identity="leader", settle_s=0.0)
    follower = Service(settings, store, repo, convergence, identity="follower")  # never started: it never leads
    leader.start()
    try:
        wait_for(lambda: store.get_state().applied_revision == first, 60, what="the startup apply")
        yield Pair(store, leader, follower, serve_app(create_app(store, leader, settings)),
                   serve_app(create_app(store, follower, settings)))
    finally:
        leader.stop(30)
        repo.close()
        store.close()


def test_a_retried_write_is_queued_once_whichever_replica_gets_it(pair: Pair) -> None:
    key = {**AUTH, "Idempotency-Key": "5f0c1e9a-retry-me"}
    first = pair.to_follower.post("/api/v1/suspend", headers=key)
    assert first.status_code == 202, first.text
    request = first.json()["request"]
    assert first.json()["via"] == "the ledger, to the leader" and "replayed" not in first.json()
    for client in (pair.to_follower, pair.to_leader, pair.to_follower):  # the retries nginx or a client sends
        again = client.post("/api/v1/suspend", headers=key)
        assert again.status_code == 202, again.text
        assert again.json()["request"] == request and again.json()["replayed"] is True
    wait_for(lambda: pair.store.get_state().suspended, 10, what="the leader took the suspend")
    done = wait_for(lambda: (a := pair.to_leader.get(f"/api/v1/requests/{request}").json())["done"] and a, 10,
                    what="the request's outcome")
    assert done["request"] == request
    assert pair.suspends() == 1
    assert pair.leader.queue.pending() == 0 and pair.store.take_requests("anyone") == []
    # a new key is a new request; no key at all is a new request every time
    other = pair.to_leader.post("/api/v1/resume", headers={**AUTH, "Idempotency-Key": "another-key"})
    assert other.status_code == 202 and other.json()["request"] != request
    plain = [pair.to_leader.post("/api/v1/suspend", headers=AUTH).json()["request"] for _ in range(2)]
    assert len(set(plain)) == 2


def test_the_leader_keeps_a_keyed_write_once_in_memory_too(pair: Pair) -> None:
    key = {**AUTH, "Idempotency-Key": "leader-first"}
    answers = [pair.to_leader.post("/api/v1/sync", headers=key, json={}) for _ in range(3)]
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["request"] for a in answers}) == 1
    assert [a.json().get("replayed") for a in answers] == [None, True, True]
    after_follower = pair.to_follower.post("/api/v1/sync", headers=key, json={})
    assert after_follower.json()["replayed"] is True
    assert pair.store.take_requests("anyone") == []  # kept as taken by the leader, never handed over again
    targeted = {**AUTH, "Idempotency-Key": "targeted"}
    some = [pair.to_follower.post("/api/v1/sync", headers=targeted, json={"targets": ["lxc/101"]}) for _ in range(2)]
    assert [a.status_code for a in some] == [202, 202], some[0].text
    assert [a.json()["targets"] for a in some] == [["lxc/101"], ["lxc/101"]] and some[1].json()["replayed"]
    other_targets = pair.to_leader.post("/api/v1/sync", headers=targeted, json={"targets": ["lxc/900"]})
    assert other_targets.status_code == 409


def test_a_key_reused_for_another_request_is_refused(pair: Pair) -> None:
    key = {**AUTH, "Idempotency-Key": "one-key-one-request"}
    assert pair.to_follower.post("/api/v1/suspend", headers=key).status_code == 202
    reused = pair.to_leader.post("/api/v1/resume", headers=key)
    assert reused.status_code == 409 and "Idempotency-Key was used for another request" in reused.json()["detail"]
    sync = pair.to_leader.post("/api/v1/sync", headers=key, json={})
    assert sync.status_code == 409
    wait_for(lambda: pair.store.get_state().suspended, 10, what="the suspend")
    assert not pair.store.list_events(kind="resume")


@pytest.mark.parametrize("value", [b"", b"a" * 256, b"has space", "caf\u00e9".encode()])
def test_a_malformed_key_is_refused_and_queues_nothing(pair: Pair, value: bytes) -> None:
    answer = pair.to_leader.post("/api/v1/suspend", headers={**AUTH, "Idempotency-Key": value})
    assert answer.status_code == 422
    assert pair.leader.queue.pending() == 0 and not pair.store.get_state().suspended


def test_openapi_documents_the_header_on_every_write(pair: Pair) -> None:
    doc = pair.to_leader.get("/openapi.json").json()
    for path in ("/api/v1/sync", "/api/v1/rollback", "/api/v1/suspend", "/api/v1/resume"):
        headers = [p for p in doc["paths"][path]["post"].get("parameters", []) if p["in"] == "header"]
        assert [h["name"] for h in headers] == ["Idempotency-Key"], path
        assert "queues nothing" in headers[0]["description"]
