"""Benchmark: reading + planning 1,000 guests, and creating 200, against fakepve vs raw-proxmoxer floors.

Not collected by pytest (the file is `bench_*.py`). Run it as a script:

    .venv/bin/python tests/perf/bench_plan.py [--lxc 800] [--vms 200] [--runs 3] [--create 200]
                                                   [--latency 0.02] [--concurrency 8 16 32] [--skip-latency]

What it measures (every number is wall-clock seconds on this machine):

1. A 1,000-guest estate grown from configs-example (LXC templates 900 and 901, ~800 LXC clones of the
   example's containers, VM template 9000 and ~200 VM clones; unique ids, IPs and MACs; the copies of
   the example's firewalled guests keep their firewall and rules) is converged on a fresh fakepve with
   `read_and_plan` + `apply` (time_scale 0: tasks end before their request returns). Then a no-op
   `read_and_plan` (best of N) against the FLOOR: `GET nodes/{node}/{lxc|qemu}/{id}/config` of every
   guest with raw proxmoxer over one session, sequentially and from `concurrency` threads.
   The same again for the same estate with every firewall disabled (a second fresh node), for the
   breakdown; and each no-op plan with and without pre-apply snapshots (`Settings.snapshots`, on by
   default, makes the plan read every snapshottable guest's snapshot list: one call more per guest).
2. The firewalled estate's no-op plan with fakepve answering every request 20 ms late
   (`slow_network(0.02)`, `time_scale=1`), for each `pve_concurrency`, against the floor with as many
   threads.
3. Creating 200 plain LXC containers (from the OS template, no clones) on a fresh fakepve through
   `read_and_plan` + `apply`, against the floor of `POST nodes/pve1/lxc` + waiting for its task, one by
   one, with raw proxmoxer on another fresh fakepve (and the floor of create + start, which is what the
   plan does: every non-template guest is started).

Caveat: fakepve runs in this process (its asyncio loop in a thread) and shares the GIL with the
client, so at time_scale 0 a call costs the server's Python time plus the client's, and client threads
mostly contend with the server instead of overlapping with it. Real PVE answers a config read in
10-50 ms; that is what the latency scenario models.
"""

from __future__ import annotations

import argparse
import copy
import ipaddress
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from proxmoxer import ProxmoxAPI
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gitops.config.estate import CONFIG_FILES  # noqa: E402
from gitops.config.validation import validate_directory  # noqa: E402
from gitops.controller.converging import content_revision  # noqa: E402
from gitops.controller.systems import Convergence  # noqa: E402
from gitops.demo.simulator import SimulatedNode  # noqa: E402
from gitops.drivers.proxmox.connection import ProxmoxClient, connect  # noqa: E402
from gitops.settings import Settings  # noqa: E402
from tests.e2e_apply.support import SECRETS  # noqa: E402

EXAMPLE = ROOT / "configs-example"
FILES = CONFIG_FILES  # the four config files, in the package's order
PASSWORD = "secret"
NET = ipaddress.ip_network("10.20.0.0/16")  # the example's /24, widened so 1,000 guests fit
SECONDARY = ipaddress.ip_network("172.16.0.0/16")
LXC_BASE, VM_BASE = 2000, 5000  # ids of the copies
DEBIAN = "debian-12-standard_12.7-1_amd64.tar.zst"

PLAN_TARGET = 1.5     # no-op plan / floor
LATENCY_TARGET = 3.0  # seconds, no-op plan at 20 ms per call
CREATE_TARGET = 2.0   # plan + apply / floor


# ------------------------------------------------------------------ estates

class Numbers:
    """Hands out unique IPs (in NET, after the example's .0.x) and MACs."""

    def __init__(self) -> None:
        self.ip_n = 256 + 10
        self.ip2_n = 256 + 10
        self.mac_n = 0

    def ip(self) -> str:
        self.ip_n += 1
        return f"{NET.network_address + self.ip_n}/{NET.prefixlen}"

    def ip2(self) -> str:
        self.ip2_n += 1
        return f"{SECONDARY.network_address + self.ip2_n}/{SECONDARY.prefixlen}"

    def mac(self, prefix: str = "02:bb") -> str:
        self.mac_n += 1
        n = self.mac_n
        return prefix + ":" + ":".join(f"{(n >> s) & 255:02x}" for s in (24, 16, 8, 0))


def _load_example() -> dict[str, Any]:
    return {name: json.loads((EXAMPLE / name).read_text()) for name in FILES}


