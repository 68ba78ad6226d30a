"""Intake: exported checkouts are pruned to what is still needed; a gap in the history is said, not hidden."""

from __future__ import annotations

import pytest

from gitops import errors, events
from gitops.controller.triggers import Trigger
from tests.controller.conftest import Ctl
from tests.controller.support import small_estate


def test_exported_checkouts_are_pruned_to_the_ones_still_needed(ctl: Ctl) -> None:
    shas = []
    for memory in (512, 600, 700, 800):
        shas.append(ctl.remote.commit(small_estate(memory=memory), f"memory {memory}"))
        assert ctl.run().action == "applied"
    ctl.run()  # the poll after the last apply prunes what that apply no longer needs
    kept = {p.name for p in ctl.repo.checkouts_dir.iterdir()}
    assert kept == {shas[-1]}  # head = applied = target; the three before are gone
    ctl.run(Trigger("rollback", revision=shas[0]))
    ctl.run()
    assert {p.name for p in ctl.repo.checkouts_dir.iterdir()} == {shas[0], shas[-1]}  # pinned and head


def test_commits_that_cannot_be_listed_are_a_recorded_gap(ctl: Ctl, monkeypatch: pytest.MonkeyPatch) -> None:
    ctl.remote.commit(small_estate(memory=512), "first")
    ctl.run()
    between = [ctl.remote.commit(small_estate(memory=600 + i), f"step {i}", push=False) for i in range(2)]
    head = ctl.remote.commit(small_estate(memory=900), "head")

    def broken(*args: object, **kwargs: object) -> list[object]:
        raise errors.SourceError("git rev-list failed: object database corrupt")

    monkeypatch.setattr(ctl.repo, "commits_between", broken)
    assert ctl.run().action == "applied"
    assert ctl.status(head) == "applied"
    assert [ctl.status(s) for s in between] == ["absent", "absent"]  # not listed, so not recorded...
    [event] = ctl.store.list_events(kind="history-gap")  # ... and said
    payload = events.parse(event.kind, event.data)
    assert isinstance(payload, events.HistoryGap) and payload.head == head and "corrupt" in payload.error
    assert event.level == "warning"
