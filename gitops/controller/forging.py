"""Which forge client talks for a webhook provider or the followed repository, from the settings.

Used by the pull-request reviews and the deploy statuses. A forge without a token gets no client:
reviews still run and are recorded, but nothing is posted (and the log says why, once).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from gitops.forges import ForgeClient, ForgeKind, forge_kind
from gitops.retrying import FORGE, RetryPolicy
from gitops.settings import Settings

log = logging.getLogger(__name__)


class Forges:
    """Clients made on first use and kept; `close()` ends them."""

    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] | None = None,
                 policy: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.sleep = sleep
        self.policy = policy
        self._clients: dict[ForgeKind, ForgeClient | None] = {}

    def for_provider(self, provider: str) -> ForgeClient | None:
        kind = forge_kind(provider)
        if kind is None:
            return None
        if kind not in self._clients:
            self._clients[kind] = self._make(kind)
        return self._clients[kind]

    def _make(self, kind: ForgeKind) -> ForgeClient | None:
        s = self.settings
        url, token = {"github": (s.github_api_url, s.github_token), "gitea": (s.gitea_url, s.gitea_token),
                      "gitlab": (s.gitlab_url, s.gitlab_token),
                      "bitbucket": (s.bitbucket_api_url, s.bitbucket_token)}[kind]
        if token is None or not token.get_secret_value():
            log.warning("no %s token (PHOENIX_%s_TOKEN): pull-request reviews and statuses are not posted there",
                        kind, kind.upper())
            return None
        if not url:
            log.warning("no %s URL is set: pull-request reviews and statuses are not posted there", kind)
            return None
        return ForgeClient(kind, url, token, verify=s.forge_verify, sleep=self.sleep or time.sleep,
                           policy=self.policy or FORGE)

    def close(self) -> None:
        for client in self._clients.values():
            if client is not None:
                client.close()
        self._clients.clear()