def _widen_network(hv: dict[str, Any]) -> None:
    net = hv["network"]
    net["default_subnet"] = str(NET)
    net["interfaces"]["address"] = f"{NET.network_address + 2}/{NET.prefixlen}"
    net["internal_bridge"]["subnet"] = str(SECONDARY)


def _write(data: dict[str, Any], target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    schemas = target / "schemas"
    if not schemas.exists():
        shutil.copytree(EXAMPLE / "schemas", schemas)
    for name, value in data.items():
        (target / name).write_text(json.dumps(value, indent=2) + "\n")
    return target


def grow_estate(target: Path, lxc_total: int, vm_total: int, *, firewall: bool = True) -> tuple[Path, dict[str, int]]:
    """configs-example grown to `lxc_total` containers and `vm_total` VMs, written to `target`."""
    data = _load_example()
    hv = data["phoenix_hypervisor_config.json"]
    _widen_network(hv)
    lxc: dict[str, Any] = data["phoenix_lxc_configs.json"]["lxc_configs"]
    vms: list[dict[str, Any]] = data["phoenix_vm_configs.json"]["vms"]
    numbers = Numbers()
    for ct in lxc.values():  # the example's own /24 addresses become /16 ones
        _retarget(ct.get("network_config"))
    for vm in vms:
        _retarget(vm.get("network_config"))
    # Copies cycle through the example's application containers and VMs: clones of 900/901 and 9000.
    lxc_models = [k for k, c in lxc.items() if not c.get("is_template")]
    vm_models = [v for v in vms if not v.get("is_template")]
    i = 0
    while len(lxc) < lxc_total:
        model = lxc[lxc_models[i % len(lxc_models)]]
        ct = copy.deepcopy(model)
        vmid = LXC_BASE + i
        ct["name"] = f"{model['name']}-{vmid}"
        ct["dependencies"] = []  # one graph per copy would be realistic; a flat one keeps apply parallel
        ct.pop("zfs_volumes", None)  # 800 x 20 GB volumes would not fit the fake's pool
        ct.pop("traefik_service", None)
        ct.pop("ports", None)
        mac = numbers.mac()
        if ct.get("mac_address"):
            ct["mac_address"] = mac
        nic = ct["network_config"]
        nic["ip"], nic["gw"] = numbers.ip(), str(NET.network_address + 1)
        if nic.get("hwaddr"):
            nic["hwaddr"] = mac
        if ct.get("secondary_network_config"):
            ct["secondary_network_config"]["ip"] = numbers.ip2()
        for mp in ct.get("mount_points", []):
            mp["host_path"] = f"{mp['host_path']}-{vmid}"
        lxc[str(vmid)] = ct
        i += 1
    i = 0
    while len(vms) < vm_total:
        model = vm_models[i % len(vm_models)]
        vm = copy.deepcopy(model)
        vm["vmid"] = VM_BASE + i
        vm["name"] = f"{model['name']}-{vm['vmid']}"
        vm["dependencies"] = []
        for key in ("portainer_role", "portainer_environment_name", "docker_stacks"):
            vm.pop(key, None)
        vm["network_config"]["ip"] = numbers.ip()
        vm["network_config"]["gw"] = str(NET.network_address + 1)
        vms.append(vm)
        i += 1
    if not firewall:
        for guest in [*lxc.values(), *vms]:
            guest["firewall"] = {"enabled": False, "rules": []}
    counts = {
        "lxc": len(lxc), "vm": len(vms),
        "templates": sum(1 for c in [*lxc.values(), *vms] if c.get("is_template")),
        "firewalled": sum(1 for c in [*lxc.values(), *vms] if c["firewall"]["enabled"]),
    }
    return _write(data, target), counts


def _retarget(nic: dict[str, Any] | None) -> None:
    if not nic:
        return
    for key in ("ip", "gw"):
        value = nic.get(key)
        if isinstance(value, str) and value.startswith("10.20."):
            nic[key] = value.replace("/24", f"/{NET.prefixlen}")


def plain_estate(target: Path, count: int) -> Path:
    """The example's hypervisor, and `count` plain containers made from the Debian OS template."""
    data = _load_example()
    _widen_network(data["phoenix_hypervisor_config.json"])
    base = data["phoenix_lxc_configs.json"]["lxc_configs"]["900"]
    numbers = Numbers()
    lxc = {}
    for i in range(count):
        vmid = LXC_BASE + i
        lxc[str(vmid)] = {
            "name": f"plain-{vmid}",
            "template": base["template"],
            "template_url": base["template_url"],
            "memory_mb": 512,
            "cores": 1,
            "storage_pool": base["storage_pool"],
            "storage_size_gb": 4,
            "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": numbers.ip(),
                               "gw": str(NET.network_address + 1), "hwaddr": numbers.mac()},
            "unprivileged": True,
            "firewall": {"enabled": False, "rules": []},
        }
    data["phoenix_lxc_configs.json"]["lxc_configs"] = lxc
    data["phoenix_vm_configs.json"]["vms"] = []
    # Stacks are referenced by the example's VMs only; keep the file as it is.
    return _write(data, target)


