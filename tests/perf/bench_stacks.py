"""Benchmark: a no-op plan of 100 stacks on 10 VMs, against the floor of reading each stack once.

Not collected by pytest (the file is `bench_*.py`). Run it as a script:

    .venv/bin/python tests/perf/bench_stacks.py [--vms 10] [--stacks-per-vm 10] [--runs 5] [--latency 0.0]

What it measures (wall-clock seconds on this machine, median of `--runs`):

1. Converging the stacks: 10 agent VMs (one Portainer environment each), 100 stacks (10 per VM, each with
   a compose file, two Traefik labels, a `files` entry and a `${secret:...}` variable) deployed on the
   simulated Portainer (real HTTP on loopback) by the Portainer driver through the one executor.
2. A no-op plan: `PortainerDriver.read_live` (environments, stacks, every managed stack's file; compose
   files read from the config directory and rendered; secret fingerprints) + the stack rules.
3. The FLOOR: `GET /api/stacks` and `GET /api/stacks/{id}/file` of each stack once with a bare httpx
   client, sequentially, and from as many threads as the driver uses (PHOENIX_PORTAINER_READ_CONCURRENCY).

`--latency S` makes the simulated Portainer answer every request S seconds late (a remote Portainer).
The simulator runs in this process (uvicorn in a thread), so client and server share the GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gitops.config import queries  # noqa: E402
from gitops.config.secretrefs import SecretResolver  # noqa: E402
from gitops.demo.portainer import ADMIN, PortainerModel, SimulatedPortainer  # noqa: E402
from gitops.drivers.executing import execute  # noqa: E402
from gitops.drivers.portainer.connection import PortainerClient  # noqa: E402
from gitops.drivers.portainer.driver import PortainerDriver  # noqa: E402
from gitops.drivers.seam import Drivers  # noqa: E402
from gitops.planner.live import LiveState  # noqa: E402
from gitops.planner.options import PlanOptions  # noqa: E402
from gitops.planner.plan import Plan  # noqa: E402
from gitops.planner.portainer.rules import plan_stack_changes  # noqa: E402

KEY = "ptr_bench"
COMPOSE = """services:
  app:
    image: ghcr.io/example/app{n}:1.0
    restart: unless-stopped
    environment:
      TOKEN: ${{TOKEN}}
  worker:
    image: ghcr.io/example/worker{n}:1.0
"""


def make_config(folder: Path, vms: int, per_vm: int) -> Path:
    for name in ("phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"):
        shutil.copyfile(ROOT / "configs-example" / name, folder / name)
    vm_file = json.loads((ROOT / "configs-example" / "phoenix_vm_configs.json").read_text())
    template = vm_file["vms"][0]
    agent = vm_file["vms"][2]
    stacks: dict[str, Any] = {}
    machines = [template]
    for v in range(vms):
        names = [f"app{v:02d}{s:02d}" for s in range(per_vm)]
        network = {**agent["network_config"], "ip": f"10.20.0.{100 + v}/24"}
        machines.append({**agent, "vmid": 3000 + v, "name": f"docker-{v:02d}",
                         "portainer_environment_name": f"docker-{v:02d}", "network_config": network,
                         "docker_stacks": names, "dependencies": []})
        for n in names:
            (folder / "stacks" / n).mkdir(parents=True)
            (folder / "stacks" / n / "docker-compose.yml").write_text(COMPOSE.format(n=n))
            (folder / "stacks" / n / "app.env").write_text(f"NAME={n}\n")
            stacks[n] = {"compose_file_path": f"stacks/{n}/docker-compose.yml", "environments": {"production": {
                "variables": [{"name": "TOKEN", "value": "${secret:bench_token}"}, {"name": "MODE", "value": "prod"}],
                "files": [{"source": f"stacks/{n}/app.env", "destination_in_container": "/app/.env"}],
                "services": {"app": {"traefik_labels": ["traefik.enable=true",
                                                        f"traefik.http.routers.{n}.rule=Host(`{n}.example`)"]}}}}}
    vm_file["vms"] = machines
    for vm in machines:
        vm.pop("firewall", None)
    (folder / "phoenix_vm_configs.json").write_text(json.dumps(vm_file, indent=2))
    (folder / "phoenix_stacks_config.json").write_text(json.dumps({"docker_stacks": stacks}, indent=2))
    return folder


def median_time(fn: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=10)
    parser.add_argument("--stacks-per-vm", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-stacks-"))
    (tmp / "config").mkdir()
    config = make_config(tmp / "config", args.vms, args.stacks_per_vm)
    estate = queries.load(config)
    resolver = SecretResolver(None, {"PHOENIX_SECRET_BENCH_TOKEN": "bench-secret-value"})
    server = SimulatedPortainer(PortainerModel(api_keys={KEY: ADMIN}))
    if args.latency:
        delay = args.latency
        inner = server.app.middleware_stack or server.app.build_middleware_stack()

        async def slow(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                await asyncio.sleep(delay)
            await inner(scope, receive, send)
        server.app.middleware_stack = slow  # type: ignore[assignment]
    client = PortainerClient(server.url, api_key=KEY, read_concurrency=args.concurrency)
    driver = PortainerDriver(client, secrets=resolver)
    options = PlanOptions(node="pve1")

    def read_and_plan() -> Plan:
        live = LiveState(node="pve1")
        driver.read_live(estate, options, live)
        plan = Plan()
        plan_stack_changes(estate, live, options, plan)
        return plan

    start = time.perf_counter()
    first = read_and_plan()
    drivers = Drivers()
    drivers.register(driver)
    result = execute(first, drivers, resolve_secret=resolver.value)
    converge = time.perf_counter() - start
    assert result.ok, [o.error for o in result.failed][:3]
    total = args.vms * args.stacks_per_vm
    assert len(server.model.stacks) == total
    assert not read_and_plan().actions

    noop = median_time(read_and_plan, args.runs)
    floor_client = httpx.Client(base_url=server.url, headers={"X-API-Key": KEY})

    def floor(threads: int) -> Callable[[], None]:
        def run() -> None:
            ids = [s["Id"] for s in floor_client.get("/api/stacks").json()]
            def read(i: int) -> None:
                floor_client.get(f"/api/stacks/{i}/file").raise_for_status()
            if threads == 1:
                for i in ids:
                    read(i)
            else:
                with ThreadPoolExecutor(threads) as pool:
                    list(pool.map(read, ids))
        return run

    sequential = median_time(floor(1), args.runs)
    parallel = median_time(floor(args.concurrency), args.runs)
    requests = len([r for r in server.model.received if r.method == "GET"]) // (1 + 3 * args.runs)
    print(f"{total} stacks on {args.vms} VMs, latency {args.latency * 1000:.0f} ms, "
          f"read concurrency {args.concurrency}")
    print(f"  converge (deploy all, one executor):       {converge:7.3f} s  ({len(first.actions)} actions)")
    print(f"  no-op plan (read_live + stack rules):       {noop:7.3f} s  (median of {args.runs})")
    print(f"  floor: list + each stack file, sequential:  {sequential:7.3f} s")
    print(f"  floor: list + each stack file, {args.concurrency:2d} threads: {parallel:7.3f} s")
    print(f"  no-op plan / parallel floor:                {noop / parallel:7.2f} x   (~{requests} GETs per pass)")
    floor_client.close()
    client.close()
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
