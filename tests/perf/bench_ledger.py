"""Benchmark: `phoenix-gitops ledger export` / `ledger import` of a large ledger, SQLite and PostgreSQL.

Not collected by pytest (the file is `bench_*.py`). Run it as a script:

    .venv/bin/python tests/perf/bench_ledger.py [--revisions 10000] [--events 50000] [--no-postgres]

Fills a SQLite ledger with N revisions (each with a 40-action plan and a result, about what a busy
estate records in a year) and M events, then times, each as a subprocess of the real command (so peak
RSS comes from wait4's rusage): export to a file, import into a fresh SQLite file, and import into a
fresh PostgreSQL database (127.0.0.1:5432) when one answers. Prints rows/s, file size and peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy import insert

from gitops.store import database, open_store, tables

CLI = str(Path(sys.executable).with_name("phoenix-gitops"))
PG_ADMIN = os.environ.get("PHOENIX_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")


def fill(url: str, revisions: int, events: int) -> None:
    open_store(url).close()
    engine = database.make_engine(url)
    t0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    plan = {"actions": [{"target": f"lxc/{100 + i}", "action": "update", "changes": {"memory": [512, 1024]}}
                        for i in range(40)], "errors": []}
    with engine.begin() as connection:
        for start in range(0, revisions, 1000):
            connection.execute(insert(tables.Revision), [
                {"sha": f"{i:040x}", "author": "Ann <ann@example.org>", "message": f"change {i}",
                 "committed_at": t0 + dt.timedelta(minutes=i), "received_at": t0 + dt.timedelta(minutes=i),
                 "status": "applied", "trigger": "poll", "validation": {"valid": True, "errors": []},
                 "plan": plan, "result": {"apply": {"ok": True, "actions": 40}},
                 "started_at": t0 + dt.timedelta(minutes=i), "finished_at": t0 + dt.timedelta(minutes=i, seconds=30),
                 "duration_s": 30.0}
                for i in range(start, min(revisions, start + 1000))])
        for start in range(0, events, 5000):
            connection.execute(insert(tables.Event), [
                {"at": t0 + dt.timedelta(seconds=i), "revision_sha": f"{i % revisions:040x}", "level": "info",
                 "kind": "action.finished", "message": f"lxc/{100 + i % 40} updated", "data": {"n": i}}
                for i in range(start, min(events, start + 5000))])
    engine.dispose()


def timed(*args: str) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one run of the command."""
    start = time.perf_counter()
    process = subprocess.Popen([CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed: {process.stderr.read().decode() if process.stderr else ''}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--revisions", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rows = args.revisions + args.events + 1
    with tempfile.TemporaryDirectory() as folder:
        source = f"sqlite:///{folder}/source.db"
        fill(source, args.revisions, args.events)
        dump = Path(folder) / "ledger.jsonl"
        seconds, rss = timed("ledger", "export", str(dump), "--database", source)
        size = dump.stat().st_size / 1024**2
        print(f"export  {rows:>7} rows  SQLite      {seconds:6.2f} s  {rows / seconds:8.0f} rows/s  "
              f"{size:6.1f} MiB file  peak RSS {rss:5.0f} MiB")
        seconds, rss = timed("ledger", "import", str(dump), "--database", f"sqlite:///{folder}/copy.db")
        print(f"import  {rows:>7} rows  SQLite      {seconds:6.2f} s  {rows / seconds:8.0f} rows/s  "
              f"peak RSS {rss:5.0f} MiB")
        if args.no_postgres:
            return
        try:
            admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
        except psycopg.OperationalError as exc:
            print(f"import  PostgreSQL skipped: {exc}")
            return
        name = f"phoenix_bench_{secrets.token_hex(4)}"
        with admin:
            admin.execute(f'CREATE DATABASE "{name}"')
            try:
                url = f"postgresql://{admin.info.user}@{admin.info.host}:{admin.info.port}/{name}"
                seconds, rss = timed("ledger", "import", str(dump), "--database", url)
                print(f"import  {rows:>7} rows  PostgreSQL  {seconds:6.2f} s  {rows / seconds:8.0f} rows/s  "
                      f"peak RSS {rss:5.0f} MiB")
            finally:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
