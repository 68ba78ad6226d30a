"""`Store.queue_request_once`: a request id the ledger keeps once, whichever replica asks, however many at
the same moment (the `Idempotency-Key` of the write routes), on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

from gitops.store import Store, open_store
from tests.store.conftest import FakeClock

SHA = "c" * 40


def test_a_request_id_is_kept_once_and_the_first_is_returned(store: Store) -> None:
    first, fresh = store.queue_request_once("rollback", request="0123456789abcdef", revision=SHA,
                                            restore_data=True, source="api")
    assert fresh and first.request == "0123456789abcdef"
    again, fresh_again = store.queue_request_once("rollback", request="0123456789abcdef", revision=SHA,
                                                  restore_data=True, source="api")
    assert not fresh_again and again == first
    assert store.take_requests("leader") == [first]  # one row to hand over, not two
    _, other = store.queue_request_once("rollback", request="fedcba9876543210", revision=SHA, source="api")
    assert other


def test_the_leaders_own_record_is_not_handed_over_again(store: Store) -> None:
    kept, fresh = store.queue_request_once("suspend", request="00000000000000aa", source="api", taken_by="leader")
    assert fresh and kept.kind == "suspend"
    assert store.take_requests("leader") == []  # the leader queued it in memory already
    replay, fresh_again = store.queue_request_once("suspend", request="00000000000000aa", source="api")
    assert not fresh_again and replay == kept


def test_replicas_racing_on_one_id_keep_it_once(store_url: str, clock: FakeClock) -> None:
    replicas = [open_store(store_url, clock=clock) for _ in range(4)]
    start = threading.Barrier(len(replicas) * 2)
    results: list[bool] = []
    lock = threading.Lock()

    def ask(replica: Store) -> None:
        start.wait(10)
        _, fresh = replica.queue_request_once("manual", request="1111222233334444", source="api")
        with lock:
            results.append(fresh)

    threads = [threading.Thread(target=ask, args=(r,)) for r in replicas for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(results) == [False] * 7 + [True]
        assert len(replicas[0].take_requests("leader")) == 1
    finally:
        for replica in replicas:
            replica.close()
