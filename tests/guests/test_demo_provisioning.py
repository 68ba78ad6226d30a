"""`PHOENIX_PROVISIONING=true phoenix-gitops demo`: the demo's simulated nodes answer SSH (pct push/exec against
the simulator's containers, recorded, nothing run here) and the guest agent (VMs), so the example estate is
provisioned: every step of every guest with scripts is recorded in the ledger, and a second reconcile of
the same revision runs none. The settings file the demo writes serves the command line against its node."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gitops.cli.main import app
from gitops.config.scripts import load_provisioning
from gitops.config.validation import validate_directory
from gitops.controller.reconciling import Reconciler
from gitops.controller.systems import Convergence
from gitops.controller.triggers import Trigger, coalesce
from gitops.demo.embedded import Demo, start_demo
from gitops.settings import load_settings
from gitops.source import ConfigRepo
from gitops.store import Store, open_store
from tests.controller.conftest import NoDial


@pytest.fixture(params=[1, 3], ids=["one-node", "three-nodes"])
def demo(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Demo]:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("PHOENIX_PROVISIONING", "true")
    started = start_demo(tmp_path / "data", nodes=request.param)
    assert started.ssh is not None and len(started.ssh.hosts) == request.param  # one SSH server a node
    yield started
    started.close()


@pytest.fixture
def store(demo: Demo) -> Iterator[Store]:
    opened = open_store(demo.settings.sqlite_url(), instance=demo.settings.instance)
    yield opened
    opened.close()


def reconcile(demo: Demo, store: Store, trigger: str) -> Any:
    repo = ConfigRepo.from_settings(demo.settings)
    try:
        reconciler = Reconciler(demo.settings, store, repo, Convergence(demo.settings, sleep=lambda s: None),
                                sleep=lambda s: None, dial=NoDial())
        return reconciler.reconcile(coalesce([Trigger(trigger)]))
    finally:
        repo.close()


def test_the_demo_provisions_every_featured_guest_once(demo: Demo, store: Store) -> None:
    assert demo.ssh is not None and demo.settings.provisioning
    estate, _report = validate_directory(demo.repo_dir)
    wanted = {(target, step.name) for target, guest in load_provisioning(estate).guests.items()
              for step in guest.steps}
    featured = {f"lxc/{i}" for i, ct in estate.lxc.lxc_configs.items() if ct.features} | {
        f"vm/{vm.vmid}" for vm in estate.vms.vms if vm.features}
    assert {target for target, _ in wanted} == featured and any(t.startswith("vm/") for t in featured)

    first = reconcile(demo, store, "poll")

    assert first.action == "applied", first.detail
    steps = store.list_steps(limit=1000)
    assert {(s.target, s.step) for s in steps} == wanted and all(s.status == "ok" for s in steps)
    assert len(steps) == len(wanted)  # each once
    # Containers over SSH: pushed, then `pct exec`-ed (recorded, not run); VMs through the guest agent.
    ran = {(f"{'lxc' if r.vmid < 1000 else 'vm'}/{r.vmid}", r.step) for r in demo.ssh.runs}
    assert ran == wanted
    pushed = [argv for _node, argv in demo.ssh.commands if argv[:2] == ["pct", "push"]]
    assert any(argv[4].endswith("feature_base_setup") for argv in pushed)
    assert all("recorded, not run" in s.output_tail for s in steps)

    commands = len(demo.ssh.commands)
    second = reconcile(demo, store, "sync")

    assert second.action in ("none", "healed", "applied"), second.detail
    assert len(store.list_steps(limit=1000)) == len(wanted) and len(demo.ssh.runs) == len(wanted)
    assert not [argv for _node, argv in demo.ssh.commands[commands:] if "/bin/bash" in argv]


def test_the_demo_settings_file_serves_the_command_line(demo: Demo, store: Store) -> None:
    text = demo.settings_file.read_text()
    assert demo.settings_file.stat().st_mode & 0o077 == 0  # it holds the node's root password
    settings = load_settings(demo.settings_file)
    assert settings.pve_host == demo.settings.pve_host and settings.ssh_hosts == demo.settings.ssh_hosts
    assert settings.pve_password is not None and settings.provisioning
    assert "api_token" not in text and settings.git_url == demo.settings.git_url
    assert reconcile(demo, store, "poll").action == "applied"

    runner = CliRunner()
    planned = runner.invoke(app, ["--settings", str(demo.settings_file), "plan", str(demo.repo_dir),
                                  "--format", "json", "--detailed-exitcode"])
    assert planned.exit_code == 0, planned.output  # converged, every script's record read over SSH
    assert json.loads(planned.stdout)["actions"] == []
    checked = runner.invoke(app, ["--settings", str(demo.settings_file), "check", "--format", "json"])
    assert checked.exit_code == 0, checked.output
    outcomes = {c["system"]: c["outcome"] for c in json.loads(checked.stdout)["checks"]}
    assert outcomes["proxmox"] == outcomes["git"] == outcomes["config"] == "ok", outcomes
