"""The outbox's vocabulary: every kind has a payload model; stored payloads read back typed."""

from __future__ import annotations

import pytest

from gitops import events


def test_every_kind_has_a_payload_model() -> None:
    assert set(events.PAYLOADS) == set(events.EventKind)


def test_payloads_read_back_typed_and_unknown_ones_are_none() -> None:
    stored = events.DriftFound(revision="a" * 40, targets=["lxc/101"], counts={"drifted": 1}).model_dump(mode="json")
    assert events.parse("drift", stored) == events.DriftFound(revision="a" * 40, targets=["lxc/101"],
                                                              counts={"drifted": 1})
    assert events.parse("drift", {"targets": "not a list"}) is None  # an older or foreign shape
    assert events.parse("no-such-kind", {}) is None
    assert events.parse("suspend", None) == events.Suspended()


def test_a_payload_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(TypeError, match="drift takes a DriftFound"):
        events.check(events.EventKind.DRIFT, events.Suspended())
