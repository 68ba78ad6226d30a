"""Benchmark: `phoenix-gitops validate` on the upstream estate grown to 1,000 and 5,000 guests.

Not collected by pytest (the file is `bench_*.py`). Run it as a script:

    .venv/bin/python tests/perf/bench_validate.py [--guests 1000 5000] [--runs 3] [--keep DIR]

The grown estate is upstream's four files with the guests copied in batches: batch k holds a copy of
every upstream container and VM with id `(k + 1) * 10000 + original id`, clone sources and
dependencies pointing at the copies of the same batch (so the graph is upstream's, repeated), and
fresh static IPs and MACs. The generated estate must validate with exit 0. Each size is timed as a
subprocess (interpreter start-up included), best of N runs; peak RSS comes from wait4's rusage.
Target: 5,000 guests in under 2 s.
"""

from __future__ import annotations

import argparse
import copy
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gitops.config.estate import CONFIG_FILES

UPSTREAM = Path(__file__).resolve().parents[1] / "data" / "phoenix-upstream"
CLI = str(Path(sys.executable).with_name("phoenix-gitops"))
FILES = CONFIG_FILES  # the four config files, in the package's order
TARGET_SECONDS = 2.0
PRIMARY = ipaddress.ip_network("10.128.0.0/9")  # fresh addresses for the copies' first NIC
SECONDARY = ipaddress.ip_network("172.16.0.0/12")  # and for their second (its upstream gateway is inside)


class Numbers:
    """Hands out unique IPs and MACs."""

    def __init__(self) -> None:
        self.primary = 10
        self.secondary = 200_000
        self.mac = 0

    def ip(self, net: ipaddress.IPv4Network, which: str) -> str:
        n = getattr(self, which)
        setattr(self, which, n + 1)
        return f"{net.network_address + n}/{net.prefixlen}"

    def next_mac(self) -> str:
        self.mac += 1
        n = self.mac
        return "02:aa:" + ":".join(f"{(n >> shift) & 255:02x}" for shift in (24, 16, 8, 0))


def _renumber_nic(nic: dict[str, Any] | None, numbers: Numbers, net: ipaddress.IPv4Network, which: str,
                  mac: str | None = None) -> None:
    if not isinstance(nic, dict):
        return
    ip = nic.get("ip")
    if isinstance(ip, str) and "/" in ip:
        nic["ip"] = numbers.ip(net, which)
        if which == "primary" and nic.get("gw"):
            nic["gw"] = str(PRIMARY.network_address + 1)
    if nic.get("hwaddr"):
        nic["hwaddr"] = mac or numbers.next_mac()
    if nic.get("mac_address"):
        nic["mac_address"] = mac or numbers.next_mac()


