"""Sync windows, including windows across midnight (their early hours belong to the day they opened)."""

from __future__ import annotations

import datetime as dt

import pytest

from gitops.settings import Settings, SyncWindow

FRIDAY_NIGHT = SyncWindow(kind="allow", weekdays=[4], start=dt.time(22), end=dt.time(2))


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """2025-01-06 is a Monday (weekday 0)."""
    return dt.datetime(2025, 1, 6 + day, hour, minute, tzinfo=dt.UTC)


@pytest.mark.parametrize(("when", "inside"), [
    (at(4, 21, 59), False),  # Friday, before it opens
    (at(4, 22), True),  # Friday, it opens
    (at(4, 23, 59), True),
    (at(5, 0, 30), True),  # Saturday after midnight: still Friday's window
    (at(5, 2), True),
    (at(5, 2, 1), False),
    (at(5, 22, 30), False),  # Saturday night: not a Friday
    (at(4, 1), False),  # Friday 01:00 belongs to Thursday's window, which does not exist
])
def test_a_window_across_midnight(when: dt.datetime, inside: bool) -> None:
    assert FRIDAY_NIGHT.contains(when) is inside
    assert Settings(sync_windows=[FRIDAY_NIGHT]).sync_allowed(when) is inside


def test_deny_wins_over_allow_across_midnight() -> None:
    deny = SyncWindow(kind="deny", weekdays=[4], start=dt.time(23), end=dt.time(1))
    settings = Settings(sync_windows=[FRIDAY_NIGHT, deny])
    assert settings.sync_allowed(at(4, 22, 30))  # Friday 22:30: allowed, the deny has not begun
    assert not settings.sync_allowed(at(5, 0, 30))  # Saturday 00:30: inside Friday's deny
    assert settings.sync_allowed(at(5, 1, 30))  # Saturday 01:30: the deny ended, Friday's allow has not
