"""Fixtures of the ledger tests: a fresh database per test on SQLite and on PostgreSQL.

`pg_url` makes a fresh PostgreSQL database (`phoenix_test_<random>`) on 127.0.0.1:5432 and drops it
afterwards (skips when no server answers); `sqlite_url` a file in tmp_path; `store_url` is
parametrised over both; `clock` is a settable clock; `store` is an opened ledger using that clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops.store import Store, open_store


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)



@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'phoenix.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[Store]:
    opened = open_store(store_url, clock=clock)
    try:
        yield opened
    finally:
        opened.close()
