"""PVE users, groups, roles, ACLs and API tokens from the `access` block, through the real command line.
A new token's secret lands in PHOENIX_STATE_DIR (owner-only, a 0700 folder, a file name that cannot collide,
never over an existing file), never in the plan or the output."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from tests.e2e_apply.support import Cli, edit

ACCESS = {
    "groups": {"ops": {"comment": "operators"}},
    "roles": {"PhoenixDeploy": ["VM.Audit", "VM.PowerMgmt", "Datastore.Audit"]},
    "users": {"ci@pve": {"comment": "CI", "groups": ["ops"]}},
    "tokens": {"ci@pve!deploy": {"privsep": True, "comment": "pipelines"}},
    "acls": [{"path": "/vms", "roles": ["PhoenixDeploy"], "groups": ["ops"], "tokens": ["ci@pve!deploy"]}],
}


def test_access_block_converges_and_the_token_secret_goes_to_the_state_dir(
        cli: Cli, example: Path, pve: Any) -> None:
    edit(example, "phoenix_hypervisor_config.json", lambda d: d.update(access=ACCESS))
    plan = cli.plan_json(example)
    access = [(a["target"], a["calls"][0]["method"]) for a in plan["actions"] if a["action"] == "access"]
    assert access == [("access/group/ops", "POST"), ("access/role/PhoenixDeploy", "POST"),
                      ("access/user/ci@pve", "POST"), ("access/token/ci@pve!deploy", "POST"),
                      ("access/acl/vms", "PUT")]
    result = cli("apply", str(example), "--yes")
    assert result.exit_code == 0, result.output

    secret_file = Path(cli.env["PHOENIX_STATE_DIR"]) / "pve_token_ci_40pve_21deploy"
    value = secret_file.read_text().strip()
    assert value == pve.fake.apitokens["ci@pve!deploy"]
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret_file.parent.stat().st_mode) == 0o700
    assert not any(Path(cli.env["PHOENIX_SECRETS_DIR"]).glob("pve_token_*"))  # the secrets folder stays read-only
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


def test_a_token_is_not_created_when_its_secret_could_not_be_kept(cli: Cli, example: Path, pve: Any,
                                                                    tmp_path: Path) -> None:
    access = {"users": {"ci@pve": {}}, "tokens": {"ci@pve!deploy": {}}}
    edit(example, "phoenix_hypervisor_config.json", lambda d: d.update(access=access))
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the state folder should be")
    cli.env["PHOENIX_STATE_DIR"] = str(blocked)
    plan = cli.plan_json(example)
    assert "secret-store" in [e["code"] for e in plan["errors"]]
    result = cli("apply", str(example), "--yes")
    assert result.exit_code == 1
    assert "PHOENIX_STATE_DIR" in result.output
    assert "ci@pve!deploy" not in pve.fake.apitokens
    assert all(not r[1].startswith("/access") for r in pve.requests if r[0] != "GET")


def test_token_secret_files_cannot_collide_and_an_existing_one_is_never_overwritten(
        cli: Cli, example: Path, pve: Any) -> None:
    # Issue 18: `x@pve!y_pve_t` and `x_pve_y@pve!t` once mapped to one file; the second token's secret
    # replaced the first's.
    access = {"users": {"x@pve": {}, "x_pve_y@pve": {}}, "tokens": {"x@pve!y_pve_t": {}, "x_pve_y@pve!t": {}}}
    edit(example, "phoenix_hypervisor_config.json", lambda d: d.update(access=access))
    assert cli("apply", str(example), "--yes").exit_code == 0
    state = Path(cli.env["PHOENIX_STATE_DIR"])
    kept = {p.read_text().strip() for p in state.glob("pve_token_*")}
    assert kept == {pve.fake.apitokens["x@pve!y_pve_t"], pve.fake.apitokens["x_pve_y@pve!t"]}

    # A file already where a new token's secret would go (left by hand, or another tool): a plan error.
    (state / "pve_token_ci_40pve_21new").write_text("someone else's\n")
    edit(example, "phoenix_hypervisor_config.json",
         lambda d: d["access"].update(users={**access["users"], "ci@pve": {}}, tokens={"ci@pve!new": {}}))
    result = cli("apply", str(example), "--yes")
    assert result.exit_code == 1 and "already exists" in result.output
    assert (state / "pve_token_ci_40pve_21new").read_text() == "someone else's\n"
    assert "ci@pve!new" not in pve.fake.apitokens
