"""The command line as users and CI meet it: `validate`, `schema`, `config get|list`, run through the
real console script (exit codes, text and JSON output), and `--help` of every command via CliRunner.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from gitops.cli.main import app
from gitops.config.estate import CONFIG_FILES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs-example"
CLI = str(Path(sys.executable).with_name("phoenix-gitops"))
FILES = CONFIG_FILES  # the four config files, in the package's order
LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<path>[^:]+): (?P<message>.+) "
                  r"\[(?P<code>[a-z-]+)\]$")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    target = tmp_path / "estate"
    target.mkdir()
    for name in FILES:
        shutil.copyfile(EXAMPLE / name, target / name)
    return target


def edit(directory: Path, file: str, change: Any) -> None:
    path = directory / file
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=4), encoding="utf-8")


def break_two_things(directory: Path) -> None:
    edit(directory, "phoenix_lxc_configs.json", lambda d: d["lxc_configs"]["101"].update(clone_from_ctid="120"))
    edit(directory, "phoenix_vm_configs.json", lambda d: d["vms"][2]["docker_stacks"].append("grafana"))
    edit(directory, "phoenix_stacks_config.json",
         lambda d: d["docker_stacks"]["webapp"]["environments"]["production"]["variables"][1].update(value="pw1"))


# --- validate ------------------------------------------------------------------------------------------

def test_validate_the_example_text() -> None:
    done = run("validate", str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr.strip() == f"{EXAMPLE}: valid: 0 errors, 0 warnings"


def test_validate_invalid_text(estate: Path) -> None:
    break_two_things(estate)
    done = run("validate", str(estate))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    parsed = [LINE.match(line.removeprefix(f"{estate}/")) for line in lines]
    assert all(parsed), lines
    got = [(m["file"], m["path"], m["code"]) for m in parsed if m]
    assert got == [
        ("phoenix_lxc_configs.json", "lxc_configs.101.clone_from_ctid", "clone-source-not-template"),
        ("phoenix_vm_configs.json", "vms.2.docker_stacks.2", "stack-missing"),
        ("phoenix_stacks_config.json", "docker_stacks.webapp.environments.production.variables.1.value",
         "plaintext-secret"),
    ]
    assert lines[2].split(": ", 2)[2].startswith("warning: ")  # warnings are marked, after the errors
    first = parsed[0]
    assert first is not None
    text = (estate / first["file"]).read_text(encoding="utf-8").splitlines()[int(first["line"]) - 1]
    assert text[int(first["column"]) - 1:].startswith('"clone_from_ctid"')
    assert "CT 120 is not a template" in first["message"]
    assert "INVALID: 2 errors, 1 warnings" in done.stderr


def test_validate_invalid_json(estate: Path) -> None:
    break_two_things(estate)
    done = run("validate", str(estate), "--format", "json")
    assert done.returncode == 1
    out = json.loads(done.stdout)
    assert set(out) == {"valid", "errors", "warnings"} and out["valid"] is False
    assert [e["code"] for e in out["errors"]] == ["clone-source-not-template", "stack-missing"]
    assert [w["code"] for w in out["warnings"]] == ["plaintext-secret"]
    for item in out["errors"] + out["warnings"]:
        assert set(item) == {"file", "line", "column", "path", "code", "message"}
        assert item["file"] in FILES and item["line"] >= 1 and item["column"] >= 1
    assert out["errors"][0]["path"] == "lxc_configs.101.clone_from_ctid"
    assert "pw1" not in done.stdout  # a secret's value is never printed


def test_validate_warnings_only_is_exit_0(estate: Path) -> None:
    edit(estate, "phoenix_hypervisor_config.json", lambda d: d["portainer_api"].update(admin_password="pw"))
    done = run("validate", str(estate), "-f", "json")
    assert done.returncode == 0
    out = json.loads(done.stdout)
    assert out["valid"] is True and out["errors"] == []
    assert [(w["path"], w["code"]) for w in out["warnings"]] == [("portainer_api.admin_password", "plaintext-secret")]


def test_validate_defaults_to_the_current_directory(estate: Path) -> None:
    edit(estate, "phoenix_vm_configs.json", lambda d: d["vms"][1].update(name="bad_name"))
    done = run("validate", cwd=estate)
    assert done.returncode == 1
    assert done.stdout.startswith("phoenix_vm_configs.json:")  # no directory prefix


def test_validate_broken_json_and_missing_file(estate: Path) -> None:
    (estate / "phoenix_lxc_configs.json").unlink()
    (estate / "phoenix_vm_configs.json").write_text('{\n  "vms": [\n    {"vmid": 1,}\n  ]\n}\n', encoding="utf-8")
    done = run("validate", str(estate), "--format", "json")
    assert done.returncode == 1
    errors = {e["code"]: e for e in json.loads(done.stdout)["errors"]}
    assert set(errors) == {"json-syntax", "file-missing"}
    assert (errors["json-syntax"]["file"], errors["json-syntax"]["line"], errors["json-syntax"]["column"]) == (
        "phoenix_vm_configs.json", 3, 16)
    assert errors["file-missing"]["file"] == "phoenix_lxc_configs.json"


@pytest.mark.parametrize("args", [
    ("validate", "/nonexistent/estate"),
    ("validate", str(EXAMPLE), "--format", "yaml"),
    ("validate", str(EXAMPLE), "--bogus"),
])
def test_validate_usage_errors_are_exit_2(args: tuple[str, ...]) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr


# --- schema ----------------------------------------------------------------------------------------------

TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def schema_errors(data: Any, node: dict[str, Any], root: dict[str, Any], path: str = "$") -> list[str]:
    """A small JSON Schema checker for the keywords pydantic emits (jsonschema is not installed):
    $ref, anyOf, type, enum, const, pattern, minimum/maximum, properties, required,
    additionalProperties, patternProperties, items."""
    if "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/$defs/"), ref
        return schema_errors(data, root["$defs"][ref.removeprefix("#/$defs/")], root, path)
    if "anyOf" in node:
        branches = [schema_errors(data, b, root, path) for b in node["anyOf"]]
        return [] if any(not b for b in branches) else [f"{path}: matches no branch: {branches}"]
    kind = node.get("type")
    if kind == "integer":
        ok = isinstance(data, int) and not isinstance(data, bool)
    elif kind == "number":
        ok = isinstance(data, int | float) and not isinstance(data, bool)
    else:
        ok = kind is None or isinstance(data, TYPES[kind])
    if not ok:
        return [f"{path}: {data!r} is not {kind}"]
    errors: list[str] = []
    if "enum" in node and data not in node["enum"]:
        errors.append(f"{path}: {data!r} not in {node['enum']}")
    if "const" in node and data != node["const"]:
        errors.append(f"{path}: {data!r} is not {node['const']!r}")
    if isinstance(data, str) and "pattern" in node and not re.search(node["pattern"], data):
        errors.append(f"{path}: {data!r} does not match {node['pattern']}")
    number = isinstance(data, int | float) and not isinstance(data, bool)
    if number and not node.get("minimum", data) <= data <= node.get("maximum", data):
        errors.append(f"{path}: {data} out of range")
    if isinstance(data, dict):
        props = node.get("properties", {})
        errors += [f"{path}: '{k}' is required" for k in node.get("required", []) if k not in data]
        for key, value in data.items():
            patterns = [s for p, s in node.get("patternProperties", {}).items() if re.search(p, key)]
            extra = node.get("additionalProperties", True)
            if key in props:
                errors += schema_errors(value, props[key], root, f"{path}.{key}")
            elif patterns:
                for s in patterns:
                    errors += schema_errors(value, s, root, f"{path}.{key}")
            elif extra is False:
                errors.append(f"{path}: '{key}' is not allowed")
            elif isinstance(extra, dict):
                errors += schema_errors(value, extra, root, f"{path}.{key}")
    if isinstance(data, list) and "items" in node:
        for i, item in enumerate(data):
            errors += schema_errors(item, node["items"], root, f"{path}[{i}]")
    return errors


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("schemas")
    done = run("schema", "--out", str(out))
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(f.replace(".json", ".schema.json") for f in FILES)
    assert sorted(Path(line).name for line in done.stdout.split()) == written  # it says what it wrote
    return {f: json.loads((out / f.replace(".json", ".schema.json")).read_text(encoding="utf-8")) for f in FILES}


@pytest.mark.parametrize("file", FILES)
def test_schema_is_a_json_schema(schemas: dict[str, dict[str, Any]], file: str) -> None:
    schema = schemas[file]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == file and schema["type"] == "object"
    assert schema["additionalProperties"] is False and "^x-" in schema["patternProperties"]
    for ref in _refs(schema):
        assert ref.removeprefix("#/$defs/") in schema["$defs"], ref
    for name, definition in schema["$defs"].items():
        if definition.get("type") == "object" and definition.get("additionalProperties") is False:
            assert "^x-" in definition["patternProperties"], name


@pytest.mark.parametrize("file", FILES)
def test_example_and_upstream_validate_against_the_schema(schemas: dict[str, dict[str, Any]], file: str) -> None:
    schema = schemas[file]
    assert schema_errors(json.loads((EXAMPLE / file).read_text(encoding="utf-8")), schema, schema) == []
    upstream = Path(__file__).resolve().parents[1] / "data" / "phoenix-upstream" / file
    assert schema_errors(json.loads(upstream.read_text(encoding="utf-8")), schema, schema) == []


def test_the_schema_rejects_what_validate_rejects(schemas: dict[str, dict[str, Any]]) -> None:
    schema = schemas["phoenix_lxc_configs.json"]
    data = json.loads((EXAMPLE / "phoenix_lxc_configs.json").read_text(encoding="utf-8"))
    data["lxc_configs"]["101"]["memroy_mb"] = 1  # typo
    data["lxc_configs"]["102"]["cores"] = "two"  # wrong type
    del data["lxc_configs"]["120"]["name"]  # required
    data["lxc_configs"]["110"]["x-anything"] = {"free": True}  # allowed
    errors = schema_errors(data, schema, schema)
    assert len(errors) == 3, errors
    assert any("memroy_mb" in e for e in errors) and any("'name' is required" in e for e in errors)


def test_schema_without_out_prints_all_four() -> None:
    done = run("schema")
    assert done.returncode == 0
    assert sorted(json.loads(done.stdout)) == sorted(FILES)


# --- config get | list ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "expected"), [
    (("get", "lxc", "101", "network_config.ip"), "10.20.0.11/24"),
    (("get", "lxc", "120", "pve_features"), {"nesting": True}),  # from proxmox_defaults
    (("get", "vm", "1001", "storage_pool"), "tank-vm-disks"),  # from vm_defaults
    (("get", "vm", "1002", "dependency_chain"), [900, 102, 101, 9000, 1001, 1002]),
    (("get", "lxc", "110", "clone_chain"), [110, 901, 900]),
    (("get", "stack", "webapp", "used_by"), [1002]),
    (("get", "stack", "qdrant_service", "compose_file_path"), "stacks/qdrant/docker-compose.yml"),
    (("get", "hypervisor", "network", "interfaces.gateway"), "10.20.0.1"),
    (("get", "hypervisor", "proxmox_defaults.zfs_lxc_pool"), "tank/lxc-disks"),
    (("list", "stack"), ["portainer_service", "qdrant_service", "webapp"]),
    (("list", "vm"), [{"id": 9000, "name": "ubuntu-2404-cloud-template", "template": True},
                      {"id": 1001, "name": "portainer", "template": False},
                      {"id": 1002, "name": "docker-agent", "template": False}]),
])
def test_config_queries_print_json(args: tuple[str, ...], expected: Any) -> None:
    done = run("config", *args, "-d", str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == expected


def test_config_get_whole_guest_and_list_lxc() -> None:
    ct = json.loads(run("config", "get", "lxc", "110", "--dir", str(EXAMPLE)).stdout)
    assert ct["id"] == 110 and ct["name"] == "ollama-gpu0" and ct["zfs_volumes"][0]["pool"] == "tank-models"
    assert ct["dependency_chain"] == [900, 102, 101, 901, 110]
    listed = json.loads(run("config", "list", "lxc", "-d", str(EXAMPLE)).stdout)
    assert [g["id"] for g in listed] == [900, 901, 101, 102, 110, 120]
    hyp = json.loads(run("config", "list", "hypervisor", "-d", str(EXAMPLE)).stdout)
    assert hyp["domain_name"] == "lab.example.internal" and hyp["$schema"].endswith(".schema.json")


def test_config_defaults_to_the_current_directory() -> None:
    done = run("config", "get", "vm", "9000", "is_template", cwd=EXAMPLE)
    assert done.returncode == 0 and json.loads(done.stdout) is True


@pytest.mark.parametrize("args", [
    ("get", "lxc", "999"),
    ("get", "vm", "101"),  # a container, asked for as a VM
    ("get", "lxc", "101", "no_such_field"),
    ("get", "stack", "grafana"),
    ("get", "hypervisor", "network.nope"),
])
def test_config_not_found_is_exit_1(args: tuple[str, ...]) -> None:
    done = run("config", *args, "-d", str(EXAMPLE))
    assert done.returncode == 1
    assert done.stdout == "" and done.stderr.startswith("error: ")


@pytest.mark.parametrize("args", [
    ("get", "planet", "1"),
    ("get", "lxc"),
    ("list",),
    ("list", "lxc", "--nope"),
    ("get", "lxc", "101", "-d", "/nonexistent/estate"),
])
def test_config_usage_errors_are_exit_2(args: tuple[str, ...]) -> None:
    done = run("config", *args)
    assert done.returncode == 2
    assert done.stdout == ""


def test_config_on_an_invalid_estate_says_why(estate: Path) -> None:
    break_two_things(estate)
    done = run("config", "get", "lxc", "102", "-d", str(estate))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "not a valid config (2 errors)" in done.stderr and "lxc_configs.101.clone_from_ctid" in done.stderr


# --- help ----------------------------------------------------------------------------------------------

def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group, as the words that invoke it (typer vendors its own click)."""
    out = [prefix]
    for name, command in (getattr(group, "commands", None) or {}).items():
        out += _commands(command, (*prefix, name))
    return out


# Every command of ARCHITECTURE.md's table.
COMMANDS = [(), ("validate",), ("schema",), ("config",), ("config", "get"), ("config", "list"), ("plan",),
            ("apply",), ("serve",), ("demo",), ("status",), ("resources",), ("history",), ("sync",), ("rollback",),
            ("suspend",), ("resume",)]


def test_every_command_exists() -> None:
    assert set(COMMANDS) <= set(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "phoenix-gitops")
def test_help_mentions_an_example(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    assert "phoenix-gitops" in result.output.split("Example:", 1)[1]


def test_help_via_the_console_script() -> None:
    done = run("validate", "--help")
    assert done.returncode == 0 and "Example: phoenix-gitops validate" in done.stdout
