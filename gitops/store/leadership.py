"""Leader election: a PostgreSQL session advisory lock held on a dedicated connection, or on SQLite an
exclusive lock on a file beside the database.

Used by `gitops.store.ledger.Store` (which the controller's leader loop calls); `leadership_for(engine)`
picks the kind. The PostgreSQL lock lives as long as that connection: if the process dies or the
connection drops, PostgreSQL releases it and another replica's next `try_acquire` wins. On SQLite,
`flock` on `<database>.leader.lock` does the same for processes sharing one data dir (the kernel drops
it when the process dies); the file holds the leader's pid so the others can say who leads.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from gitops import errors
from gitops.store import database


def lock_key(key: str | int) -> int:
    """A signed 64-bit advisory-lock key; strings are hashed so replicas agree on it."""
    if isinstance(key, int):
        return key
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def leadership_for(engine: Engine) -> AdvisoryLeadership | FileLeadership:
    """The leader election that fits the database: advisory locks on PostgreSQL, a file lock on SQLite."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if database and database != ":memory:" and not database.startswith("file:"):
        return FileLeadership(Path(f"{database}.leader.lock"))
    return AdvisoryLeadership(engine)


class FileLeadership:
    """One leader among the processes that share a SQLite file: an exclusive, non-blocking `flock`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._lock = threading.Lock()

    def try_acquire(self, key: str | int) -> bool:
        with self._lock:
            if self._fd is not None:
                return True
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            return True

    def held(self) -> bool:
        with self._lock:
            return self._fd is not None

    def holder(self) -> str:
        """Who holds the lock, for messages: `held by process PID (PATH)`."""
        try:
            pid = self.path.read_text(encoding="utf-8").strip()
        except OSError:
            pid = ""
        return f"held by process {pid or 'unknown'} ({self.path})"

    def release(self) -> None:
        with self._lock:
            if self._fd is not None:
                with contextlib.suppress(OSError):
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
                self._fd = None

    def dispose(self) -> None:
        self.release()


class AdvisoryLeadership:
    def __init__(self, engine: Engine) -> None:
        self._single_replica = engine.dialect.name != "postgresql"
        # NullPool: closing the connection really ends the session, so the lock can never linger in a pool.
        self._engine = None if self._single_replica else create_engine(engine.url, poolclass=NullPool)
        self._conn: Connection | None = None
        self._key: int | None = None
        self._granted = False
        self._lock = threading.Lock()

    def try_acquire(self, key: str | int) -> bool:
        """True when this process is (or already was) the leader for `key`; never blocks. StoreError when
        the database cannot be reached (that is not the same as another replica leading)."""
        with self._lock:
            wanted = lock_key(key)
            if self._single_replica:
                self._key, self._granted = wanted, True
                return True
            if self._conn is not None and self._key == wanted and self._still_held():
                return True
            self._drop()
            assert self._engine is not None
            try:
                conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": wanted}).scalar())
            except SQLAlchemyError as exc:
                # Not "someone else leads": the ledger is unreachable. Said, so the service logs it and
                # reports itself not ready, instead of waiting quietly as a follower.
                raise errors.StoreError(f"leader election on {database.redacted(self._engine.url)}: "
                                        f"{database.first_line(exc)}") from None
            if not got:
                conn.close()
                return False
            self._conn, self._key = conn, wanted
            return True

    def held(self) -> bool:
        """Whether the lock is still ours (checks the connection is alive on PostgreSQL)."""
        with self._lock:
            if self._single_replica:
                return self._granted
            if self._conn is None:
                return False
            if self._still_held():
                return True
            self._drop()
            return False

    def holder(self) -> str:
        return "held by another replica (PostgreSQL advisory lock)"

    def release(self) -> None:
        with self._lock:
            self._granted = False
            if self._conn is not None and self._key is not None:
                # closing the connection below releases it anyway if this fails
                with contextlib.suppress(SQLAlchemyError):
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            self._drop()

    def dispose(self) -> None:
        self.release()
        if self._engine is not None:
            self._engine.dispose()

    def _still_held(self) -> bool:
        assert self._conn is not None
        try:
            return bool(
                self._conn.execute(
                    text(
                        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                        "AND pid = pg_backend_pid() AND granted)"
                    )
                ).scalar()
            )
        except SQLAlchemyError:
            return False

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.close()
        self._conn, self._key = None, None
