"""The simulated node's appliance index (gitops/demo/simulator.py), through the real client over HTTPS:
`GET/POST nodes/{node}/aplinfo` answer as PVE's `apl_info` and `apl_download` do."""

from __future__ import annotations

from typing import Any

import pytest

from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.drivers.proxmox.reading import read_live_state
from gitops.drivers.proxmox.tasks import wait_for_task
from gitops.errors import PermanentError

UBUNTU = "ubuntu-24.04-standard_24.04-2_amd64.tar.zst"


def test_the_index_lists_real_appliances_with_pve_fields(pve_client: ProxmoxClient) -> None:
    index = {a["template"]: a for a in pve_client.request("GET", "nodes/pve1/aplinfo")}
    assert UBUNTU in index and "debian-12-standard_12.7-1_amd64.tar.zst" in index
    ubuntu = index[UBUNTU]
    assert (ubuntu["package"], ubuntu["version"], ubuntu["os"], ubuntu["type"], ubuntu["section"]) == (
        "ubuntu-24.04-standard", "24.04-2", "ubuntu-24.04", "lxc", "system")
    assert ubuntu["location"] == f"http://download.proxmox.com/images/system/{UBUNTU}"
    assert "size" not in ubuntu  # the simulator's own download size stays its own


def test_download_runs_a_task_that_leaves_the_template_on_the_storage(pve: Any, pve_client: ProxmoxClient) -> None:
    upid = pve_client.request("POST", "nodes/pve1/aplinfo", {"storage": "local", "template": UBUNTU})
    result = wait_for_task(pve_client, upid)
    assert result.exitstatus == "OK"
    assert f"vztmpl/{UBUNTU}" in pve.storages["local"]["volumes"]
    assert [(t["type"], t["id"]) for t in pve.tasklog][-1] == ("download", UBUNTU)
    content = pve_client.request("GET", "nodes/pve1/storage/local/content", {"content": "vztmpl"})
    assert f"local:vztmpl/{UBUNTU}" in {v["volid"] for v in content}


@pytest.mark.parametrize(("params", "wording"), [
    ({"storage": "local", "template": "ubuntu-99.04-standard_99.04-1_amd64.tar.zst"}, "no such template"),
    ({"storage": "local-lvm", "template": UBUNTU}, "storage 'local-lvm' does not support templates"),
    ({"storage": "nowhere", "template": UBUNTU}, "storage 'nowhere' does not exist"),
])
def test_download_refuses_what_pve_refuses(pve_client: ProxmoxClient, params: dict[str, str], wording: str) -> None:
    with pytest.raises(PermanentError, match=wording):
        pve_client.request("POST", "nodes/pve1/aplinfo", params)


def test_the_live_state_carries_the_index(pve_client: ProxmoxClient) -> None:
    assert UBUNTU in read_live_state(pve_client).appliances
