"""Two controllers on one SQLite ledger: only one leads (a lock beside the database file), the other
says who holds it, and takes over when the first lets go or dies."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from gitops.store import open_store


def test_a_second_store_on_the_same_sqlite_file_does_not_lead(sqlite_url: str) -> None:
    first, second = open_store(sqlite_url), open_store(sqlite_url)
    try:
        assert first.try_acquire_leadership()
        assert not second.try_acquire_leadership()
        assert "held by process" in second.leadership_holder()
        assert first.is_leader() and not second.is_leader()
        first.release_leadership()
        assert second.try_acquire_leadership()
        assert not first.try_acquire_leadership()
    finally:
        first.close()
        second.close()


def test_a_leader_in_another_process_keeps_the_lead_until_it_dies(sqlite_url: str) -> None:
    code = textwrap.dedent(f"""
        import sys, time
        from gitops.store import open_store
        store = open_store({sqlite_url!r})
        assert store.try_acquire_leadership()
        print("leading", flush=True)
        sys.stdin.readline()
    """)
    other = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    store = open_store(sqlite_url)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "leading"
        assert not store.try_acquire_leadership()
        assert f"held by process {other.pid}" in store.leadership_holder()
        other.kill()
        other.wait(10)
        assert store.try_acquire_leadership()
    finally:
        if other.poll() is None:
            other.kill()
            other.wait(10)
        for pipe in (other.stdin, other.stdout):
            if pipe is not None:
                pipe.close()
        store.close()
