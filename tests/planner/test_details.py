"""The drift check's description of each resource: node, role, dependencies, and every managed field desired
against live, with a hand edit shown as the one differing field and secrets masked."""

from __future__ import annotations

import base64
import datetime as dt
import json
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitops.config import queries
from gitops.planner import details, drift
from gitops.planner.details import Detail, FieldValue, text
from gitops.planner.options import PlanOptions
from gitops.planner.proxmox import describing
from gitops.planner.systems import assumed_live, plan_changes
from tests.e2e_apply.support import EXAMPLE

OPTIONS = PlanOptions(node="pve1")
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def checked(edit_live: bool) -> drift.DriftReport:
    estate = queries.load(EXAMPLE)
    live = assumed_live(estate, OPTIONS, nodes=[], assumed="")
    if edit_live:
        live.guests[102].config["memory"] = 3000
    return drift.compare(estate, live, plan_changes(estate, live, OPTIONS), revision="abc", now=NOW)


def test_every_resource_is_described_and_nothing_differs_when_converged() -> None:
    report = checked(edit_live=False)
    assert set(report.details) == {r.target for r in report.resources}
    guest = report.details["lxc/102"]
    assert guest.node == "pve1" and guest.health and guest.role in ("guest", "clone")
    memory = next(f for f in guest.fields if f.field == "memory")
    assert memory.desired == memory.live and not memory.differs
    assert not any(f.differs for d in report.details.values() for f in d.fields)
    clones = [t for t, d in report.details.items() if d.role == "clone"]
    assert clones and all(report.details[t].depends_on for t in clones)  # a clone depends on its source


def test_a_hand_edit_is_the_one_differing_field_and_survives_the_ledger_round_trip() -> None:
    report = checked(edit_live=True)
    stored = report.to_dict()
    detail = drift.DriftReport.detail_of(stored, "lxc/102")
    assert detail is not None
    assert [(f.field, f.live, f.differs) for f in detail.fields if f.differs] == [("memory", "3000", True)]
    assert next(f for f in detail.fields if f.field == "memory").desired != "3000"
    assert drift.DriftReport.details_of(stored)["lxc/102"] == detail
    assert drift.DriftReport.parse(stored) is not None  # the states read as before
    assert drift.DriftReport.detail_of({"details": {"lxc/102": "garbage"}}, "lxc/102") is None
    assert drift.DriftReport.details_of("older shape") == {}


def test_secrets_are_masked() -> None:
    assert text("${secret:db_password}") == "(secret)"
    assert text("plain", secret=True) == "(secret)"
    assert text({"a": 1}) == '{"a": 1}'
    assert text(None) is None
    shown = Detail(fields=[FieldValue(field="password", desired=text("${secret:x}"),
                                      live=text("hunter2", secret=True))])
    assert "hunter2" not in shown.model_dump_json() and "x}" not in shown.model_dump_json()


def test_the_descriptions_are_kept_packed_and_read_back() -> None:
    report = checked(edit_live=True)
    stored = report.to_dict()
    assert all(isinstance(part, str) for part in stored["details"])  # compressed: the stored report stays small
    assert drift.DriftReport.details_of(stored) == report.details
    older = base64.b64encode(zlib.compress(json.dumps(drift._unpack(stored["details"])).encode())).decode()
    assert drift.DriftReport.details_of({"details": older}) == report.details  # one text, as 0.1 packed it
    assert drift.DriftReport.details_of({"details": [stored["details"][0], "not base64!"]}) == {}
    assert drift.DriftReport.details_of({"details": "not base64!"}) == {}
    assert drift.DriftReport.details_of({"details": "eJzLSM3JyQcABiwCFQ=="}) == {}  # text, not a mapping


def test_the_packed_text_is_the_json_of_every_description_and_resources_dump_as_models_do() -> None:
    report = checked(edit_live=True)
    stored = report.to_dict()
    dumped = {t: d.model_dump(exclude_defaults=True) for t, d in report.details.items()}
    targets = sorted(dumped)
    parts = [targets[i:i + drift.PART] for i in range(0, len(targets), drift.PART)]
    assert len(stored["details"]) == len(parts)
    for part, packed in zip(parts, stored["details"], strict=True):
        whole = json.dumps({t: dumped[t] for t in part}, separators=(",", ":"), sort_keys=True)
        assert zlib.decompress(base64.b64decode(packed)).decode() == whole
    assert stored["resources"] == [r.model_dump() for r in report.resources]
    assert report.to_dict()["details"] == stored["details"]  # again, from the texts kept


# --- the descriptions kept from one report to the next (`describing.DESCRIBED`, `details.dumped`) ---------

