"""Fixtures of the ledger tests: a fresh database per test on SQLite and on PostgreSQL.

`pg_url` makes a fresh PostgreSQL database (`phoenix_test_<random>`) on 127.0.0.1:5432 and drops it
afterwards (skips when no server answers); `sqlite_url` a file in tmp_path; `store_url` is
parametrised over both; `clock` is a settable clock; `store` is an opened ledger using that clock.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gitops.store import Store, open_store

PG_ADMIN_DSN = os.environ.get("PHOENIX_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The SQLAlchemy URL of a brand-new PostgreSQL database, dropped after the test."""
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {PG_ADMIN_DSN}: {exc}")
    name = f"phoenix_test_{secrets.token_hex(6)}"
    info = admin.info
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://{info.user}@{info.host}:{info.port}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
