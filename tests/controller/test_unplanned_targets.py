"""A target in the config that could not be planned is listed with why, alike in `resources`, `status`, the
API and the metrics (fakepve, a git repo, the HTTP API, the CLI): the wanted revision's plan errors make
their targets `failed`, and the drift check's make theirs `pending` (or keep them drifted) with the error."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from gitops.api.app import create_app
from gitops.cli.main import app as cli
from gitops.controller.triggers import Trigger
from gitops.drivers.proxmox.connection import connect
from tests.api.conftest import serve_app  # noqa: F401  (the fixture)
from tests.controller.conftest import Ctl
from tests.controller.support import estate_with_api, small_estate
from tests.controller.test_rollback_rules import AUTH, TOKEN, Loop

SHRINK = "disks only grow"


@pytest.fixture
def api(ctl: Ctl, serve_app: Callable[..., httpx.Client]) -> httpx.Client:  # noqa: F811
    settings = ctl.settings.model_copy(update={"api_token": SecretStr(TOKEN)})
    return serve_app(create_app(ctl.store, Loop(ctl), settings))


def cli_json(api: httpx.Client, *args: str) -> Any:
    result = CliRunner().invoke(cli, [*args, "--json", "--api", str(api.base_url)], env={"PHOENIX_API_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def cli_lines(api: httpx.Client) -> list[str]:
    result = CliRunner().invoke(cli, ["resources", "--api", str(api.base_url)], env={"PHOENIX_API_TOKEN": TOKEN})
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def with_disk(files: dict[str, str], vmid: str, size_gb: int) -> dict[str, str]:
    lxc = json.loads(files["phoenix_lxc_configs.json"])
    lxc["lxc_configs"][vmid]["storage_size_gb"] = size_gb
    return {**files, "phoenix_lxc_configs.json": json.dumps(lxc, indent=2)}


def with_secret_description(files: dict[str, str], vmid: str, name: str) -> dict[str, str]:
    lxc = json.loads(files["phoenix_lxc_configs.json"])
    lxc["lxc_configs"][vmid]["description"] = f"key ${{secret:{name}}}"
    return {**files, "phoenix_lxc_configs.json": json.dumps(lxc, indent=2)}


def agree(api: httpx.Client) -> dict[str, dict[str, Any]]:
    """The CLI's and the API's resources, the same; `status` counts them alike; by target."""
    listed = cli_json(api, "resources")
    served = api.get("/api/v1/resources", headers=AUTH).json()
    assert listed["resources"] == served["resources"]
    counts: dict[str, int] = {}
    for r in served["resources"]:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    assert cli_json(api, "status")["drift_counts"] == counts == served["counts"]
    return {r["target"]: r for r in served["resources"]}


def test_a_revision_whose_plan_errors_on_a_guest_lists_it_failed_with_why(ctl: Ctl, api: httpx.Client) -> None:
    ctl.remote.commit(estate_with_api(memory=512), "first")
    assert ctl.run().action == "applied"
    # CT 101's disk would shrink (refused by the planner), CT 102's memory changes.
    second = ctl.remote.commit(with_disk(estate_with_api(memory=640), "101", 2), "shrink web, grow api")
    ctl.run()
    assert ctl.status(second) == "failed"

    by_target = agree(api)
    web = by_target["lxc/101"]
    assert web["state"] == "failed" and SHRINK in web["reason"] and second[:12] in web["reason"]
    assert by_target["lxc/102"]["state"] == "pending" and second[:12] in by_target["lxc/102"]["reason"]
    assert by_target["lxc/900"]["state"] == "in_sync"
    [line] = [ln for ln in cli_lines(api) if ln.startswith("lxc/101 ")]
    assert "failed" in line and SHRINK in line
    metrics = api.get("/metrics").text
    assert 'phoenix_resources{state="failed"} 1.0' in metrics


def test_a_new_guest_that_could_not_be_planned_is_listed_with_why(ctl: Ctl, api: httpx.Client) -> None:
    ctl.remote.commit(small_estate(memory=512), "first")
    assert ctl.run().action == "applied"
    second = ctl.remote.commit(with_secret_description(estate_with_api(), "102", "api_note"), "api, secret missing")
    ctl.run()
    assert ctl.status(second) == "failed"

    by_target = agree(api)  # CT 102 is not on the node: the check of the applied revision does not know it
    assert by_target["lxc/102"]["state"] == "failed"
    assert "api_note" in by_target["lxc/102"]["reason"] and second[:12] in by_target["lxc/102"]["reason"]
    assert by_target["lxc/101"]["state"] == "in_sync"
    assert any(ln.startswith("lxc/102 ") and "failed" in ln and "api_note" in ln for ln in cli_lines(api))


def test_the_drift_check_lists_a_target_it_could_not_plan_with_why(ctl: Ctl, api: httpx.Client) -> None:
    ctl.remote.commit(estate_with_api(memory=512), "first")
    assert ctl.run().action == "applied"
    with connect(ctl.settings) as client:  # CT 102's disk grew by hand: the config's size would shrink it
        client.request("PUT", f"nodes/{client.node}/lxc/102/resize", {"disk": "rootfs", "size": "+4G"})
        client.request("PUT", f"nodes/{client.node}/lxc/101/config", {"memory": 2000})

    ctl.run(Trigger("drift"))

    by_target = agree(api)
    api_ct = by_target["lxc/102"]  # nothing a converge would change, but not in sync either: waiting, with why
    assert api_ct["state"] == "pending" and SHRINK in api_ct["reason"]
    web = by_target["lxc/101"]  # drifted, and not corrected because the plan has an error
    assert web["state"] == "drifted" and web["actions"] == ["update: memory"]
    assert any(ln.startswith("lxc/102 ") and "pending" in ln and SHRINK in ln for ln in cli_lines(api))


def test_a_drifted_guest_whose_secret_is_gone_says_why_it_is_not_corrected(ctl: Ctl, api: httpx.Client) -> None:
    note = ctl.settings.secrets_dir / "web_note"  # type: ignore[operator]
    note.write_text("n0te-value\n")
    ctl.remote.commit(with_secret_description(small_estate(memory=512), "101", "web_note"), "web, with a secret")
    assert ctl.run().action == "applied"
    note.unlink()  # the secret is gone from the controller
    with connect(ctl.settings) as client:
        client.request("PUT", f"nodes/{client.node}/lxc/101/config", {"memory": 2000})

    assert ctl.run(Trigger("drift")).detail.startswith("drift recorded, not corrected")

    web = agree(api)["lxc/101"]
    assert web["state"] == "drifted" and "web_note" in web["reason"] and "could not be planned" in web["reason"]
    assert "n0te-value" not in json.dumps(web)
    [line] = [ln for ln in cli_lines(api) if ln.startswith("lxc/101 ")]
    assert "drifted" in line and "memory (could not be planned" in line and "web_note" in line
    row = next(r for r in api.get("/").text.split("<table id='resources'", 1)[1].split("<tr>") if "lxc/101<" in r)
    assert "memory (could not be planned" in row and "web_note" in row
