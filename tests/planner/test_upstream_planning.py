"""Planner tables on the real upstream config: what a fresh or half-built node needs, with no new fields."""

from __future__ import annotations

from typing import Any

import pytest

from gitops.config import queries
from gitops.planner.live import LiveGuest, LiveState, LiveStorage
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Action, Plan
from gitops.planner.systems import plan_changes
from tests.e2e_apply.support import UPSTREAM

NODE = "pve1"
TEMPLATE = "ubuntu-24.04-standard_24.04-2_amd64.tar.zst"
IMAGE = "noble-server-cloudimg-amd64.img"


@pytest.fixture(scope="module")
def estate() -> Any:
    return queries.load(UPSTREAM)


def _fresh(appliances: set[str] | None = None) -> LiveState:
    live = LiveState(node=NODE, nodes=[NODE], appliances={TEMPLATE} if appliances is None else appliances)
    live.storages["local"] = LiveStorage("local", "dir", {"iso", "vztmpl", "backup"})
    return live


def _plan(estate: Any, live: LiveState) -> Plan:
    return plan_changes(estate, live, PlanOptions(node=NODE, snapshot_name="phx-abc123"))


def _action(plan: Plan, target: str, action: str) -> Action:
    [found] = [a for a in plan.actions if a.target == target and a.action == action]
    return found


def test_a_fresh_node_needs_nothing_the_config_does_not_say(estate: Any) -> None:
    plan = _plan(estate, _fresh())
    assert plan.errors == []
    # The OS template by appliance name, onto the storage its path names (upstream: `pveam download`).
    download = _action(plan, f"template/fastData-shared-iso:vztmpl/{TEMPLATE}", "download-template")
    [call] = download.calls
    assert (call.method, call.path, call.params) == (
        "POST", "nodes/pve1/aplinfo", {"storage": "fastData-shared-iso", "template": TEMPLATE})
    assert download.depends_on == ["storage/fastData-shared-iso"]
    # The cloud image from the URL upstream derives, onto the ISO storage, which is defined to import.
    image = _action(plan, f"template/fastData-shared-iso:import/{IMAGE}", "download-template")
    assert image.calls[0].params["url"] == f"https://cloud-images.ubuntu.com/noble/current/{IMAGE}"
    storage = _action(plan, "storage/fastData-shared-iso", "storage")
    assert storage.calls[0].params["content"] == "iso,vztmpl,import"
    # Template 9000 keeps the image's size (no resize); its clones get the sizes the config sets.
    create = _action(plan, "vm/9000", "create")
    assert [c.path for c in create.calls if c.path.endswith("/resize")] == []
    clone = _action(plan, "vm/1001", "clone")
    assert [c.params for c in clone.calls if c.path.endswith("/resize")] == [{"disk": "scsi0", "size": "32G"}]


def test_an_os_template_in_no_index_and_without_url_is_a_plan_error(estate: Any) -> None:
    plan = _plan(estate, _fresh(appliances=set()))
    assert [(e.target, e.code) for e in plan.errors] == [("lxc/900", "template-missing")]
    assert "appliance index" in plan.errors[0].message


def test_the_import_storage_is_not_changed_back_once_the_image_is_there(estate: Any) -> None:
    live = _fresh()
    live.storages["fastData-shared-iso"] = LiveStorage(
        "fastData-shared-iso", "dir", {"iso", "vztmpl", "import"},
        volumes={f"fastData-shared-iso:vztmpl/{TEMPLATE}", f"fastData-shared-iso:import/{IMAGE}"})
    plan = _plan(estate, live)
    assert not [a for a in plan.actions if a.target == "storage/fastData-shared-iso"]
    assert not [a for a in plan.actions if a.action == "download-template"]
    assert _action(plan, "vm/9000", "create").calls[0].params["scsi0"] == (
        f"quickOS-vm-disks:0,import-from=fastData-shared-iso:import/{IMAGE}")


def test_a_live_template_larger_than_its_clone_is_a_shrink(estate: Any) -> None:
    """Sizes the live template actually has count: a 50 GB template cannot give a 32 GB clone."""
    live = _fresh()
    live.guests[9000] = LiveGuest("vm", 9000, NODE, "ubuntu-2404-cloud-template", template=True,
                                  config={"scsi0": "quickOS-vm-disks:base-9000-disk-0,size=50G"})
    plan = _plan(estate, live)
    assert [(e.target, e.code) for e in plan.errors] == [("vm/1001", "disk-shrink")]


def test_a_clone_drops_what_its_template_gets_in_the_same_run(estate: Any) -> None:
    """Template 900 exists without a nameserver and gets 8.8.8.8 in this run; its clones are made after
    that update, so a clone that sets no nameserver must drop the one it inherits: one apply converges."""
    live = _fresh()
    live.storages["fastData-shared-iso"] = LiveStorage("fastData-shared-iso", "dir", {"iso", "vztmpl"},
                                                       volumes={f"fastData-shared-iso:vztmpl/{TEMPLATE}"})
    live.guests[900] = LiveGuest("lxc", 900, NODE, "Template-Base", template=True, tags=["phoenix-gitops"],
                                 config={"hostname": "Template-Base", "unprivileged": 1,  # as PVE shows it
                                         "rootfs": "quickOS-lxc-disks:subvol-900-disk-0,size=16G"})
    plan = _plan(estate, live)
    assert ("nameserver", "8.8.8.8") in [(c.field, c.new) for c in _action(plan, "lxc/900", "update").changes]
    clone = _action(plan, "lxc/901", "clone")
    assert clone.depends_on[0] == "lxc/900"
    configure = next(c for c in clone.calls if c.path.endswith("/config"))
    assert "nameserver" in str(configure.params["delete"]).split(",")
