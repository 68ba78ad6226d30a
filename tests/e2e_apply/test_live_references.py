"""Upstream commits that name what the node already has (tests/data/live-references): planned against a
simulated node that lacks it, the plan errors naming it; against one that has it, the config converges and
a second plan is empty."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.e2e_apply.support import ROOT, Cli

DATA = ROOT / "tests" / "data" / "live-references"
STORAGE = "quickOS-shared-prod-data-volumes"


def _copy(commit: str, tmp_path: Path) -> Path:
    config = tmp_path / commit
    shutil.copytree(DATA / commit, config)
    return config


def test_a_storage_the_node_lacks_is_a_plan_error_and_one_it_has_converges(
        cli: Cli, pve: Any, tmp_path: Path) -> None:
    config = _copy("b565b83", tmp_path)
    plan = cli.plan_json(config)
    errors = {(e["target"], e["code"]) for e in plan["errors"]}
    assert errors == {(f"storage/{STORAGE}", "storage-undefined")}, plan["errors"]
    assert STORAGE in plan["errors"][0]["message"]
    assert cli("apply", str(config), "--yes").exit_code == 1  # nothing is applied with a plan error

    pve.storages[STORAGE] = {"type": "zfspool", "pool": "quickOS/shared-prod-data-volumes", "active": 1,
                             "content": "images,rootdir", "files": set()}
    applied = cli("apply", str(config), "--yes")
    assert applied.exit_code == 0, applied.output
    assert cli("plan", str(config), "--detailed-exitcode").exit_code == 0


def test_a_clone_source_the_node_lacks_is_a_plan_error_and_one_it_has_is_cloned(
        cli: Cli, pve: Any, tmp_path: Path) -> None:
    config = _copy("048b667", tmp_path)
    plan = cli.plan_json(config)
    missing = [e for e in plan["errors"] if e["code"] == "clone-source-missing"]
    assert missing and all("CT 903" in e["message"] for e in missing), plan["errors"]
    assert {e["code"] for e in plan["errors"]} == {"clone-source-missing"}

    pve.add_ct(903, "base-903", template=True, config={"rootfs": "local-lvm:base-903-disk-0,size=8G",
                                                        "arch": "amd64", "ostype": "ubuntu", "memory": 2048})
    applied = cli("apply", str(config), "--yes")
    assert applied.exit_code == 0, applied.output
    cloned = [ctid for ctid, ct in _lxc(config).items() if ct.get("clone_from_ctid") == "903"]
    assert cloned and all(pve.ct(int(ctid)) is not None for ctid in cloned)
    assert cli("plan", str(config), "--detailed-exitcode").exit_code == 0


def _lxc(config: Path) -> dict[str, Any]:
    import json

    return json.loads((config / "phoenix_lxc_configs.json").read_text(encoding="utf-8"))["lxc_configs"]  # type: ignore[no-any-return]
