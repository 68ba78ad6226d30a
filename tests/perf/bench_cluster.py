"""Benchmark: a no-op plan of 10,000 guests on a simulated 30-node cluster, at 0 and 20 ms API latency,
against the floor of the same reads issued by raw proxmoxer calls; and the controller's memory.

Not collected by pytest (the file is `bench_*.py`). Run it as a script:

    .venv/bin/python tests/perf/bench_cluster.py [--guests 10000] [--nodes 30] [--latency 0 0.02] [--runs 2]

What it does:

1. Grows configs-example to `--guests` guests (80 % containers, 20 % VMs, as `bench_plan.grow_estate`,
   without guest firewalls) and spreads them over `pve1`..`pveN` with the `node` field (templates on
   pve1). The hypervisor file keeps its firewall block, so the cluster firewall is read and planned too.
2. Starts the simulated cluster in a CHILD PROCESS (so the server does not share the controller's GIL,
   as a real PVE would not) and fills it with every guest already as the config says (the planner
   tests' `converged_live` shapes), then one `read_and_plan` + `apply` converges what is left (storages,
   the cluster firewall).
3. For each latency (fakepve `slow_network`, `time_scale` 1): the best of `--runs` no-op
   `read_and_plan` (it must come out empty), against the FLOOR: raw proxmoxer over one session with the
   same thread count, `GET cluster/resources` and then `GET .../pending` of every guest (the one read
   per guest the plan needs; the few cluster-level reads are left out of the floor).
4. Memory: the controller process's peak RSS (ru_maxrss) while holding the estate, the live state and
   the plan.
5. With `--commits N` (issue 21): the reconciler (the controller's own, with its live-state cache) follows
   a Git repository of the estate at the last latency given. After a first reconcile (a full read), N
   commits each change one guest's memory (a different guest each time); each is pushed and reconciled
   (fetch, checkout, validate, plan, apply, verify, record): push to `applied`, p50 and p99, and the API
   calls each made (counted by the simulated PVE, logins included). Then one commit changing
   `--many` guests' memory. Snapshots before changes are off (`--snapshots` turns them on).

Goals (issue 12): at 20 ms, under 10 s; memory under 400 MB. Issue 21: at 20 ms, one changed guest from
push to applied under 1 s p50 and 2 s p99; 100 changed guests under 5 s; calls grow with changed guests.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gitops.controller.converging import content_revision  # noqa: E402
from gitops.controller.heap import Heap  # noqa: E402
from gitops.controller.systems import Convergence  # noqa: E402
from gitops.drivers.proxmox.connection import connect  # noqa: E402
from tests.e2e_apply.support import SECRETS  # noqa: E402
from tests.perf import bench_plan  # noqa: E402
from tests.perf.bench_plan import PASSWORD, best, grow_estate, load, raw_api, row, secs  # noqa: E402
from tests.perf.bench_plan import settings_for as _settings_for  # noqa: E402

LATENCY_GOAL = 10.0  # seconds at 20 ms
MEMORY_GOAL = 400    # MB


def spread(directory: Path, nodes: int) -> None:
    """Give every guest a node, round robin; templates stay on pve1."""
    import json
    lxc_file = directory / "phoenix_lxc_configs.json"
    vm_file = directory / "phoenix_vm_configs.json"
    lxc = json.loads(lxc_file.read_text())
    vms = json.loads(vm_file.read_text())
    guests = [*lxc["lxc_configs"].values(), *vms["vms"]]
    for i, guest in enumerate(guests):
        guest["node"] = "pve1" if guest.get("is_template") else f"pve{i % nodes + 1}"
    lxc_file.write_text(json.dumps(lxc))
    vm_file.write_text(json.dumps(vms))


def serve(directory: str, nodes: int, conn: Any) -> None:
    """The child process: the simulated cluster, filled with the converged guests; obeys `conn`."""
    from gitops.demo.simulator import SimulatedNode
    from gitops.planner.options import PlanOptions
    from gitops.planner.proxmox.desired import desired_guests
    from gitops.planner.systems import assumed_live

    work = Path(tempfile.mkdtemp(prefix="bench-cluster-pve-"))
    node = SimulatedNode(work, password=PASSWORD, nodes=nodes)
    node.fake.max_requests = 0
    estate = load(Path(directory))
    live = assumed_live(estate, PlanOptions(node="pve1"), nodes=[], assumed="")
    placed = {d.vmid: d.node for d in desired_guests(estate, "pve1")}
    for vmid, guest in live.guests.items():
        where = placed[vmid]
        if guest.kind == "lxc":
            node.fake.add_ct(vmid, guest.name, node=where, status=guest.status, config=guest.config,
                             template=guest.template)
        else:
            node.fake.add_vm(vmid, guest.name, node=where, status=guest.status, config=guest.config,
                             template=guest.template)
    conn.send((node.address, node.cafile))
    while True:
        command, value = conn.recv()
        if command == "latency":
            node.fake.time_scale = 1.0 if value else 0.0
            node.run(_set_latency(node, value))
            conn.send("ok")
        elif command == "count":  # requests received since the last count, by method
            counts: dict[str, int] = {}
            for method, _path, _body in node.fake.requests:
                counts[method] = counts.get(method, 0) + 1
            node.fake.requests.clear()
            conn.send(counts)
        elif command == "paths":  # the GET paths received since the last count or paths, in order
            paths = [path.removeprefix("/api2/json/") for method, path, _body in node.fake.requests if method == "GET"]
            node.fake.requests.clear()
            conn.send(paths)
        elif command == "record":
            node.fake.max_requests = 10**7 if value else 0
            node.fake.requests.clear()
            conn.send("ok")
        elif command == "stop":
            node.stop()
            conn.send("ok")
            return


async def _set_latency(node: Any, latency: float) -> None:
    node.fake.slow_network(latency)


class Cluster:
    """The handle of the child's cluster: what `settings_for` needs of a SimulatedNode."""

    def __init__(self, address: str, cafile: str) -> None:
        self.address = address
        self.cafile = cafile


