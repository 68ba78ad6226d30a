"""Fixtures of the provisioning tests: a node shell over real SSH on loopback (`sshnode.NodeShell`) beside
the `pve` fakepve, the command line with provisioning on, and configs-example with the tests' own
scripts (they record what ran under the container's folder instead of installing software)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitops.config.scripts import LXC_FEATURE, VM_FEATURE
from tests.e2e_apply.support import Cli, cli, example
from tests.guests.sshnode import NodeShell

__all__ = ["cli", "example", "pcli", "scripted", "shell", "vm_runs"]

RECORDING = """#!/bin/bash
# test script {name}: records that it ran, with what it read on stdin
set -e
mkdir -p "$CT_ROOT/var/log"
cat > "$CT_ROOT/var/log/input-$PHOENIX_STEP.json"
echo "$PHOENIX_STEP $1" >> "$CT_ROOT/var/log/ran.log"
"""
LXC_FEATURES = ("base_setup", "nvidia", "trusted_ca", "dns_server", "ollama", "docker")
VM_FEATURES = ("base_setup", "docker")


@pytest.fixture
def shell(pve: Any, tmp_path: Path) -> Iterator[NodeShell]:
    node = NodeShell(tmp_path / "sshnode", pve)
    yield node
    node.stop()


@pytest.fixture
def vm_runs(pve: Any) -> list[tuple[int, str, dict[str, Any]]]:
    """What ran in VMs through the guest agent: (vmid, step, input); a script holding `exit 7` fails."""
    runs: list[tuple[int, str, dict[str, Any]]] = []

    def guest_exec(vm: Any, argv: list[str], input_data: str) -> dict[str, Any]:
        env = dict(a.split("=", 1) for a in argv if "=" in a and a.startswith("PHOENIX_"))
        if "PHOENIX_STEP" not in env:
            return {"exited": True, "exitcode": 0, "out-data": "", "err-data": ""}
        script = vm.agent["files"].get(argv[argv.index("/bin/bash") + 1], "")
        runs.append((vm.vmid, env["PHOENIX_STEP"], json.loads(input_data)))
        if "exit 7" in script:
            return {"exited": True, "exitcode": 7, "out-data": "", "err-data": f"failing, input was {input_data}"}
        return {"exited": True, "exitcode": 0, "out-data": "ok", "err-data": ""}

    pve.fake.guest_exec = guest_exec
    return runs


@pytest.fixture
def scripted(example: Path) -> Path:
    """configs-example with recording scripts at the upstream paths, in `bin/` of the config folder."""
    bin_dir = example / "bin"
    for name in LXC_FEATURES:
        write_script(bin_dir / LXC_FEATURE.format(name=name), RECORDING.format(name=name))
    for name in VM_FEATURES:
        write_script(bin_dir / VM_FEATURE.format(name=name), RECORDING.format(name=name))
    return example


def write_script(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def pcli(cli: Cli, shell: NodeShell, vm_runs: Any) -> Cli:
    cli.env.update({
        "PHOENIX_PROVISIONING": "true",
        "PHOENIX_SSH_KEY": str(shell.key_file),
        "PHOENIX_SSH_KNOWN_HOSTS": str(shell.known_hosts),
        "PHOENIX_SSH_HOSTS": json.dumps({"pve1": f"127.0.0.1:{shell.port}"}),
    })
    return cli
