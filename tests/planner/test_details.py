"""The drift check's description of each resource: node, role, dependencies, and every managed field desired
against live, with a hand edit shown as the one differing field and secrets masked."""

from __future__ import annotations

import datetime as dt

from gitops.config import queries
from gitops.planner import drift
from gitops.planner.details import Detail, FieldValue, text
from gitops.planner.options import PlanOptions
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
    assert isinstance(stored["details"], str)  # compressed: the state row stays small
    assert drift.DriftReport.details_of(stored) == report.details
    assert drift.DriftReport.details_of({"details": "not base64!"}) == {}
    assert drift.DriftReport.details_of({"details": "eJzLSM3JyQcABiwCFQ=="}) == {}  # text, not a mapping
