"""`plan --out FILE` and `apply FILE` through the real command line against the simulated node: the saved
plan applies as it was shown, and is refused, saying what changed, after a hand edit on the node or an edit
of the config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitops.drivers.proxmox.connection import connect
from gitops.settings import Settings
from tests.e2e_apply.support import Cli, edit


def more_memory(data: Any) -> None:
    data["lxc_configs"]["102"]["memory_mb"] = 768


def test_a_saved_plan_applies_exactly_and_is_refused_when_stale(cli: Cli, converged: Path, tmp_path: Path,
                                                                pve_settings: Settings) -> None:
    edit(converged, "phoenix_lxc_configs.json", more_memory)
    saved = tmp_path / "lab.plan"
    planned = cli("plan", str(converged), "-out", str(saved))
    assert planned.exit_code == 0, planned.output
    document = json.loads(saved.read_text())
    assert [(a["target"], a["action"]) for a in document["plan"]["actions"]] == [("lxc/102", "update")]
    applied = cli("apply", str(saved))
    assert applied.exit_code == 0, applied.output
    assert cli("plan", str(converged), "--detailed-exitcode").exit_code == 0

    edit(converged, "phoenix_lxc_configs.json", lambda d: d["lxc_configs"]["102"].update(memory_mb=1024))
    assert cli("plan", str(converged), "--out", str(saved)).exit_code == 0
    with connect(pve_settings) as pve:  # a hand edit on the node after the plan was made
        pve.request("PUT", f"nodes/{pve.node}/lxc/101/config", {"cores": 3})
    refused = cli("apply", str(saved))
    assert refused.exit_code == 1
    assert "the saved plan is stale" in refused.output and "live state changed on guest/101" in refused.output
    with connect(pve_settings) as pve:
        assert pve.request("GET", f"nodes/{pve.node}/lxc/102/config")["memory"] == 768  # nothing applied

    assert cli("plan", str(converged), "--out", str(saved)).exit_code == 0
    edit(converged, "phoenix_lxc_configs.json", lambda d: d["lxc_configs"]["102"].update(memory_mb=2048))
    refused = cli("apply", str(saved))
    assert refused.exit_code == 1 and "the config changed" in refused.output
    assert "phoenix_lxc_configs.json" in refused.output


def test_a_saved_plan_is_owner_only_and_written_through_a_link(cli: Cli, converged: Path, tmp_path: Path) -> None:
    import stat

    edit(converged, "phoenix_lxc_configs.json", more_memory)
    saved = tmp_path / "lab.plan"
    saved.write_text("an older plan\n")
    saved.chmod(0o644)  # the plan shows the estate's layout: never left world-readable
    assert cli("plan", str(converged), "--out", str(saved)).exit_code == 0
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600 and json.loads(saved.read_text())["plan"]["actions"]
    link = tmp_path / "current.plan"
    link.symlink_to(saved)  # a link is followed to the file it names, not replaced
    assert cli("plan", str(converged), "--out", str(link)).exit_code == 0
    assert link.is_symlink() and json.loads(saved.read_text())["plan"]["actions"]
