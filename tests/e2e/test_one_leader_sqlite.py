"""Two `serve` processes on one data dir (one SQLite ledger): the second does not lead and says so; the
leader alone applies; when it stops, the other takes over."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.controller.support import GitRemote, small_estate, wait_for
from tests.e2e.conftest import Controller

pytestmark = pytest.mark.slow


def test_a_second_serve_on_the_same_data_dir_does_not_lead(controller: Callable[..., Controller],
                                                           remote: GitRemote, tmp_path: Path) -> None:
    shared = str(tmp_path / "shared-data")
    first = remote.commit(small_estate(memory=512), "first")
    one = controller(remote, "one", PHOENIX_DATA_DIR=shared).start()
    one.wait_status(first, "applied")
    two = controller(remote, "two", PHOENIX_DATA_DIR=shared).start()
    wait_for(lambda: "another controller leads" in two.logs(), 30, 0.2, what="the follower saying so")
    assert "held by process" in two.logs()
    assert two.status()["leader"]["this_replica"] is False
    assert one.status()["leader"]["this_replica"] is True
    assert two.api.post("/api/v1/sync").status_code == 202  # handed to the leader through the ledger
    second = remote.commit(small_estate(memory=640), "second")
    one.wait_status(second, "applied")
    events = one.api.get("/api/v1/events?limit=500").json()["events"]
    assert len([e for e in events if e["kind"] == "applied" and e["revision"] == second]) == 1
    assert not [e for e in events if e["kind"] in ("failed", "auto-rollback")]
    assert [e for e in events if e["kind"] == "follower"]
    assert one.terminate() == 0
    third = remote.commit(small_estate(memory=700), "third")
    two.wait_status(third, "applied", timeout=60)
    assert two.status()["leader"]["this_replica"] is True
