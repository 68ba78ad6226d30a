"""No module of the controller or the faces names a system, except the one registry file
(`gitops/controller/systems.py`, the `Convergence` port). Import-linter's contract forbids importing a
system's driver or planner rules there; this test checks the code's own names: identifiers, attributes,
functions, classes and imports. Prose (help texts, messages: "GitOps for Proxmox VE") and the settings'
documented field names (`settings.portainer_url`) are not code names and are allowed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2] / "gitops"
REGISTRY = ROOT / "controller" / "systems.py"
SYSTEMS = re.compile(r"proxmox|portainer|pve_paths|planner\.guests|drivers\.guests", re.IGNORECASE)
MODULES = sorted(p for folder in ("controller", "cli", "api") for p in (ROOT / folder).rglob("*.py") if p != REGISTRY)


def code_names(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute) and not ((isinstance(node.value, ast.Name) and node.value.id == "settings")
                                                       or (isinstance(node.value, ast.Attribute)
                                                       and node.value.attr == "settings")):
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.ImportFrom):
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.append((node.lineno, node.name))
        elif isinstance(node, ast.arg):
            found.append((node.lineno, node.arg))
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_system_is_named_outside_the_registry(path: Path) -> None:
    named = [(line, name) for line, name in code_names(ast.parse(path.read_text())) if SYSTEMS.search(name)]
    assert named == [], f"{path.relative_to(ROOT)} names a system (move it behind gitops.controller.systems)"


def test_the_registry_is_where_the_systems_are_named() -> None:
    named = {name for _, name in code_names(ast.parse(REGISTRY.read_text())) if SYSTEMS.search(name)}
    assert any("drivers.proxmox" in n for n in named) and any("drivers.portainer" in n for n in named)
    assert len(MODULES) > 30  # the scan sees the controller, the CLI and the API
