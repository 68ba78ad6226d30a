"""The `PhoenixGitOps` role (gitops.drivers.proxmox.privileges) is exactly what the controller needs.

fakepve enforces PVE's privileges once an ACL exists (each route's permission rule from the PVE API
schema, plus the per-option checks of PVE's code: VM.Config.* per option, Datastore.AllocateSpace,
SDN.Use on bridges, root-only settings). With a token of `phoenix@pve` holding exactly the role on
`/`, a full apply of configs-example, a change (with its snapshot), a destroy and a data rollback
succeed; without any one privilege of the role, one of them fails with PVE's 403.

configs-example uses two settings PVE allows to root@pam's password login only, never to a token
(a bind mount on CT 101, GPU passthrough on CTs 901 and 110): the scenario runs on the example
without them, and a test shows that any token, even with every privilege, is refused them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from fakepve import shapes
from pydantic import SecretStr

from gitops.drivers.proxmox import privileges
from gitops.drivers.proxmox.applying import apply_plan
from gitops.drivers.proxmox.connection import connect
from gitops.drivers.proxmox.reading import read_live_state
from gitops.settings import Settings
from tests.e2e_apply.support import Cli, edit

try:  # the data rollback's plan: in the planner once the pipeline work lands, in the controller before
    from gitops.planner.proxmox.restoring import restore_plan
except ModuleNotFoundError:
    from gitops.controller.rollback import restore_plan  # type: ignore[attr-defined,no-redef]

USER = "phoenix@pve"
TOKEN = f"{USER}!gitops"
SECRET = "5d1c0e2a-least-privilege"
OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def token_cli(cli: Cli, pve: Any, granted: set[str]) -> Cli:
    """`cli` logged in with a token of phoenix@pve (privilege separation off: the user's ACL is the token's)."""
    pve.apitokens[TOKEN] = SECRET
    pve.acl = {USER: [("/", set(granted))]}
    env = {k: v for k, v in cli.env.items() if k not in ("PHOENIX_PVE_USER", "PHOENIX_PVE_PASSWORD")}
    env.update(PHOENIX_PVE_TOKEN_NAME=TOKEN, PHOENIX_PVE_TOKEN_VALUE=SECRET)
    return dataclasses.replace(cli, env=env)


def without_root_only_settings(directory: Path) -> Path:
    def strip(data: Any) -> None:
        guests = data["lxc_configs"]
        guests["101"].pop("mount_points")
        for ctid in ("901", "110"):
            guests[ctid].pop("gpu_assignment")
    edit(directory, "phoenix_lxc_configs.json", strip)

    def guests_only(data: Any) -> None:
        # The role covers guests and storages; the cluster's own resources (the host firewall block, the
        # internal bridge) need the privileges docs/operations.md lists beside it (Sys.Audit, Sys.Modify...).
        data.pop("firewall")
        data["network"].pop("internal_bridge")
    edit(directory, "phoenix_hypervisor_config.json", guests_only)
    return directory


def run_everything(cli: Cli, example: Path, pve: Any, pve_cafile: str) -> None:
    """Apply, change, destroy, roll data back; AssertionError naming the step and PVE's answer if one fails."""
    def step(name: str, *args: str) -> None:
        result = cli(*args)
        assert result.exit_code == 0, f"{name}: {result.output}"

    step("full apply", "apply", str(example), "--yes")
    step("plan after apply", "plan", str(example), "--detailed-exitcode")
    edit(example, "phoenix_lxc_configs.json", lambda d: d["lxc_configs"]["102"].update(memory_mb=1024))
    step("change (snapshot first)", "apply", str(example), "--yes")
    edit(example, "phoenix_vm_configs.json", lambda d: d.update(vms=[v for v in d["vms"] if v["vmid"] != 1002]))
    backed_up = dataclasses.replace(cli, env={**cli.env, "PHOENIX_BACKUP_STORAGE": "local"})
    result = backed_up("apply", str(example), "--yes", "--allow-destroy")
    assert result.exit_code == 0, f"destroy (backed up first): {result.output}"

    settings = Settings(pve_host=pve.address, pve_token_name=TOKEN, pve_token_value=SecretStr(SECRET),
                        pve_verify_ssl=pve_cafile, pve_timeout=10.0)
    with connect(settings, sleep=lambda _s: None) as client:
        live = read_live_state(client, {102}, snapshots=[102])
        guest = live.guest(102)
        assert guest is not None
        snapshot = next(s for s in guest.snapshots if s.startswith("phx-"))
        result = apply_plan(client, restore_plan(live, {102}, snapshot), resolve_secret=lambda _n: "")
        assert result.ok, f"data rollback: {result.to_dict()}"


def test_the_role_is_enough_for_everything_the_controller_does(cli: Cli, example: Path, pve: Any,
                                                               pve_cafile: str) -> None:
    restricted = token_cli(cli, pve, set(privileges.PRIVILEGES))
    run_everything(restricted, without_root_only_settings(example), pve, pve_cafile)
    assert pve.ct(102).config["memory"] == 512  # the data rollback restored the pre-change config
    assert [v.vmid for v in pve.vms] == [9000, 1001]
    assert [v for v in pve.storages["local"]["volumes"] if v.startswith("backup/vzdump-qemu-1002-")]


# How PVE says a privilege is missing, where its message does not name it.
FAILURE_WITHOUT = {
    # download-url: PVE names the first alternative of its rule (Sys.Audit and Sys.Modify on /)
    "Sys.AccessNetwork": r"download-url: 403 Permission check failed \(/, Sys\.Audit\)",
    # creating a guest: PVE checks VM.Allocate in its code and names nothing
    "VM.Allocate": r"POST nodes/pve1/(lxc|qemu): 403 Permission check failed",
}


@pytest.mark.parametrize("dropped", sorted(privileges.PRIVILEGES))
def test_every_privilege_of_the_role_is_needed(cli: Cli, example: Path, pve: Any, pve_cafile: str,
                                               dropped: str) -> None:
    restricted = token_cli(cli, pve, set(privileges.PRIVILEGES) - {dropped})
    named = rf"403 Permission check failed \([^)]*{dropped.replace('.', '[.]')}\)"
    with pytest.raises(AssertionError, match=FAILURE_WITHOUT.get(dropped, named)):
        run_everything(restricted, without_root_only_settings(example), pve, pve_cafile)


def test_no_token_may_bind_mount_or_pass_devices_through(cli: Cli, example: Path, pve: Any) -> None:
    restricted = token_cli(cli, pve, set(shapes.PRIVILEGES))  # every privilege PVE has
    result = restricted("apply", str(example), "--yes")
    assert result.exit_code == 1
    assert "mount point type bind is only allowed for root@pam" in result.output
    assert "configuring device passthrough is only allowed for root@pam" in result.output


def test_the_roles_privileges_are_real_pve_privileges_and_the_docs_list_exactly_them() -> None:
    assert set(privileges.PRIVILEGES) <= set(shapes.PRIVILEGES)
    text = OPERATIONS.read_text()
    start = text.index("pveum role add PhoenixGitOps --privs")
    listed = text[start:].split('"', 2)[1].split()
    assert sorted(listed) == sorted(privileges.PRIVILEGES)
