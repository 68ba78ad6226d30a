"""Shared fixtures: a fake Proxmox VE (fakepve, in-process, over real HTTPS) and clients of it.

- `pve`: a fresh FakePve for each test, started on 127.0.0.1 (port picked by the system) on one
  session-wide event loop thread, `time_scale` 0 (tasks finish before the request returns).
  Attribute access is forwarded to the FakePve, and its coroutine methods are run on the server's
  loop for you, so tests call both kinds plainly: `pve.add_ct(101, "web")`, `pve.fail("POST",
  "/status/start", 500, "boom", times=2)`, `pve.hold_config_lock(101, None)`, `pve.time_scale = 0.01`.
  `pve.fake` is the FakePve itself, `pve.run(coro)` runs any coroutine on its loop.
  It starts with node `pve1`, storages `local` (dir: iso,vztmpl,backup) and `local-lvm` (lvmthin:
  images,rootdir), the template `local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst` (DEBIAN_TEMPLATE),
  and an API token `root@pam!phoenix` (TOKEN_ID, TOKEN_SECRET); root@pam's password is `secret`.
- `pve_cafile`: the CA (self-signed certificate) of every fake; `pve_settings`: Settings for `pve`
  with ticket login and verify = the CA file; `pve_client`: `connect(pve_settings)` with a sleep that
  records instead of sleeping (`pve_client.sleep.calls`).
- Every simulated node of the session (in this process and in the processes the tests start) records
  the requests it takes under `PHOENIX_PVE_RECORD` (a temporary folder unless set), and
  `tests/pve_conformance/test_recorded.py` runs last to check them against PVE 8.4's API schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fakepve import FakePve, settle
from fakepve.certs import make_cert
from pydantic import SecretStr

from gitops.demo.request_log import ENV as REQUEST_LOG_ENV
from gitops.demo.simulator import PhoenixFakePve
from gitops.drivers.proxmox.connection import ProxmoxClient, connect
from gitops.settings import Settings

HOST = "127.0.0.1"
PASSWORD = "secret"
TOKEN_ID = "root@pam!phoenix"
TOKEN_SECRET = "0b6f4c2e-7a51-4c8e-9d3f-5e2a1b9c7d40"
DEBIAN_TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
TIMEOUT = 30


class ServerLoop:
    """One asyncio loop in a daemon thread, where every fake of the session is served."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fakepve-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(TIMEOUT)

    def close(self) -> None:
        gc.collect()  # clients nobody closed: their sockets close, so the server's TLS transports can end
        self.run(asyncio.sleep(0.2))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        if not self.thread.is_alive():
            self.loop.close()


class PveHandle:
    """A started FakePve: attributes forwarded, coroutine methods run on the server loop."""

    password = PASSWORD
    token_id = TOKEN_ID
    token_secret = TOKEN_SECRET
    debian_template = DEBIAN_TEMPLATE

    def __init__(self, fake: FakePve, server: ServerLoop) -> None:
        object.__setattr__(self, "fake", fake)
        object.__setattr__(self, "server", server)

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run a coroutine (a FakePve async method, say) on the server's loop and return its result."""
        return self.server.run(coro)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.fake, name)
        if inspect.iscoroutinefunction(value):
            def sync(*args: Any, **kwargs: Any) -> Any:
                return self.server.run(value(*args, **kwargs))
            return sync
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.fake, name, value)

    @property
    def address(self) -> str:
        """`host:port`, as PHOENIX_PVE_HOST takes it."""
        return f"{self.fake.host}:{self.fake.port}"

    def paths(self, method: str | None = None) -> list[str]:
        """Paths of the requests seen so far (relative to /api2/json), optionally of one method."""
        return [p.removeprefix("/api2/json/") for m, p, _ in self.fake.requests if method in (None, m)]