def start(prefix: str, guests: int, nodes: int) -> tuple[Path, Path, Any, Any, Cluster]:
    """Parts 1 and 2 of the module docstring: the secrets folder, the estate's folder, the pipe to the child,
    the child process and the handle of its cluster."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    secrets = work / "secrets"
    secrets.mkdir()
    for name, value in SECRETS.items():
        (secrets / name).write_text(value + "\n")
    lxc_total = int(guests * 0.8)
    bench_plan.LXC_BASE, bench_plan.VM_BASE = 10_000, 10_000 + lxc_total + 1000  # ids for 10,000 guests
    directory, counts = grow_estate(work / "estate", lxc_total, guests - lxc_total, firewall=False)
    spread(directory, nodes)
    row("estate", f"{counts['lxc']} containers + {counts['vm']} VMs on {nodes} nodes")
    parent, child = mp.Pipe()
    server = mp.get_context("fork").Process(target=serve, args=(str(directory), nodes, child), daemon=True)
    started = time.perf_counter()
    server.start()
    address, cafile = parent.recv()
    row("simulated cluster filled (child process)", secs(time.perf_counter() - started))
    return secrets, directory, parent, server, Cluster(address, cafile)


def step_walls() -> dict[str, list[float]]:
    """The reconcile's steps (`gitops.controller.steps`), each timed by the wall clock: their times, by name."""
    import functools

    from gitops.controller import steps

    walls: dict[str, list[float]] = {"other": []}

    def timed(step: Any) -> Any:
        walls[step.__name__] = []

        @functools.wraps(step)
        def run(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return step(*args)
            finally:
                walls[step.__name__].append(time.perf_counter() - started)
        return run

    steps.PREPARE = tuple(timed(s) for s in steps.PREPARE)
    steps.ACT = tuple(timed(s) for s in steps.ACT)
    return walls


class GcClock:
    """The time the cyclic garbage collector paused the process, by generation, while `running`."""

    def __init__(self) -> None:
        self.paused = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self.running = False
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if not self.running:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.paused[info["generation"]] += time.perf_counter() - self._started
            self.count[info["generation"]] += 1

    def text(self, runs: int) -> str:
        per = [p / max(1, runs) for p in self.paused]
        return (f"gc per commit {sum(per):.3f} s (full collections {self.count[2] / max(1, runs):.1f}, "
                f"{per[2]:.3f} s)")


def floor(api: Any, paths: list[str], threads: int) -> float:
    start = time.perf_counter()
    api("cluster/resources").get()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for _ in pool.map(lambda p: api(p).get(), paths):
            pass
    return time.perf_counter() - start


def commits(parent: Any, directory: Path, settings: Any, args: argparse.Namespace) -> None:
    """Part 5 of the module docstring."""
    import json
    import statistics

    from gitops.controller.reconciling import Reconciler
    from gitops.controller.triggers import Trigger, coalesce
    from gitops.source import ConfigRepo
    from gitops.store import open_store
    from tests.controller.support import git

    work = directory.parent
    bare, clone = work / "config.git", work / "config-work"
    git("init", "--quiet", "--bare", "--initial-branch", "main", bare)
    git("clone", "--quiet", bare, clone)
    for path in directory.glob("*.json"):
        (clone / path.name).write_text(path.read_text())
    git("add", "--all", cwd=clone)
    git("commit", "--quiet", "-m", "estate", cwd=clone)
    git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=clone)
    settings = settings.model_copy(update={"git_url": bare.as_uri(), "data_dir": work / "data",
                                           "snapshots": args.snapshots, "drift_interval": 3600.0})
    store = open_store(f"sqlite:///{work / 'data' / 'phoenix.db'}")
    repo = ConfigRepo.from_settings(settings)
    reconciler = Reconciler(settings, store, repo, Convergence(settings, proxmox=lambda: connect(settings)))

    profiles: list[tuple[str, cProfile.Profile]] = []
    clock = GcClock()
    walls = step_walls()
    heap = Heap()  # settled after each reconcile, as the service's loop does (outside the push-to-applied time)
    settles: list[float] = []

    def calls() -> dict[str, int]:
        parent.send(("count", None))
        return dict(parent.recv())

    def push_and_reconcile(change: dict[str, int], message: str) -> tuple[float, dict[str, int], str]:
        lxc_file = clone / "phoenix_lxc_configs.json"
        data = json.loads(lxc_file.read_text())
        for ctid, memory in change.items():
            data["lxc_configs"][ctid]["memory_mb"] = memory
        lxc_file.write_text(json.dumps(data))
        git("commit", "--quiet", "-am", message, cwd=clone)
        git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=clone)
        sha = git("rev-parse", "HEAD", cwd=clone)
        calls()
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        clock.running = True
        outcome = reconciler.reconcile(coalesce([Trigger("webhook", source="bench")]))
        took = time.perf_counter() - started
        clock.running = False
        if profiler is not None:
            profiler.disable()
            profiles.append((message, profiler))
        status = store.get_revision(sha).status
        if not args.no_freeze:
            heap.settle()
            settles.append(heap.last[2])
        if status != "applied":
            raise SystemExit(f"{message}: {status} ({outcome.detail})")
        return took, calls(), status

    parent.send(("record", True))
    parent.recv()
    started = time.perf_counter()
    first = reconciler.reconcile(coalesce([Trigger("webhook", source="bench")]))
    if not args.no_freeze:
        heap.settle()
    row("first reconcile (full read, cache empty)", secs(time.perf_counter() - started),
        f"{first.action}; {sum(calls().values())} API calls")
    lxc = json.loads((clone / "phoenix_lxc_configs.json").read_text())["lxc_configs"]
    ctids = [c for c, g in lxc.items() if not g.get("is_template")]
    times, counts = [], []
    for i in range(args.commits):
        ctid = ctids[(i * 97) % len(ctids)]
        took, counted, _ = push_and_reconcile({ctid: int(lxc[ctid].get("memory_mb", 512)) + 64 * (i + 1)},
                                              f"more memory for {ctid}")
        times.append(took)
        counts.append(sum(counted.values()))
        walls["other"].append(took - sum(w[-1] for n, w in walls.items() if n != "other" and w))
        if args.each:
            row(f"  commit {i + 1}: {ctid}'s memory", secs(took), f"{sum(counted.values())} API calls")
    times_sorted = sorted(times)
    p50 = statistics.median(times)
    p99 = times_sorted[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    row(f"{args.commits} commits, one guest's memory each: push to applied", f"p50 {secs(p50)}",
        f"p99 {secs(p99)}; min {secs(times_sorted[0])}; goals p50 < 1 s: {'met' if p50 < 1 else 'MISSED'}, "
        f"p99 < 2 s: {'met' if p99 < 2 else 'MISSED'}; {clock.text(args.commits)}")
    row("one-guest commit, wall time by step (p50)", f"{secs(statistics.median(times))}",
        "; ".join(f"{name} {statistics.median(took[-args.commits:]):.3f}" for name, took in walls.items()))
    if settles:
        row("heap settled after each commit (not in the times above)", f"p50 {secs(statistics.median(settles))}",
            f"max {secs(max(settles))}; frozen objects {gc.get_freeze_count()}")
    row("API calls per one-guest commit", f"{statistics.median(counts):.0f}",
        f"min {min(counts)}, max {max(counts)} (logins included)")
    many = {c: 700 + i for i, c in enumerate(ctids[1:1 + args.many])}
    took, counted, _ = push_and_reconcile(many, f"more memory for {len(many)} guests")
    row(f"one commit changing {len(many)} guests: push to applied", secs(took),
        f"{sum(counted.values())} API calls ({', '.join(f'{m} {n}' for m, n in sorted(counted.items()))}); "
        f"goal < 5 s: {'met' if took < 5 else 'MISSED'}")
    repo.close()
    store.close()
    if args.profile:
        report_profiles(profiles, args.profile)


# The functions whose cumulative time `--profile` shows for each profiled commit: the reconcile's steps and
# the ledger writes around them.
STEP_FUNCTIONS = ("fetch", "checkout", "validate", "connect", "plan", "apply", "verify", "begin", "finish",
                  "drift", "read_and_plan", "compare", "plan_changes", "read_live", "validate_directory")


def report_profiles(profiles: list[tuple[str, Any]], where: str) -> None:
    """Per step, the cumulative time of the median one-guest commit and of the last (many-guest) commit;
    the whole profiles are written to `where`.one.prof and `where`.many.prof (`python -m pstats`)."""
    import pstats

    singles, (many_message, many) = profiles[:-1], profiles[-1]
    chosen = [(singles[len(singles) // 2][0], singles[len(singles) // 2][1], "one"), (many_message, many, "many")]
    for message, profiler, suffix in chosen:
        profiler.dump_stats(f"{where}.{suffix}.prof")
        stats = pstats.Stats(profiler)
        total = sum(t for (_c, _n, t, _ct, _callers) in stats.stats.values())  # type: ignore[attr-defined]
        parts = []
        for (file, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            if name in STEP_FUNCTIONS and "/gitops/" in file:
                parts.append((cumulative, f"{Path(file).stem}.{name}"))
        row(f"profile of '{message}'", f"{total:.2f} s CPU-profiled",
            "; ".join(f"{name} {cumulative:.2f}" for cumulative, name in sorted(parts, reverse=True)))
        print(f"    (whole profile: {where}.{suffix}.prof)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--guests", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=30)
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.02])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--commits", type=int, default=0, help="commits to push and reconcile (part 5)")
    parser.add_argument("--many", type=int, default=100, help="guests the last commit of part 5 changes")
    parser.add_argument("--snapshots", action="store_true", help="part 5 with pre-apply snapshots")
    parser.add_argument("--skip-noop", action="store_true", help="skip part 3 (the no-op plans)")
    parser.add_argument("--each", action="store_true", help="part 5: a line per commit")
    parser.add_argument("--no-freeze", action="store_true",
                        help="part 5 without the service's heap settling (gitops/controller/heap.py) between commits")
    parser.add_argument("--profile", metavar="PREFIX", default="",
                        help="part 5 under cProfile: the per-step times of the median one-guest commit and the "
                             "many-guest commit, their profiles written to PREFIX.one.prof and PREFIX.many.prof")
    args = parser.parse_args()

    secrets, directory, parent, server, cluster = start("bench-cluster-", args.guests, args.nodes)
    address, cafile = cluster.address, cluster.cafile
    try:
        estate = load(directory)
        settings = _settings_for(Cluster(address, cafile), secrets, pve_node="pve1")  # type: ignore[arg-type]
        with connect(settings) as client:
            session = Convergence(settings, proxmox=lambda: client).open()
            options = session.options(estate, revision=content_revision(directory))
            first = session.read_and_plan(estate, options, check_secrets=False)
            if first.plan.errors:
                raise SystemExit(f"plan errors: {[(e.target, e.code) for e in first.plan.errors[:5]]}")
            result = session.apply(first)
            row("first converge (what the fill left)", f"{len(first.plan.actions)} actions, ok={result.ok}",
                ", ".join(sorted({a.target.split('/')[0] for a in first.plan.actions})))
            api = raw_api(Cluster(address, cafile), pool=settings.pve_read_concurrency)  # type: ignore[arg-type]
            paths = [f"nodes/{g.node}/{'lxc' if g.kind == 'lxc' else 'qemu'}/{g.vmid}/pending"
                     for g in first.live.guests.values()]
            for latency in [] if args.skip_noop else args.latency:
                parent.send(("latency", latency))
                parent.recv()
                took, times, run = best(lambda: session.read_and_plan(estate, options, check_secrets=False), args.runs)
                if run.plan.actions or run.plan.errors:
                    raise SystemExit(f"not a no-op at {latency}: {len(run.plan.actions)} actions, "
                                     f"{[(a.target, a.action) for a in run.plan.actions[:5]]}")
                base = min(floor(api, paths, settings.pve_read_concurrency) for _ in range(args.runs))
                goal = f"; goal < {LATENCY_GOAL:.0f} s: {'met' if took < LATENCY_GOAL else 'MISSED'}" \
                    if latency >= 0.02 else ""
                row(f"no-op plan at {latency * 1000:.0f} ms", secs(took),
                    f"runs {', '.join(secs(t) for t in times)}; floor {secs(base)} "
                    f"({settings.pve_read_concurrency} threads); {took / base:.2f}x floor{goal}")
            if args.commits:
                parent.send(("latency", args.latency[-1]))
                parent.recv()
                commits(parent, directory, settings, args)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            row("controller peak RSS", f"{rss:.0f} MB",
                f"goal < {MEMORY_GOAL} MB: {'met' if rss < MEMORY_GOAL else 'MISSED'}")
    finally:
        parent.send(("stop", None))
        parent.recv()
        server.join(30)


if __name__ == "__main__":
    main()
