"""Notifications through Apprise and a signed JSON webhook, delivered from the outbox to a loopback receiver."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from gitops import errors
from gitops.controller.outbox import OutboxDispatcher, known_secret_values
from gitops.notify import AppriseTarget, Notification, WebhookTarget, targets_from
from gitops.settings import NotifyTarget, Settings
from gitops.source import verify_webhook
from gitops.store import Store, open_store
from tests.notify.receiver import Receiver

SENTINEL = "SENTINEL-7f3a9c"
AT = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'phoenix.db'}")
    yield s
    s.close()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def webhook(receiver: Receiver, events: list[str] | None = None) -> WebhookTarget:
    return WebhookTarget(NotifyTarget(name="ops", kind="webhook", url=SecretStr(receiver.url()),
                                      secret=SecretStr("hmac-key"), events=events or []))


def test_the_json_webhook_is_signed_as_our_generic_webhooks_are(receiver: Receiver) -> None:
    webhook(receiver).send(Notification(7, "applied", "info", "abc123 applied", AT, "ab" * 20, "http://x/r"))
    [delivery] = receiver.deliveries
    assert verify_webhook("generic", delivery.headers, delivery.body, "hmac-key")
    assert delivery.json["kind"] == "applied" and delivery.json["severity"] == "success"
    assert delivery.headers["x-phoenix-delivery"] == "7"


def test_apprise_delivers_to_its_json_service(receiver: Receiver) -> None:
    target = AppriseTarget(NotifyTarget(url=SecretStr(f"json://127.0.0.1:{receiver.port}/apprise")))
    target.send(Notification(8, "failed", "error", "abc123 failed: boom", AT, "ab" * 20))
    [delivery] = receiver.deliveries
    assert delivery.path == "/apprise"
    assert delivery.json["title"] == f"Phoenix GitOps: failed {'ab' * 6}"
    assert delivery.json["message"].startswith("abc123 failed: boom") and delivery.json["type"] == "failure"


def test_a_refusing_receiver_is_transient_then_permanent(receiver: Receiver) -> None:
    target = webhook(receiver)
    receiver.status = 503
    with pytest.raises(errors.TransientError):
        target.send(Notification(1, "applied", "info", "m", AT))
    receiver.status = 400
    with pytest.raises(errors.PermanentError):
        target.send(Notification(1, "applied", "info", "m", AT))


def test_settings_make_targets_and_refuse_nonsense() -> None:
    settings = Settings(notify=[{"url": "ntfy://ntfy.example.org/phoenix", "events": ["failed"]},
                                {"kind": "webhook", "url": "https://hooks.example.org/x", "secret": "hook-key"}])
    apprise_target, hook = targets_from(settings)
    assert apprise_target.wants("failed") and not apprise_target.wants("applied") and hook.wants("applied")
    assert not hook.wants("pr-review")  # no filter: the notable kinds only
    assert targets_from(Settings(notify=[{"url": "json://127.0.0.1/x", "events": ["*"]}]))[0].wants("pr-review")
    with pytest.raises(errors.SettingsError):
        targets_from(Settings(notify=[{"url": "nonsense-without-scheme"}]))
    assert "ntfy.example.org" not in repr(settings)


def test_outbox_delivers_in_order_at_least_once_and_survives_a_restart(store: Store, receiver: Receiver) -> None:
    clock = Clock()
    store.add_event("leader", "before the target existed")
    dispatcher = OutboxDispatcher(store, [webhook(receiver, ["applied", "failed", "rejected"])], monotonic=clock)
    assert dispatcher.run_once() == 0  # a new target starts at the newest event
    store.add_event("applied", "one applied")
    store.add_event("poll", "not wanted by this target")
    store.add_event("failed", "two failed", level="error")
    assert dispatcher.run_once() == 2
    assert [d.json["message"] for d in receiver.deliveries] == ["one applied", "two failed"]

    receiver.status = 503  # the receiver goes down: nothing is lost, the cursor waits
    store.add_event("rejected", "three rejected", level="warning")
    assert dispatcher.run_once() == 0
    receiver.status = 200
    assert dispatcher.run_once() == 0  # backing off
    clock.now += 5
    assert dispatcher.run_once() == 1

    store.add_event("applied", "four applied")
    restarted = OutboxDispatcher(store, [webhook(receiver, ["applied", "failed", "rejected"])], monotonic=clock)
    assert restarted.run_once() == 1  # the new process remembers what was sent
    assert [d.json["message"] for d in receiver.deliveries] == ["one applied", "two failed", "three rejected",
                                                                "four applied"]


def test_secrets_never_leave_in_a_notification(store: Store, receiver: Receiver, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "db_password").write_text(SENTINEL + "-file\n")
    monkeypatch.setenv("PHOENIX_SECRET_API_KEY", SENTINEL + "-env")
    settings = Settings(secrets_dir=secrets, api_token=SecretStr(SENTINEL + "-token"),
                        github_token=SecretStr(SENTINEL + "-gh"))
    dispatcher = OutboxDispatcher(store, [webhook(receiver)], secrets=known_secret_values(settings),
                                  public_url="https://phoenix.example.org")
    dispatcher.run_once()
    store.add_event("failed", f"boom: password={SENTINEL}-file token={SENTINEL}-token key={SENTINEL}-env",
                    level="error")
    assert dispatcher.run_once() == 1
    assert SENTINEL not in receiver.deliveries[0].body.decode()
    assert "(secret)" in receiver.deliveries[0].json["message"]


def test_a_crashing_target_does_not_starve_the_others(store: Store, receiver: Receiver) -> None:
    class Broken:
        label, consumer = "broken", "notify:broken"

        def wants(self, kind: str) -> bool:
            return True

        def send(self, notification: Notification) -> None:
            raise RuntimeError("a bug")

    clock = Clock()
    dispatcher = OutboxDispatcher(store, [Broken(), webhook(receiver)], monotonic=clock)
    dispatcher.prime()
    store.add_event("applied", "one applied")
    assert dispatcher.run_once() == 1
    assert [d.json["message"] for d in receiver.deliveries] == ["one applied"]
    assert (store.outbox_cursor("notify:broken") or 0) < store.latest_event_id()  # kept for another try


def test_a_target_no_longer_configured_loses_its_cursor(store: Store, receiver: Receiver) -> None:
    store.add_event("applied", "before")
    store.set_outbox_cursor("notify:removed", 0)  # a target an earlier configuration had
    OutboxDispatcher(store, [webhook(receiver)]).prime()
    assert store.outbox_cursor("notify:removed") is None  # its backlog would grow for ever otherwise
    assert [b.consumer for b in store.outbox_backlog()] == [webhook(receiver).consumer]
