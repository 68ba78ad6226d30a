"""connect(): ticket and token login, node detection, and the errors a wrong setup gives."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from pydantic import SecretStr

from gitops import errors
from gitops.drivers.proxmox.connection import connect
from gitops.settings import Settings


def test_ticket_login_finds_the_only_node(pve_settings: Settings) -> None:
    client = connect(pve_settings)
    assert client.node == "pve1"
    assert client.nodes == ["pve1"]
    assert client.get("version")["release"]


def test_token_login(pve_token_settings: Settings) -> None:
    client = connect(pve_token_settings)
    assert client.node == "pve1"
    assert client.user == "root@pam!phoenix"


def test_wrong_password_is_one_clear_line_without_the_secret(pve_settings: Settings, pve: Any) -> None:
    settings = pve_settings.model_copy(update={"pve_password": SecretStr("wrong-horse")})
    with pytest.raises(errors.AuthenticationError) as caught:
        connect(settings)
    message = str(caught.value)
    assert "\n" not in message
    assert settings.pve_host in message and "root@pam" in message
    assert "wrong-horse" not in message and pve.password not in message


def test_wrong_token_is_an_authentication_error(pve_token_settings: Settings, pve: Any) -> None:
    settings = pve_token_settings.model_copy(update={"pve_token_value": SecretStr("not-the-token")})
    with pytest.raises(errors.AuthenticationError) as caught:
        connect(settings)
    message = str(caught.value)
    assert "root@pam!phoenix" in message
    assert "not-the-token" not in message and pve.token_secret not in message


def test_unreachable_host_is_transient(pve_settings: Settings) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = pve_settings.model_copy(update={"pve_host": f"127.0.0.1:{port}"})
    with pytest.raises(errors.TransientError) as caught:
        connect(settings)
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_untrusted_certificate_is_permanent(pve_settings: Settings) -> None:
    settings = pve_settings.model_copy(update={"pve_verify_ssl": "true"})
    with pytest.raises(errors.PermanentError, match="TLS verification failed"):
        connect(settings)


def test_node_setting_is_checked(pve_settings: Settings, pve: Any) -> None:
    pve.add_node("pve2")
    assert connect(pve_settings).node == ""  # a cluster: guests name their node
    assert connect(pve_settings.model_copy(update={"pve_node": "pve2"})).node == "pve2"
    with pytest.raises(errors.PermanentError, match="no node 'nope'"):
        connect(pve_settings.model_copy(update={"pve_node": "nope"}))


def test_missing_credentials_is_a_settings_error(pve_settings: Settings) -> None:
    with pytest.raises(errors.SettingsError):
        connect(pve_settings.model_copy(update={"pve_password": None}))
    with pytest.raises(errors.SettingsError, match="user@realm!name"):
        connect(pve_settings.model_copy(update={"pve_token_name": "name", "pve_token_value": SecretStr("x")}))
