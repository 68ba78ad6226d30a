"""Benchmark of the read API under load (run by hand, prints numbers; not collected by pytest):

    .venv/bin/python tests/perf/bench_read_api.py [--guests 200] [--clients 50] [--seconds 10]

A `phoenix-gitops serve` process converges `--guests` containers on an in-process fakepve; then
`--clients` concurrent clients (a separate process, so the load generator does not share a GIL with
fakepve) GET `/api/v1/status`, `/api/v1/resources` and `/metrics` in turn for `--seconds`, first with
the controller idle, then while it applies a commit that changes every guest (fakepve tasks slowed so
the apply outlasts the measurement). Prints requests per second, p50 and p99 latency, and errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PATHS = ("/api/v1/status", "/api/v1/resources", "/metrics")


async def _load(base: str, clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    kinds: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def worker(offset: int) -> None:
            nonlocal errors
            i = offset
            while time.monotonic() < deadline:
                path = PATHS[i % len(PATHS)]
                i += 1
                started = time.perf_counter()
                try:
                    answer = await client.get(path)
                    if answer.status_code != 200:
                        errors += 1
                        kinds[str(answer.status_code)] = kinds.get(str(answer.status_code), 0) + 1
                except httpx.HTTPError as exc:
                    errors += 1
                    kinds[type(exc).__name__] = kinds.get(type(exc).__name__, 0) + 1
                latencies.append(time.perf_counter() - started)

        started = time.monotonic()
        await asyncio.gather(*(worker(n) for n in range(clients)))
        took = time.monotonic() - started
    latencies.sort()
    return {"requests": len(latencies), "rps": len(latencies) / took, "errors": errors, "kinds": kinds,  # type: ignore[dict-item]
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_in_subprocess(base: str, clients: int, seconds: float, pid: int) -> dict[str, float]:
    cpu = cpu_seconds(pid)
    done = subprocess.run([sys.executable, __file__, "--load", base, "--clients", str(clients),
                           "--seconds", str(seconds)], capture_output=True, text=True, timeout=seconds + 120,
                          check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    result["cpu_ms_per_request"] = 1000 * (cpu_seconds(pid) - cpu) / max(1.0, result["requests"])
    return result


def show(label: str, r: dict[str, float]) -> None:
    print(f"{label}: {r['rps']:.0f} req/s, p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, "
          f"{int(r['requests'])} requests, {int(r['errors'])} errors {r.get('kinds') or ''}; "
          f"service CPU {r['cpu_ms_per_request']:.1f} ms per request (the apply's share included)")


def main() -> None:
    import logging

    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # fakepve noise when the service is killed
    parser = argparse.ArgumentParser()
    parser.add_argument("--guests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(asyncio.run(_load(args.load, args.clients, args.seconds))))
        return

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.controller.support import small_estate, wait_for
    from tests.perf.bench_controller import free_port, start_node_and_repo

    tmp = Path(tempfile.mkdtemp(prefix="phoenix-bench-read-"))
    pve, loop, remote, env = start_node_and_repo(tmp, PHOENIX_SNAPSHOTS="false")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=base, timeout=30)
    first = remote.commit(small_estate(memory=512, extra_guests=args.guests - 1), "first")
    log = (tmp / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "gitops", "serve", "--port", str(port)], env=env,
                               stdout=log, stderr=subprocess.STDOUT)

    def status(sha: str) -> str:
        try:
            answer = api.get(f"/api/v1/revisions/{sha}")
        except httpx.HTTPError:
            return "absent"
        return str(answer.json()["status"]) if answer.status_code == 200 else "absent"

    try:
        wait_for(lambda: status(first) == "applied", 1800, 0.5, what="first apply")
        wait_for(lambda: not api.get("/api/v1/status").json()["busy"], 600, 0.2, what="idle")
        resources = len(api.get("/api/v1/resources").json()["resources"])
        print(f"{args.guests} guests applied; /api/v1/resources lists {resources}; "
              f"{args.clients} clients, {args.seconds:g} s each")
        show("idle      ", load_in_subprocess(base, args.clients, args.seconds, process.pid))
        pve.time_scale = 1.0
        pve.network["latency"] = 0.4  # every PVE request takes 0.4 s: the apply outlasts the measurement
        second = remote.commit(small_estate(memory=640, extra_guests=args.guests - 1), "every guest changes")
        wait_for(lambda: status(second) == "applying", 120, 0.1, what="apply started")
        show("applying  ", load_in_subprocess(base, args.clients, args.seconds, process.pid))
        still = status(second)
        print(f"(the revision was still '{still}' when the measurement ended)")
    finally:
        process.kill()
        process.wait(10)
        log.close()
        api.close()
        asyncio.run_coroutine_threadsafe(pve.stop(), loop).result(30)
        print(f"(logs in {tmp / 'serve.log'})")


if __name__ == "__main__":
    main()