# ------------------------------------------------------------------ plumbing

def best(fn: Callable[[], Any], runs: int) -> tuple[float, list[float], Any]:
    times, value = [], None
    for _ in range(runs):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), times, value


def settings_for(node: SimulatedNode, secrets: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        pve_host=node.address, pve_user="root@pam", pve_password=SecretStr(PASSWORD),
        pve_verify_ssl=node.cafile, pve_timeout=60.0, secrets_dir=secrets, boot_delays=False,
    )
    values.update(overrides)
    return Settings(**values)


def load(directory: Path) -> Any:
    estate, report = validate_directory(directory)
    if not report.valid:
        for p in report.errors[:10]:
            print(f"  {p} [{p.code}]", file=sys.stderr)
        raise SystemExit(f"{directory} does not validate ({len(report.errors)} errors)")
    return estate


def raw_api(node: SimulatedNode, pool: int = 10) -> Any:
    """A raw proxmoxer session (ticket login), its connection pool wide enough for `pool` threads."""
    api = ProxmoxAPI(node.address, user="root@pam", password=PASSWORD, verify_ssl=node.cafile, timeout=60)
    session = api._store["session"]
    adapter = requests.adapters.HTTPAdapter(pool_connections=max(10, pool), pool_maxsize=max(10, pool))
    session.mount("https://", adapter)
    return api


def guest_paths(node: SimulatedNode) -> list[str]:
    fake = node.fake
    return sorted([f"nodes/{c.node}/lxc/{c.vmid}/config" for c in fake.cts]
                  + [f"nodes/{v.node}/qemu/{v.vmid}/config" for v in fake.vms])


def floor_read(api: Any, paths: list[str], threads: int) -> float:
    """Seconds to GET every path's config over one proxmoxer session, from `threads` threads."""
    start = time.perf_counter()
    if threads <= 1:
        for path in paths:
            api(path).get()
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for _ in pool.map(lambda p: api(p).get(), paths):
                pass
    return time.perf_counter() - start


def start_node(workdir: Path, name: str) -> SimulatedNode:
    node = SimulatedNode(workdir / name, password=PASSWORD, time_scale=0)
    node.fake.max_requests = 0  # the request log is a test aid; 10,000 entries of it only cost here
    return node


@contextmanager
def simulated(workdir: Path, name: str) -> Iterator[SimulatedNode]:
    node = start_node(workdir, name)
    try:
        yield node
    finally:
        node.stop()


class Counter:
    """Counts the requests the fake answers (its own log is switched off), by method."""

    def __init__(self, node: SimulatedNode) -> None:
        self.node = node

    def __enter__(self) -> Counter:
        self.node.fake.max_requests = 10**9
        self.node.fake.requests.clear()
        return self

    def __exit__(self, *exc: object) -> None:
        self.calls = len(self.node.fake.requests)
        self.node.fake.requests.clear()
        self.node.fake.max_requests = 0


def noop_plan(client: ProxmoxClient, estate: Any, settings: Settings, directory: Path) -> Any:
    session = Convergence(settings, proxmox=lambda: client).open()
    run = session.plan(estate, revision=content_revision(directory))
    if run.plan.actions or run.plan.errors:
        shown = ", ".join(f"{a.target} {a.action}" for a in run.plan.actions[:5])
        raise SystemExit(f"the plan is not a no-op: {len(run.plan.actions)} actions ({shown}), "
                         f"{len(run.plan.errors)} errors")
    return run


