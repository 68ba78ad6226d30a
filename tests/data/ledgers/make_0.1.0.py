"""Made `phoenix-0.1.0.sqlite` once, with release 0.1.0's own `Store` API: never run it again.

The file is the ledger exactly as the first release wrote it (its schema, its JSON encoding, its
times), so tests/store/test_upgrades.py can check that every later release upgrades it. The rows are
those of tests/store/first_release.py (which rebuilds the same ledger on any database from
migration 0001 for the PostgreSQL tests).

    PYTHONPATH=. .venv/bin/python tests/data/ledgers/make_0.1.0.py   # wrote tests/data/ledgers/phoenix-0.1.0.sqlite
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from gitops.store import open_store
from tests.store import first_release as v1

TARGET = Path(__file__).with_name("phoenix-0.1.0.sqlite")


class Clock:
    now = v1.T0

    def __call__(self) -> dt.datetime:
        return self.now


def main() -> None:
    if TARGET.exists():
        raise SystemExit(f"{TARGET} exists: it is the first release's ledger, never remade")
    clock = Clock()
    with open_store(f"sqlite:///{TARGET}", clock=clock) as store:
        for r in v1.REVISIONS:
            clock.now = r["received_at"]
            store.record_revision(r["sha"], r["author"], r["message"], r["committed_at"], r["trigger"])
            fields = {k: r[k] for k in ("validation", "plan", "result", "error", "started_at", "finished_at",
                                        "duration_s")}
            store.set_status(r["sha"], r["status"], **fields)
        for e in v1.EVENTS:
            clock.now = e["at"]
            store.add_event(e["kind"], e["message"], level=e["level"], revision=e["revision_sha"], data=e["data"])
        clock.now = v1.STATE["updated_at"]
        store.update_state(**{k: v for k, v in v1.STATE.items() if k != "updated_at"})
    with sqlite3.connect(TARGET) as connection:  # one self-contained file, no -wal beside it
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    connection.close()
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
