"""Helpers shared by the controller, API and end-to-end tests: a small estate, git repos, secrets.

`small_estate(memory=..., cores=...)` is the example hypervisor file with one container template (900)
and one container (101) cloned from it; `GitRemote` a bare repository plus a work clone to commit from.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs-example"
SECRETS = ("portainer_admin_password", "portainer_api_key", "vm_default_password", "qdrant_api_key",
           "webapp_db_password_prod", "webapp_db_password_staging")
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Ann Operator", "GIT_AUTHOR_EMAIL": "ann@example.org",
           "GIT_COMMITTER_NAME": "Ann Operator", "GIT_COMMITTER_EMAIL": "ann@example.org"}


def _load(name: str) -> Any:
    return json.loads((EXAMPLE / name).read_text())


def small_estate(memory: int = 512, cores: int = 1, *, health_checks: list[dict[str, Any]] | None = None,
                 extra_guests: int = 0) -> dict[str, str]:
    """The four files (name -> JSON text) of a small valid estate."""
    template = _load("phoenix_lxc_configs.json")["lxc_configs"]["900"]
    web: dict[str, Any] = {
        "name": "web", "clone_from_ctid": "900", "memory_mb": memory, "cores": cores,
        "storage_pool": "tank-lxc-disks", "storage_size_gb": 4,
        "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "dhcp"}, "unprivileged": True,
        "features": ["base_setup"], "firewall": {"enabled": False, "rules": []}, "start_at_boot": True,
    }
    if health_checks:
        web["health_checks"] = health_checks
    guests: dict[str, Any] = {"900": template, "101": web}
    for i in range(extra_guests):
        guests[str(2000 + i)] = {**web, "name": f"web{i}", "health_checks": []}
    vm_defaults = _load("phoenix_vm_configs.json")["vm_defaults"]
    files = {
        "phoenix_hypervisor_config.json": _load("phoenix_hypervisor_config.json"),
        "phoenix_lxc_configs.json": {"lxc_configs": guests},
        "phoenix_vm_configs.json": {"vm_defaults": vm_defaults, "vms": []},
        "phoenix_stacks_config.json": {"docker_stacks": {}},
    }
    return {name: json.dumps(data, indent=2) + "\n" for name, data in files.items()}


def estate_with_api(memory: int = 512) -> dict[str, str]:
    """`small_estate` plus CT 102 ("api"), a second clone of template 900."""
    files = small_estate(memory=memory)
    lxc = json.loads(files["phoenix_lxc_configs.json"])
    lxc["lxc_configs"]["102"] = {**lxc["lxc_configs"]["101"], "name": "api"}
    files["phoenix_lxc_configs.json"] = json.dumps(lxc)
    return files


def invalid_estate() -> dict[str, str]:
    """A small estate whose container depends on a guest that does not exist."""
    files = small_estate()
    lxc = json.loads(files["phoenix_lxc_configs.json"])
    lxc["lxc_configs"]["101"]["dependencies"] = ["950"]
    files["phoenix_lxc_configs.json"] = json.dumps(lxc, indent=2)
    return files


def write_secrets(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in SECRETS:
        (folder / name).write_text(f"test-{name}-value\n")
    return folder


def git(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    import os

    done = subprocess.run(["git", *map(str, args)], cwd=cwd, capture_output=True, text=True, check=False,
                          timeout=60, env={**os.environ, **GIT_ENV, **(env or {})})
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(map(str, args))} failed: {done.stderr}")
    return done.stdout.strip()


class GitRemote:
    """A bare repository and a work clone; `commit` writes files and commits, `push` pushes to main."""

    def __init__(self, root: Path, name: str = "config") -> None:
        self.bare = root / f"{name}.git"
        self.work = root / f"{name}-work"
        git("init", "--quiet", "--bare", "--initial-branch", "main", self.bare)
        git("init", "--quiet", "--initial-branch", "main", self.work)
        git("remote", "add", "origin", self.bare, cwd=self.work)

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def commit(self, files: dict[str, str], message: str = "change", *, push: bool = True) -> str:
        for name, content in files.items():
            (self.work / name).write_text(content)
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        if push:
            self.push()
        return git("rev-parse", "HEAD", cwd=self.work)

    def push(self) -> None:
        git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=self.work)


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1,
             what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


LOGIN = ("POST", "/api2/json/access/ticket")


def changes_sent(pve: Any) -> list[tuple[Any, ...]]:
    """The requests the simulated PVE received that could change something: not a GET, not the login (the
    controller logs in while it validates a revision: `gitops.controller.connecting`)."""
    return [r for r in pve.requests if r[0] != "GET" and tuple(r[:2]) != LOGIN]
