"""Plans and validation reports as words: the one-line summary and markdown (PR comments, `plan
--format markdown`, notifications).

Pure, so the CLI, the controller and the forges/notification work all show the same thing. Secrets
are masked by the plan's own `to_dict` (`(secret)`); nothing here reads a raw param value. The rich
table for terminals stays in `gitops.cli.rendering`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from gitops.config.problems import Report
from gitops.planner.plan import Plan

MAX_VALUE = 60  # longer values are folded (markdown `<details>`), never cut


def short(value: Any) -> str:
    """A value on one line, whole: plans never cut a value (a cut hides what changed)."""
    text = "(none)" if value is None else (value if isinstance(value, str) else json.dumps(value))
    return text.replace("\n", " ")


def summary_line(plan: Plan | Mapping[str, Any]) -> str:
    """`Plan: 3 actions (1 create, 2 update).` or `No changes. ...`; of a plan, or of a plan as stored
    (`Plan.to_dict()`, e.g. a revision's plan read from the ledger)."""
    data = plan.to_dict() if isinstance(plan, Plan) else plan
    actions, errors, pending = data.get("actions", []), data.get("errors", []), data.get("pending", [])
    assumed = data.get("assumed", "")
    counts: dict[str, int] = {}
    for a in actions:
        counts[a["action"]] = counts.get(a["action"], 0) + 1
    if not actions and not errors:
        line = (f"No changes against {assumed}: nothing live was read." if assumed
                else "No changes. Live state matches the config.")
        if pending:
            line += f" {len(pending)} guests have changes waiting for a restart: {', '.join(pending)}."
        return line
    parts = [f"{n} {k}" for k, n in sorted(counts.items())]
    line = f"Plan: {len(actions)} actions ({', '.join(parts) or 'none'})"
    if errors:
        line += f", {len(errors)} errors"
    if assumed:
        return line + "; nothing live was read."
    return line + "."


def plan_markdown(plan: Plan | Mapping[str, Any], title: str = "Phoenix GitOps plan") -> str:
    """The plan (or a plan as stored, `Plan.to_dict()`) as a markdown section: summary, a table of
    actions, errors and warnings."""
    data = plan.to_dict() if isinstance(plan, Plan) else plan
    lines = [f"### {title}", "", summary_line(data), ""]
    if data.get("actions"):
        lines += ["| # | target | action | changes |", "|---|---|---|---|"]
        folded: list[str] = []
        for i, a in enumerate(data["actions"], 1):
            shown = []
            for c in a["changes"]:
                if len(short(c["old"])) + len(short(c["new"])) > 2 * MAX_VALUE:
                    shown.append(f"`{c['field']}`: see below")
                    folded += _folded(f"{a['target']} {c['field']}",
                                      [f"- {_md(c['old'])}", f"+ {_md(c['new'])}"])
                else:
                    shown.append(f"`{c['field']}`: {_md(c['old'])} → {_md(c['new'])}")
                if c.get("diff"):
                    fence = _fence(c["diff"])
                    folded += _folded(f"{a['target']} {c['field']} (diff)", [f"{fence}diff", c["diff"], fence])
            flags = (" **restart**" if a.get("restart_required") else "") + (
                " **destroys data**" if a.get("destructive") else "")
            lines.append(f"| {i} | `{a['target']}` | {a['action']}{flags} | {'<br>'.join(shown)} |")
        lines.append("")
        lines += folded
    for p in data.get("errors", []):
        lines.append(f"- :x: `{p['target']}`: {p['message']} (`{p['code']}`)")
    for p in data.get("warnings", []):
        lines.append(f"- :warning: `{p['target']}`: {p['message']} (`{p['code']}`)")
    return "\n".join(lines) + "\n"


def validation_markdown(report: Report, title: str = "Phoenix GitOps validation") -> str:
    """A validation report as a markdown section: verdict, then each problem with file, line and path."""
    verdict = "valid" if report.valid else "**invalid**"
    lines = [f"### {title}", "", f"The config is {verdict}: {len(report.errors)} errors, "
             f"{len(report.warnings)} warnings.", ""]
    for p, mark in [*((p, ":x:") for p in report.errors), *((p, ":warning:") for p in report.warnings)]:
        item = p.to_dict()
        where = f"{item['file']}:{item['line']}:{item['column']}" if item.get("line") else str(item["file"])
        lines.append(f"- {mark} `{where}` `{item['path']}`: {item['message']} (`{item['code']}`)")
    return "\n".join(lines) + "\n"


def _folded(summary: str, body: list[str]) -> list[str]:
    """A long value or a diff, folded under `<details>` so the comment stays readable and nothing is cut."""
    return ["<details>", f"<summary><code>{summary}</code></summary>", "", *body, "", "</details>", ""]


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in `text` (a script's own ``` line cannot end it)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _md(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return "`" + short(value).replace("|", "\\|") + "`"
