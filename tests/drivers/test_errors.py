"""The error boundary: real PVE errors from fakepve, and what type they become."""

from __future__ import annotations

from typing import Any

import pytest

from gitops import errors
from gitops.drivers.proxmox.connection import ProxmoxClient

CONFIG = "/nodes/pve1/lxc/101/config"


@pytest.mark.parametrize(("name", "kind"), [
    ("config_lock_timeout", errors.TransientError),
    ("locked", errors.TransientError),
    ("no_quorum", errors.TransientError),
    ("no_route_to_host", errors.TransientError),
    ("permission_denied", errors.PermanentError),
    ("protection_mode_enabled", errors.PermanentError),
    ("storage_does_not_exist", errors.PermanentError),
    ("param_delete_unknown_option", errors.PermanentError),
    ("not_implemented", errors.PermanentError),
])
def test_pve_errors_by_kind(pve: Any, pve_client: ProxmoxClient, name: str, kind: type[Exception]) -> None:
    pve.add_ct(101, "web")
    pve.fail("PUT", CONFIG, error=name)
    with pytest.raises(kind) as caught:
        pve_client.request("PUT", CONFIG.lstrip("/"), {"memory": 1024}, target="lxc/101")
    assert caught.value.target == "lxc/101"  # type: ignore[attr-defined]
    assert str(caught.value).startswith("PUT nodes/pve1/lxc/101/config: ")


def test_parameter_error_names_each_field(pve: Any, pve_client: ProxmoxClient) -> None:
    with pytest.raises(errors.PermanentError) as caught:
        pve_client.request("POST", "nodes/pve1/lxc", {"vmid": 150, "ostemplate": pve.debian_template,
                                                      "hostname": "bad_name!", "memory": "lots"})
    message = str(caught.value)
    assert "400 Parameter verification failed." in message
    assert "hostname: invalid format" in message and "memory: type check ('integer') failed" in message


def test_cannot_shrink_is_permanent(pve: Any, pve_client: ProxmoxClient) -> None:
    pve.add_ct(101, "web")  # rootfs 8G
    with pytest.raises(errors.PermanentError, match="shrink") as caught:
        pve_client.request("PUT", "nodes/pve1/lxc/101/resize", {"disk": "rootfs", "size": "4G"})
    assert not isinstance(caught.value, errors.TransientError)


def test_any_other_server_error_is_transient(pve: Any, pve_client: ProxmoxClient) -> None:
    pve.fail("GET", "/version", 500, "something broke")
    with pytest.raises(errors.TransientError, match="500 something broke"):
        pve_client.get("version")
