"""Reach the configured config repo, find the head of its branch and look at its files, for `phoenix-gitops check`.

Called by `gitops.controller.preflight` only. Fetches into a throw-away folder with the same
`ConfigRepo` (credentials, timeouts and error wording) the controller uses, so what `check` says
is what the controller will meet; the controller's own clone is not touched.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from gitops.settings import Settings
from gitops.source.repository import CommitInfo, ConfigRepo

T = TypeVar("T")


def probe(settings: Settings, inspect: Callable[[Path], T]) -> tuple[str, CommitInfo, T]:
    """(the repo's display URL, the head commit of the branch, `inspect` of its config folder);
    SourceError when it cannot be fetched."""
    with tempfile.TemporaryDirectory(prefix="phoenix-check-") as folder:
        repo = ConfigRepo(settings.git_url, settings.git_branch, settings.git_path, Path(folder) / "repo",
                          token=settings.git_token, ssh_key=settings.git_ssh_key or None)
        with repo:
            head = repo.fetch().head
            return repo.display_url, head, inspect(repo.checkout(head.sha))
