"""The Portainer client over real HTTP: API key and JWT logins, errors as the project's types, retries."""

from __future__ import annotations

import time

import pytest

from gitops import errors
from gitops.demo.portainer import SimulatedPortainer
from gitops.drivers.portainer.connection import PortainerClient, connect, jwt_expiry
from gitops.drivers.portainer.environments import list_environments, register_agent
from gitops.settings import Settings
from tests.portainer.conftest import ADMIN_PASSWORD, STANDARD_PASSWORD, STANDARD_USER, ClientFactory, RecordingClient


def test_api_key_is_sent_as_x_api_key(portainer: SimulatedPortainer, client: RecordingClient) -> None:
    assert [e.name for e in list_environments(client)] == ["local"]
    assert portainer.model.received[-1].path == "/api/endpoints"


def test_a_wrong_api_key_is_an_authentication_error_and_not_retried(
        portainer: SimulatedPortainer, new_client: ClientFactory) -> None:
    client = new_client(api_key="ptr_wrong")
    with pytest.raises(errors.AuthenticationError, match=r"GET /api/endpoints: 401 Unauthorized \(Invalid API key\)"):
        list_environments(client)
    assert client.slept == []


def test_admin_password_logs_in_once_and_reuses_the_jwt(
        portainer: SimulatedPortainer, new_client: ClientFactory) -> None:
    client = new_client(api_key="", username="admin", password=ADMIN_PASSWORD)
    list_environments(client)
    list_environments(client)
    paths = [r.path for r in portainer.model.received]
    assert paths == ["/api/auth", "/api/endpoints", "/api/endpoints"]
    assert portainer.model.received[0].body == {"username": "admin", "password": ADMIN_PASSWORD}


def test_a_wrong_password_is_an_authentication_error(
        portainer: SimulatedPortainer, new_client: ClientFactory) -> None:
    client = new_client(api_key="", username="admin", password="nope")
    with pytest.raises(errors.AuthenticationError, match="422 Invalid credentials"):
        list_environments(client)


def test_the_jwt_is_renewed_before_it_expires(
        portainer: SimulatedPortainer, new_client: ClientFactory) -> None:
    now = [time.time()]
    portainer.model.clock = lambda: now[0]
    client = new_client(api_key="", username="admin", password=ADMIN_PASSWORD, clock=lambda: now[0])
    list_environments(client)
    now[0] += 8 * 3600 - 30  # within a minute of the 8 h expiry
    list_environments(client)
    assert [r.path for r in portainer.model.received].count("/api/auth") == 2
    assert all(r.status == 200 for r in portainer.model.received)


def test_a_refused_jwt_is_renewed_once(
        portainer: SimulatedPortainer, new_client: ClientFactory) -> None:
    client = new_client(api_key="", username="admin", password=ADMIN_PASSWORD)
    list_environments(client)
    portainer.model._signing_key = b"rotated: Portainer restarted with a new secret"
    assert [e.name for e in list_environments(client)] == ["local"]
    statuses = [(r.path, r.status) for r in portainer.model.received]
    assert statuses[-3:] == [("/api/endpoints", 401), ("/api/auth", 200), ("/api/endpoints", 200)]


def test_a_standard_user_may_not_register_an_environment(
        portainer: SimulatedPortainer, new_client: ClientFactory) -> None:
    client = new_client(api_key="", username=STANDARD_USER, password=STANDARD_PASSWORD)
    with pytest.raises(errors.PermanentError, match="403 Access denied to resource") as caught:
        register_agent(client, "agent", "tcp://10.0.0.2:9001")
    assert not isinstance(caught.value, errors.AuthenticationError)


def test_5xx_is_retried_with_the_injected_sleep(portainer: SimulatedPortainer, client: RecordingClient) -> None:
    portainer.model.fail("GET", "^/api/endpoints$", 500, times=2)
    assert [e.name for e in list_environments(client)] == ["local"]
    assert len(client.slept) == 2
    assert [r.status for r in portainer.model.received] == [500, 500, 200]


def test_5xx_that_does_not_pass_is_a_transient_error_with_portainers_message(
        portainer: SimulatedPortainer, client: RecordingClient) -> None:
    portainer.model.fail("GET", "^/api/endpoints$", 500)
    with pytest.raises(errors.TransientError, match=r"500 Internal server error \(injected by the test\)"):
        list_environments(client)
    assert len(portainer.model.received) == client.policy.attempts


def test_portainer_down_is_a_transient_error(portainer: SimulatedPortainer, client: RecordingClient) -> None:
    portainer.stop()
    with pytest.raises(errors.TransientError, match="cannot reach Portainer"):
        list_environments(client)
    assert len(client.slept) == client.policy.attempts - 1
    portainer.start()
    assert [e.name for e in list_environments(client)] == ["local"]


def test_settings_choose_the_api_key_over_the_password(portainer: SimulatedPortainer) -> None:
    from pydantic import SecretStr
    settings = Settings(portainer_url=portainer.url, portainer_api_key=SecretStr("ptr_test0123456789abcdef"),
                        portainer_user="admin", portainer_password=SecretStr("wrong"))
    client = connect(settings)
    try:
        assert list_environments(client)
        assert "ptr_" not in repr(client)
    finally:
        client.close()
    with pytest.raises(errors.SettingsError, match="PHOENIX_PORTAINER_URL"):
        connect(Settings())
    with pytest.raises(errors.SettingsError, match="PHOENIX_PORTAINER_API_KEY"):
        PortainerClient(portainer.url)


def test_jwt_expiry_reads_the_exp_claim() -> None:
    assert jwt_expiry("a.eyJleHAiOiAxMDB9.c") == 100.0
    assert jwt_expiry("not a jwt") is None
