"""The config repository: git access (clone once, fetch, history, files of any commit) and webhooks.

Used by the controller (`repository.ConfigRepo`) and by the API's webhook route (`webhooks`).

    access       credentials for git through its environment; URLs safe to show
    repository   ConfigRepo, CommitInfo, FetchResult
    webhooks     verify_webhook, parse_push, PushEvent
    pullrequests event_type, parse_pull_request, PullRequestEvent
"""

from __future__ import annotations

from gitops.source.pullrequests import PullRequestEvent, event_type, parse_pull_request, same_repository
from gitops.source.repository import CommitInfo, ConfigRepo, FetchResult
from gitops.source.webhooks import PROVIDERS, PushEvent, UnknownProviderError, parse_push, verify_webhook

__all__ = [
    "PROVIDERS",
    "CommitInfo",
    "ConfigRepo",
    "FetchResult",
    "PullRequestEvent",
    "PushEvent",
    "UnknownProviderError",
    "event_type",
    "parse_pull_request",
    "parse_push",
    "same_repository",
    "verify_webhook",
]
