"""Benchmark of the live event stream (run by hand, prints numbers; not collected by pytest):

    .venv/bin/python tests/perf/bench_live.py [--clients 100] [--events 50] [--interval 0.1]

Serves the API (uvicorn, one thread) over a SQLite ledger; `--clients` browsers' worth of streams
(`GET /api/v1/live`, httpx in another thread) listen while `--events` ledger events are written
`--interval` seconds apart, first through the API's own store (as the controller in `serve` writes),
then through a second store on the same file (another replica: seen at the next sweep, at most
`LiveFeed.max_age` later). Prints, per writer, the delay from the write to each client's receipt
(p50, p99, max), what was lost, and how many ledger reads the one shared feed made.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from gitops.api.app import create_app
from gitops.settings import Settings
from gitops.store import Store, open_store


class Idle:
    identity, leader, ready, busy = "bench", True, True, False
    stats: dict[str, float] = {}

    def request(self, trigger: object) -> None: ...

    def review(self, event: object) -> bool:
        return False

    def wedged(self) -> None:
        return None


async def listen(base: str, clients: int, expected: int, written: dict[int, float], ready: threading.Event,
                 delays: list[float], got: list[int]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(60, read=60),
                                 limits=httpx.Limits(max_connections=clients + 5)) as client:
        connected = 0

        async def one() -> None:
            nonlocal connected
            seen = 0
            async with client.stream("GET", "/api/v1/live") as response:
                async for line in response.aiter_lines():
                    if line.startswith("event: hello"):
                        connected += 1
                        if connected == clients:
                            ready.set()
                    elif line.startswith("data: ") and '"kind":"bench"' in line:
                        event_id = json.loads(line[6:])["id"]
                        delays.append(time.perf_counter() - written.get(event_id, time.perf_counter()))
                        seen += 1
                        if seen == expected:
                            break
            got.append(seen)

        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(clients))), timeout=120)


def run(store: Store, writer: Store, base: str, clients: int, events: int, interval: float) -> dict[str, float]:
    written: dict[int, float] = {}
    delays: list[float] = []
    got: list[int] = []
    ready = threading.Event()
    thread = threading.Thread(target=lambda: asyncio.run(listen(base, clients, events, written, ready, delays, got)))
    thread.start()
    if not ready.wait(60):
        raise SystemExit("the clients did not connect")
    time.sleep(0.5)
    for n in range(events):
        before = time.perf_counter()
        record = writer.add_event("bench", f"event {n}")
        written[record.id] = before
        time.sleep(interval)
    thread.join(180)
    delays.sort()
    return {"p50_ms": 1000 * statistics.median(delays), "p99_ms": 1000 * delays[int(0.99 * (len(delays) - 1))],
            "max_ms": 1000 * delays[-1], "lost": clients * events - sum(got)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
        store, other = open_store(url), open_store(url)
        app = create_app(store, Idle(), Settings(api_max_connections=args.clients + 50))  # type: ignore[arg-type]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False,
                                               lifespan="off"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.01)
        base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        feed = app.state.live
        for name, writer in (("this process's store", store), ("another replica's store", other)):
            reads = feed.reads
            numbers = run(store, writer, base, args.clients, args.events, args.interval)
            print(f"{args.clients} clients, {args.events} events written through {name}: "
                  f"delay p50 {numbers['p50_ms']:.0f} ms, p99 {numbers['p99_ms']:.0f} ms, "
                  f"max {numbers['max_ms']:.0f} ms; lost {numbers['lost']:.0f}; "
                  f"ledger reads by the feed {feed.reads - reads}")
        server.should_exit = True
        store.close()
        other.close()


if __name__ == "__main__":
    main()
