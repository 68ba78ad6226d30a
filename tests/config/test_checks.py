"""Every check, one mutation of configs-example at a time: the error's code, its JSON path, and that
its line:column lands on the right text of the file. Then several problems at once.

Each case copies configs-example, applies one small edit to the parsed JSON (a `Mutation`), writes it
back, runs `validate_directory`, and looks for the expected problem.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gitops.config.problems import Problem
from gitops.config.validation import validate_directory

HYP = "phoenix_hypervisor_config.json"
LXC = "phoenix_lxc_configs.json"
VM = "phoenix_vm_configs.json"
STACKS = "phoenix_stacks_config.json"
FILES = {"hyp": HYP, "lxc": LXC, "vm": VM, "stacks": STACKS}

Data = dict[str, Any]  # {"hyp": ..., "lxc": ..., "vm": ..., "stacks": ...}: the four parsed files
Mutation = Callable[[Data], None]


def _parent(data: Data, file: str, path: tuple[Any, ...]) -> Any:
    node = data[file]
    for part in path[:-1]:
        node = node[part]
    return node


def put(file: str, *path: Any, value: Any) -> Mutation:
    """Set the value at `path` (creating the last key if needed)."""

    def mutate(data: Data) -> None:
        _parent(data, file, path)[path[-1]] = value

    return mutate


def drop(file: str, *path: Any) -> Mutation:
    def mutate(data: Data) -> None:
        del _parent(data, file, path)[path[-1]]

    return mutate


def rename(file: str, *path: Any, to: str) -> Mutation:
    """Rename the key at `path`, keeping its value and its place."""

    def mutate(data: Data) -> None:
        parent = _parent(data, file, path)
        items = [(to if k == path[-1] else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)

    return mutate


def append(file: str, *path: Any, value: Any) -> Mutation:
    def mutate(data: Data) -> None:
        _parent(data, file, path)[path[-1]].append(value)

    return mutate


def combine(*mutations: Mutation) -> Mutation:
    def mutate(data: Data) -> None:
        for m in mutations:
            m(data)

    return mutate


def write_mutated(directory: Path, mutation: Mutation) -> None:
    data = {key: json.loads((directory / name).read_text(encoding="utf-8")) for key, name in FILES.items()}
    mutation(data)
    for key, name in FILES.items():
        (directory / name).write_text(json.dumps(data[key], indent=4, ensure_ascii=False) + "\n",
                                      encoding="utf-8")


@dataclass
class Case:
    id: str
    mutation: Mutation
    file: str
    code: str
    path: str
    at: str  # the text the problem's line:column must point at
    message: str = ""  # a part of the message
    also: frozenset[str] = field(default_factory=frozenset)  # other error codes this edit may cause

    def param(self) -> Any:
        return pytest.param(self, id=self.id)


LXC101_RULE = ("lxc_configs", "101", "firewall", "rules")
CASES = [
    # ids, clones, dependencies
    Case("duplicate-id-lxc-vm", put("vm", "vms", 2, "vmid", value=120), VM, "duplicate-id", "vms.2.vmid",
         '"vmid"', "guest id 120 is used twice"),
    Case("duplicate-id-within-vms",
         lambda d: d["vm"]["vms"].append({**d["vm"]["vms"][2], "network_config": {"ip": "dhcp"}}),
         VM, "duplicate-id", "vms.3.vmid", '"vmid"', "1002"),
    Case("guest-id-invalid", rename("lxc", "lxc_configs", "120", to="12x"), LXC, "guest-id-invalid",
         "lxc_configs.12x", '"12x"', "12x"),
    Case("clone-from-ctid-not-template", put("lxc", "lxc_configs", "110", "clone_from_ctid", value="120"), LXC,
         "clone-source-not-template", "lxc_configs.110.clone_from_ctid", '"clone_from_ctid"', "120"),
    Case("clone-from-vmid-not-template", put("vm", "vms", 2, "clone_from_vmid", value=1001), VM,
         "clone-source-not-template", "vms.2.clone_from_vmid", '"clone_from_vmid"', "1001"),
    Case("clone-from-other-kind", put("lxc", "lxc_configs", "120", "clone_from_ctid", value="9000"), LXC,
         "clone-source-kind", "lxc_configs.120.clone_from_ctid", '"clone_from_ctid"', "9000"),
    Case("template-missing", drop("lxc", "lxc_configs", "900", "template"), LXC, "template-missing",
         "lxc_configs.900", '"900"', "neither"),
    Case("dependency-missing-lxc", append("lxc", "lxc_configs", "101", "dependencies", value="555"), LXC,
         "dependency-missing", "lxc_configs.101.dependencies.1", '"555"', "guest 555 does not exist"),
    Case("dependency-missing-vm", put("vm", "vms", 2, "dependencies", value=["1001", "4242"]), VM,
         "dependency-missing", "vms.2.dependencies.1", '"4242"', "4242"),
    Case("dependency-cycle-lxc", put("lxc", "lxc_configs", "102", "dependencies", value=["101"]), LXC,
         "dependency-cycle", "lxc_configs.101", '"101"', "101 -> 102 -> 101"),
    Case("dependency-cycle-through-clone", put("vm", "vms", 0, "dependencies", value=["1001"]), VM,
         "dependency-cycle", "vms.1", "{", "1001 -> 9000 -> 1001"),
    Case("dependency-cycle-across-kinds", put("lxc", "lxc_configs", "102", "dependencies", value=["1002"]), LXC,
         "dependency-cycle", "lxc_configs.101", '"101"', "101 -> 102 -> 1002 -> 1001 -> 101"),
    Case("guest-id-not-ascii-digits", rename("lxc", "lxc_configs", "120", to="\u00b2"), LXC, "guest-id-invalid",
         "lxc_configs.\u00b2", '"\u00b2"'),
    Case("guest-id-arabic-digits", rename("lxc", "lxc_configs", "120", to="\u0661\u0662\u0660"), LXC,
         "guest-id-invalid", "lxc_configs.\u0661\u0662\u0660", '"\u0661'),
    # storages and stacks
    Case("stack-missing", put("vm", "vms", 1, "docker_stacks", value=["portainer_service", "grafana"]), VM,
         "stack-missing", "vms.1.docker_stacks.1", '"grafana"', "stack 'grafana'"),
    Case("stack-environment-missing",
         put("vm", "vms", 2, "docker_stacks", 1, value={"name": "webapp", "environment": "qa"}), VM,
         "stack-environment-missing", "vms.2.docker_stacks.1", "{", "no environment 'qa'"),
    # network
    Case("cidr-invalid-lxc", put("lxc", "lxc_configs", "120", "network_config", "ip", value="10.20.0.22/33"), LXC,
         "cidr-invalid", "lxc_configs.120.network_config.ip", '"ip"', "10.20.0.22/33"),
    Case("cidr-invalid-no-prefix", put("vm", "vms", 1, "network_config", "ip", value="10.20.0.31"), VM,
         "cidr-invalid", "vms.1.network_config.ip", '"ip"', "10.20.0.31"),
    Case("cidr-invalid-hypervisor", put("hyp", "network", "default_subnet", value="10.20.0.0/40"), HYP,
         "cidr-invalid", "network.default_subnet", '"default_subnet"', "10.20.0.0/40"),
    Case("gateway-outside-subnet", put("lxc", "lxc_configs", "120", "network_config", "gw", value="10.30.0.1"),
         LXC, "gateway-outside-subnet", "lxc_configs.120.network_config.gw", '"gw"', "10.30.0.1"),
    Case("gateway-outside-subnet-vm", put("vm", "vms", 2, "network_config", "gw", value="10.20.1.1"), VM,
         "gateway-outside-subnet", "vms.2.network_config.gw", '"gw"', "10.20.0.0/24"),
    Case("ip-duplicate-lxc", put("lxc", "lxc_configs", "120", "network_config", "ip", value="10.20.0.21/24"),
         LXC, "ip-duplicate", "lxc_configs.120.network_config.ip", '"ip"', "also given to CT 110"),
    Case("ip-duplicate-lxc-vm", put("vm", "vms", 1, "network_config", "ip", value="10.20.0.12/24"), VM,
         "ip-duplicate", "vms.1.network_config.ip", '"ip"', "CT 102"),
    Case("mac-duplicate", put("vm", "vms", 1, "network_config", "mac_address", value="02:00:00:14:00:0B"), VM,
         "mac-duplicate", "vms.1.network_config.mac_address", '"mac_address"', "CT 101"),
    Case("mac-invalid", put("lxc", "lxc_configs", "110", "mac_address", value="52:54:00:14:00"), LXC,
         "mac-invalid", "lxc_configs.110.mac_address", '"mac_address"', "52:54:00:14:00"),
    Case("mac-invalid-multicast", put("lxc", "lxc_configs", "101", "network_config", "hwaddr",
                                      value="01:00:5e:00:00:01"), LXC,
         "mac-invalid", "lxc_configs.101.network_config.hwaddr", '"hwaddr"', "multicast"),
    Case("hostname-invalid-lxc", put("lxc", "lxc_configs", "120", "name", value="build_runner"), LXC,
         "hostname-invalid", "lxc_configs.120.name", '"name"', "build_runner"),
    Case("hostname-invalid-vm", put("vm", "vms", 1, "name", value="-portainer"), VM,
         "hostname-invalid", "vms.1.name", '"name"', "-portainer"),
    Case("gpu-assignment-word", put("lxc", "lxc_configs", "110", "gpu_assignment", value="gpu0"), LXC,
         "gpu-assignment-invalid", "lxc_configs.110.gpu_assignment", '"gpu_assignment"', "gpu0"),
    Case("gpu-assignment-twice", put("lxc", "lxc_configs", "110", "gpu_assignment", value="0,0"), LXC,
         "gpu-assignment-invalid", "lxc_configs.110.gpu_assignment", '"gpu_assignment"', "twice"),
    Case("gpu-assignment-not-ascii", put("lxc", "lxc_configs", "110", "gpu_assignment", value="\u0661"), LXC,
         "gpu-assignment-invalid", "lxc_configs.110.gpu_assignment", '"gpu_assignment"'),
    # firewall
    Case("firewall-action", put("lxc", *LXC101_RULE, 0, "action", value="accept"), LXC, "firewall-action",
         "lxc_configs.101.firewall.rules.0.action", '"action"', "did you mean ACCEPT"),
    Case("firewall-type", put("vm", "vms", 1, "firewall", "rules", 1, "type", value="inbound"), VM,
         "firewall-type", "vms.1.firewall.rules.1.type", '"type"', "inbound"),
    Case("firewall-proto", put("lxc", *LXC101_RULE, 2, "proto", value="ping"), LXC, "firewall-proto",
         "lxc_configs.101.firewall.rules.2.proto", '"proto"', "ping"),
    Case("firewall-port-syntax", put("lxc", *LXC101_RULE, 0, "port", value="80-443"), LXC, "firewall-port",
         "lxc_configs.101.firewall.rules.0.port", '"port"', "80-443"),
    Case("firewall-port-range", put("vm", "vms", 2, "firewall", "rules", 0, "port", value="70000"), VM,
         "firewall-port", "vms.2.firewall.rules.0.port", '"port"', "outside 1-65535"),
    Case("firewall-port-without-proto", drop("lxc", *LXC101_RULE, 1, "proto"), LXC, "firewall-port",
         "lxc_configs.101.firewall.rules.1.port", '"port"', "needs `proto`"),
    Case("firewall-port-on-icmp", put("lxc", *LXC101_RULE, 2, "port", value="7"), LXC, "firewall-port",
         "lxc_configs.101.firewall.rules.2.port", '"port"', "has no ports"),
    Case("firewall-port-superscript", put("lxc", *LXC101_RULE, 0, "port", value="1:\u00b2"), LXC, "firewall-port",
         "lxc_configs.101.firewall.rules.0.port", '"port"'),
    Case("firewall-proto-superscript", put("lxc", *LXC101_RULE, 2, "proto", value="\u00b2"), LXC,
         "firewall-proto", "lxc_configs.101.firewall.rules.2.proto", '"proto"'),
    Case("firewall-address", put("hyp", "firewall", "global_firewall_rules", 0, "source", value="10.20.0.0/33"),
         HYP, "firewall-address", "firewall.global_firewall_rules.0.source", '"source"', "10.20.0.0/33"),
    Case("firewall-address-range", put("lxc", *LXC101_RULE, 1, "source", value="10.20.0.9-10.20.0.1"), LXC,
         "firewall-address", "lxc_configs.101.firewall.rules.1.source", '"source"'),
    Case("firewall-policy", put("hyp", "firewall", "default_input_policy", value="deny"), HYP, "firewall-policy",
         "firewall.default_input_policy", '"default_input_policy"', "deny"),
    # schema
    Case("unknown-field-guest", rename("lxc", "lxc_configs", "120", "memory_mb", to="memroy_mb"), LXC,
         "unknown-field", "lxc_configs.120.memroy_mb", '"memroy_mb"', "unknown field 'memroy_mb'"),
    Case("unknown-field-nested", put("vm", "vms", 1, "network_config", "gateway", value="10.20.0.1"), VM,
         "unknown-field", "vms.1.network_config.gateway", '"gateway"', "gateway"),
    Case("unknown-field-stacks", put("stacks", "docker_stacks", "webapp", "compose_file", value="x.yml"), STACKS,
         "unknown-field", "docker_stacks.webapp.compose_file", '"compose_file"', "compose_file",
         also=frozenset({"stack-missing"})),
    Case("unknown-field-top-level", put("hyp", "domian_name", value="lab"), HYP, "unknown-field",
         "domian_name", '"domian_name"'),
    Case("missing-field-lxc", drop("lxc", "lxc_configs", "120", "name"), LXC, "missing-field",
         "lxc_configs.120.name", '"120"', "required field 'name'"),
    Case("missing-field-vm", drop("vm", "vms", 2, "vmid"), VM, "missing-field", "vms.2.vmid", "{", "vmid"),
    Case("missing-field-stack", drop("stacks", "docker_stacks", "qdrant_service", "compose_file_path"), STACKS,
         "missing-field", "docker_stacks.qdrant_service.compose_file_path", '"qdrant_service"'),
    Case("wrong-type-int", put("lxc", "lxc_configs", "120", "cores", value="two"), LXC, "invalid-value",
         "lxc_configs.120.cores", '"cores"', '"two"'),
    Case("wrong-type-list", put("vm", "vms", 2, "dependencies", value="1001"), VM, "invalid-value",
         "vms.2.dependencies", '"dependencies"'),
    Case("wrong-type-object", put("hyp", "zfs", value=[]), HYP, "invalid-value", "zfs", '"zfs"',
         also=frozenset({"storage-unknown"})),
    Case("out-of-range", put("vm", "vms", 1, "memory_mb", value=8), VM, "invalid-value", "vms.1.memory_mb",
         '"memory_mb"'),
    # bind mounts PVE cannot clone or migrate
    Case("mount-not-shared", put("lxc", "lxc_configs", "101", "mount_points", 0, "shared", value=True), LXC,
         "mount-not-shared", "lxc_configs.101.mount_points.0.shared", '"shared"',
         "on no storage the hypervisor file defines as shared"),
    Case("clone-source-bind-mount", put("lxc", "lxc_configs", "900", "mount_points",
                                         value=[{"host_path": "/mnt/pve/tank/x", "container_path": "/x"}]),
         LXC, "clone-source-bind-mount", "lxc_configs.120.clone_from_ctid", '"clone_from_ctid"',
         "which PVE cannot clone"),
    # secrets
    Case("secret-ref-invalid", put("hyp", "portainer_api", "admin_password", value="${secret:admin pass}"), HYP,
         "secret-ref-invalid", "portainer_api.admin_password", '"admin_password"', "${secret:NAME}"),
    Case("secret-ref-unclosed", put("stacks", "docker_stacks", "webapp", "environments", "staging", "variables", 1,
                                    "value", value="${secret:webapp_db"), STACKS, "secret-ref-invalid",
         "docker_stacks.webapp.environments.staging.variables.1.value", '"value"'),
]

# A storage or clone source the config names but does not declare may be on the node: a warning the plan
# settles (an error there only when the node lacks it too).
UNDECLARED = [
    Case("clone-from-ctid-missing", put("lxc", "lxc_configs", "101", "clone_from_ctid", value="950"), LXC,
         "clone-source-undeclared", "lxc_configs.101.clone_from_ctid", '"clone_from_ctid"', "CT 950 does not exist"),
    Case("clone-from-vmid-missing", put("vm", "vms", 1, "clone_from_vmid", value=9100), VM,
         "clone-source-undeclared", "vms.1.clone_from_vmid", '"clone_from_vmid"', "VM 9100 does not exist"),
    Case("storage-pool-unknown-lxc", put("lxc", "lxc_configs", "120", "storage_pool", value="tank-nope"), LXC,
         "storage-undeclared", "lxc_configs.120.storage_pool", '"storage_pool"', "'tank-nope' is not defined"),
    Case("storage-pool-unknown-vm", put("vm", "vms", 1, "storage_pool", value="fast-vm-disks"), VM,
         "storage-undeclared", "vms.1.storage_pool", '"storage_pool"', "fast-vm-disks"),
    Case("storage-pool-unknown-vm-defaults", put("vm", "vm_defaults", "storage_pool", value="tank-vms"), VM,
         "storage-undeclared", "vm_defaults.storage_pool", '"storage_pool"', "tank-vms"),
    Case("zfs-volume-pool-unknown", put("lxc", "lxc_configs", "110", "zfs_volumes", 0, "pool", value="tank-llm"),
         LXC, "storage-undeclared", "lxc_configs.110.zfs_volumes.0.pool", '"pool"', "tank-llm"),
]


@pytest.mark.parametrize("case", [c.param() for c in UNDECLARED])
def test_an_undeclared_reference_is_a_placed_warning(
    case: Case, example_dir: Path, text_at: Callable[[Path, Any], str]
) -> None:
    write_mutated(example_dir, case.mutation)
    _, report = validate_directory(example_dir)
    assert report.valid, [str(p) for p in report.errors]
    [problem] = [p for p in report.warnings if p.code == case.code and _dotted(p) == case.path]
    assert problem.file == case.file and case.message in problem.message
    assert "only if the node has it" in problem.message
    assert text_at(example_dir, problem).startswith(case.at)


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_one_mutation_gives_one_placed_error(
    case: Case, example_dir: Path, text_at: Callable[[Path, Any], str]
) -> None:
    write_mutated(example_dir, case.mutation)
    _, report = validate_directory(example_dir)
    assert not report.valid
    matches = [p for p in report.errors if p.code == case.code and _dotted(p) == case.path]
    assert matches, f"no {case.code} at {case.path}; got: {[str(p) + ' ' + p.code for p in report.errors]}"
    problem = matches[0]
    assert problem.file == case.file
    assert case.message in problem.message
    assert text_at(example_dir, problem).startswith(case.at), (
        f"{problem} points at {text_at(example_dir, problem)[:40]!r}, not {case.at!r}")
    unexpected = {p.code for p in report.errors} - {case.code} - case.also
    assert not unexpected, f"the edit caused other errors: {[str(p) for p in report.errors]}"


def _dotted(problem: Problem) -> str:
    return problem.to_dict()["path"]


def test_the_example_itself_is_clean(example_dir: Path) -> None:
    _, report = validate_directory(example_dir)
    assert report.problems == []


def test_x_fields_pass_anywhere(example_dir: Path) -> None:
    write_mutated(example_dir, combine(
        put("hyp", "x-owner", value={"team": "infra"}),
        put("hyp", "network", "x-note", value="checked"),
        put("lxc", "x-generated-by", value="hand"),
        put("lxc", "lxc_configs", "101", "x-ticket", value=1234),
        put("lxc", *LXC101_RULE, 0, "x-why", value="web"),
        put("vm", "vms", 1, "x-cost-center", value=None),
        put("vm", "vms", 1, "network_config", "x-dns-name", value="portainer"),
        put("stacks", "docker_stacks", "webapp", "environments", "staging", "x-owner", value=["a", "b"]),
    ))
    _, report = validate_directory(example_dir)
    assert report.problems == []


def test_plaintext_secrets_are_warnings_only(example_dir: Path, text_at: Callable[[Path, Any], str]) -> None:
    write_mutated(example_dir, combine(
        put("stacks", "docker_stacks", "webapp", "environments", "production", "variables", 1, "value",
            value="hunter2"),
        put("hyp", "portainer_api", "api_key", value="ptr_0123456789abcdef"),
        put("vm", "vms", 1, "user_config", "password", value="Sommer2025!"),
    ))
    _, report = validate_directory(example_dir)
    assert report.valid and report.errors == []
    got = {(p.file, _dotted(p)) for p in report.warnings if p.code == "plaintext-secret"}
    assert got == {
        (STACKS, "docker_stacks.webapp.environments.production.variables.1.value"),
        (HYP, "portainer_api.api_key"),
        (VM, "vms.1.user_config.password"),
    }
    for p in report.warnings:
        assert "hunter2" not in p.message and "Sommer2025" not in p.message  # values never printed
        key = _dotted(p).rsplit(".", 1)[-1]
        assert text_at(example_dir, p).startswith(f'"{key}"')


def test_broken_json_names_file_line_and_column(example_dir: Path) -> None:
    path = example_dir / LXC
    text = path.read_text(encoding="utf-8")
    broken = text.replace('"swap_mb": 256,', '"swap_mb": 256,,', 1)
    assert broken != text
    path.write_text(broken, encoding="utf-8")
    offset = broken.index(",,") + 1  # the second comma
    line = broken.count("\n", 0, offset) + 1
    column = offset - (broken.rfind("\n", 0, offset) + 1) + 1
    _, report = validate_directory(example_dir)
    syntax = [p for p in report.errors if p.code == "json-syntax"]
    assert len(syntax) == 1
    assert (syntax[0].file, syntax[0].line, syntax[0].column) == (LXC, line, column)
    assert syntax[0].path == ()
    assert str(syntax[0]).startswith(f"{LXC}:{line}:{column}: invalid JSON")
    # The other files still load and are checked: VMs depend on CT 101, which cannot be judged now.
    assert [p.code for p in report.errors] == ["json-syntax"]


def test_broken_json_does_not_hide_other_files(example_dir: Path) -> None:
    (example_dir / STACKS).write_text('{"docker_stacks": {', encoding="utf-8")
    vms = json.loads((example_dir / VM).read_text(encoding="utf-8"))
    vms["vms"][1]["storage_pool"] = "nowhere"
    (example_dir / VM).write_text(json.dumps(vms, indent=4), encoding="utf-8")
    _, report = validate_directory(example_dir)
    assert sorted((p.file, p.code) for p in report.errors) == [(STACKS, "json-syntax")]
    assert (VM, "storage-undeclared") in {(p.file, p.code) for p in report.warnings}


@pytest.mark.parametrize("missing", [HYP, LXC, VM])
def test_a_missing_file_is_one_error(missing: str, example_dir: Path) -> None:
    (example_dir / missing).unlink()
    _, report = validate_directory(example_dir)
    assert [(p.file, p.code, p.path) for p in report.errors] == [(missing, "file-missing", ())]
    assert missing in report.errors[0].message


def test_a_missing_stacks_file_means_no_stacks(example_dir: Path) -> None:
    """Upstream had no stacks file before 2025-10-06: absent is no stacks, and only references to stacks fail."""
    (example_dir / STACKS).unlink()
    _, report = validate_directory(example_dir)
    assert {(p.file, p.code) for p in report.errors} == {(VM, "stack-missing")}
    vms = json.loads((example_dir / VM).read_text(encoding="utf-8"))
    for vm in vms["vms"]:
        vm.pop("docker_stacks", None)
    (example_dir / VM).write_text(json.dumps(vms, indent=4), encoding="utf-8")
    estate, report = validate_directory(example_dir)
    assert report.valid and estate.stacks.docker_stacks == {}


def test_five_problems_are_reported_at_once(example_dir: Path) -> None:
    picked = {c.id: c for c in CASES}
    chosen = [picked[i] for i in ("clone-from-vmid-not-template", "dependency-missing-lxc", "firewall-proto",
                                  "cidr-invalid-hypervisor", "secret-ref-unclosed")]
    write_mutated(example_dir, combine(*(c.mutation for c in chosen)))
    _, report = validate_directory(example_dir)
    assert sorted((p.file, p.code, _dotted(p)) for p in report.errors) == sorted(
        (c.file, c.code, c.path) for c in chosen)


def test_a_bad_guest_does_not_hide_errors_of_others(example_dir: Path) -> None:
    write_mutated(example_dir, combine(
        put("lxc", "lxc_configs", "101", "cores", value="many"),  # 101 fails its schema
        put("lxc", "lxc_configs", "110", "zfs_volumes", 0, "pool", value="tank-llm"),
        put("vm", "vms", 2, "docker_stacks", value=["nope"]),
        put("vm", "vms", 1, "storage_pool", value="fast-vm-disks"),
        put("vm", "vms", 0, "user_config", "password", value="${secret:}"),
    ))
    _, report = validate_directory(example_dir)
    assert sorted((p.code, _dotted(p)) for p in report.errors) == [
        ("invalid-value", "lxc_configs.101.cores"),
        ("secret-ref-invalid", "vms.0.user_config.password"),
        ("stack-missing", "vms.2.docker_stacks.0"),
    ]
    assert {("storage-undeclared", "lxc_configs.110.zfs_volumes.0.pool"),
            ("storage-undeclared", "vms.1.storage_pool")} <= {(p.code, _dotted(p)) for p in report.warnings}
    # 110 and VM 1001 depend on the broken 101: it exists, so no "does not exist" noise.


def test_many_errors_in_one_guest_are_all_reported(example_dir: Path) -> None:
    write_mutated(example_dir, combine(
        put("lxc", "lxc_configs", "120", "cores", value="two"),
        put("lxc", "lxc_configs", "120", "memory_mb", value=-1),
        put("lxc", "lxc_configs", "120", "colour", value="red"),
    ))
    _, report = validate_directory(example_dir)
    assert sorted((p.code, _dotted(p)) for p in report.errors) == [
        ("invalid-value", "lxc_configs.120.cores"),
        ("invalid-value", "lxc_configs.120.memory_mb"),
        ("unknown-field", "lxc_configs.120.colour"),
    ]


def test_problems_are_sorted_errors_first_then_by_file_and_line(example_dir: Path) -> None:
    write_mutated(example_dir, combine(
        put("stacks", "docker_stacks", "webapp", "environments", "production", "variables", 1, "value",
            value="hunter2"),
        put("vm", "vms", 2, "name", value="bad_name"),
        put("lxc", "lxc_configs", "120", "name", value="bad_name"),
        put("lxc", "lxc_configs", "101", "name", value="bad_name"),
    ))
    _, report = validate_directory(example_dir)
    assert [(p.severity, p.file, _dotted(p)) for p in report.problems] == [
        ("error", LXC, "lxc_configs.101.name"),
        ("error", LXC, "lxc_configs.120.name"),
        ("error", VM, "vms.2.name"),
        ("warning", STACKS, "docker_stacks.webapp.environments.production.variables.1.value"),
    ]
