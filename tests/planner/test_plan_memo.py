"""The plan memo (`LiveState.memo`, kept by the controller's live-state cache): a guest planned with nothing to
do is not compared again while the state serves the very same live guest, desired the same, on the same
nodes. Whatever changed is still planned, and a plan made with the memo is the plan made without it.

The live states here are handed over the way the cache does: the guests it did not read again are the same
objects, a guest read again is a new object (never one changed in place)."""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops.config import queries
from gitops.planner.live import LiveGuest, LiveState, PlanMemo
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Plan
from gitops.planner.redacting import redact_live
from gitops.planner.systems import assumed_live, plan_changes
from tests.e2e_apply.support import EXAMPLE

NODE = "pve1"
LXC = "phoenix_lxc_configs.json"
VMS = "phoenix_vm_configs.json"


def load(changes: list[Callable[[dict[str, Any], dict[str, Any]], None]] | None = None) -> Any:
    """The example estate with `changes` (each gets the containers and the VMs, by id) made to its files."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "config"
        shutil.copytree(EXAMPLE, folder)
        lxc = json.loads((folder / LXC).read_text())
        vms = json.loads((folder / VMS).read_text())
        for change in changes or []:
            change(lxc["lxc_configs"], {str(vm["vmid"]): vm for vm in vms["vms"]})
        (folder / LXC).write_text(json.dumps(lxc))
        (folder / VMS).write_text(json.dumps(vms))
        return queries.load(folder)


def cached_live(estate: Any) -> LiveState:
    """The example converged on a two-node cluster, as the controller's cache serves it (with a memo)."""
    live = assumed_live(estate, PlanOptions(node=NODE), nodes=["pve2"], assumed="")
    live.controller_address = "10.20.0.9"
    live.memo = PlanMemo()
    return live


def next_read(live: LiveState, reread: dict[int, Callable[[LiveGuest], None]] | None = None) -> LiveState:
    """The next read through the cache: the same guest objects, except those in `reread`, read again (a
    copy, changed by its function); a function that returns "gone" drops the guest (deleted by hand)."""
    out = copy.copy(live)
    out.guests = dict(live.guests)
    for vmid, change in (reread or {}).items():
        guest = copy.deepcopy(live.guests[vmid])
        if change(guest) == "gone":
            del out.guests[vmid]
        else:
            out.guests[vmid] = guest
    return out


def without_memo(live: LiveState) -> LiveState:
    """The same state as the command line reads it: its own objects, no memo."""
    fresh = copy.deepcopy(live)
    fresh.memo = None
    return fresh


def plan(estate: Any, live: LiveState, snapshot: str = "phx-1") -> Plan:
    return plan_changes(estate, live, PlanOptions(node=NODE, snapshot_name=snapshot))


def actions(p: Plan) -> list[tuple[str, str]]:
    return [(a.target, a.action) for a in p.actions]


@pytest.fixture(scope="module")
def estate() -> Any:
    return load()


def test_a_converged_estate_is_remembered_as_nothing_to_do(estate: Any) -> None:
    live = cached_live(estate)
    assert plan(estate, live).empty
    assert live.memo is not None and set(live.memo.quiet) == {g.vmid for g in live.guests.values()}
    again = next_read(live)
    assert plan(estate, again, "phx-2").to_dict() == plan(estate, without_memo(again), "phx-2").to_dict()


def memory(vmid: str, mb: int) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def change(lxc: dict[str, Any], vms: dict[str, Any]) -> None:
        (lxc.get(vmid) or vms[vmid])["memory_mb"] = mb
    return change


def set_config(key: str, value: Any) -> Callable[[LiveGuest], None]:
    def change(guest: LiveGuest) -> None:
        guest.config[key] = value
    return change


# (what changes, the desired changes, the guests read again and how they changed, the actions expected)
CASES: list[tuple[str, list[Any], dict[int, Callable[[LiveGuest], Any]], list[tuple[str, str]]]] = [
    ("one guest's desired memory", [memory("102", 768)], {102: lambda g: None}, [("lxc/102", "update")]),
    ("a hand edit cluster/resources shows (read again)", [], {120: set_config("memory", 4096)},
     [("lxc/120", "update")]),
    ("a template changed, its clones read again as they are", [memory("900", 768)],
     {900: lambda g: None, 101: lambda g: None, 102: lambda g: None, 120: lambda g: None, 901: lambda g: None},
     [("lxc/900", "update")]),
    ("a clone read again with the template, drifted by hand", [memory("900", 768)],
     {900: lambda g: None, 102: set_config("cores", 4)}, [("lxc/900", "update"), ("lxc/102", "update")]),
    ("a stale entry read again, stopped meanwhile", [], {1002: lambda g: setattr(g, "status", "stopped")},
     [("vm/1002", "start")]),
    ("a guest deleted by hand", [], {120: lambda g: "gone"}, [("lxc/120", "clone")]),
]


