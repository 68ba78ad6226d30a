"""A stack's image tag change shows the changed line: in the plan (JSON, text without a terminal, markdown
for PR comments), from a plan made against the simulated Portainer over HTTP."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from gitops.cli import rendering
from gitops.planner.showing import plan_markdown
from tests.portainer.conftest import RecordingClient
from tests.portainer.support import example_copy, plan, secrets
from tests.portainer.test_stacks import converge


def test_an_image_tag_change_shows_the_changed_line(client: RecordingClient, tmp_path: Path) -> None:
    config = example_copy(tmp_path)
    converge(client, config)
    compose = config / "stacks/qdrant/docker-compose.yml"
    text = compose.read_text()
    old_line = next(line for line in text.splitlines() if "image:" in line)
    new_line = old_line.rsplit(":", 1)[0] + ":v1.99.0"
    compose.write_text(text.replace(old_line, new_line))

    changed = plan(client, config, secrets())
    [action] = [a for a in changed.to_dict()["actions"] if a["target"].startswith("stack/qdrant")]
    [change] = [c for c in action["changes"] if c["field"] == "compose"]
    assert f"-{old_line}" in change["diff"].splitlines() and f"+{new_line}" in change["diff"].splitlines()

    out = io.StringIO()
    rendering.print_text(changed, Console(file=out, force_terminal=False, width=40))
    lines = out.getvalue().splitlines()
    assert f"+{new_line}" in lines and f"-{old_line}" in lines  # whole lines, not wrapped at 40 columns
    assert all(line == line.rstrip() for line in lines)

    markdown = plan_markdown(changed)
    assert "<details>" in markdown and f"+{new_line}" in markdown.splitlines()
