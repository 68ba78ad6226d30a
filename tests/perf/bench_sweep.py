"""Benchmark: the drift check's full read (the sweep) of a large estate on a simulated cluster at 20 ms API
latency, against the floor of the same GETs issued by raw proxmoxer; paced (PHOENIX_DRIFT_RPS), and what a
sweep does to an apply that arrives during it; the controller's memory holding the estate.

Not collected by pytest (the file is `bench_*.py`). Run it as a script:

    .venv/bin/python tests/perf/bench_sweep.py [--guests 10000] [--nodes 30] [--latency 0.02] [--runs 2]
                                              [--rps 400] [--applies 10]

What it does (the estate and the cluster as `bench_cluster.py`: configs-example grown to `--guests`, 80 %
containers, spread over `--nodes` nodes, served by a simulated cluster in a child process):

1. The sweep: the controller's own read for a drift check (`LiveCache.sweep` then `live_cache.read_cached`, as
   `gitops.controller.steps.plan` does it, cluster-level reads included), unpaced, best of `--runs`; the
   GET paths it sent are taken from the simulated PVE, and the FLOOR is those same GETs sent by raw
   proxmoxer over one session with the same number of threads (`cluster/resources` first, the rest in
   parallel). Ratio sweep / floor (the issue's goal: at most 1.1x).
2. Paced at `--rps`: the sweep's time against the ideal (its GETs / rps) and the rate it achieved.
3. An apply during a sweep: `--applies` times, the calls a one-guest memory change makes (`GET .../pending`
   for the digest, `PUT .../config` with it, `GET cluster/resources` and `GET .../pending` for the verify),
   unpaced, from another thread: alone, during an unpaced sweep, during a paced one. The median of each.
4. Memory: this process's peak RSS (ru_maxrss) holding the estate, the cache of every guest and the client.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gitops.controller.converging import content_revision  # noqa: E402
from gitops.controller.systems import Convergence  # noqa: E402
from gitops.drivers.proxmox import live_cache  # noqa: E402
from gitops.drivers.proxmox.connection import ProxmoxClient, connect  # noqa: E402
from gitops.drivers.proxmox.driver import ProxmoxDriver  # noqa: E402
from gitops.planner.proxmox.desired import desired_guests  # noqa: E402
from tests.perf.bench_cluster import Cluster, start  # noqa: E402
from tests.perf.bench_plan import load, raw_api, row, secs  # noqa: E402
from tests.perf.bench_plan import settings_for as _settings_for  # noqa: E402

RATIO_GOAL = 1.1
MEMORY_GOAL = 300  # MB


def rss_now() -> float:
    """This process's resident memory now, in MB (Linux: /proc/self/statm)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def ask(parent: Any, command: str, value: Any = None) -> Any:
    parent.send((command, value))
    return parent.recv()


def sweep(client: ProxmoxClient, cache: live_cache.LiveCache, estate: Any, driver: ProxmoxDriver) -> Any:
    """The drift check's read, as the controller makes it."""
    guests = desired_guests(estate, client.node)
    firewall = {d.vmid for d in guests if d.firewall.enabled or d.firewall.rules}
    cache.sweep()
    return live_cache.read_cached(client, cache, guests, firewall=firewall, cluster_key=repr(estate.hypervisor),
                                  read_cluster_extra=lambda c, state: driver._read_cluster_level(estate, state, c))


def floor(api: Any, paths: list[str], threads: int) -> float:
    """The same GETs by raw proxmoxer: `cluster/resources` first (everything else needs it), then the rest."""
    first, rest = paths[0], paths[1:]
    start = time.perf_counter()
    api(first).get()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for _ in pool.map(lambda p: api(p).get(), rest):
            pass
    return time.perf_counter() - start


def one_apply(client: ProxmoxClient, path: str, memory: int) -> float:
    """The calls of a one-guest memory change (digest read, write, verify), unpaced; its seconds."""
    started = time.perf_counter()
    digest = next((i.get("value") for i in client.get(f"{path}/pending") if i.get("key") == "digest"), None)
    client.request("PUT", f"{path}/config", {"memory": memory, **({"digest": digest} if digest else {})})
    client.get("cluster/resources")
    client.get(f"{path}/pending")
    return time.perf_counter() - started


