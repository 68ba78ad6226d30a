"""A review's verdict and words, from its validation, plan and error (pure)."""

from __future__ import annotations

from gitops.config.problems import Report
from gitops.planner.plan import Action, FieldChange, Plan, Problem
from gitops.planner.reviews import MARKER, Review

SHA = "f" * 40


def invalid() -> Report:
    report = Report()
    report.error("phoenix_lxc_configs.json", ("lxc_configs", "101", "memory_mb"), "invalid-value", "not a number")
    report.problems[0].line, report.problems[0].column = 12, 9
    return report


def test_states() -> None:
    assert Review(SHA, "x", Report(), Plan()).state == "success"
    assert Review(SHA, "x", invalid()).state == "failure"
    assert Review(SHA, "x", Report(), Plan(errors=[Problem("lxc/1", "disk-shrink", "no")])).state == "failure"
    assert Review(SHA, "x", Report(), error="node unreachable").state == "error"


def test_words() -> None:
    review = Review(SHA, "x", invalid(), revision_url="https://p/reviews/f")
    assert review.description == "invalid (1 errors): phoenix_lxc_configs.json:12: not a number"
    text = review.markdown()
    assert "`phoenix_lxc_configs.json:12:9` `lxc_configs.101.memory_mb`: not a number" in text
    assert "Not planned." in text and text.rstrip().endswith(MARKER) and "https://p/reviews/f" in text


def test_data_loss_is_marked() -> None:
    delete = Action(target="lxc/120", action="delete", destructive=True, summary="delete old",
                    changes=[FieldChange("guest", "old", None)])
    text = Review(SHA, "the live node pve1", Report(), Plan(actions=[delete])).markdown()
    assert "**destroys data**" in text and ":rotating_light: **Destroys data:** `lxc/120`" in text
    assert "Planned read-only against the live node pve1." in text
