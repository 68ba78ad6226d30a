"""What the planner derives from an estate is made once per estate (`Estate.derived`), and plans stay
the same: a commit's plan, verify and drift check ask for the desired guests several times."""

from __future__ import annotations

from pathlib import Path

from gitops.config.loading import load_estate
from gitops.planner.proxmox.desired import desired_guests

EXAMPLE = Path(__file__).resolve().parents[2] / "configs-example"


def test_desired_guests_are_made_once_per_estate_and_node() -> None:
    estate = load_estate(EXAMPLE)[0]
    first, again = desired_guests(estate, "pve1"), desired_guests(estate, "pve1")
    assert first == again and first is not again  # a new list each call ...
    assert all(a is b for a, b in zip(first, again, strict=True))  # ... of the same guests
    other = desired_guests(estate, "pve2")
    fresh = desired_guests(load_estate(EXAMPLE)[0], "pve2")
    assert other == fresh  # another default node: made for it, as a fresh estate makes them
    assert [d.target for d in first] == [d.target for d in other]
