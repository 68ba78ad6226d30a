"""Showing a plan and an apply result: rich tables for people, JSON for machines, markdown for PR comments.

Secrets are masked by the plan's own `to_dict` (`(secret)`); nothing here prints a raw param value
of a secret key. Used by `gitops.cli.planning` and by the controller's PR comments.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from gitops.planner.plan import Plan

_MAX_VALUE = 60
_SYMBOL = {"create": "+", "clone": "+", "download-template": "+", "storage": "~", "update": "~", "resize": "~",
           "firewall": "~", "start": ">", "stop": "#", "restart": "@", "convert-to-template": "T",
           "snapshot": "S", "prune-snapshot": "-", "delete": "-"}


def _short(value: Any) -> str:
    text = "(none)" if value is None else (value if isinstance(value, str) else json.dumps(value))
    text = text.replace("\n", " ")
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."


def summary_line(plan: Plan) -> str:
    counts: dict[str, int] = {}
    for a in plan.actions:
        counts[a.action] = counts.get(a.action, 0) + 1
    if not plan.actions and not plan.errors:
        line = "No changes. Live state matches the config."
        if plan.pending:
            line += f" {len(plan.pending)} guests have changes waiting for a restart: {', '.join(plan.pending)}."
        return line
    parts = [f"{n} {k}" for k, n in sorted(counts.items())]
    line = f"Plan: {len(plan.actions)} actions ({', '.join(parts) or 'none'})"
    if plan.errors:
        line += f", {len(plan.errors)} errors"
    return line + "."


def print_text(plan: Plan, console: Console) -> None:
    data = plan.to_dict()
    if data["actions"]:
        table = Table(title="Plan", show_lines=False, expand=False)
        table.add_column("#", justify="right")
        table.add_column("target")
        table.add_column("action")
        table.add_column("changes")
        table.add_column("notes")
        for i, a in enumerate(data["actions"], 1):
            changes = "\n".join(f"{c['field']}: {_short(c['old'])} -> {_short(c['new'])}" for c in a["changes"][:12])
            if len(a["changes"]) > 12:
                changes += f"\n... {len(a['changes']) - 12} more"
            notes = []
            snapshot = next((c["params"].get("snapname") for c in a["calls"]
                             if c["method"] == "POST" and c["path"].endswith("/snapshot")), None)
            if snapshot:
                notes.append(f"snapshot {snapshot} first")
            if a["restart_required"]:
                notes.append("restart required")
            if a["destructive"]:
                notes.append("[bold red]DESTROYS DATA[/]")
            if a["depends_on"]:
                notes.append("after " + ", ".join(a["depends_on"][:4]) + ("..." if len(a["depends_on"]) > 4 else ""))
            table.add_row(str(i), a["target"], f"{_SYMBOL.get(a['action'], '')} {a['action']}", changes,
                          "\n".join(notes))
        console.print(table)
    for p in data["errors"]:
        console.print(f"[bold red]error[/] {p['target']}: {p['message']} [{p['code']}]", highlight=False)
    for p in data["warnings"]:
        console.print(f"[yellow]warning[/] {p['target']}: {p['message']} [{p['code']}]", highlight=False)
    console.print(summary_line(plan), highlight=False)


def markdown(plan: Plan, title: str = "Phoenix GitOps plan") -> str:
    data = plan.to_dict()
    lines = [f"### {title}", "", summary_line(plan), ""]
    if data["actions"]:
        lines += ["| # | target | action | changes |", "|---|---|---|---|"]
        for i, a in enumerate(data["actions"], 1):
            changes = "<br>".join(
                f"`{c['field']}`: {_md(c['old'])} → {_md(c['new'])}" for c in a["changes"][:20]
            )
            flags = (" **restart**" if a["restart_required"] else "") + (
                " **destroys data**" if a["destructive"] else "")
            lines.append(f"| {i} | `{a['target']}` | {a['action']}{flags} | {changes} |")
        lines.append("")
    for p in data["errors"]:
        lines.append(f"- :x: `{p['target']}`: {p['message']} (`{p['code']}`)")
    for p in data["warnings"]:
        lines.append(f"- :warning: `{p['target']}`: {p['message']} (`{p['code']}`)")
    return "\n".join(lines) + "\n"


def _md(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return "`" + _short(value).replace("|", "\\|") + "`"
