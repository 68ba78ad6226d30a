"""The simulated node's volume allocation (gitops/demo/volume_index.py), through the real client over HTTPS:
a new container volume avoids every volume in use, as fakepve's listing says; a write that allocates no
volume lists none."""

from __future__ import annotations

from typing import Any

import fakepve.lxc
import pytest

from gitops.drivers.proxmox.connection import ProxmoxClient


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times fakepve's own listing of the volumes in use ran."""
    calls: list[int] = []
    listing = fakepve.lxc.LxcApi._taken_volumes

    def counted(self: Any) -> set[str]:
        calls.append(1)
        return set(listing(self))

    monkeypatch.setattr(fakepve.lxc.LxcApi, "_taken_volumes", counted)
    return calls


def test_a_memory_change_lists_no_volume(pve: Any, pve_client: ProxmoxClient, listings: list[int]) -> None:
    pve.add_ct(301, "web", config={"memory": 512})
    pve_client.request("PUT", "nodes/pve1/lxc/301/config", {"memory": 1024})
    assert pve.ct(301).config["memory"] == 1024
    assert listings == []


def test_a_new_volume_avoids_those_of_other_guests_and_snapshots(pve: Any, pve_client: ProxmoxClient,
                                                                 listings: list[int]) -> None:
    held = pve.add_ct(300, "holder", config={"mp0": "local-lvm:vm-302-disk-0,mp=/a,size=1G"})
    held.snapshots["before"] = {"mp0": "local-lvm:vm-302-disk-1,mp=/a,size=1G"}
    pve.add_ct(302, "app", config={"memory": 512})
    pve_client.request("PUT", "nodes/pve1/lxc/302/config", {"mp0": "local-lvm:2,mp=/data"})
    pve_client.request("PUT", "nodes/pve1/lxc/302/config", {"mp1": "local-lvm:1,mp=/more"})
    config = pve.ct(302).config
    assert config["mp0"].startswith("local-lvm:vm-302-disk-2,")
    assert config["mp1"].startswith("local-lvm:vm-302-disk-3,")
    assert len(listings) == 2  # once per write that allocated