def applies_during(client: ProxmoxClient, path: str, count: int, background: Any | None) -> list[float]:
    """`count` applies one after another, while `background()` runs in a thread (when given)."""
    done = threading.Event()
    thread = None
    if background is not None:
        thread = threading.Thread(target=lambda: (background(), done.set()), daemon=True)
        thread.start()
        time.sleep(1.0)  # the sweep is well under way
    times = []
    for i in range(count):
        if background is not None and done.is_set():
            break
        times.append(one_apply(client, path, 600 + 8 * (i % 4)))
    if thread is not None:
        thread.join()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--guests", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=30)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--rps", type=float, default=400.0, help="PHOENIX_DRIFT_RPS for part 2 and 3")
    parser.add_argument("--applies", type=int, default=10)
    args = parser.parse_args()

    secrets, directory, parent, server, cluster = start("bench-sweep-", args.guests, args.nodes)
    address, cafile = cluster.address, cluster.cafile
    try:
        estate = load(directory)
        settings = _settings_for(Cluster(address, cafile), secrets, pve_node="pve1")  # type: ignore[arg-type]
        with connect(settings) as client:
            session = Convergence(settings, proxmox=lambda: client).open()
            options = session.options(estate, revision=content_revision(directory))
            first = session.read_and_plan(estate, options, check_secrets=False)
            result = session.apply(first)
            row("first converge (what the fill left)", f"{len(first.plan.actions)} actions, ok={result.ok}")
            del first, result
            phases = [f"estate loaded and converged {rss_now():.0f}"]
            threads = settings.pve_read_concurrency
            driver = ProxmoxDriver(client)
            cache = live_cache.LiveCache(max_age=3600.0)
            api = raw_api(Cluster(address, cafile), pool=threads)  # type: ignore[arg-type]
            ask(parent, "latency", args.latency)
            ask(parent, "record", True)
            at = f"at {args.latency * 1000:.0f} ms"

            # 1. unpaced sweep against the floor of the same GETs
            sweeps, floors, paths = [], [], []
            for _ in range(args.runs):
                ask(parent, "paths")
                started = time.perf_counter()
                state = sweep(client, cache, estate, driver)
                sweeps.append(time.perf_counter() - started)
                paths = ask(parent, "paths")
                floors.append(floor(api, paths, threads))
                ask(parent, "paths")
            took, base = min(sweeps), min(floors)
            phases.append(f"holding the swept cache {rss_now():.0f} (peak so far "
                          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f})")
            row(f"sweep, unpaced, {at}", secs(took),
                f"runs {', '.join(secs(t) for t in sweeps)}; {len(paths)} GETs, {cache.last.fresh} guests")
            row(f"floor: the same {len(paths)} GETs, raw proxmoxer", secs(base),
                f"runs {', '.join(secs(t) for t in floors)}; {threads} threads")
            row("sweep / floor", f"{took / base:.2f}x",
                f"goal <= {RATIO_GOAL}x: {'met' if took / base <= RATIO_GOAL else 'MISSED'}")

            # 2. paced
            cache.sweep_rps = args.rps
            started = time.perf_counter()
            sweep(client, cache, estate, driver)
            paced = time.perf_counter() - started
            gets = len(ask(parent, "paths"))
            row(f"sweep paced at {args.rps:.0f}/s, {at}", secs(paced),
                f"{gets} GETs: {gets / paced:.0f}/s achieved; ideal {secs(gets / args.rps)} "
                f"({paced / (gets / args.rps):.2f}x)")
            cache.sweep_rps = 0.0

            # 3. an apply during a sweep
            guest = next(g for g in state.guests.values() if g.kind == "lxc" and not g.template)
            path = f"nodes/{guest.node}/lxc/{guest.vmid}"
            del state, guest  # the service keeps the cache, not the states read through it
            alone = applies_during(client, path, args.applies, None)

            def sweeping(rps: float) -> Any:
                def run() -> None:  # the one cache, as the service has one: a sweep replaces what it holds
                    cache.sweep_rps = rps
                    try:
                        sweep(client, cache, estate, driver)
                    finally:
                        cache.sweep_rps = 0.0
                return run
            unpaced = applies_during(client, path, args.applies, sweeping(0.0))
            during = applies_during(client, path, args.applies, sweeping(args.rps))
            ask(parent, "paths")
            med = statistics.median
            row("one apply's calls, alone: median", secs(med(alone)), f"{len(alone)} applies")
            row("the same during an unpaced sweep", secs(med(unpaced)) if unpaced else "-",
                f"{len(unpaced)} applies; {med(unpaced) / med(alone):.1f}x alone" if unpaced else "")
            row(f"the same during a sweep paced at {args.rps:.0f}/s", secs(med(during)) if during else "-",
                f"{len(during)} applies; {med(during) / med(alone):.1f}x alone" if during else "")

            phases.append(f"after part 3 {rss_now():.0f}")
            row("resident memory by phase, MB", "", "; ".join(phases))
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            row("controller peak RSS", f"{rss:.0f} MB",
                f"goal < {MEMORY_GOAL} MB: {'met' if rss < MEMORY_GOAL else 'MISSED'}")
    finally:
        ask(parent, "stop")
        server.join(30)


if __name__ == "__main__":
    main()
