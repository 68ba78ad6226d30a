"""Fixtures of the controller tests: a config repo, a ledger and a Reconciler wired to the `pve` fake.

`ctl` bundles them: `ctl.remote` (GitRemote), `ctl.store` (SQLite ledger), `ctl.settings` (PVE from
`pve_settings`, the repo, secrets, boot delays off), `ctl.reconciler`, `ctl.run(*triggers)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitops.controller.reconciling import Outcome, Reconciler
from gitops.controller.systems import Convergence
from gitops.controller.triggers import Trigger, coalesce
from gitops.errors import NotFoundError
from gitops.settings import Settings
from gitops.source import ConfigRepo
from gitops.store import Store, open_store
from tests.controller.support import GitRemote, write_secrets


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig-global"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


class NoDial:
    """Health-check prober for tests: answers from a table, never opens a socket."""

    def __init__(self) -> None:
        self.answers: dict[str, str | None] = {}
        self.calls: list[tuple[str, int | None]] = []

    def __call__(self, check: object, host: str) -> str | None:
        port = getattr(check, "port", None)
        self.calls.append((host, port))
        return self.answers.get(f"{host}:{port}")


@dataclass
class Ctl:
    remote: GitRemote
    store: Store
    settings: Settings
    repo: ConfigRepo
    reconciler: Reconciler
    dial: NoDial

    def run(self, *triggers: Trigger) -> Outcome:
        return self.reconciler.reconcile(coalesce(triggers or (Trigger("poll"),)))

    def status(self, sha: str) -> str:
        try:
            return self.store.get_revision(sha).status
        except NotFoundError:
            return "absent"


@pytest.fixture
def ctl(tmp_path: Path, pve_settings: Settings) -> Iterator[Ctl]:
    remote = GitRemote(tmp_path)
    settings = pve_settings.model_copy(update={
        "git_url": remote.url, "data_dir": tmp_path / "data", "secrets_dir": write_secrets(tmp_path / "secrets"),
        "boot_delays": False, "snapshots": True,
    })
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'phoenix.db'}")
    repo = ConfigRepo.from_settings(settings)
    dial = NoDial()
    reconciler = Reconciler(settings, store, repo, Convergence(settings, sleep=lambda s: None),
                            sleep=lambda s: None, dial=dial)
    try:
        yield Ctl(remote, store, settings, repo, reconciler, dial)
    finally:
        repo.close()
        store.close()
