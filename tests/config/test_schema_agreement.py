"""The published JSON Schemas (what `phoenix-gitops schema` writes) and the validator agree: a file valid by
its schema loads without a problem (only cross-file and semantic checks, which no schema expresses, may
still object), `x-*` is a free field of an object and an ordinary key of a map to both, and a
`shared_volumes` entry is a firewall to both only when it has no `host_path` and a firewall key.

Files are drawn from the schemas by schemathesis' JSON Schema generator (each schema as the body of
one operation of a small OpenAPI document, its `$defs` as the document's components): the project's
fuzzer of the API, maintained, where hypothesis-jsonschema 0.23 (its last release, 2024) no longer runs
on the Hypothesis this project uses. The property runs twice per file: with a fixed seed (the same files
every run) and with a seed hypothesis picks (new files each run; a failure prints how to reproduce it).
"""

from __future__ import annotations

import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from gitops.config import hostoptions
from gitops.config.estate import CONFIG_FILES, HYPERVISOR_FILE, STACKS_FILE, VM_FILE
from gitops.config.loading import load_estate
from gitops.config.schema import json_schema
from gitops.config.validation import validate_directory
from tests.config.test_checks import combine, put, write_mutated

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
FIXED_SEED = 20
LIMITS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                         HealthCheck.filter_too_much])


@cache
def strategy(name: str) -> st.SearchStrategy[Any]:
    """Files valid by `name`'s published schema (what `phoenix-gitops schema` writes)."""
    schema = json.loads(json.dumps(json_schema(name)).replace('"#/$defs/', '"#/components/schemas/'))
    components = schema.pop("$defs", {})
    schema.pop("$schema", None)
    document = {"openapi": "3.1.0", "info": {"title": name, "version": "1"}, "components": {"schemas": components},
                "paths": {"/file": {"post": {
                    "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
                    "responses": {"200": {"description": "loaded"}}}}}}
    operation = schemathesis.openapi.from_dict(document)["/file"]["POST"]
    return operation.as_strategy().map(lambda case: case.body)


def assert_loads(name: str, document: Any) -> None:
    """The model stage (what the schema describes) accepts `document` as file `name`."""
    jsonschema.Draft202012Validator(json_schema(name)).validate(document)  # the generator's own claim
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / name).write_text(json.dumps(document), encoding="utf-8")
        _, report = load_estate(folder)
    # Raw host option lines (lxc_options, pct_options, qm_options) are parsed at the model stage: their
    # syntax, fstab mount entries and control characters by Unicode category are more than a JSON Schema
    # pattern states, so the schema declares them as strings and only those codes may differ.
    problems = [str(p) for p in report.problems if p.file == name and p.code not in hostoptions.CODES]
    assert problems == [], f"valid by the schema, refused by the validator: {problems}\n{json.dumps(document)[:2000]}"


@pytest.mark.parametrize("name", CONFIG_FILES)
@seed(FIXED_SEED)
@LIMITS
@given(data=st.data())
def test_a_schema_valid_file_loads_fixed_seed(name: str, data: st.DataObject) -> None:
    assert_loads(name, data.draw(strategy(name)))


@pytest.mark.parametrize("name", CONFIG_FILES)
@LIMITS
@given(data=st.data())
def test_a_schema_valid_file_loads_random_seed(name: str, data: st.DataObject) -> None:
    assert_loads(name, data.draw(strategy(name)))


def schema_errors(name: str, document: Any) -> list[str]:
    return [e.message for e in jsonschema.Draft202012Validator(json_schema(name)).iter_errors(document)]


@pytest.mark.parametrize(("entry", "valid"), [
    ({}, False),                                    # a volume without its host_path
    ({"extra": 1}, False),
    ({"host_path": "/srv/data"}, True),             # a volume
    ({"enabled": True}, True),                      # the older layout's firewall
    ({"host_path": "/srv/data", "enabled": True}, False),  # a volume with a firewall key
])
def test_shared_volume_entries_are_judged_alike(tmp_path: Path, entry: dict[str, Any], valid: bool) -> None:
    document = {"shared_volumes": {"extra": entry}}
    assert (schema_errors(HYPERVISOR_FILE, document) == []) is valid
    (tmp_path / HYPERVISOR_FILE).write_text(json.dumps(document), encoding="utf-8")
    _, report = load_estate(tmp_path)
    assert ([p for p in report.problems if p.file == HYPERVISOR_FILE] == []) is valid


def test_a_stack_named_x_something_is_a_stack(example_dir: Path) -> None:
    """Map keys are names: a stack `x-web` that a VM deploys is found, not dropped as an extension."""
    stacks = json.loads((example_dir / STACKS_FILE).read_text())
    vms = json.loads((example_dir / VM_FILE).read_text())
    vm = next(i for i, v in enumerate(vms["vms"]) if v.get("docker_stacks"))
    deployed = vms["vms"][vm]["docker_stacks"][0]
    name = deployed if isinstance(deployed, str) else deployed["name"]
    write_mutated(example_dir, combine(
        put("stacks", "docker_stacks", f"x-{name}", value=stacks["docker_stacks"][name]),
        put("vm", "vms", vm, "docker_stacks", 0, value=f"x-{name}" if isinstance(deployed, str)
            else {**deployed, "name": f"x-{name}"}),
    ))
    assert schema_errors(STACKS_FILE, json.loads((example_dir / STACKS_FILE).read_text())) == []
    estate, report = validate_directory(example_dir)
    assert [p.code for p in report.errors] == []
    assert f"x-{name}" in estate.stacks.docker_stacks


def test_a_guest_keyed_x_something_is_refused_by_both(example_dir: Path) -> None:
    """A guest's key is its id: `x-101` is not one, to the schema and to the validator (it was silently
    left unmanaged)."""
    lxc = json.loads((example_dir / "phoenix_lxc_configs.json").read_text())
    first = next(iter(lxc["lxc_configs"]))
    write_mutated(example_dir, put("lxc", "lxc_configs", f"x-{first}", value=lxc["lxc_configs"][first]))
    document = json.loads((example_dir / "phoenix_lxc_configs.json").read_text())
    _, report = validate_directory(example_dir)
    assert report.errors, "a guest keyed x-... must not pass silently"
    assert any(f"x-{first}" in p.to_dict()["path"] for p in report.errors), [str(p) for p in report.errors]
    assert [p.code for p in report.errors] == ["guest-id-invalid"]
    assert schema_errors("phoenix_lxc_configs.json", document) != []
    names = jsonschema.Draft202012Validator(
        json_schema("phoenix_lxc_configs.json")["properties"]["lxc_configs"]["propertyNames"])
    for key, valid in (("101", True), ("0140", True), ("999999999", True), ("99", False), ("1000000000", False),
                       ("x-101", False), ("１０１", False)):
        assert names.is_valid(key) is valid, key