def converge(node: SimulatedNode, directory: Path, secrets: Path, **overrides: Any) -> dict[str, float]:
    """read_and_plan + apply on the fresh node; returns timings and counts."""
    estate = load(directory)
    settings = settings_for(node, secrets, **overrides)
    with connect(settings) as client:
        session = Convergence(settings, proxmox=lambda: client).open()
        start = time.perf_counter()
        run = session.plan(estate, revision=content_revision(directory))
        planned = time.perf_counter() - start
        if run.plan.errors:
            raise SystemExit(f"plan errors: {[str(e) for e in run.plan.errors[:5]]}")
        with Counter(node) as counter:
            start = time.perf_counter()
            result = session.apply(run)
            applied = time.perf_counter() - start
        if not result.ok:
            bad = [f"{o.target} {o.action}: {o.error}" for o in [*result.failed, *result.skipped][:5]]
            raise SystemExit(f"apply failed: {bad}")
    return {"plan": planned, "apply": applied, "actions": len(run.plan.actions), "calls": counter.calls}


# ------------------------------------------------------------------ scenarios

Row = tuple[str, str, str]
rows: list[Row] = []


def row(what: str, value: str, note: str = "") -> None:
    rows.append((what, value, note))
    print(f"  {what:<58} {value:>12}  {note}", flush=True)


def secs(t: float) -> str:
    return f"{t:.3f} s"


def scenario_noop(work: Path, secrets: Path, args: argparse.Namespace, *, firewall: bool) -> SimulatedNode | None:
    label = "fw" if firewall else "no fw"
    directory, counts = grow_estate(work / f"estate-{'fw' if firewall else 'nofw'}", args.lxc, args.vms,
                                    firewall=firewall)
    print(f"\n== 1{'' if firewall else 'b'}. no-op plan of {counts['lxc'] + counts['vm']} guests "
          f"({counts['lxc']} lxc, {counts['vm']} vm, {counts['templates']} templates, "
          f"{counts['firewalled']} with a firewall)", flush=True)
    estate = load(directory)
    node = start_node(work, f"node-{label.replace(' ', '')}")
    try:
        done = converge(node, directory, secrets)
        row(f"[{label}] converge: read_and_plan (empty node)", secs(done["plan"]))
        row(f"[{label}] converge: apply", secs(done["apply"]),
            f"{done['actions']:.0f} actions, {done['calls']:.0f} requests, concurrency 8")

        paths = guest_paths(node)
        api = raw_api(node, args.concurrency[0])
        floor_read(api, paths[:50], 1)  # warm up the session
        seq = min(floor_read(api, paths, 1) for _ in range(args.runs))
        par = min(floor_read(api, paths, args.concurrency[0]) for _ in range(args.runs))
        floor = min(seq, par)
        row(f"[{label}] FLOOR: GET config x{len(paths)}, sequential", secs(seq))
        row(f"[{label}] FLOOR: GET config x{len(paths)}, {args.concurrency[0]} threads", secs(par))

        for snapshots in (True, False):
            settings = settings_for(node, secrets, snapshots=snapshots)
            with connect(settings) as client:
                noop_plan(client, estate, settings, directory)  # warm-up (and check it is a no-op)
                with Counter(node) as counter:
                    noop_plan(client, estate, settings, directory)
                t, _times, _ = best(lambda s=settings: noop_plan(client, estate, s, directory), args.runs)
            tag = "snapshots on (default)" if snapshots else "snapshots off"
            row(f"[{label}] no-op read_and_plan, {tag}", secs(t),
                f"{t / floor:.2f}x floor, {counter.calls} calls ({counter.calls / len(paths):.2f}/guest)")
    except BaseException:
        node.stop()
        raise
    if firewall:
        return node  # kept for the latency scenario
    node.stop()
    return None


def scenario_latency(node: SimulatedNode, work: Path, secrets: Path, args: argparse.Namespace) -> None:
    directory = work / "estate-fw"
    estate = load(directory)
    print(f"\n== 2. no-op plan with {args.latency * 1000:.0f} ms per call (time_scale 1)", flush=True)
    node.fake.time_scale = 1
    node.fake.slow_network(args.latency)
    try:
        paths = guest_paths(node)
        for concurrency in args.concurrency:
            api = raw_api(node, concurrency)
            floor = floor_read(api, paths, concurrency)
            row(f"[{concurrency:>2} conc] FLOOR: GET config x{len(paths)}, {concurrency} threads", secs(floor))
            for snapshots in (True, False):
                settings = settings_for(node, secrets, pve_read_concurrency=concurrency, snapshots=snapshots)
                with connect(settings) as client:
                    t, _times, _ = best(lambda s=settings: noop_plan(client, estate, s, directory),
                                        args.latency_runs)
                tag = "snapshots on" if snapshots else "snapshots off"
                ok = "ok" if t < LATENCY_TARGET else "MISSED"
                row(f"[{concurrency:>2} conc] no-op read_and_plan, {tag}", secs(t),
                    f"{t / floor:.2f}x floor; target < {LATENCY_TARGET:.0f} s: {ok}")
        seq_sample = paths[:100]
        api = raw_api(node, 1)
        t = floor_read(api, seq_sample, 1)
        row(f"[ 1 conc] FLOOR: GET config, sequential (x{len(paths)} from 100)", secs(t * len(paths) / 100))
    finally:
        node.fake.slow_network(0.0)
        node.fake.time_scale = 0


