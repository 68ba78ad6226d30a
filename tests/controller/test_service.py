"""The service loop: polls, coalesces, recovers interrupted applies, stops when asked."""

from __future__ import annotations

import filecmp
import gc
from pathlib import Path

from gitops.controller.heap import OLDEST_EVERY
from gitops.controller.service import Service
from gitops.controller.triggers import Trigger
from tests.controller.conftest import Ctl
from tests.controller.support import ROOT, small_estate, wait_for


def make_service(ctl: Ctl, **settings: object) -> Service:
    ctl.reconciler.settings = ctl.settings.model_copy(update={"poll_interval": 0.2, "drift_interval": 3600,
                                                              **settings})
    return Service(ctl.reconciler.settings, ctl.store, ctl.repo, ctl.reconciler.convergence,
                   reconciler=ctl.reconciler, identity="test-replica", settle_s=0.0)


def test_the_loop_applies_new_heads_and_stops(ctl: Ctl) -> None:
    first = ctl.remote.commit(small_estate(memory=512), "first")
    service = make_service(ctl)
    thresholds = gc.get_threshold()
    service.start()
    try:
        wait_for(lambda: ctl.status(first) == "applied", 30, what="first applied")
        assert service.leader and service.ready
        assert ctl.store.get_state().leader_id == "test-replica"
        second = ctl.remote.commit(small_estate(memory=600), "second")
        wait_for(lambda: ctl.status(second) == "applied", 30, what="second applied by polling")
        # after each reconcile the heap settles: what survived is frozen out of the collector's walks
        assert service.heap is not None
        wait_for(lambda: service.heap.settled >= 2, 10, what="the heap settled after the reconciles")
        assert gc.get_freeze_count() > 0 and gc.get_threshold()[2] >= OLDEST_EVERY
    finally:
        assert service.stop(30)
    assert not service.leader
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds  # the process as it was


def test_a_burst_of_triggers_is_one_reconcile(ctl: Ctl) -> None:
    ctl.remote.commit(small_estate(), "first")
    service = make_service(ctl, poll_interval=3600)
    service.start()
    try:
        wait_for(lambda: ctl.store.get_state().applied_revision, 30, what="startup apply")
        wait_for(lambda: not service.busy and service.queue.pending() == 0, 10, what="idle")
        before = service.stats["reconciles"]
        service.settle_s = 0.3
        for _ in range(20):
            service.request(Trigger("webhook"))
        wait_for(lambda: service.stats["reconciles"] > before and not service.busy, 10, what="reconcile")
        assert service.stats["reconciles"] == before + 1
    finally:
        service.stop(30)


def test_interrupted_revisions_are_recovered_on_becoming_leader(ctl: Ctl) -> None:
    sha = ctl.remote.commit(small_estate(), "first")
    ctl.repo.fetch()
    ctl.store.record_revision(sha)
    ctl.store.set_status(sha, "applying")
    service = make_service(ctl)
    service.start()
    try:
        wait_for(lambda: ctl.status(sha) == "applied", 30, what="re-applied")
    finally:
        service.stop(30)
    assert any(e.kind == "pending" and "interrupted" in e.message for e in ctl.store.list_events(50))


def test_packaged_examples_equal_configs_example() -> None:
    packaged = ROOT / "gitops" / "examples"
    names = sorted(p.name for p in (ROOT / "configs-example").glob("*.json"))
    assert names == sorted(p.name for p in packaged.glob("*.json"))
    _match, mismatch, errors = filecmp.cmpfiles(ROOT / "configs-example", packaged, names, shallow=False)
    assert (mismatch, errors) == ([], []), "gitops/examples/ is out of date: copy configs-example/*.json"
    example = ROOT / "configs-example"
    stacks = sorted(str(p.relative_to(example)) for p in example.rglob("stacks/*/*"))
    assert stacks == sorted(str(p.relative_to(packaged)) for p in packaged.rglob("stacks/*/*"))
    _match, mismatch, errors = filecmp.cmpfiles(ROOT / "configs-example", packaged, stacks, shallow=False)
    assert (mismatch, errors) == ([], []), "gitops/examples/stacks is out of date: copy configs-example/stacks"
    scripts = sorted(str(p.relative_to(example)) for p in example.rglob("bin/**/*") if p.is_file())
    shipped = sorted(str(p.relative_to(packaged)) for p in packaged.rglob("bin/**/*") if p.is_file())
    assert scripts and scripts == shipped
    _match, mismatch, errors = filecmp.cmpfiles(ROOT / "configs-example", packaged, scripts, shallow=False)
    assert (mismatch, errors) == ([], []), "gitops/examples/bin is out of date: copy configs-example/bin"


def test_demo_prepares_repo_secrets_and_token(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gitops.demo import embedded

    monkeypatch.delenv("PHOENIX_API_TOKEN", raising=False)
    demo = embedded.start_demo(tmp_path / "data")
    try:
        assert demo.token_created and demo.token_file.read_text().strip() == demo.token
        assert (demo.repo_dir / ".git").is_dir()
        assert sorted(p.name for p in (tmp_path / "data" / "secrets").iterdir()) == sorted(embedded.EXAMPLE_SECRETS)
        assert demo.settings.pve_host.startswith("127.0.0.1:") and not demo.settings.boot_delays
        assert (demo.settings.poll_interval, demo.settings.drift_interval) == (2.0, 30.0)  # the demo's pace
    finally:
        demo.close()
    monkeypatch.setenv("PHOENIX_DRIFT_INTERVAL", "3")  # a shorter drift check, asked for
    again = embedded.start_demo(tmp_path / "data")
    try:
        assert not again.token_created and again.token == demo.token
        assert (again.settings.poll_interval, again.settings.drift_interval) == (2.0, 3.0)
    finally:
        again.close()


def test_a_follower_hands_writes_to_the_leader_through_the_ledger(ctl: Ctl) -> None:
    ctl.remote.commit(small_estate(), "first")
    leader = make_service(ctl, poll_interval=3600)
    follower = Service(leader.settings, ctl.store, ctl.repo, ctl.reconciler.convergence, identity="follower")
    leader.start()
    try:
        wait_for(lambda: ctl.store.get_state().applied_revision, 30, what="startup apply")
        assert leader.leader and not follower.leader
        follower.request(Trigger("suspend", source="api"))
        assert leader.queue.pending() == 0  # not through the leader's memory: through the ledger
        wait_for(lambda: ctl.store.get_state().suspended, 10, what="the leader took the suspend")
        # the state is written before its event: wait for the event too (once, not twice)
        wait_for(lambda: ctl.store.list_events(kind="suspend"), 10, what="the suspend's event")
        assert len(ctl.store.list_events(kind="suspend")) == 1
        assert ctl.store.take_requests("anyone") == []  # taken once
        follower.request(Trigger("resume", source="api"))
        wait_for(lambda: not ctl.store.get_state().suspended, 10, what="the leader took the resume")
    finally:
        assert leader.stop(30)


def test_the_heap_is_left_alone_when_asked(ctl: Ctl) -> None:
    first = ctl.remote.commit(small_estate(memory=512), "first")
    service = make_service(ctl, gc_freeze=False)
    thresholds = gc.get_threshold()
    service.start()
    try:
        wait_for(lambda: ctl.status(first) == "applied", 30, what="first applied")
        assert service.heap is None and gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds
    finally:
        assert service.stop(30)