LIVE_VALUES = st.sampled_from([1, True, 1.0, -0.0, 0.0, "1", "3000", 3000, None, "", "${secret:db_password}",
                               "name=eth0,bridge=vmbr0,ip=dhcp", [1], {"a": 1}])


def _fresh(estate: Any, live: Any) -> dict[str, Any]:
    describing.DESCRIBED.clear()
    details._DUMPED.clear()
    drift._PIECES.clear()
    drift._PARTS.clear()
    return drift.compare(estate, live, plan_changes(estate, live, OPTIONS), revision="abc", now=NOW).to_dict()


@settings(max_examples=40, deadline=None, database=None)
@given(data=st.data())
def test_a_report_from_kept_descriptions_is_the_one_made_afresh(data: st.DataObject) -> None:
    estate = queries.load(EXAMPLE)
    live = assumed_live(estate, OPTIONS, nodes=[], assumed="")
    drift.compare(estate, live, plan_changes(estate, live, OPTIONS), revision="abc", now=NOW).to_dict()  # kept
    vmids = sorted(live.guests)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        guest = live.guests[data.draw(st.sampled_from(vmids), label="guest")]
        what = data.draw(st.sampled_from(["value", "node", "status", "gone"]), label="what")
        if what == "value":
            key = data.draw(st.sampled_from(sorted(guest.config) or ["memory"]), label="key")
            guest.config[key] = data.draw(LIVE_VALUES, label="value")
        elif what == "node":
            guest.node = data.draw(st.sampled_from(["pve1", "pve2"]), label="node")
        elif what == "status":
            guest.status = data.draw(st.sampled_from(["running", "stopped"]), label="status")
        else:
            live.guests.pop(guest.vmid)
            vmids.remove(guest.vmid)
            if not vmids:
                break
        drift.compare(estate, live, plan_changes(estate, live, OPTIONS), revision="abc", now=NOW).to_dict()  # kept
    kept = drift.compare(estate, live, plan_changes(estate, live, OPTIONS), revision="abc", now=NOW).to_dict()
    assert drift.DriftReport.details_of(kept) == drift.DriftReport.details_of(_fresh(estate, live))
    assert kept == _fresh(estate, live)


def test_an_unchanged_guest_keeps_its_description_and_a_changed_one_is_described_again() -> None:
    estate = queries.load(EXAMPLE)
    live = assumed_live(estate, OPTIONS, nodes=[], assumed="")
    first = drift.compare(estate, live, plan_changes(estate, live, OPTIONS), revision="abc", now=NOW)
    live.guests[102].config["memory"] = 3000
    second = drift.compare(estate, live, plan_changes(estate, live, OPTIONS), revision="abc", now=NOW)
    others = [t for t in first.details if t.startswith(("lxc/", "vm/")) and t != "lxc/102"]
    assert others and all(second.details[t] is first.details[t] for t in others)
    assert second.details["lxc/102"] != first.details["lxc/102"]
    assert [f.field for f in second.details["lxc/102"].fields if f.differs] == ["memory"]


def test_live_values_equal_in_python_but_shown_apart_are_described_apart() -> None:
    estate = queries.load(EXAMPLE)
    live = assumed_live(estate, OPTIONS, nodes=[], assumed="")
    shown = []
    for value in (1, True, 1.0, 0.0, -0.0, "1"):
        live.guests[102].config["memory"] = value
        report = drift.compare(estate, live, plan_changes(estate, live, OPTIONS), revision="abc", now=NOW)
        shown.append(next(f.live for f in report.details["lxc/102"].fields if f.field == "memory"))
    assert shown == ["1", "true", "1.0", "0.0", "-0.0", "1"]


def test_a_changed_description_packs_its_part_again_and_keeps_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(drift, "PART", 2)
    drift._PIECES.clear()
    drift._PARTS.clear()
    described = {f"lxc/{100 + i}": Detail(node=f"pve{i}", role="guest") for i in range(7)}
    first = drift._pack(described)
    assert len(first) == 4 and drift._unpack(first) == {t: d.model_dump(exclude_defaults=True)
                                                         for t, d in described.items()}
    described["lxc/103"] = Detail(node="elsewhere", role="guest")
    second = drift._pack(described)
    assert [a is b for a, b in zip(first, second, strict=True)] == [True, False, True, True]
    assert drift._unpack(second)["lxc/103"] == {"node": "elsewhere", "role": "guest"}
    described["lxc/099"] = Detail(role="guest")  # a new first target moves every part on: all packed again
    third = drift._pack(described)
    assert len(third) == 4 and not any(a is b for a, b in zip(second, third, strict=True))
    assert sorted(drift._unpack(third)) == sorted(described)
