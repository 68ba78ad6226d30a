"""Reach the configured config repo and find the head of its branch, for `phoenix-gitops check`.

Called by `gitops.controller.preflight` only. Fetches into a throw-away folder with the same
`ConfigRepo` (credentials, timeouts and error wording) the controller uses, so what `check` says
is what the controller will meet; the controller's own clone is not touched.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from gitops.settings import Settings
from gitops.source.repository import CommitInfo, ConfigRepo


def probe(settings: Settings) -> tuple[str, CommitInfo]:
    """(the repo's display URL, the head commit of the branch); SourceError when it cannot be fetched."""
    with tempfile.TemporaryDirectory(prefix="phoenix-check-") as folder:
        repo = ConfigRepo(settings.git_url, settings.git_branch, settings.git_path, Path(folder) / "repo",
                          token=settings.git_token, ssh_key=settings.git_ssh_key or None)
        with repo:
            return repo.display_url, repo.fetch().head
