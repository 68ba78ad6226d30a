"""Showing a plan in a terminal: a rich table for people. JSON is the plan's own `to_dict`; the summary
line and markdown (PR comments, `--format markdown`) are `gitops.planner.showing`'s, so the controller
and the forges use the same words.

Secrets are masked by the plan's own `to_dict` (`(secret)`); nothing here prints a raw param value
of a secret key. Used by `gitops.cli.planning`.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gitops.planner.plan import Plan
from gitops.planner.showing import short, summary_line

_SYMBOL = {"create": "+", "clone": "+", "download-template": "+", "storage": "~", "update": "~", "resize": "~",
           "firewall": "~", "start": ">", "stop": "#", "restart": "@", "convert-to-template": "T",
           "snapshot": "S", "prune-snapshot": "-", "delete": "-", "register": "+", "deploy": "+", "redeploy": "~",
           "provision": "$", "host-config": "~", "backup": "B"}


def print_text(plan: Plan, console: Console) -> None:
    """On a terminal a table (values whole, wrapped to the terminal); otherwise one line per change, never
    wrapped, so `grep` finds `FILE:LINE` and values. Files and scripts follow as unified diffs."""
    data = plan.to_dict()
    if data["actions"] and console.is_terminal:
        table = Table(title="Plan", show_lines=False, expand=False)
        table.add_column("#", justify="right")
        table.add_column("target")
        table.add_column("action")
        table.add_column("changes", overflow="fold")
        table.add_column("notes")
        for i, a in enumerate(data["actions"], 1):
            changes = "\n".join(f"{c['field']}: {short(c['old'])} -> {short(c['new'])}" for c in a["changes"])
            table.add_row(str(i), a["target"], f"{_SYMBOL.get(a['action'], '')} {a['action']}", escape(changes),
                          "\n".join(_notes(a)))
        console.print(table)
    elif data["actions"]:
        for i, a in enumerate(data["actions"], 1):
            notes = "; ".join(_notes(a))
            head = f"{i}. {_SYMBOL.get(a['action'], '')} {a['target']} {a['action']}"
            _plain(console, head + (f" ({notes})" if notes else ""))
            for c in a["changes"]:
                _plain(console, f"    {c['field']}: {short(c['old'])} -> {short(c['new'])}")
    for a in data["actions"]:
        for c in a["changes"]:
            if c.get("diff"):
                print_diff(f"{a['target']} {c['field']}", c["diff"], console)
    for p in data["errors"]:
        console.print(f"[bold red]error[/] {escape(p['target'])}: {escape(p['message'])} [{p['code']}]",
                      highlight=False, soft_wrap=True)
    for p in data["warnings"]:
        console.print(f"[yellow]warning[/] {escape(p['target'])}: {escape(p['message'])} [{p['code']}]",
                      highlight=False, soft_wrap=True)
    console.print(summary_line(plan), highlight=False, soft_wrap=True)


def print_diff(title: str, diff: str, console: Console) -> None:
    """A unified diff, coloured on a terminal, plain (never wrapped) otherwise."""
    if not console.is_terminal:
        _plain(console, f"--- {title}")
        for line in diff.splitlines():
            _plain(console, line)
        return
    console.print(f"[bold]{escape(title)}[/]", highlight=False, soft_wrap=True)
    colours = {"+": "green", "-": "red", "@": "cyan"}
    for line in diff.splitlines():
        colour = colours.get(line[:1]) if not line.startswith(("+++", "---")) else "bold"
        console.print(f"[{colour}]{escape(line)}[/]" if colour else escape(line), highlight=False, soft_wrap=True)


def _notes(a: dict[str, Any]) -> list[str]:
    notes = []
    if a["snapshot_first"]:
        notes.append(f"snapshot {a['snapshot_first']} first")
    if a["restart_required"]:
        notes.append("restart required")
    if a["destructive"]:
        notes.append("DESTROYS DATA")
    if a["depends_on"]:
        notes.append("after " + ", ".join(a["depends_on"]))
    return notes


def _plain(console: Console, line: str) -> None:
    """A line as it is: no markup, no wrapping."""
    console.file.write(line + "\n")
