"""Benchmark of the controller as a process (run by hand, prints numbers; not collected by pytest):

    .venv/bin/python tests/perf/bench_controller.py [--guests 1000] [--pushes 5]

1. push-to-applied latency with 1 s polling (a memory change on one container, several times);
2. the resident memory (VmRSS) of the service holding `--guests` guests once it has applied them,
   and how long that first apply and an idle drift check take.

fakepve runs in this process on loopback (time_scale 0); the service is `python -m gitops serve`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from fakepve.certs import make_cert

from gitops.demo.simulator import PhoenixFakePve

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.controller.support import GitRemote, small_estate, wait_for, write_secrets

TOKEN = "bench-token-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_node_and_repo(tmp: Path, **extra_env: str) -> tuple[PhoenixFakePve, asyncio.AbstractEventLoop,
                                                                GitRemote, dict[str, str]]:
    """fakepve on loopback (in this process, time_scale 0), a config repo, and the `serve` environment."""
    os.environ.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=str(tmp / "gitconfig"))
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    cert, key, _ = make_cert(str(tmp), hosts=("127.0.0.1",))
    pve = PhoenixFakePve(user="root@pam", password="secret", host="127.0.0.1", port=0)
    pve.time_scale = 0
    asyncio.run_coroutine_threadsafe(pve.start(str(cert), str(key)), loop).result(30)
    remote = GitRemote(tmp, "config")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")},
           "PHOENIX_PVE_HOST": f"127.0.0.1:{pve.port}", "PHOENIX_PVE_PASSWORD": "secret",
           "PHOENIX_PVE_VERIFY_SSL": str(cert), "PHOENIX_GIT_URL": remote.url, "PHOENIX_DATA_DIR": str(tmp / "data"),
           "PHOENIX_SECRETS_DIR": str(write_secrets(tmp / "secrets")), "PHOENIX_API_TOKEN": TOKEN,
           "PHOENIX_POLL_INTERVAL": "1", "PHOENIX_DRIFT_INTERVAL": "3600", "PHOENIX_BOOT_DELAYS": "false",
           "PHOENIX_PVE_TIMEOUT": "60", **extra_env}
    return pve, loop, remote, env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--guests", type=int, default=1000)
    parser.add_argument("--pushes", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="phoenix-bench-"))
    pve, loop, remote, env = start_node_and_repo(tmp)
    port = free_port()
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, headers={"Authorization": f"Bearer {TOKEN}"})
    first = remote.commit(small_estate(memory=512), "first")
    log = (tmp / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "gitops", "serve", "--port", str(port)], env=env,
                               stdout=log, stderr=subprocess.STDOUT)

    def status(sha: str) -> str:
        try:
            answer = api.get(f"/api/v1/revisions/{sha}")
        except httpx.HTTPError:
            return "absent"  # not listening yet
        return str(answer.json()["status"]) if answer.status_code == 200 else "absent"

    try:
        wait_for(lambda: status(first) == "applied", 120, 0.05, what="first apply")
        latencies = []
        for i in range(args.pushes):
            started = time.monotonic()
            sha = remote.commit(small_estate(memory=520 + 8 * i), f"push {i}")
            wait_for(lambda s=sha: status(s) == "applied", 60, 0.02, what=f"push {i}")  # type: ignore[misc]
            latencies.append(time.monotonic() - started)
        print(f"push -> applied, 1 s polling, {args.pushes} pushes: median {statistics.median(latencies):.2f} s, "
              f"max {max(latencies):.2f} s")
        print("  (each push lands just after the previous apply: the worst case, a full poll interval + the apply)")
        print(f"RSS after the small estate: {rss_mib(process.pid):.0f} MiB")

        started = time.monotonic()
        big = remote.commit(small_estate(memory=512, extra_guests=args.guests - 1), f"{args.guests} guests")
        wait_for(lambda: status(big) in ("applied", "failed", "rolled_back", "rejected"), 1800, 0.5, what="big apply")
        took = time.monotonic() - started
        print(f"{args.guests} guests: {status(big)} in {took:.1f} s; service RSS {rss_mib(process.pid):.0f} MiB")
        started = time.monotonic()
        before = api.get("/metrics").text.count("\n")
        api.post("/api/v1/sync")
        time.sleep(0.5)
        wait_for(lambda: not api.get("/api/v1/status").json()["busy"], 600, 0.2, what="drift check")
        print(f"sync (no-op plan + drift check) of {args.guests} guests: {time.monotonic() - started:.1f} s; "
              f"RSS {rss_mib(process.pid):.0f} MiB; metrics lines {before}")
        counts = api.get("/api/v1/status").json()["drift_counts"]
        print(f"resources: {counts}")
    finally:
        process.kill()
        process.wait(10)
        log.close()
        api.close()
        asyncio.run_coroutine_threadsafe(pve.stop(), loop).result(30)
        print(f"(logs in {tmp / 'serve.log'})")


if __name__ == "__main__":
    main()