class RecordingSleep:
    """An injected sleep that only records how long it was asked to wait."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get(REQUEST_LOG_ENV):
        os.environ[REQUEST_LOG_ENV] = tempfile.mkdtemp(prefix="phoenix-pve-requests-")
        config.stash[_OWN_REQUEST_LOG] = os.environ[REQUEST_LOG_ENV]


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_OWN_REQUEST_LOG, None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(REQUEST_LOG_ENV, None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The conformance check of the recorded requests runs after every test that makes them."""
    last = [i for i in items if i.path.name == "test_recorded.py" and i.path.parent.name == "pve_conformance"]
    items[:] = [i for i in items if i not in last] + last


async def _cancel_unfinished_tasks() -> None:
    """PVE tasks a test left running (time_scale > 0) end with the test, not at interpreter exit."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()
             and getattr(t.get_coro(), "__qualname__", "").endswith("task.<locals>.run")]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI (`CI=true`, set by .ci/run and every CI service) a skip is a failure: a server or tool the
    test needs is missing, and a green run must not hide it. Locally the skip stays, with its reason."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI", "").lower() == "true" and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may skip: {reason}"


_OWN_REQUEST_LOG = pytest.StashKey[str]()
PG_ADMIN_DSN = os.environ.get("PHOENIX_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The SQLAlchemy URL of a brand-new PostgreSQL database, dropped after the test (skips without a server)."""
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


@pytest.fixture(scope="session")
def pve_server() -> Iterator[ServerLoop]:
    server = ServerLoop()
    yield server
    server.close()


@pytest.fixture(scope="session")
def pve_cafile(tmp_path_factory: pytest.TempPathFactory) -> str:
    certfile, _key, _der = make_cert(str(tmp_path_factory.mktemp("pve-pki")), hosts=(HOST,))
    return str(certfile)


@contextlib.contextmanager
def started_pve(pve_server: ServerLoop, pve_cafile: str) -> Iterator[PveHandle]:
    """A fresh simulated cluster (see the module docstring), stopped when the block ends."""
    fake = PhoenixFakePve(user="root@pam", password=PASSWORD, host=HOST, port=0)
    fake.time_scale = 0
    fake.apitokens[TOKEN_ID] = TOKEN_SECRET
    fake.store_file("local", DEBIAN_TEMPLATE.split("/", 1)[1], 120 * 1024**2, content="vztmpl")
    keyfile = str(Path(pve_cafile).with_suffix(".key"))
    pve_server.run(fake.start(pve_cafile, keyfile))
    try:
        yield PveHandle(fake, pve_server)
    finally:
        pve_server.run(settle())
        pve_server.run(_cancel_unfinished_tasks())
        pve_server.run(fake.stop())


@pytest.fixture
def pve(pve_server: ServerLoop, pve_cafile: str) -> Iterator[PveHandle]:
    with started_pve(pve_server, pve_cafile) as handle:
        yield handle


@pytest.fixture
def more_pve(pve_server: ServerLoop, pve_cafile: str) -> Iterator[Callable[[], PveHandle]]:
    """Starts further simulated clusters, each independent of `pve` (several controllers, several clusters)."""
    with contextlib.ExitStack() as stack:
        yield lambda: stack.enter_context(started_pve(pve_server, pve_cafile))


@pytest.fixture
def pve_settings(pve: PveHandle, pve_cafile: str) -> Settings:
    return Settings(pve_host=pve.address, pve_user="root@pam", pve_password=SecretStr(PASSWORD),
                    pve_verify_ssl=pve_cafile, pve_timeout=10.0)


@pytest.fixture
def pve_token_settings(pve: PveHandle, pve_cafile: str) -> Settings:
    return Settings(pve_host=pve.address, pve_token_name=TOKEN_ID, pve_token_value=SecretStr(TOKEN_SECRET),
                    pve_verify_ssl=pve_cafile, pve_timeout=10.0)


@pytest.fixture
def pve_client(pve_settings: Settings) -> Iterator[ProxmoxClient]:
    with connect(pve_settings, sleep=RecordingSleep()) as client:
        yield client


@pytest.fixture(autouse=True)
def _forget_held_secrets() -> Iterator[None]:
    """The process's secret registry (`gitops.secretvalues`) is per process; each test starts without the
    secrets an earlier test's settings registered (a fake's password such as "secret" would mask words)."""
    from gitops import secretvalues

    yield
    secretvalues.REGISTRY.clear()
