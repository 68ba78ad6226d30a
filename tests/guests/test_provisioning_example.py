"""configs-example converges with provisioning on: scripts run in the guests over real SSH (containers)
and through fakepve's guest agent (VMs), once each, in order, before templates are converted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gitops.config.scripts import LXC_FEATURE
from tests.controller.support import git
from tests.e2e_apply.support import SECRETS, Cli
from tests.guests.conftest import write_script
from tests.guests.sshnode import NodeShell


def ran(shell: NodeShell, ctid: int) -> list[str]:
    log = shell.ct_path(ctid, "/var/log/ran.log")
    return log.read_text().split("\n")[:-1] if log.exists() else []


def scripts_run(shell: NodeShell) -> list[tuple[int, str]]:
    return [(int(argv[2]), argv[argv.index("/bin/bash") + 1]) for argv in shell.commands
            if argv[:2] == ["pct", "exec"] and "/bin/bash" in argv]


def test_template_chain_runs_once_in_order_before_conversion(pcli: Cli, scripted: Path, shell: NodeShell,
                                                             pve: Any, vm_runs: list[Any]) -> None:
    plan = pcli.plan_json(scripted)
    provisions = [(a["target"], [c["field"] for c in a["changes"]]) for a in plan["actions"]
                  if a["action"] == "provision"]
    assert ("lxc/900", ["feature:base_setup"]) in provisions
    assert ("lxc/901", ["feature:base_setup", "feature:nvidia"]) in provisions
    # Every script is shown with its hash; a template is started for its scripts, shut down, converted.
    shown = next(a for a in plan["actions"] if a["target"] == "lxc/900" and a["action"] == "provision")
    sha, script = shown["changes"][0]["new"].split(" ")
    assert script == "lxc_setup/phoenix_hypervisor_feature_install_base_setup.sh" and sha.startswith("sha256:")
    kinds = [a["action"] for a in plan["actions"] if a["target"] == "lxc/900"]
    assert kinds == ["create", "start", "provision", "stop", "convert-to-template"]

    result = pcli("apply", str(scripted), "--yes")
    assert result.exit_code == 0, result.output

    assert ran(shell, 900) == ["feature:base_setup 900"]
    assert ran(shell, 901) == ["feature:base_setup 901", "feature:nvidia 901"]
    assert ran(shell, 110) == ["feature:nvidia 110", "feature:ollama 110"]
    assert ran(shell, 120) == ["feature:base_setup 120", "feature:docker 120"]
    assert pve.ct(900).template and pve.ct(901).template and pve.ct(900).status == "stopped"
    # 900's scripts ran before 901 was cloned from it (the clone waits on every action of its template).
    order = [ctid for ctid, _ in scripts_run(shell)]
    assert order.index(900) < order.index(901) < order.index(110)
    # The scripts read the guest's effective config on stdin (and in $PHOENIX_GUEST_CONFIG).
    seen = json.loads(shell.ct_path(120, "/var/log/input-feature:docker.json").read_text())
    assert seen["ctid"] == "120" and seen["name"] == "build-runner" and seen["features"] == ["base_setup", "docker"]
    # VMs: through the guest agent, the password resolved for the script, in order per VM.
    assert [(v, s) for v, s, _ in vm_runs if v == 1001] == [(1001, "feature:base_setup"), (1001, "feature:docker")]
    assert vm_runs[0][2]["user_config"]["password"] == SECRETS["vm_default_password"]
    # Nothing of the inputs is left behind: not in the container, not on the node.
    assert not shell.ct_path(120, "/tmp/phoenix_run/guest.json").exists()
    assert list(shell.node_path("/tmp").iterdir()) == []

    # The second apply runs nothing, and the plan is empty.
    before, runs = len(scripts_run(shell)), len(vm_runs)
    assert pcli("plan", str(scripted), "--detailed-exitcode").exit_code == 0
    assert pcli("apply", str(scripted), "--yes").exit_code == 0
    assert len(scripts_run(shell)) == before and len(vm_runs) == runs


def test_changed_script_reruns_on_exactly_its_guests(pcli: Cli, scripted: Path, shell: NodeShell,
                                                     vm_runs: list[Any]) -> None:
    assert pcli("apply", str(scripted), "--yes").exit_code == 0
    write_script(scripted / "bin" / LXC_FEATURE.format(name="docker"),
                 (scripted / "bin" / LXC_FEATURE.format(name="docker")).read_text() + "# v2\n")
    plan = pcli.plan_json(scripted)
    assert [(a["target"], a["action"], [c["field"] for c in a["changes"]]) for a in plan["actions"]] == [
        ("lxc/120", "provision", ["feature:docker"])]
    runs = len(vm_runs)
    assert pcli("apply", str(scripted), "--yes").exit_code == 0
    assert ran(shell, 120) == ["feature:base_setup 120", "feature:docker 120", "feature:docker 120"]
    assert len(vm_runs) == runs  # the VMs' docker script is another file: untouched
    assert pcli("plan", str(scripted), "--detailed-exitcode").exit_code == 0

    # base_setup: the running guests using it run it again; the templates cannot, and the plan says so.
    path = scripted / "bin" / LXC_FEATURE.format(name="base_setup")
    path.write_text(path.read_text() + "# v2\n")
    plan = pcli.plan_json(scripted)
    assert sorted(a["target"] for a in plan["actions"]) == ["lxc/101", "lxc/102", "lxc/120"]
    assert {(w["target"], w["code"]) for w in plan["warnings"]} >= {
        ("lxc/900", "template-provisioning-stale"), ("lxc/901", "template-provisioning-stale")}


def test_failing_script_fails_the_apply_naming_guest_step_and_status(pcli: Cli, scripted: Path,
                                                                      shell: NodeShell) -> None:
    write_script(scripted / "bin" / LXC_FEATURE.format(name="dns_server"),
                 '#!/bin/bash\necho "installing dns"\necho "no such package" >&2\nexit 3\n')
    result = pcli("apply", str(scripted), "--yes")
    assert result.exit_code == 1
    assert "lxc/102: step feature:dns_server exited with status 3" in result.output
    assert "no such package" in result.output
    # The steps before it stay recorded: the next apply reruns only the failed one there (guests that
    # wait on lxc/102 were skipped, and are provisioned then too).
    write_script(scripted / "bin" / LXC_FEATURE.format(name="dns_server"), "#!/bin/bash\nexit 0\n")
    plan = pcli.plan_json(scripted)
    steps = {a["target"]: [c["field"] for c in a["changes"]] for a in plan["actions"] if a["action"] == "provision"}
    assert steps["lxc/102"] == ["feature:dns_server"]
    assert pcli("apply", str(scripted), "--yes").exit_code == 0
    assert pcli("plan", str(scripted), "--detailed-exitcode").exit_code == 0


def test_secret_in_a_failing_scripts_output_is_scrubbed(pcli: Cli, scripted: Path, vm_runs: list[Any]) -> None:
    from gitops.config.scripts import VM_FEATURE
    write_script(scripted / "bin" / VM_FEATURE.format(name="docker"), "#!/bin/bash\nexit 7\n")
    result = pcli("apply", str(scripted), "--yes")
    assert result.exit_code == 1
    assert "vm/1001: step feature:docker exited with status 7" in result.output
    assert SECRETS["vm_default_password"] not in result.output
    plan = pcli("plan", str(scripted), "--format", "json")
    assert SECRETS["vm_default_password"] not in plan.output


def committed_and_applied(pcli: Cli, scripted: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DIR made a git work tree with everything committed, then applied."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(scripted.parent / "gitconfig"))
    git("init", "-q", "-b", "main", cwd=scripted)
    git("add", "-A", cwd=scripted)
    git("commit", "-qm", "the estate", cwd=scripted)
    assert pcli("apply", str(scripted), "--yes").exit_code == 0


def test_a_changed_script_shows_as_a_diff_from_the_one_that_ran(pcli: Cli, scripted: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """DIR in a git work tree: the guest ran HEAD's script (its identity says so), so `plan` and `diff` show
    the edited script as a unified diff from it, whole lines, never wrapped; the markdown folds it."""
    committed_and_applied(pcli, scripted, monkeypatch)
    docker = scripted / "bin" / LXC_FEATURE.format(name="docker")
    first = docker.read_text().splitlines()[-1]
    long_line = "apt-get install -y " + " ".join(f"package-{i}" for i in range(40))  # some 400 characters
    docker.write_text(docker.read_text().replace(first, long_line) + "# v2\n")

    [action] = pcli.plan_json(scripted)["actions"]
    [change] = action["changes"]
    assert (action["target"], change["field"]) == ("lxc/120", "feature:docker")
    diff = change["diff"].splitlines()
    script = LXC_FEATURE.format(name="docker")
    assert diff[:2] == [f"--- ran/{script}", f"+++ desired/{script}"]
    assert f"-{first}" in diff and f"+{long_line}" in diff and "+# v2" in diff
    for args in (("plan",), ("diff",), ("plan", "--format", "markdown")):
        result = pcli(*args, str(scripted))
        lines = result.stdout.splitlines()
        assert f"-{first}" in lines and f"+{long_line}" in lines, (args, result.stdout)
        assert all(line == line.rstrip() for line in lines if not line.startswith("|")), args
    assert "<summary><code>lxc/120 feature:docker (diff)</code></summary>" in pcli(
        "plan", "--format", "markdown", str(scripted)).stdout


def test_a_changed_script_is_shown_by_hash_when_what_ran_is_not_known(pcli: Cli, scripted: Path) -> None:
    """DIR not in git, nothing else says what text ran: the plan says the identity that ran and the new hash,
    and shows no diff it cannot vouch for."""
    assert pcli("apply", str(scripted), "--yes").exit_code == 0
    docker = scripted / "bin" / LXC_FEATURE.format(name="docker")
    docker.write_text(docker.read_text() + "# v2\n")
    [action] = pcli.plan_json(scripted)["actions"]
    [change] = action["changes"]
    assert change["old"].startswith("ran ") and change["new"].startswith("sha256:") and "diff" not in change


def test_a_saved_plan_applies_after_a_commit_of_what_it_shows(pcli: Cli, scripted: Path, shell: NodeShell,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The diff a plan shows depends on DIR's HEAD, what it does does not: committing the planned change
    between `plan --out` and `apply FILE` applies the saved plan."""
    committed_and_applied(pcli, scripted, monkeypatch)
    docker = scripted / "bin" / LXC_FEATURE.format(name="docker")
    docker.write_text(docker.read_text() + "# v2\n")
    saved = scripted.parent / "docker.plan"
    assert pcli("plan", str(scripted), "--out", str(saved)).exit_code == 0
    assert "+# v2" in json.loads(saved.read_text())["plan"]["actions"][0]["changes"][0]["diff"]
    git("commit", "-qam", "docker v2", cwd=scripted)
    result = pcli("apply", str(saved))
    assert result.exit_code == 0, result.output
    assert ran(shell, 120)[-1] == "feature:docker 120"
