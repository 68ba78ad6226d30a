"""Benchmark: how long `phoenix-gitops plan configs-example` takes to start, and what it imports.

Not collected by pytest (the file is `bench_*.py`). Run it as a script:

    .venv/bin/python tests/perf/bench_startup.py [--runs 7] [--source DIR]

A simulated Proxmox node (fakepve over HTTPS, in this process) serves the plan; neither Portainer nor
provisioning is configured. For each of `--runs` runs of the real console script it records:

- imports: the sum of the self times of every module `python -X importtime` reports for the `plan`
  command (the command's own start-up: everything it loads before and while planning), and how many
  modules that is;
- the wall-clock and CPU (user + system) time of the whole command, against two floors: the same
  interpreter running `import typer` and nothing else, and importing the libraries `plan` is built on
  (typer with its pydantic adapters, rich's console and table, pydantic, pydantic-settings, proxmoxer
  with requests): what no change to our own code can go below.

The children run with bytecode caching on (`PYTHONDONTWRITEBYTECODE` removed, one warm-up run first),
as an installed package runs: a wheel's install writes the `.pyc` files. With it off (this development
machine sets it) every one of our modules is compiled from source at every start, ~100 ms more.

It prints the median of each. CPU time is the steadier number on a busy machine (wall time includes
waiting for a core). `--source DIR` runs the package from another checkout (PYTHONPATH), e.g. an older
commit unpacked with `git archive`, to compare before and after.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gitops.demo.simulator import SimulatedNode

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("phoenix-gitops"))
# What `plan` imports from its chosen libraries, and nothing of ours.
LIBRARIES = ("import typer, typer._adapters, rich.console, rich.table, pydantic, pydantic_settings, "
             "requests, proxmoxer")


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall and CPU seconds of one child process, and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done


def import_report(stderr: str) -> tuple[float, int]:
    """(seconds spent importing, modules imported) from a `-X importtime` report."""
    rows = [line.split("|") for line in stderr.splitlines() if line.startswith("import time:") and line.count("|") == 2]
    selves = [int(row[0].split(":")[1]) for row in rows[1:]]  # microseconds; the first row is the header
    return sum(selves) / 1e6, len(selves)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--source", type=Path, help="run the package from this checkout instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        node = SimulatedNode(Path(tmp) / "pki", password="secret")
        try:
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith("PHOENIX_") and k != "PYTHONDONTWRITEBYTECODE"}
            env.update(PHOENIX_PVE_HOST=node.address, PHOENIX_PVE_USER="root@pam", PHOENIX_PVE_PASSWORD="secret",
                       PHOENIX_PVE_VERIFY_SSL=node.cafile, PHOENIX_SECRETS_DIR=tmp, HOME=tmp)
            if args.source:
                env["PYTHONPATH"] = str(args.source.resolve())
            plan = [CLI, "plan", str(ROOT / "configs-example")]
            imports, counts, walls, cpus, floor_walls, floor_cpus = [], [], [], [], [], []
            libs_walls, libs_cpus = [], []
            timed(plan, env)  # warm-up: writes the bytecode caches an installed package has
            for _ in range(args.runs):
                _, _, traced = timed([sys.executable, "-X", "importtime", *plan], env)
                if "Plan:" not in traced.stdout:
                    raise SystemExit(f"plan failed:\n{traced.stdout}{traced.stderr[-2000:]}")
                seconds, count = import_report(traced.stderr)
                imports.append(seconds)
                counts.append(count)
                wall, cpu, done = timed(plan, env)
                walls.append(wall)
                cpus.append(cpu)
                wall, cpu, _ = timed([sys.executable, "-c", "import typer"], env)
                floor_walls.append(wall)
                floor_cpus.append(cpu)
                wall, cpu, _ = timed([sys.executable, "-c", LIBRARIES], env)
                libs_walls.append(wall)
                libs_cpus.append(cpu)
        finally:
            node.stop()
    ms = lambda values: f"{statistics.median(values) * 1000:7.0f} ms"  # noqa: E731
    print(f"phoenix-gitops plan configs-example, median of {args.runs} runs"
          f"{' (source ' + str(args.source) + ')' if args.source else ''}:")
    print(f"  imports (python -X importtime):  {ms(imports)}   {statistics.median(counts):.0f} modules")
    print(f"  whole command, wall:             {ms(walls)}   (floor `import typer`: {ms(floor_walls).strip()})")
    print(f"  whole command, CPU:              {ms(cpus)}   (floor `import typer`: {ms(floor_cpus).strip()})")
    print(f"  its libraries alone, wall / CPU:  {ms(libs_walls)} / {ms(libs_cpus).strip()}   ({LIBRARIES[7:]})")
    print(f"  stderr of the plan:              {done.stderr.strip()[:200] or '(empty)'}")


if __name__ == "__main__":
    main()
