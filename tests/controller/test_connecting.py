"""Connecting ahead (gitops/controller/connecting.py): the session a revision's plan needs is opened, and
`cluster/resources` read, while the revision is checked out and validated; a revision stopped before its
plan closes it, and an error opening it counts only when the plan gets there."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from gitops.controller.connecting import Ahead
from gitops.controller.systems import Session
from gitops.controller.triggers import Trigger
from tests.controller.conftest import Ctl
from tests.controller.support import LOGIN, estate_with_api, invalid_estate, small_estate


class Thing:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_take_gives_what_was_made_in_the_thread_or_raises_its_error() -> None:
    made = Thing()
    assert Ahead(lambda: made).take() is made

    def fails() -> Thing:
        raise ValueError("no route to host")

    with pytest.raises(ValueError, match="no route to host"):
        Ahead(fails).take()


def test_release_closes_what_is_made_now_or_later() -> None:
    made, later, go = Thing(), Thing(), threading.Event()
    early = Ahead(lambda: made)
    early.take()
    early.release()
    assert made.closed

    def slow() -> Thing:
        go.wait(5)
        return later

    pending = Ahead(slow)
    pending.release()
    assert not later.closed
    go.set()
    pending._thread.join(5)
    assert later.closed


def test_a_revision_reads_resources_once_while_it_is_validated(ctl: Ctl, pve: Any) -> None:
    ctl.remote.commit(small_estate(memory=512), "first")
    assert ctl.run().action == "applied"
    pve.requests.clear()
    ctl.remote.commit(small_estate(memory=1024), "more memory")
    assert ctl.run().action == "applied"
    reads = [r[1] for r in pve.requests if r[0] == "GET" and r[1].endswith("/cluster/resources")]
    assert len(reads) == 1  # the plan's, read ahead; the verify takes it again (the apply moved no guest)


def test_a_rejected_revision_is_rejected_even_with_proxmox_unreachable(ctl: Ctl) -> None:
    sha = ctl.remote.commit(invalid_estate(), "broken")
    ctl.reconciler.settings = ctl.settings.model_copy(update={"pve_host": "127.0.0.1:1", "pve_timeout": 2.0})
    assert ctl.run().action == "rejected"  # not `waiting`: the connection's error belongs to the plan
    assert ctl.status(sha) == "rejected"


def test_a_revision_that_creates_a_guest_reads_resources_again_for_its_verify(ctl: Ctl, pve: Any) -> None:
    ctl.remote.commit(small_estate(), "first")
    assert ctl.run().action == "applied"
    pve.requests.clear()
    ctl.remote.commit(estate_with_api(), "a second container")
    assert ctl.run().action == "applied"
    reads = [r[1] for r in pve.requests if r[0] == "GET" and r[1].endswith("/cluster/resources")]
    assert len(reads) == 2  # a clone adds a guest: the verify cannot take the plan's answer
    assert pve.ct(102) is not None and pve.ct(102).status == "running"


def _logins(pve: Any) -> int:
    return sum(1 for r in pve.requests if tuple(r[:2]) == LOGIN)


def test_a_pushed_revision_connects_while_it_is_fetched_and_logs_in_once(ctl: Ctl, pve: Any) -> None:
    ctl.remote.commit(small_estate(memory=512), "first")
    assert ctl.run(Trigger("webhook")).action == "applied"
    pve.requests.clear()
    ctl.remote.commit(small_estate(memory=1024), "more memory")
    assert ctl.run(Trigger("webhook")).action == "applied"
    reads = [r[1] for r in pve.requests if r[0] == "GET" and r[1].endswith("/cluster/resources")]
    assert _logins(pve) == 1 and len(reads) == 1  # the session opened at the webhook is the plan's


def test_a_webhook_with_nothing_to_apply_closes_its_session_unused(ctl: Ctl, pve: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ctl.remote.commit(small_estate(memory=512), "first")
    assert ctl.run().action == "applied"
    closed = threading.Semaphore(0)
    close = Session.close
    monkeypatch.setattr(Session, "close", lambda self: (close(self), closed.release()))
    pve.requests.clear()
    assert ctl.run(Trigger("webhook")).action == "none"  # nothing new: the early session goes unused
    assert closed.acquire(timeout=5)  # closed once open
    assert _logins(pve) == 1 and not [r for r in pve.requests if r[0] != "GET" and tuple(r[:2]) != LOGIN]


def test_a_webhook_while_suspended_does_not_connect(ctl: Ctl, pve: Any) -> None:
    ctl.remote.commit(small_estate(memory=512), "first")
    assert ctl.run().action == "applied"
    assert ctl.run(Trigger("suspend")).action in ("none", "skipped")
    pve.requests.clear()
    ctl.remote.commit(small_estate(memory=1024), "more memory")
    assert ctl.run(Trigger("webhook")).action in ("none", "skipped")
    assert _logins(pve) == 0 and not pve.requests
