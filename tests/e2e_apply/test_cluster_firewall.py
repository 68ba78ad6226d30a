"""The firewall block converges into the cluster firewall through the real command line, staged, and a
rule set that would lock the controller out of the API is refused before anything is applied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e_apply.support import Cli, edit


def test_example_firewall_converges_staged_and_second_plan_is_empty(cli: Cli, example: Path, pve: Any) -> None:
    cli.env["PHOENIX_PVE_SOURCE_ADDRESS"] = "10.20.0.9"  # on the LAN the example's rule lets reach port 8006
    plan = cli.plan_json(example)
    fw = [a for a in plan["actions"] if a["target"] == "firewall/cluster"]
    assert [a["summary"].split(":")[0] for a in fw] == [
        "set cluster firewall rules", "set cluster firewall options (after its rules)"]
    assert fw[1]["calls"][0]["params"] == {"enable": 1, "policy_in": "DROP", "policy_out": "ACCEPT"}
    assert cli("apply", str(example), "--yes").exit_code == 0
    cluster = pve.fake.firewall_config("cluster")
    assert [r["dport"] for r in cluster["rules"]] == ["8006", "22", "80,443"]
    assert cli("plan", str(example), "--detailed-exitcode").exit_code == 0

    # A changed rule list: the new rules go in above the old before the old are deleted.
    def tighten(data: Any) -> None:
        data["firewall"]["global_firewall_rules"][0]["source"] = "10.20.0.0/25"
        data["firewall"]["aliases"] = {"lan": "10.20.0.0/24"}
        data["firewall"]["ipsets"] = {"management": ["10.20.0.9"]}
    edit(example, "phoenix_hypervisor_config.json", tighten)
    # The rule the config no longer names is kept (after the config's) unless --allow-destroy.
    plan = cli.plan_json(example)
    assert [w["code"] for w in plan["warnings"]] == ["firewall-rule-kept"]
    assert cli("apply", str(example), "--yes").exit_code == 0
    sources = [r.get("source") for r in pve.fake.firewall_config("cluster")["rules"]]
    assert sources == ["10.20.0.0/25", "10.20.0.0/24", None, "10.20.0.0/24"]
    assert cli("plan", str(example), "--detailed-exitcode").exit_code == 0
    plan = cli("plan", str(example), "--allow-destroy", "--format", "json")
    [action] = [a for a in json.loads(plan.stdout)["actions"] if a["target"] == "firewall/cluster"]
    # The new rules go in above the old before the old are deleted.
    assert [c["method"] for c in action["calls"]] == ["POST"] * 3 + ["DELETE"] * 4 and action["destructive"]
    assert cli("apply", str(example), "--yes", "--allow-destroy").exit_code == 0
    cluster = pve.fake.firewall_config("cluster")
    assert [r["source"] for r in cluster["rules"] if r.get("source")] == ["10.20.0.0/25", "10.20.0.0/24"]
    assert cli("plan", str(example), "--detailed-exitcode").exit_code == 0


def test_a_rule_set_that_locks_the_controller_out_is_refused_before_anything_is_applied(
        cli: Cli, example: Path, pve: Any) -> None:
    cli.env["PHOENIX_PVE_SOURCE_ADDRESS"] = "192.168.77.5"  # not on the LAN the rules allow
    plan = cli.plan_json(example)
    [error] = plan["errors"]
    assert (error["target"], error["code"]) == ("firewall/cluster", "firewall-lockout")
    assert "192.168.77.5" in error["message"] and "policy_in is DROP" in error["message"]
    result = cli("apply", str(example), "--yes")
    assert result.exit_code == 1
    assert pve.vms == [] and pve.fake.firewall_config("cluster")["rules"] == []

    # Adding the controller to the management IP set lets it through.
    edit(example, "phoenix_hypervisor_config.json",
         lambda d: d["firewall"].update(ipsets={"management": ["192.168.77.0/24"]}))
    assert cli.plan_json(example)["errors"] == []
