"""Texts from a commit (a message, an author, a value echoed in an error) are kept short in the ledger."""

from __future__ import annotations

from gitops.store import Store

SHA = "c" * 40
HUGE = "n" * 5_000_000


def test_huge_texts_are_cut_in_the_ledger(store: Store) -> None:
    record = store.record_revision(SHA, HUGE, HUGE)
    assert len(record.author) < 1000 and len(record.message) < 20_000
    assert record.message.endswith("more characters)")
    event = store.add_event("rejected", f"bad name {HUGE}", revision=SHA)
    assert len(event.message) < 3000
    failed = store.set_status(SHA, "failed", error=HUGE)
    assert failed.error is not None and len(failed.error) < 3000
