"""Notifications: what happened to the estate, sent to chat, mail or any HTTP endpoint.

Called by the controller's outbox dispatcher (`gitops.controller.outbox`), which reads the event table
and hands each event to the targets that want its kind. Apprise does the services (Slack, Discord,
Matrix, ntfy, Gotify, email and the rest, by URL); a generic JSON webhook is signed with HMAC-SHA256
(`X-Signature: sha256=<hex>`, as the controller's own generic webhook). Messages are made only of the
event's kind, message and revision, and every known secret value is replaced by `(secret)` before
anything leaves.

    messages   Notification (plain data) and its title, body and JSON
    targets    AppriseTarget, WebhookTarget, targets_from(settings)
"""

from __future__ import annotations

from gitops.notify.messages import Notification
from gitops.notify.targets import AppriseTarget, Target, WebhookTarget, targets_from

__all__ = ["AppriseTarget", "Notification", "Target", "WebhookTarget", "targets_from"]
