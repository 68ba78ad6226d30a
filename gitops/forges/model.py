"""Plain data the forge client takes and returns; no I/O.

A `ForgeRepo` names a repository on one forge (`owner/name` on GitHub and Gitea, the project's
path `group/sub/project` or numeric id on GitLab, `workspace/slug` on Bitbucket Cloud). `CommitState`
is ours; each dialect maps it to the forge's own words (GitLab `failed`, Bitbucket `FAILED`, where
GitHub says `failure`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

ForgeKind = Literal["github", "gitea", "gitlab", "bitbucket"]
FORGE_KINDS: tuple[ForgeKind, ...] = ("github", "gitea", "gitlab", "bitbucket")
_ALIASES: dict[str, ForgeKind] = {"github": "github", "gitea": "gitea", "forgejo": "gitea", "gitlab": "gitlab",
                                  "bitbucket": "bitbucket"}


def forge_kind(name: str) -> ForgeKind | None:
    """The forge kind for a webhook provider or setting (`forgejo` speaks Gitea's API); None if none."""
    return _ALIASES.get(name.strip().lower())


class CommitState(StrEnum):
    pending = "pending"
    success = "success"
    failure = "failure"
    error = "error"


@dataclass(frozen=True, slots=True)
class CommitStatus:
    """One status line on a commit: `context` names it, so a later status with the same one replaces it."""

    state: CommitState
    context: str
    description: str = ""
    target_url: str | None = None


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    body: str


@dataclass(frozen=True, slots=True)
class ForgeRepo:
    kind: ForgeKind
    path: str  # owner/name, or a GitLab project path or id

    def __str__(self) -> str:
        return f"{self.kind}:{self.path}"