def scenario_create(work: Path, secrets: Path, args: argparse.Namespace) -> None:
    n = args.create
    print(f"\n== 3. creating {n} plain LXC containers (time_scale 0)", flush=True)
    directory = plain_estate(work / "estate-plain", n)
    totals = {}
    for concurrency in (8, 1):
        with simulated(work, f"node-create-{concurrency}") as node:
            done = converge(node, directory, secrets, pve_concurrency=concurrency)
        totals[concurrency] = done["plan"] + done["apply"]
        row(f"[conc {concurrency}] read_and_plan (empty node)", secs(done["plan"]))
        row(f"[conc {concurrency}] apply", secs(done["apply"]),
            f"{done['actions']:.0f} actions, {done['calls']:.0f} requests")
    total = totals[8]
    for start in (False, True):
        with simulated(work, f"node-floor-{start}") as node:
            node.fake.store_file("local", DEBIAN, 120 * 1024**2, content="vztmpl")
            api = raw_api(node)
            began = time.perf_counter()
            for i in range(n):
                vmid = LXC_BASE + i
                upid = api.nodes("pve1").lxc.post(
                    vmid=vmid, ostemplate=f"local:vztmpl/{DEBIAN}", hostname=f"plain-{vmid}",
                    memory=512, cores=1, rootfs="local-lvm:4", unprivileged=1, onboot=0,
                    net0=f"name=eth0,bridge=vmbr0,ip=10.20.1.{i % 250 + 2}/16,gw=10.20.0.1,firewall=0",
                    tags="phoenix-gitops")
                wait_task(api, upid)
                if start:
                    wait_task(api, api.nodes("pve1").lxc(vmid).status.start.post())
            floor = time.perf_counter() - began
        what = "create + start" if start else "create"
        row(f"FLOOR: {what} x{n}, raw proxmoxer, one by one", secs(floor))
        if not start:
            ok = "ok" if total <= CREATE_TARGET * floor else "MISSED"
            row("[conc 8] plan + apply", secs(total), f"{total / floor:.2f}x the create floor; target <= "
                f"{CREATE_TARGET:.0f}x: {ok}")
            row("[conc 1] plan + apply", secs(totals[1]), f"{totals[1] / floor:.2f}x the create floor")
        else:
            for concurrency, t in totals.items():
                row(f"[conc {concurrency}] plan + apply vs create + start", "", f"{t / floor:.2f}x")


def wait_task(api: Any, upid: str) -> None:
    node = upid.split(":")[1]
    while True:
        status = api.nodes(node).tasks(upid).status.get()
        if status.get("status") == "stopped":
            if status.get("exitstatus") != "OK":
                raise SystemExit(f"task {upid} failed: {status.get('exitstatus')}")
            return
        time.sleep(0.01)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lxc", type=int, default=800, help="containers, templates included")
    parser.add_argument("--vms", type=int, default=200, help="VMs, the template included")
    parser.add_argument("--runs", type=int, default=3, help="best of N for the time_scale-0 timings")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every response")
    parser.add_argument("--latency-runs", type=int, default=1)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--create", type=int, default=200)
    parser.add_argument("--skip", nargs="*", default=[], choices=["nofw", "latency", "create"])
    parser.add_argument("--keep", type=Path, help="work here and keep the estates")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="phoenix-bench-plan-"))
    secrets = work / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    for name, value in SECRETS.items():
        (secrets / name).write_text(value + "\n")
    print("fakepve runs in-process: server and client share the GIL (see the module docstring).")
    node = None
    try:
        node = scenario_noop(work, secrets, args, firewall=True)
        if "latency" not in args.skip and node is not None:
            scenario_latency(node, work, secrets, args)
        if node is not None:
            node.stop()
            node = None
        if "nofw" not in args.skip:
            scenario_noop(work, secrets, args, firewall=False)
        if "create" not in args.skip:
            scenario_create(work, secrets, args)
    finally:
        if node is not None:
            node.stop()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print("\n| measurement | value | note |\n|---|---:|---|")
    for what, value, note in rows:
        print(f"| {what} | {value} | {note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
