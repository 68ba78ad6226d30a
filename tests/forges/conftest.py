"""Fixtures of the forge tests: the forge simulator on loopback, and clients of it that never sleep.

    forge_sim      a started ForgeSimulator with `ann/config` (PRs 1-3) on each forge
    forge_client   factory: forge_client(kind, token=None) -> ForgeClient of the simulator; its
                   sleeps are recorded in `client.slept`
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pydantic import SecretStr

from gitops.demo.forges import ForgeSimulator
from gitops.forges import FORGE_KINDS, ForgeClient, ForgeKind

REPO = "ann/config"


@pytest.fixture
def forge_sim() -> Iterator[ForgeSimulator]:
    with ForgeSimulator() as sim:
        for kind in FORGE_KINDS:
            sim.add_repo(kind, REPO, pulls=[1, 2, 3])
        yield sim


class SleepRecorder:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def forge_client(forge_sim: ForgeSimulator) -> Iterator[Callable[..., ForgeClient]]:
    made: list[ForgeClient] = []

    def make(kind: ForgeKind, token: str | None = None) -> ForgeClient:
        client = ForgeClient(kind, forge_sim.api_url(kind), SecretStr(token or forge_sim.tokens[kind]),
                             sleep=SleepRecorder(), timeout=5)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
