"""`phoenix-gitops plan` starts quickly and quietly: it imports only what a plan against Proxmox needs.

The real console script runs `plan configs-example` against a simulated node (fakepve over HTTPS)
under `python -X importtime`; the modules it loaded are read from that report. Without Portainer or
provisioning configured, nothing of asyncssh, the Portainer or guests drivers, the HTTP API, the ledger
or GitPython is loaded, and the count stays under a budget (the time it takes is measured by
tests/perf/bench_startup.py, not here). Its stderr holds nothing but its own messages.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("phoenix-gitops"))
# Loaded by `plan` with neither Portainer nor provisioning configured: 613 modules when this was written
# (about 840 before the drivers were imported lazily), 585 once tenacity loaded on the first retry only,
# 589 at 0.2.0. Room for growth, not for a heavy library (httpx alone is ~60 modules, asyncssh ~150).
MODULE_BUDGET = 630
NEVER = ("asyncssh", "cryptography", "httpx", "yaml", "fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic",
         "psycopg", "git", "apprise", "prometheus_client", "gitops.drivers.portainer.", "gitops.drivers.guests.",
         "gitops.api", "gitops.store", "gitops.source", "gitops.demo", "tenacity")


def plan_env(pve: Any, pve_cafile: str, home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    return {**keep, "HOME": str(home), "PHOENIX_PVE_HOST": pve.address, "PHOENIX_PVE_USER": "root@pam",
            "PHOENIX_PVE_PASSWORD": "secret", "PHOENIX_PVE_VERIFY_SSL": pve_cafile,
            "PHOENIX_SECRETS_DIR": str(home)}


def imported(report: str) -> list[str]:
    """Module names from a `-X importtime` report (stderr), in import order."""
    return [line.split("|")[2].strip() for line in report.splitlines()
            if line.startswith("import time:") and line.count("|") == 2 and "imported package" not in line]


def within(module: str, name: str) -> bool:
    """`module` is `name` or one of its submodules (`name.` only its submodules)."""
    return module.startswith(name) if name.endswith(".") else module == name or module.startswith(name + ".")


def test_plan_imports_no_driver_it_does_not_use(pve: Any, pve_cafile: str, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-X", "importtime", CLI, "plan", str(ROOT / "configs-example")],
                          capture_output=True, text=True, timeout=120, env=plan_env(pve, pve_cafile, tmp_path))
    assert "Plan:" in done.stdout, done.stdout + done.stderr
    modules = imported(done.stderr)[1:]  # the first line is the report's header
    heavy = sorted(m for m in modules if any(within(m, name) for name in NEVER))
    assert heavy == []
    assert len(modules) <= MODULE_BUDGET, f"{len(modules)} modules"


def test_plan_prints_nothing_on_stderr_but_its_own_messages(pve: Any, pve_cafile: str, tmp_path: Path) -> None:
    done = subprocess.run([CLI, "plan", str(ROOT / "configs-example")], capture_output=True, text=True,
                          timeout=120, env=plan_env(pve, pve_cafile, tmp_path))
    assert "Plan:" in done.stdout
    assert done.stderr == ""


def test_the_dsa_warning_of_asyncssh_is_filtered_where_asyncssh_is_loaded() -> None:
    """A command that does load asyncssh (provisioning) shows no warning of asyncssh's, and nothing else
    is silenced: a deprecation of our own still shows."""
    code = ("import warnings, gitops.cli.main, asyncssh\n"
            "warnings.warn('ours', DeprecationWarning)\n")
    done = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, timeout=60)
    assert "DSA" not in done.stderr
    assert "DeprecationWarning: ours" in done.stderr
