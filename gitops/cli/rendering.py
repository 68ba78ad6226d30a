"""Showing a plan in a terminal: a rich table for people. JSON is the plan's own `to_dict`; the summary
line and markdown (PR comments, `--format markdown`) are `gitops.planner.showing`'s, so the controller
and the forges use the same words.

Secrets are masked by the plan's own `to_dict` (`(secret)`); nothing here prints a raw param value
of a secret key. Used by `gitops.cli.planning`.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from gitops.planner.plan import Plan
from gitops.planner.showing import short, summary_line

_SYMBOL = {"create": "+", "clone": "+", "download-template": "+", "storage": "~", "update": "~", "resize": "~",
           "firewall": "~", "start": ">", "stop": "#", "restart": "@", "convert-to-template": "T",
           "snapshot": "S", "prune-snapshot": "-", "delete": "-", "register": "+", "deploy": "+", "redeploy": "~",
           "provision": "$", "host-config": "~"}


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
            changes = "\n".join(f"{c['field']}: {short(c['old'])} -> {short(c['new'])}" for c in a["changes"][:12])
            if len(a["changes"]) > 12:
                changes += f"\n... {len(a['changes']) - 12} more"
            notes = []
            snapshot = a["snapshot_first"]
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
