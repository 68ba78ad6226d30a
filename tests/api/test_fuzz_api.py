"""The API keeps its published contract: schemathesis, every check on, against the demo (the simulated
node and Portainer, the example estate applied by the real controller), over HTTP on loopback.

Two runs, each over every operation: one with a fixed seed (the same cases every time: a failure
reproduces), one with a seed hypothesis picks (new cases each run; a failure prints the seed to
replay). Examples per operation are bounded to keep the cost near 30 s (FUZZ_EXAMPLES overrides).
Writes carry the demo's bearer token: they really queue syncs, rollbacks, suspends and resumes.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from gitops.api.app import create_app
from gitops.controller.service import Service
from gitops.controller.systems import Convergence
from gitops.demo.embedded import start_demo
from gitops.settings import Settings
from gitops.source import ConfigRepo
from gitops.store import open_store

schemathesis = pytest.importorskip("schemathesis")

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
FIXED_SEED = 20


@dataclass
class Demo:
    url: str
    token: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    data = tmp_path_factory.mktemp("fuzz-demo")
    with pytest.MonkeyPatch.context() as env:
        env.delenv("PHOENIX_API_TOKEN", raising=False)  # the demo makes its own
        started = start_demo(Path(data))
    cfg = started.settings.model_copy(update={"poll_interval": 0.5, "drift_interval": 5.0,
                                              "webhook_secret": SecretStr("fuzz-webhook-secret")})
    store = open_store(cfg.sqlite_url())
    repo = ConfigRepo.from_settings(cfg)
    service = Service(cfg, store, repo, Convergence(cfg), identity="fuzz")
    service.start()
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    try:
        deadline = time.monotonic() + 120
        while not store.get_state().applied_revision:
            assert time.monotonic() < deadline, f"the demo did not apply: {store.get_state()}"
            time.sleep(0.2)
        app = create_app(store, service, cfg)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False,
                                               lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline + 10, "uvicorn did not start"
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Demo(f"http://127.0.0.1:{port}", started.token)
    finally:
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(10)
        service.stop(60)
        repo.close()
        store.close()
        started.close()


# The document the app publishes; its operations are the same for any ledger (built here, before the demo).
DOCUMENT = create_app(None, None, Settings()).openapi()  # type: ignore[arg-type]
OPERATIONS = [(path, method.upper()) for path, operations in DOCUMENT["paths"].items() for method in operations]
LIMITS = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def every_check() -> list[Any]:
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    return list(CHECKS.get_all())


def fuzz(demo: Demo, path: str, method: str, fixed_seed: int | None) -> None:
    """Every check of schemathesis on the cases it draws for one operation: valid requests and invalid ones."""
    operation = schemathesis.openapi.from_dict(DOCUMENT)[path][method]
    modes = schemathesis.GenerationMode
    cases = st.one_of(operation.as_strategy(modes.POSITIVE), operation.as_strategy(modes.NEGATIVE))
    checks = every_check()

    @LIMITS
    @given(case=cases)
    def run(case: Any) -> None:
        case.call_and_validate(base_url=demo.url, headers={"Authorization": f"Bearer {demo.token}"}, checks=checks)

    (seed(fixed_seed)(run) if fixed_seed is not None else run)()


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_the_api_keeps_its_contract_fixed_seed(demo: Demo, path: str, method: str) -> None:
    fuzz(demo, path, method, FIXED_SEED)


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_the_api_keeps_its_contract_random_seed(demo: Demo, path: str, method: str) -> None:
    fuzz(demo, path, method, None)