def _needs_first(lxc: dict[str, Any], vms: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Upstream's guests as (kind, id), each after its clone source and dependencies."""
    needs: dict[str, tuple[str, list[str]]] = {}
    for key, ct in lxc.items():
        needs[key] = ("lxc", [*([ct["clone_from_ctid"]] if ct.get("clone_from_ctid") else []),
                              *ct.get("dependencies", [])])
    for vm in vms:
        source = [str(vm["clone_from_vmid"])] if vm.get("clone_from_vmid") is not None else []
        needs[str(vm["vmid"])] = ("vm", [*source, *vm.get("dependencies", [])])
    order: list[tuple[str, str]] = []
    done: set[str] = set()

    def visit(key: str) -> None:
        if key in done or key not in needs:
            return
        done.add(key)
        for dep in needs[key][1]:
            visit(dep)
        order.append((needs[key][0], key))

    for key in needs:
        visit(key)
    return order


def grow(guests: int, target: Path) -> dict[str, int]:
    """Write upstream grown to `guests` guests into `target`; returns counts."""
    data = {name: json.loads((UPSTREAM / name).read_text(encoding="utf-8")) for name in FILES}
    lxc_src: dict[str, Any] = data[FILES[1]]["lxc_configs"]
    vm_src: list[dict[str, Any]] = data[FILES[2]]["vms"]
    lxc_out = dict(lxc_src)
    vm_out = list(vm_src)
    numbers = Numbers()
    total = len(lxc_src) + len(vm_src)
    order = _needs_first(lxc_src, vm_src)  # so that a partial last batch is still closed
    batch = 0
    while total < guests:
        base = (batch + 1) * 10_000

        def new_id(old: Any, base: int = base) -> str:
            return str(base + int(old))

        for kind, key in order:
            if total >= guests:
                break
            if kind == "vm":
                v = copy.deepcopy(next(vm for vm in vm_src if str(vm["vmid"]) == key))
                v["vmid"] = int(new_id(v["vmid"]))
                if v.get("clone_from_vmid") is not None:
                    v["clone_from_vmid"] = int(new_id(v["clone_from_vmid"]))
                v["dependencies"] = [new_id(d) for d in v.get("dependencies", [])]
                _renumber_nic(v.get("network_config"), numbers, PRIMARY, "primary")
                role = str(v.get("portainer_role") or "").strip().lower()
                if role in ("agent", "primary"):  # each copy its own Portainer environment (one provider each)
                    environment = v.get("portainer_environment_name") or (v.get("name") if role == "agent"
                                                                          else "local")
                    v["portainer_environment_name"] = f"{environment}-{base}"
                vm_out.append(v)
                total += 1
                continue
            c = copy.deepcopy(lxc_src[key])
            if c.get("clone_from_ctid"):
                c["clone_from_ctid"] = new_id(c["clone_from_ctid"])
            c["dependencies"] = [new_id(d) for d in c.get("dependencies", [])]
            mac = numbers.next_mac()
            if c.get("mac_address"):
                c["mac_address"] = mac
            _renumber_nic(c.get("network_config"), numbers, PRIMARY, "primary", mac)
            _renumber_nic(c.get("secondary_network_config"), numbers, SECONDARY, "secondary")
            lxc_out[new_id(key)] = c
            total += 1
        batch += 1
    data[FILES[1]]["lxc_configs"] = lxc_out
    data[FILES[2]]["vms"] = vm_out
    target.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name in FILES:
        text = json.dumps(data[name], indent=4) + "\n"
        (target / name).write_text(text, encoding="utf-8")
        sizes[name] = len(text.encode())
    return {"lxc": len(lxc_out), "vm": len(vm_out), **sizes}


def timed_run(directory: Path) -> tuple[float, int, int]:
    """Seconds, exit code and peak RSS (KiB) of one `phoenix-gitops validate DIR` process."""
    start = time.perf_counter()
    proc = subprocess.Popen([CLI, "validate", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stderr is not None:
        proc.stderr.close()
    return elapsed, proc.returncode, usage.ru_maxrss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--guests", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the grown estates here and keep them")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="phoenix-bench-"))
    slow = False
    try:
        print(f"{'guests':>7} {'lxc':>6} {'vm':>6} {'size':>9} {'best s':>7} {'runs s':>22} {'peak RSS':>9}")
        for n in args.guests:
            directory = root / f"estate-{n}"
            counts = grow(n, directory)
            size = sum(counts[f] for f in FILES)
            runs = [timed_run(directory) for _ in range(args.runs)]
            codes = {code for _, code, _ in runs}
            if codes != {0}:
                check = subprocess.run([CLI, "validate", str(directory)], capture_output=True, text=True)
                print(check.stdout[-3000:], check.stderr[-500:])
                raise SystemExit(f"the grown estate of {n} guests does not validate (exit {codes})")
            best = min(t for t, _, _ in runs)
            rss = max(r for _, _, r in runs)
            shown = ", ".join(f"{t:.3f}" for t, _, _ in runs)
            print(f"{n:>7} {counts['lxc']:>6} {counts['vm']:>6} {size / 1e6:>7.2f}MB {best:>7.3f} {shown:>22} "
                  f"{rss / 1024:>7.1f}MB")
            for name in FILES:
                print(f"{'':>9}{name}: {counts[name] / 1e6:.2f} MB")
            if n >= 5000 and best >= TARGET_SECONDS:
                slow = True
        if slow:
            print(f"SLOWER than the target ({TARGET_SECONDS} s for 5,000 guests)")
        return 1 if slow else 0
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
