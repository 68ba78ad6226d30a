"""Each earlier upstream version that is valid converges a fresh simulated node in one apply, unmodified,
and a second plan finds nothing to do: older layouts mean on the node what they meant to upstream."""

from __future__ import annotations

import shutil
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.e2e_apply.support import UPSTREAM, Cli

VALID = ["829c047", "59b4f6b", "bb0c80f", "eb0a8c3", "0385ea2", "2402c8f", "7b5b0e6"]


@pytest.mark.parametrize("commit", VALID)
def test_history_version_converges_a_fresh_node(commit: str, cli: Cli, pve: Any, tmp_path: Path) -> None:
    config = tmp_path / commit
    shutil.copytree(UPSTREAM / "history" / commit, config)
    result = cli("apply", str(config), "--yes")
    assert result.exit_code == 0, result.output
    assert cli("plan", str(config), "--detailed-exitcode").exit_code == 0


def test_september_clones_come_from_their_source_snapshot(cli: Cli, pve: Any, tmp_path: Path) -> None:
    """829c047: CT 900 is no template; upstream snapshots it (`pre-configured`) and runs
    `pct clone 900 901 --snapname pre-configured`. The controller does the same through the API."""
    config = tmp_path / "829c047"
    shutil.copytree(UPSTREAM / "history" / "829c047", config)
    assert cli("apply", str(config), "--yes").exit_code == 0
    clones = {p.removeprefix("/api2/json/"): dict(urllib.parse.parse_qsl(body.decode()))
              for m, p, body in pve.requests if m == "POST" and p.endswith("/clone")}
    assert clones["nodes/pve1/lxc/900/clone"]["snapname"] == "pre-configured"
    assert "snapname" not in clones["nodes/pve1/qemu/8000/clone"]  # a VM template: cloned as it is
    source = pve.ct(900)
    assert not source.template and "pre-configured" in source.snapshots and source.status == "running"
    # One VM nameserver list of the older layout became the VM's nameserver.
    assert pve.vm(8000).config["nameserver"] == "75.75.75.75 75.75.76.76"
