"""`Plan.only(targets)`: the part of a plan a targeted sync applies -- the resources asked for and, through
`depends_on`, what they need first; nothing else, and no other resource's errors."""

from __future__ import annotations

from gitops.planner.plan import Action, Plan, Problem


def plan() -> Plan:
    return Plan(
        actions=[
            Action("storage/tank", "update", summary="storage"),
            Action("lxc/900", "update", summary="template", depends_on=["storage/tank"]),
            Action("lxc/101", "clone", summary="clone of 900", depends_on=["lxc/900"]),
            Action("lxc/102", "update", summary="memory"),
            Action("lxc/101", "start", summary="start", depends_on=["lxc/101"]),
        ],
        errors=[Problem("lxc/102", "secret-missing", "no secret"), Problem("*", "lockout", "about everything")],
        warnings=[Problem("lxc/101", "w", "about 101"), Problem("lxc/102", "w", "about 102")],
        pending=["lxc/102", "lxc/101"],
    )


def test_a_resource_comes_with_what_it_depends_on_in_order() -> None:
    only = plan().only(["lxc/101"])
    assert [(a.target, a.action) for a in only.actions] == [
        ("storage/tank", "update"), ("lxc/900", "update"), ("lxc/101", "clone"), ("lxc/101", "start")]
    assert [p.target for p in only.errors] == ["*"]  # 102's missing secret does not block 101
    assert [p.target for p in only.warnings] == ["lxc/101"]
    assert only.pending == ["lxc/101"]


def test_a_resource_without_dependencies_comes_alone() -> None:
    only = plan().only(["lxc/102"])
    assert [a.target for a in only.actions] == ["lxc/102"]
    assert plan().only(["lxc/555"]).actions == []  # in sync, or unknown: nothing to do
    assert plan().closure(["lxc/900"]) == {"lxc/900", "storage/tank"}
