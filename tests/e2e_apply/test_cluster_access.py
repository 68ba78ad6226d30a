"""PVE users, groups, roles, ACLs and API tokens from the `access` block, through the real command line.
A new token's secret lands in PHOENIX_SECRETS_DIR (owner-only), never in the plan or the output."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from tests.e2e_apply.support import SECRETS, Cli, edit

ACCESS = {
    "groups": {"ops": {"comment": "operators"}},
    "roles": {"PhoenixDeploy": ["VM.Audit", "VM.PowerMgmt", "Datastore.Audit"]},
    "users": {"ci@pve": {"comment": "CI", "groups": ["ops"]}},
    "tokens": {"ci@pve!deploy": {"privsep": True, "comment": "pipelines"}},
    "acls": [{"path": "/vms", "roles": ["PhoenixDeploy"], "groups": ["ops"], "tokens": ["ci@pve!deploy"]}],
}


def test_access_block_converges_and_the_token_secret_goes_to_the_secrets_dir(
        cli: Cli, example: Path, pve: Any) -> None:
    edit(example, "phoenix_hypervisor_config.json", lambda d: d.update(access=ACCESS))
    plan = cli.plan_json(example)
    access = [(a["target"], a["calls"][0]["method"]) for a in plan["actions"] if a["action"] == "access"]
    assert access == [("access/group/ops", "POST"), ("access/role/PhoenixDeploy", "POST"),
                      ("access/user/ci@pve", "POST"), ("access/token/ci@pve!deploy", "POST"),
                      ("access/acl/vms", "PUT")]
    result = cli("apply", str(example), "--yes")
    assert result.exit_code == 0, result.output

    secret_file = Path(cli.env["PHOENIX_SECRETS_DIR"]) / "pve_token_ci_pve_deploy"
    value = secret_file.read_text().strip()
    assert value == pve.fake.apitokens["ci@pve!deploy"]
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert value not in result.output
    assert cli("plan", str(example), "--detailed-exitcode").exit_code == 0

    # Made by hand: an extra ACL entry and group membership stay; a changed role is updated in place.
    pve.run(pve.fake._acl_update({"path": "/", "roles": "PVEAuditor", "users": "ci@pve"}, "root@pam"))
    ACCESS_CHANGED = dict(ACCESS, roles={"PhoenixDeploy": ["VM.Audit", "VM.PowerMgmt"]})
    edit(example, "phoenix_hypervisor_config.json", lambda d: d.update(access=ACCESS_CHANGED))
    plan = cli.plan_json(example)
    assert [(a["target"], a["calls"][0]["method"]) for a in plan["actions"]] == [
        ("access/role/PhoenixDeploy", "PUT")]
    assert cli("apply", str(example), "--yes").exit_code == 0
    acl = pve.run(pve.fake._acl_list({}, "root@pam"))
    assert {"path": "/", "type": "user", "ugid": "ci@pve", "roleid": "PVEAuditor", "propagate": 1} in acl


def test_a_token_is_not_created_without_a_secrets_dir(cli: Cli, example: Path, pve: Any, tmp_path: Path) -> None:
    access = {"users": {"ci@pve": {}}, "tokens": {"ci@pve!deploy": {}}}
    edit(example, "phoenix_hypervisor_config.json", lambda d: d.update(access=access))
    cli.env["PHOENIX_SECRETS_DIR"] = str(tmp_path / "nowhere")
    cli.env.update({f"PHOENIX_SECRET_{name.upper()}": value for name, value in SECRETS.items()})  # the example's
    result = cli("apply", str(example), "--yes")
    assert result.exit_code == 1
    assert "PHOENIX_SECRETS_DIR" in result.output
    assert "ci@pve!deploy" not in pve.fake.apitokens
