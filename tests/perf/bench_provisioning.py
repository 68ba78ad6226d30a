"""Benchmark: what provisioning adds to a no-op plan -- reading each container's record over SSH.

Not collected by pytest. Run it as a script:

    .venv/bin/python tests/perf/bench_provisioning.py [--containers 200] [--runs 3]

What it measures (wall-clock seconds on this machine): a fakepve node with N running containers and
the tests' SSH node shell (`tests/guests/sshnode.py`, asyncssh on loopback, in this process); then
(1) the guests driver reading every container's record (`pct exec ID -- cat ...`, one SSH channel per
container on one connection), sequentially and `READERS` at once as `read_live` does, best of `--runs`;
(2) reading each container's config file
(`cat /etc/pve/lxc/ID.conf`), the host-side settings' read; (3) the pure provisioning rules for N
guests whose every step already ran. Caveat: the SSH server and fakepve share this process and its GIL
with the client, so (1) and (2) are an upper bound of the client's own cost plus the server's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gitops.drivers.guests.containers import Containers
from gitops.drivers.guests.driver import READERS
from gitops.drivers.guests.ssh import NodeShells
from gitops.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


class _Pve:
    """What the node shell asks of fakepve: the container by id, and whether it runs."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--containers", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from fakepve.lxc import FakeCt

    from tests.guests.sshnode import NodeShell

    class Fake:
        def __init__(self, n: int) -> None:
            self.cts = {i: FakeCt(i, f"ct{i}", status="running") for i in range(1000, 1000 + n)}

        def ct(self, vmid: int) -> Any:
            return self.cts.get(vmid)

    with tempfile.TemporaryDirectory() as tmp:
        shell = NodeShell(Path(tmp), _Pve(Fake(args.containers)))
        settings = Settings(ssh_key=str(shell.key_file), ssh_known_hosts=str(shell.known_hosts),
                            ssh_hosts={"pve1": f"127.0.0.1:{shell.port}"})
        shells = NodeShells(settings)
        containers = Containers(shells)
        ids = range(1000, 1000 + args.containers)
        try:
            containers.read_record("pve1", 1000)  # connect once
            for label, read in (("records (pct exec cat)", containers.read_record),
                                ("config files (cat)", containers.read_conf)):
                best = float("inf")
                for _ in range(args.runs):
                    start = time.perf_counter()
                    for vmid in ids:
                        read("pve1", vmid)
                    best = min(best, time.perf_counter() - start)
                print(f"{label}: {args.containers} containers in {best:.3f} s "
                      f"({best / args.containers * 1000:.1f} ms each)")
            best = float("inf")
            for _ in range(args.runs):
                start = time.perf_counter()
                with ThreadPoolExecutor(READERS) as pool:
                    list(pool.map(lambda vmid: containers.read_record("pve1", vmid), ids))
                best = min(best, time.perf_counter() - start)
            print(f"records, {READERS} at once (as read_live does): {args.containers} containers in {best:.3f} s")
        finally:
            shells.close()
            shell.stop()
    bench_rules(args.containers, args.runs)


def bench_rules(n: int, runs: int) -> None:
    from gitops.config.estate import Estate
    from gitops.config.lxc import LxcFile, LxcGuest
    from gitops.config.scripts import GuestSteps, Provisioning, Step
    from gitops.planner.guests.provisioning import plan_provisioning
    from gitops.planner.live import LiveGuest, LiveState
    from gitops.planner.options import PlanOptions
    from gitops.planner.plan import Plan

    guests = {str(i): LxcGuest(name=f"ct{i}", features=["base_setup", "docker"]) for i in range(1000, 1000 + n)}
    estate = Estate(directory=Path("."), lxc=LxcFile(lxc_configs=guests))
    steps = (Step("feature:base_setup", "a.sh", "/x/a.sh", "a" * 64, "1" * 64),
             Step("feature:docker", "b.sh", "/x/b.sh", "b" * 64, "2" * 64))
    prov = Provisioning("/x", {f"lxc/{i}": GuestSteps(f"lxc/{i}", "{}", steps) for i in guests})
    live = LiveState(node="pve1")
    for i in guests:
        live.guests[int(i)] = LiveGuest("lxc", int(i), "pve1", status="running")
        live.provisioned[f"lxc/{i}"] = {s.name: s.identity for s in steps}
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        plan = Plan()
        plan_provisioning(estate, live, PlanOptions(node="pve1", provisioning=prov), plan)
        best = min(best, time.perf_counter() - start)
    assert not plan.actions
    print(f"provisioning rules, nothing to do: {n} guests in {best:.3f} s")


if __name__ == "__main__":
    main()
