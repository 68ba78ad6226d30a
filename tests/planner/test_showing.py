"""Plans and validation reports as markdown (PR comments, notifications, `plan --format markdown`)."""

from __future__ import annotations

from gitops.config.problems import Report
from gitops.planner.plan import Action, ApiCall, FieldChange, Plan, Problem
from gitops.planner.showing import plan_markdown, summary_line, validation_markdown


def a_plan() -> Plan:
    update = Action(target="lxc/101", action="update", changes=[FieldChange("memory", "512", "1024"),
                                                                 FieldChange("cipassword", None, "${secret:pw}",
                                                                             secret=True)],
                    calls=[ApiCall("PUT", "nodes/pve/lxc/101/config", {"memory": "1024"})], restart_required=True)
    delete = Action(target="lxc/777", action="delete", destructive=True)
    return Plan(actions=[update, delete], errors=[Problem("vm/1001", "disk-shrink", "disks only grow")],
                warnings=[Problem("lxc/778", "orphan", "kept")])


def test_a_plan_and_the_plan_as_stored_read_the_same() -> None:
    plan = a_plan()
    text = plan_markdown(plan, title="Plan of abc123")
    assert text == plan_markdown(plan.to_dict(), title="Plan of abc123")  # e.g. a revision's plan from the ledger
    assert summary_line(plan) == "Plan: 2 actions (1 delete, 1 update), 1 errors."
    assert "| 1 | `lxc/101` | update **restart** | `memory`: `512` → `1024`<br>`cipassword`: — → `(secret)` |" in text
    assert "| 2 | `lxc/777` | delete **destroys data** |" in text
    assert "- :x: `vm/1001`: disks only grow (`disk-shrink`)" in text and "${secret:" not in text


def test_validation_as_markdown_names_file_line_and_path() -> None:
    report = Report()
    report.error("phoenix_lxc_configs.json", ("lxc_configs", "101", "clone_from_ctid"), "clone-source-missing",
                 "CT 950 does not exist")
    report.problems[0].line, report.problems[0].column = 42, 13
    text = validation_markdown(report)
    assert "The config is **invalid**: 1 errors, 0 warnings." in text
    assert ("- :x: `phoenix_lxc_configs.json:42:13` `lxc_configs.101.clone_from_ctid`: CT 950 does not exist "
            "(`clone-source-missing`)") in text


def test_long_values_are_folded_whole_and_a_diff_stays_in_its_fence() -> None:
    from markdown_it import MarkdownIt

    net = "name=eth0,bridge=vmbr0,ip=10.20.0.13/24,gw=10.20.0.1,firewall=1,tag=20,mtu=9000,rate=100"
    script = "#!/bin/bash\ncat <<'EOF'\n```\nnot the end of the fence\n```\nEOF\n"
    diff = "--- ran/x.sh\n+++ desired/x.sh\n@@ -1,6 +1,7 @@\n #!/bin/bash\n cat <<'EOF'\n ```\n+added\n ```\n EOF"
    plan = Plan(actions=[Action(target="lxc/102", action="update", changes=[
        FieldChange("net0", net.replace("10.20.0.13", "10.20.0.12"), net)]),
        Action(target="lxc/101", action="provision",
               changes=[FieldChange("feature:x", "ran 1a2b", script, diff=diff)])])
    text = plan_markdown(plan)
    assert "| 1 | `lxc/102` | update | `net0`: see below |" in text
    assert f"+ `{net}`" in text.splitlines()  # whole, firewall flag and all, under <details>
    assert text.index("<details>") < text.index(f"+ `{net}`") < text.index("</details>")
    blocks = [t for t in MarkdownIt().parse(text) if t.type == "fence"]
    assert [(b.info, b.content) for b in blocks] == [("diff", diff + "\n")]
