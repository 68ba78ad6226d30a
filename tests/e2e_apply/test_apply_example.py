"""`apply` converges the example estate on a fresh node, and a plan right after is empty."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitops.cli.main import app
from tests.e2e_apply.support import Cli, edit


def test_fresh_node_converges_and_plan_is_then_empty(cli: Cli, example: Path, pve: Any) -> None:
    result = cli("apply", str(example), "--yes")
    assert result.exit_code == 0, result.output
    assert "Converged" in result.output

    again = cli("plan", str(example), "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes" in again.output

    # The node holds what the config says.
    ct = pve.ct(101)
    assert ct.status == "running"
    assert ct.config["memory"] == 1024 and ct.config["hostname"] == "gateway"
    assert ct.config["rootfs"].endswith("size=8G")
    assert "phoenix-gitops" in ct.config["tags"]
    assert pve.ct(900).template and pve.ct(901).template
    vm = pve.vm(1002)
    assert vm.status == "running" and "size=32G" in vm.config["scsi0"]
    assert pve.vm(9000).template
    # Templates never run; clones came from them.
    assert pve.ct(900).status == "stopped"


def test_plan_json_and_markdown_formats(cli: Cli, example: Path) -> None:
    data = cli.plan_json(example)
    assert set(data) >= {"actions", "errors", "warnings"}
    targets = [a["target"] for a in data["actions"]]
    # Templates come before the guests cloned from them.
    assert targets.index("lxc/900") < targets.index("lxc/101")
    assert targets.index("vm/9000") < targets.index("vm/1001")
    # Secrets never leave the process.
    text = json.dumps(data)
    assert "hunter2hunter2" not in text and "(secret)" in text
    md = cli("plan", str(example), "--format", "markdown")
    assert md.exit_code == 0 and md.stdout.startswith("### Phoenix GitOps plan")
    assert cli("plan", str(example), "--detailed-exitcode").exit_code == 2


def test_invalid_config_is_never_applied(cli: Cli, example: Path, pve: Any) -> None:
    edit(example, "phoenix_lxc_configs.json", lambda d: d["lxc_configs"]["101"].update(clone_from_ctid="120"))
    result = cli("apply", str(example), "--yes")
    assert result.exit_code == 1
    assert "CT 120 is not a template" in result.output
    assert pve.requests == [] or all(m == "GET" for m, _p, _ in pve.requests)


def test_wrong_credentials_give_one_clear_line(cli: Cli, example: Path) -> None:
    cli.env["PHOENIX_PVE_PASSWORD"] = "wrong"
    result = cli("plan", str(example))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "refused the credentials" in lines[0] and "wrong" not in lines[0]


def test_apply_asks_first_and_a_no_applies_nothing(cli: Cli, example: Path, pve: Any) -> None:
    result = cli.runner.invoke(app, ["apply", str(example)], env=cli.env, input="n\n")
    assert result.exit_code == 1 and "Apply 27 actions?" in result.output
    assert "nothing was applied" in result.output and pve.cts == [] and pve.vms == []
    result = cli.runner.invoke(app, ["apply", str(example)], env=cli.env, input="y\n")
    assert result.exit_code == 0, result.output


def test_a_missing_secret_is_a_plan_error_and_nothing_is_applied(cli: Cli, example: Path, pve: Any) -> None:
    secrets = Path(cli.env["PHOENIX_SECRETS_DIR"])
    (secrets / "vm_default_password").unlink()
    data = cli.plan_json(example)
    assert {(e["target"], e["code"]) for e in data["errors"]} == {("vm/9000", "secret-missing")}
    assert "PHOENIX_SECRET_VM_DEFAULT_PASSWORD" in data["errors"][0]["message"]
    result = cli("apply", str(example), "--yes")
    assert result.exit_code == 1 and "nothing was applied" in result.output
    assert pve.cts == [] and pve.vms == []
