"""`plan`, `diff` and the PR comment's markdown show whole values and the changed lines of files: an image
tag change in a stack's compose file, a new address on a container (the whole `net0`, its firewall flag
included), through the real command line against the simulated node and Portainer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitops.demo.portainer import SimulatedPortainer
from tests.e2e_apply.support import Cli, edit
from tests.e2e_apply.test_stacks_cli import portainer  # noqa: F401  (the fixture)


def test_plan_diff_and_markdown_show_the_changed_line_and_whole_values(
        cli: Cli, portainer: SimulatedPortainer, example: Path) -> None:  # noqa: F811
    assert cli("apply", str(example), "--yes").exit_code == 0
    assert cli("diff", str(example)).exit_code == 0
    compose = example / "stacks/qdrant/docker-compose.yml"
    compose.write_text(compose.read_text().replace("qdrant/qdrant:v1.12.4", "qdrant/qdrant:v1.13.0"))

    def new_ip(data: Any) -> None:
        data["lxc_configs"]["102"]["network_config"]["ip"] = "10.20.0.13/24"
    edit(example, "phoenix_lxc_configs.json", new_ip)

    for args in (("plan",), ("diff",), ("plan", "--format", "markdown")):
        result = cli(*args, str(example))
        assert result.exit_code == (2 if args == ("diff",) else 0), result.output
        lines = result.stdout.splitlines()
        assert "-    image: qdrant/qdrant:v1.12.4" in lines and "+    image: qdrant/qdrant:v1.13.0" in lines, args
        net = [line for line in lines if "10.20.0.13/24" in line]  # markdown: folded under `lxc/102 net0`
        assert net and "firewall=1" in net[0] and "..." not in net[0], (args, net)
        assert all(line == line.rstrip() for line in lines if not line.startswith("|")), args
    markdown = cli("plan", "--format", "markdown", str(example)).stdout
    assert "<details>" in markdown
