"""Fixtures of the Portainer tests: the simulated Portainer over real HTTP, and clients of it.

- `portainer`: a fresh `SimulatedPortainer` on 127.0.0.1 (its own port) for each test, with the API key
  `API_KEY` (administrator), the admin user `admin`/`ADMIN_PASSWORD`, a standard user `STANDARD_USER`
  (`STANDARD_PASSWORD`), and Portainer's own environment `local` (Id 1). `portainer.model` is its state
  and what it received.
- `client`: a `PortainerClient` with the API key, whose sleep records instead of sleeping (`client.slept`);
  `new_client(**kwargs)` makes others (closed after the test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from gitops.demo.portainer import ADMIN, STANDARD, PortainerModel, SimulatedPortainer
from gitops.drivers.portainer.connection import PortainerClient

API_KEY = "ptr_test0123456789abcdef"
ADMIN_PASSWORD = "admin-password-42"
STANDARD_USER = "alice"
STANDARD_PASSWORD = "alice-password-42"


class RecordingClient(PortainerClient):
    slept: list[float]


ClientFactory = Callable[..., RecordingClient]


def make_client(portainer: SimulatedPortainer, **kwargs: object) -> RecordingClient:
    slept: list[float] = []
    options: dict[str, object] = {"api_key": API_KEY, "sleep": slept.append}
    options.update(kwargs)
    client = RecordingClient(portainer.url, **options)  # type: ignore[arg-type]
    client.slept = slept
    return client


@pytest.fixture
def portainer() -> Iterator[SimulatedPortainer]:
    model = PortainerModel(admin_password=ADMIN_PASSWORD, api_keys={API_KEY: ADMIN},
                           users={STANDARD_USER: (STANDARD_PASSWORD, STANDARD)})
    server = SimulatedPortainer(model)
    yield server
    server.stop()


@pytest.fixture
def new_client(portainer: SimulatedPortainer) -> Iterator[ClientFactory]:
    """Clients made with other credentials (closed at the end of the test)."""
    made: list[RecordingClient] = []

    def factory(**kwargs: object) -> RecordingClient:
        made.append(make_client(portainer, **kwargs))
        return made[-1]

    yield factory
    for c in made:
        c.close()


@pytest.fixture
def client(new_client: ClientFactory) -> RecordingClient:
    return new_client()