@pytest.mark.parametrize(("changes", "reread", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_what_changed_is_planned_as_without_the_memo(changes: list[Any], reread: dict[int, Any],
                                                    expected: list[tuple[str, str]]) -> None:
    before = load()
    live = cached_live(before)
    assert plan(before, live).empty  # every guest remembered as converged
    after = load(changes) if changes else before
    read = next_read(live, reread)
    made = plan(after, read, "phx-2")
    assert [t for t in actions(made) if t[1] != "start" or t in expected] == expected
    assert made.to_dict() == plan(after, without_memo(read), "phx-2").to_dict()


def test_remembered_guests_on_a_node_gone_offline_are_left_alone(estate: Any) -> None:
    live = cached_live(estate)
    assert plan(estate, live).empty
    read = next_read(live)
    read.offline_nodes = {NODE}  # nothing of the guests changed, but their node is offline now
    made = plan(estate, read, "phx-2")
    offline = {w.target for w in made.warnings if w.code == "node-offline"}
    assert {g.target for g in read.guests.values()} <= offline
    assert made.to_dict() == plan(estate, without_memo(read), "phx-2").to_dict()
    back = next_read(read)
    back.offline_nodes = set()
    assert plan(estate, back, "phx-3").empty


def test_a_redacted_guest_is_not_redacted_again_but_is_with_other_secret_values(estate: Any) -> None:
    live = cached_live(estate)
    live.guests[120].config["description"] = "token secret"
    values = {"secret": "${secret:secret}"}  # a value found in its own reference
    redact_live(live, values)
    assert live.guests[120].config["description"] == "token ${secret:secret}"
    plan(estate, live)
    read = next_read(live)
    redact_live(read, values)  # served again: redacted when it was read, not once more
    assert read.guests[120].config["description"] == "token ${secret:secret}"
    assert live.memo is not None and live.memo.is_quiet(read.guests[120], *live.memo.quiet[120][1:])
    redact_live(read, {"token": "${secret:token}"})  # other values: redacted with them, and planned anew
    assert read.guests[120].config["description"] == "${secret:token} ${secret:secret}"
    assert 120 not in live.memo.quiet


# -- a plan with the memo is the plan without it, over random estates and changes ------------------------

GUESTS = ["900", "901", "101", "102", "110", "120", "9000", "1001", "1002"]
DESIRED = st.lists(st.tuples(st.sampled_from(GUESTS), st.sampled_from(["memory_mb", "cores", "start_at_boot"]),
                             st.integers(0, 2)), max_size=3)
LIVE_EDITS = ["memory", "stopped", "pending", "untagged", "moved", "gone", "same"]
LIVE = st.dictionaries(st.sampled_from([int(g) for g in GUESTS]), st.sampled_from(LIVE_EDITS), max_size=3)


def desired_change(vmid: str, key: str, pick: int) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    value = {"memory_mb": [512, 768, 2048], "cores": [1, 2, 3], "start_at_boot": [True, False, True]}[key][pick]

    def change(lxc: dict[str, Any], vms: dict[str, Any]) -> None:
        (lxc.get(vmid) or vms[vmid])[key] = value
    return change


def live_edit(name: str) -> Callable[[LiveGuest], Any]:
    def change(guest: LiveGuest) -> Any:
        if name == "memory":
            guest.config["memory"] = "3072"
        elif name == "stopped":
            guest.status = "stopped"
        elif name == "pending":
            guest.pending = {"cores": "3"}
        elif name == "untagged":
            guest.tags = []
        elif name == "moved":
            guest.node = "pve2"
        elif name == "gone":
            return "gone"
        return None
    return change


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=LIVE, desired=DESIRED, then=LIVE, offline=st.booleans(), again=LIVE)
def test_the_plan_with_the_memo_is_the_plan_without_it(first: dict[int, str], desired: list[tuple[str, str, int]],
                                                       then: dict[int, str], offline: bool,
                                                       again: dict[int, str]) -> None:
    before = load()
    live = next_read(cached_live(before), {v: live_edit(e) for v, e in first.items()})
    live.memo = PlanMemo()
    assert plan(before, live).to_dict() == plan(before, without_memo(live)).to_dict()  # the memo filled
    after = load([desired_change(*d) for d in desired]) if desired else before
    read = next_read(live, {v: live_edit(e) for v, e in then.items() if v in live.guests})
    read.offline_nodes = {"pve2"} if offline else set()
    assert plan(after, read, "phx-2").to_dict() == plan(after, without_memo(read), "phx-2").to_dict()
    last = next_read(read, {v: live_edit(e) for v, e in again.items() if v in read.guests})
    assert plan(before, last, "phx-3").to_dict() == plan(before, without_memo(last), "phx-3").to_dict()
