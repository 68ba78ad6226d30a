"""The service's heap settling (`gitops.controller.heap`): frozen survivors, young collections, a full one
each period, and the process left as it was."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from gitops.controller.heap import OLDEST_EVERY, Heap


class Node:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def heap() -> Iterator[tuple[Heap, list[float]]]:
    now = [0.0]
    thresholds = gc.get_threshold()
    settled = Heap(full_every_s=600.0, clock=lambda: now[0])
    yield settled, now
    settled.release()
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds


def test_what_survives_is_frozen_and_the_oldest_generation_waits(heap: tuple[Heap, list[float]]) -> None:
    settled, _ = heap
    young, middle, oldest = gc.get_threshold()
    kept = [Node() for _ in range(1000)]
    settled.settle()
    assert settled.last[0] is True  # the first settle is a full one
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == (young, middle, max(oldest, OLDEST_EVERY))


def test_a_cycle_dropped_after_work_is_collected_by_the_next_settle(heap: tuple[Heap, list[float]]) -> None:
    settled, now = heap
    settled.settle()
    made = Node()  # made by the next piece of work: not frozen yet
    gone = weakref.ref(made)
    del made
    now[0] += 1.0
    settled.settle()
    assert settled.last[0] is False and gone() is None  # a young collection found it


def test_a_cycle_frozen_then_dropped_waits_for_the_full_settle(heap: tuple[Heap, list[float]]) -> None:
    settled, now = heap
    made = Node()
    gone = weakref.ref(made)
    settled.settle()  # frozen while alive
    del made
    now[0] += 1.0
    settled.settle()
    assert settled.last[0] is False and gone() is not None  # the young collection does not walk it
    now[0] += 600.0
    settled.settle()
    assert settled.last[0] is True and gone() is None  # the period's full settle unfroze and collected it


def test_two_services_share_the_process_settings_and_the_last_restores_them() -> None:
    thresholds = gc.get_threshold()
    first, second = Heap(), Heap()
    first.settle()
    second.settle()
    first.release()
    assert gc.get_freeze_count() > 0 and gc.get_threshold()[2] >= OLDEST_EVERY  # the second still runs
    second.release()
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds
    second.release()  # twice: nothing more
    assert gc.get_threshold() == thresholds
