"""Notification targets: an Apprise URL, or a JSON webhook signed with HMAC. Each says which event
kinds it wants and sends one notification, raising the project's errors (transient: try again later).

Built from `PHOENIX_NOTIFY` (`targets_from(settings)`); called by the controller's outbox dispatcher.
Target URLs are secrets (Apprise URLs hold their service's token): logs name a target by its label.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Protocol

import apprise
import httpx

from gitops import errors
from gitops.events import EventKind
from gitops.notify.messages import Notification
from gitops.settings import NotifyTarget, Settings

log = logging.getLogger(__name__)
_TYPES = {"success": apprise.NotifyType.SUCCESS, "failure": apprise.NotifyType.FAILURE,
          "warning": apprise.NotifyType.WARNING, "info": apprise.NotifyType.INFO}


# What a target without an `events` filter gets: what a person wants to hear about, not every poll.
_K = EventKind
DEFAULT_EVENTS = frozenset(k.value for k in (_K.APPLIED, _K.FAILED, _K.REJECTED, _K.ROLLED_BACK, _K.DRIFT,
                                             _K.SELF_HEAL, _K.ROLLBACK, _K.AUTO_ROLLBACK, _K.AUTO_ROLLBACK_FAILED,
                                             _K.DATA_ROLLBACK, _K.LEADER))


class Target(Protocol):
    label: str
    consumer: str  # the outbox cursor's name: stable while the target's URL is

    def wants(self, kind: str) -> bool: ...

    def send(self, notification: Notification) -> None: ...


class _Filtered:
    def __init__(self, config: NotifyTarget) -> None:
        self.label = config.label
        self.events = frozenset(config.events)
        digest = hashlib.sha256(config.url.get_secret_value().encode()).hexdigest()[:12]
        self.consumer = f"notify:{config.kind}:{digest}"

    def wants(self, kind: str) -> bool:
        if not self.events:
            return kind in DEFAULT_EVENTS
        return "*" in self.events or kind in self.events


class AppriseTarget(_Filtered):
    """Any service Apprise knows, by its URL (`slack://...`, `ntfy://...`, `mailto://...`, `json://...`)."""

    def __init__(self, config: NotifyTarget) -> None:
        super().__init__(config)
        self._apprise = apprise.Apprise()
        if not self._apprise.add(config.url.get_secret_value()):
            raise errors.SettingsError(f"notification target {self.label!r}: Apprise does not understand its URL")

    def send(self, notification: Notification) -> None:
        sent = self._apprise.notify(body=notification.body, title=notification.title,
                                    notify_type=_TYPES[notification.severity])
        if not sent:
            raise errors.TransientError(
                f"notification target {self.label!r} did not take event {notification.event_id}")


class WebhookTarget(_Filtered):
    """POST the notification as JSON; `X-Signature: sha256=<hex HMAC of the body>` when a secret is set."""

    def __init__(self, config: NotifyTarget, *, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(config)
        self._url = config.url.get_secret_value()
        if not self._url.startswith(("http://", "https://")):
            raise errors.SettingsError(f"notification target {self.label!r}: a webhook URL is http(s)")
        self._secret = config.secret.get_secret_value().encode() if config.secret else b""
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)

    def send(self, notification: Notification) -> None:
        body = json.dumps(notification.to_json(), sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "phoenix-gitops",
                   "X-Phoenix-Event": notification.kind, "X-Phoenix-Delivery": str(notification.event_id)}
        if self._secret:
            headers["X-Signature"] = "sha256=" + hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        try:
            response = self._http.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise errors.TransientError(f"notification target {self.label!r}: {type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise errors.TransientError(f"notification target {self.label!r} answered {response.status_code}")
        if response.status_code >= 400:
            raise errors.PermanentError(f"notification target {self.label!r} answered {response.status_code}")

    def close(self) -> None:
        self._http.close()


def targets_from(settings: Settings) -> list[Target]:
    """The targets of PHOENIX_NOTIFY; SettingsError names the first one that cannot be used."""
    made: list[Target] = []
    for config in settings.notify:
        made.append(WebhookTarget(config) if config.kind == "webhook" else AppriseTarget(config))
    return made
