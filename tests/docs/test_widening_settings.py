"""The README's "What a committer can do to the host" (issue 18, a must-hold) names every setting that
widens it, with what it grants: every field of the host policy, and every other setting marked as widening
(`gitops.settings.widening_settings`), so a new one cannot ship undocumented."""

from __future__ import annotations

import re
from pathlib import Path

from gitops.settings import HostPolicy, Settings, widening_settings

ROOT = Path(__file__).resolve().parents[2]
HEADING = "What a committer can do to the host"


def committer_section() -> str:
    """The section, where the README keeps it or links to it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    if f"## {HEADING}" in readme:
        return readme.split(f"## {HEADING}", 1)[1].split("\n## ", 1)[0]
    [link] = {m.group(1) for m in re.finditer(r"\]\(([^)#]+\.md)[^)]*\)[^\n]*" + HEADING[1:], readme, re.I)}
    text = (ROOT / link).read_text(encoding="utf-8")
    assert f"## {HEADING}" in text, link
    return text.split(f"## {HEADING}", 1)[1].split("\n## ", 1)[0]


def table_rows(section: str) -> dict[str, str]:
    """Each row of the section's settings table: every name in its first cell -> what it grants."""
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and not set(cells[0]) <= {"-", " "}:
            for name in re.findall(r"`([A-Za-z_.]+)`", cells[0]):
                rows[name] = cells[2]
    return rows


def test_every_widening_setting_is_named_with_what_it_grants() -> None:
    rows = table_rows(committer_section())
    names = widening_settings()
    assert {f"policy.{name}" for name in HostPolicy.model_fields} <= set(names)  # the whole policy, always
    missing = []
    for name in names:
        shown = name.removeprefix("policy.") if name.startswith("policy.") else f"PHOENIX_{name.upper()}"
        if len(rows.get(shown, "")) < 12:
            missing.append(shown)
    assert missing == []


def test_widening_settings_are_settings() -> None:
    for name in widening_settings():
        if name.startswith("policy."):
            assert name.removeprefix("policy.") in HostPolicy.model_fields
        else:
            assert name in Settings.model_fields
    assert {"provisioning", "git_max_file_bytes", "pr_reviews"} <= set(widening_settings())
