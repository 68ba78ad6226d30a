"""Two controllers on one data dir (one SQLite ledger): the second does not lead and says so; only the
leader applies."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gitops.controller.service import Service
from gitops.store import open_store
from tests.controller.conftest import Ctl
from tests.controller.support import small_estate, wait_for
from tests.controller.test_service import make_service


def test_a_second_controller_on_the_same_ledger_does_not_lead(ctl: Ctl, tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    first = ctl.remote.commit(small_estate(memory=512), "first")
    leader = make_service(ctl)
    leader.start()
    second_store = open_store(f"sqlite:///{tmp_path / 'data' / 'phoenix.db'}")
    second = Service(leader.settings, second_store, ctl.repo, ctl.reconciler.convergence, identity="second-replica",
                     settle_s=0.0)
    try:
        wait_for(lambda: ctl.status(first) == "applied", 30, what="applied by the leader")
        with caplog.at_level(logging.WARNING, logger="gitops.controller.service"):
            assert not second._lead()
            assert not second._lead()
        said = [r.getMessage() for r in caplog.records if "another controller leads" in r.getMessage()]
        assert len(said) == 1 and "held by process" in said[0]
        assert any(e.kind == "follower" for e in ctl.store.list_events(20))
        assert ctl.store.get_state().leader_id == "test-replica"
        assert leader.stop(30)
        # Once the leader has stopped (and let go), the other one takes over.
        assert second._lead()
        second_store.release_leadership()
    finally:
        leader.stop(30)
        second_store.close()
