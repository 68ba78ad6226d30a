"""The sentinel sweep's provisioning part (issue 18): with provisioning on, every credential setting a
sentinel and hostile text in the guests' fields, nothing the scripts read (their stdin, the files pushed
to the node, the commands run there, the guest agent's input) holds a credential or the SSH key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitops.settings import Settings
from tests.controller.test_credential_sweep import ENV_STYLE, MARK, credential_paths, sentinel
from tests.e2e_apply.support import Cli, edit
from tests.guests.sshnode import NodeShell


def test_no_credential_reaches_a_scripts_input(pcli: Cli, scripted: Path, shell: NodeShell, pve: Any,
                                               vm_runs: list[Any]) -> None:
    for name in credential_paths(Settings):
        if "." not in name and name != "api_read_token":
            pcli.env[f"PHOENIX_{name.upper()}"] = sentinel(name)
    pve.fake.password = sentinel("pve_password")
    pcli.env["PHOENIX_PVE_PASSWORD"] = sentinel("pve_password")
    for name in ("pve_token_value", "portainer_api_key"):  # unused by these runs: a ticket login, no Portainer
        pcli.env.pop(f"PHOENIX_{name.upper()}", None)
    pcli.env["PHOENIX_PORTAINER_API_KEY"] = sentinel("portainer_api_key")
    hostile = " ".join(ENV_STYLE)

    def guests(data: Any) -> None:
        for ct in data["lxc_configs"].values():
            ct["description"] = hostile

    def vms(data: Any) -> None:
        for vm in data["vms"]:
            vm["description"] = hostile
    edit(scripted, "phoenix_lxc_configs.json", guests)
    edit(scripted, "phoenix_vm_configs.json", vms)

    result = pcli("apply", str(scripted), "--yes")
    assert result.exit_code == 0, result.output

    key = shell.key_file.read_text().strip()
    inputs = {str(p): p.read_text() for p in (shell.root / "ct").rglob("input-*.json")}
    assert inputs and vm_runs
    assert any("PHOENIX_PVE_TOKEN_VALUE" in text for text in inputs.values())  # the hostile text did arrive, as text
    places = {**inputs, "vm agent input": json.dumps([run[2] for run in vm_runs]),
              "node commands": json.dumps(shell.commands), "output": result.output}
    places.update({str(p): p.read_text(errors="replace") for p in (shell.root / "node").rglob("*") if p.is_file()})
    assert {place for place, text in places.items() if MARK in text} == set()
    assert {place for place, text in places.items() if key in text} == set()
