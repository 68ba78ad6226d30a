"""Stack placement and the stack fields the controller does not converge: one edit of the example at a time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitops.config.validation import validate_directory

VM = "phoenix_vm_configs.json"
STACKS = "phoenix_stacks_config.json"
Edit = Callable[[Path, str, Callable[[Any], Any]], None]


def found(directory: Path) -> list[tuple[str, str, str]]:
    _, report = validate_directory(directory)
    return [(p.severity, p.code, ".".join(map(str, p.path))) for p in report.problems]


def git_stack(data: Any) -> None:
    data["docker_stacks"]["webapp"]["git_url"] = "https://git.example.internal/team/webapp.git"


CASES: list[tuple[str, str, Callable[[Any], Any], tuple[str, str, str]]] = [
    ("no portainer on the VM", VM, lambda d: d["vms"][2].__setitem__("portainer_role", None),
     ("error", "stack-placement-invalid", "vms.2.docker_stacks.0")),
    ("one stack twice on one environment", VM, lambda d: d["vms"][2]["docker_stacks"].append("qdrant_service"),
     ("error", "stack-placement-duplicate", "vms.2.docker_stacks.2")),
    ("two VMs provide one environment", VM, lambda d: d["vms"][1].__setitem__("portainer_environment_name",
                                                                              "docker-agent"),
     ("error", "environment-duplicate", "vms.2.portainer_environment_name")),
    ("a variable set twice", STACKS,
     lambda d: d["docker_stacks"]["webapp"]["environments"]["staging"]["variables"].append(
         {"name": "API_PORT", "value": "1"}),
     ("error", "stack-variable-invalid", "docker_stacks.webapp.environments.staging.variables.3.name")),
    ("the controller's marker", STACKS,
     lambda d: d["docker_stacks"]["webapp"]["environments"]["staging"]["variables"].append(
         {"name": "PHOENIX_GITOPS_STACK", "value": "x"}),
     ("error", "stack-variable-invalid", "docker_stacks.webapp.environments.staging.variables.3.name")),
    ("nginx_proxy is not converged", STACKS,
     lambda d: d["docker_stacks"]["qdrant_service"].__setitem__("nginx_proxy", {"hostname": "q.example"}),
     ("warning", "unused-field", "docker_stacks.qdrant_service.nginx_proxy")),
    ("files of a git stack", STACKS, git_stack,
     ("warning", "unused-field", "docker_stacks.webapp.environments.production.files")),
    ("git_ref without git_url", STACKS, lambda d: d["docker_stacks"]["qdrant_service"].__setitem__("git_ref", "v1"),
     ("warning", "unused-field", "docker_stacks.qdrant_service.git_ref")),
]


@pytest.mark.parametrize(("file", "change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_stack_problem(example_dir: Path, edit_json: Edit, file: str, change: Callable[[Any], Any],
                       expected: tuple[str, str, str]) -> None:
    assert found(example_dir) == []
    edit_json(example_dir, file, change)
    assert expected in found(example_dir)


def test_two_stacks_that_portainer_would_name_alike(example_dir: Path, edit_json: Edit) -> None:
    # `qdrant` in environment `service-production` and `qdrant-service` in `production`: both
    # `qdrant-service-production` in Portainer.
    def add(data: Any) -> None:
        data["docker_stacks"]["qdrant"] = {"compose_file_path": "stacks/qdrant/docker-compose.yml",
                                           "environments": {"service-production": {}}}
        data["docker_stacks"]["qdrant-service"] = {"compose_file_path": "stacks/qdrant/docker-compose.yml",
                                                   "environments": {"production": {}}}
    edit_json(example_dir, STACKS, add)
    edit_json(example_dir, VM, lambda d: d["vms"][2]["docker_stacks"].extend(
        [{"name": "qdrant", "environment": "service-production"}, "qdrant-service"]))
    assert found(example_dir) == [("error", "stack-placement-duplicate", "vms.2.docker_stacks.3")]
