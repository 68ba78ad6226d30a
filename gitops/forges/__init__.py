"""Forges (GitHub, Gitea/Forgejo, GitLab, Bitbucket Cloud): commit statuses and the one pull-request
comment we keep.

Called by the controller's pull-request reviews and deploy statuses. A forge is an external system
like Proxmox: `ForgeClient` is the only code that talks to one (httpx), its errors are the project's
own (`TransientError` retried with tenacity, `PermanentError` reported), and tokens never leave the
`Authorization` header (never a URL, a log line or an error message).

    model      ForgeKind, CommitState, CommitStatus, Comment, ForgeRepo: plain data
    dialects   each forge's documented REST routes, bodies and auth header
    client     ForgeClient: set_status, upsert_comment (found again by a hidden marker)
    retrying   the retry policy (transient errors only, sleep injected)
"""

from __future__ import annotations

from gitops.forges.client import ForgeClient, UpsertResult, forge_client
from gitops.forges.model import (
    FORGE_KINDS,
    Comment,
    CommitState,
    CommitStatus,
    ForgeKind,
    ForgeRepo,
    forge_kind,
)

__all__ = [
    "FORGE_KINDS",
    "Comment",
    "CommitState",
    "CommitStatus",
    "ForgeClient",
    "ForgeKind",
    "ForgeRepo",
    "UpsertResult",
    "forge_client",
    "forge_kind",
]
