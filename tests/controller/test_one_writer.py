"""One writer: in the controller only the recorder (`gitops.controller.recording`) writes revisions,
statuses, runs, events and the controller state; every other module reads the store or asks the recorder.
Checked on the source (a call of a writing method of the store), and the recorder's patch on a real ledger."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from gitops.controller.recording import KEEP, Patch, Recorder
from gitops.planner.documents import RetrySchedule
from gitops.planner.drift import DriftReport, Resource
from gitops.store import Store, open_store

CONTROLLER = Path(__file__).resolve().parents[2] / "gitops" / "controller"
WRITES = {"set_status", "start_run", "finish_run", "add_event", "update_state", "record_steps", "record_revision",
          "mark_superseded"}


def store_writes(path: Path) -> list[str]:
    """`x.store.<write>(...)` and `store.<write>(...)` calls in `path`, as `line: name`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES:
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else owner.id if isinstance(owner, ast.Name) else ""
            if name == "store":
                found.append(f"{path.name}:{node.lineno}: {node.func.attr}")
    return found


def test_the_checker_finds_a_direct_write(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f(self, store):\n    self.store.update_state(phase='x')\n    store.add_event('k', 'm')\n"
                      "    self.store.get_state()\n")
    assert store_writes(sample) == ["sample.py:2: update_state", "sample.py:3: add_event"]


def test_only_the_recorder_writes_to_the_ledger() -> None:
    modules = sorted(CONTROLLER.glob("*.py"))
    assert len(modules) > 10
    direct = [w for path in modules if path.name != "recording.py" for w in store_writes(path)]
    assert direct == []
    assert store_writes(CONTROLLER / "recording.py")  # and the recorder does write


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = open_store(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield opened  # type: ignore[misc]
    opened.close()


def test_a_patch_writes_only_its_fields(store: Store) -> None:
    recorder = Recorder(store)
    when = dt.datetime(2026, 12, 6, 7, 0, tzinfo=dt.UTC)
    recorder.commit(Patch(phase="fetching", pinned_revision="a" * 40, last_poll_at=when))
    recorder.commit(Patch(retry=RetrySchedule(sha="b" * 40, attempt=2, due_at=when), progress={"done": 1}))
    report = DriftReport(revision="a" * 40, checked_at=when, resources=[Resource(target="lxc/101", state="drifted")])
    recorder.commit(Patch(drift=report))
    state = store.get_state()
    assert (state.phase, state.pinned_revision, state.last_poll_at) == ("fetching", "a" * 40, when)
    assert state.retry == RetrySchedule(sha="b" * 40, attempt=2, due_at=when) and state.extra["progress"] == {"done": 1}
    assert state.drift and state.drift_report == report and state.last_drift_at == when
    recorder.commit(Patch(pinned_revision=None, retry=None, progress=None))
    state = store.get_state()
    assert state.pinned_revision is None and state.retry is None and "progress" not in state.extra
    assert state.phase == "fetching"  # left as it was
    assert Patch().fields() == {} and Patch(phase=KEEP).fields() == {}
