"""Faults injected with fakepve: transient errors and locks are retried, task errors fail the apply with
the guest and the message named, and an apply killed half-way converges when run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests.e2e_apply.support import Cli, edit


def _form(body: Any) -> dict[str, Any]:
    """A recorded request body: a dict, or url-encoded bytes."""
    if isinstance(body, dict):
        return body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return {k: v[0] for k, v in parse_qs(text).items()}


def test_transient_errors_and_locks_are_retried(cli: Cli, example: Path, pve: Any) -> None:
    pve.fail("POST", "/nodes/pve1/lxc/900/clone", 500, "proxy loop detected", times=1)
    pve.fail("PUT", "/nodes/pve1/lxc/102/config", 500,
             "can't lock file '/run/lock/lxc/pve-config-102.lock' - got timeout", times=2)
    pve.fail("GET", "/cluster/resources", 503, "Service Unavailable", times=1)
    result = cli("apply", str(example), "--yes")
    assert result.exit_code == 0, result.output
    assert cli("plan", str(example), "--detailed-exitcode").exit_code == 0
    attempts = [p for m, p, _ in pve.requests if m == "PUT" and p.endswith("/lxc/102/config")]
    assert len(attempts) == 3  # two lock timeouts, then success


def test_task_error_fails_the_apply_naming_guest_and_message(cli: Cli, converged: Path, pve: Any) -> None:
    ct = pve.ct(120)
    ct.status = "stopped"
    ct.start_error = "startup for container '120' failed"
    result = cli("apply", str(converged), "--yes")
    assert result.exit_code == 1
    assert "lxc/120" in result.output and "startup for container '120' failed" in result.output


def test_permanent_errors_are_not_retried(cli: Cli, converged: Path, pve: Any) -> None:
    def puts() -> int:
        return len([p for m, p, _ in pve.requests if m == "PUT" and p.endswith("/lxc/102/config")])

    before = puts()
    pve.fail("PUT", "/nodes/pve1/lxc/102/config", 403, "Permission check failed (/vms/102, VM.Config.Memory)")
    edit(converged, "phoenix_lxc_configs.json", lambda d: d["lxc_configs"]["102"].update(memory_mb=640))
    result = cli("apply", str(converged), "--yes")
    assert result.exit_code == 1 and "Permission check failed" in result.output
    assert puts() == before + 1


def test_apply_killed_half_way_converges_when_rerun(cli: Cli, example: Path, pve: Any) -> None:
    pve.time_scale = 0.5  # tasks take real seconds, so the kill lands in the middle
    pve.max_requests = 1_000_000  # keep every request: the test counts them
    env = {**os.environ, **cli.env}
    process = subprocess.Popen([sys.executable, "-m", "gitops", "apply", str(example), "--yes"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(p.endswith("/clone") for _m, p, _ in pve.requests):
            time.sleep(0.05)
        assert process.poll() is None, "the apply finished before it could be killed"
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        process.wait(10)
    made_before = {g.vmid for g in [*pve.cts, *pve.vms]}
    assert made_before, "nothing was created before the kill"
    assert len(made_before) < 10, "everything was created before the kill"

    pve.time_scale = 0
    seen = len(pve.requests)
    result = cli("apply", str(example), "--yes")
    assert result.exit_code == 0, result.output
    assert cli("plan", str(example), "--detailed-exitcode").exit_code == 0
    # Nothing was created twice: the rerun created exactly the guests the killed run had not.
    created = set()
    for method, path, body in pve.requests[seen:]:
        if method == "POST" and path.endswith("/clone"):
            created.add(int(_form(body)["newid"]))
        elif method == "POST" and path.endswith(("/lxc", "/qemu")):
            created.add(int(_form(body)["vmid"]))
    assert created.isdisjoint(made_before)
    deadline = time.monotonic() + 30  # let tasks the killed run started finish before the node stops
    while any(t["status"] == "running" for t in list(pve.tasks.values())) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert created | made_before == {900, 901, 101, 102, 110, 120, 9000, 1001, 1002}
