"""The real upstream files (tests/data/phoenix-upstream, byte-for-byte) load completely, are valid, and get
exactly the warnings they deserve, each placed on the right text.

Deserved (see the upstream README's known facts): `shared_volumes` naming CTs that do not exist
(950, 951, 953, 954, 955, 957), the plaintext Portainer `admin_password`, and the three placeholder
DB passwords of the stacks file. Also deserved, by the project's own rules: `template_file` on CT 101
and 102, a field nothing reads (`deprecated-field`), and the `nginx_proxy` of `portainer_service`,
which the controller does not converge (`unused-field`). Not deserved: VM 1001 at 32 GB as a clone of
template 9000, which sets no size (`vm_defaults.disk_size_gb` does not size templates; upstream makes
9000 32 GB and 1001 its clone at 32 GB).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gitops.config import queries
from gitops.config.validation import validate_directory

HYP = "phoenix_hypervisor_config.json"
LXC = "phoenix_lxc_configs.json"
STACKS = "phoenix_stacks_config.json"
VM = "phoenix_vm_configs.json"
CLI = str(Path(sys.executable).with_name("phoenix-gitops"))

DANGLING = [  # (shared volume, CTID)
    ("ssl_certs", "953"), ("ssl_certs", "954"), ("nginx_sites", "953"), ("nginx_logs", "953"),
    ("ollama_models", "955"), ("llamacpp_models", "957"), ("vllm_models", "950"), ("vllm_models", "951"),
]
DB_ENVIRONMENTS = ["production", "testing", "development"]

# (file, code, path, needles): the warning's position is where the last needle is found when each
# needle is searched for after the previous one: a naive locator, independent of the product's.
EXPECTED: list[tuple[str, str, str, tuple[str, ...]]] = [
    *[(HYP, "dangling-reference", f"shared_volumes.{vol}.mounts.{ct}", ('"shared_volumes"', f'"{vol}"', f'"{ct}"'))
      for vol, ct in DANGLING],
    (HYP, "plaintext-secret", "portainer_api.admin_password", ('"portainer_api"', '"admin_password"')),
    *[(STACKS, "plaintext-secret", f"docker_stacks.thinkheads_ai_app.environments.{env}.variables.1.value",
       ('"thinkheads_ai_app"', f'"{env}"', '"DATABASE_PASS"', '"value"')) for env in DB_ENVIRONMENTS],
    (LXC, "deprecated-field", "lxc_configs.101.template_file", ('"101"', '"template_file"')),
    (LXC, "deprecated-field", "lxc_configs.102.template_file", ('"102"', '"template_file"')),
    (STACKS, "unused-field", "docker_stacks.portainer_service.nginx_proxy", ('"portainer_service"', '"nginx_proxy"')),
]


def naive_position(text: str, needles: tuple[str, ...]) -> tuple[int, int]:
    offset = -1
    for needle in needles:
        offset = text.index(needle, offset + 1)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def test_upstream_is_valid_with_exactly_the_deserved_warnings(upstream_dir: Path) -> None:
    _, report = validate_directory(upstream_dir)
    assert report.errors == []
    assert report.valid
    got = sorted((p.file, p.code, p.to_dict()["path"]) for p in report.warnings)
    assert got == sorted((f, c, p) for f, c, p, _ in EXPECTED)


def test_upstream_warnings_point_at_the_right_text(
    upstream_dir: Path, text_at: Callable[[Path, Any], str]
) -> None:
    _, report = validate_directory(upstream_dir)
    texts = {name: (upstream_dir / name).read_text(encoding="utf-8") for name in (HYP, LXC, VM, STACKS)}
    by_path = {(p.file, p.to_dict()["path"]): p for p in report.warnings}
    for file, _code, path, needles in EXPECTED:
        problem = by_path[(file, path)]
        assert (problem.line, problem.column) == naive_position(texts[file], needles), path
        assert text_at(upstream_dir, problem).startswith(needles[-1])


def test_upstream_warning_messages(upstream_dir: Path) -> None:
    _, report = validate_directory(upstream_dir)
    for p in report.warnings:
        if p.code == "dangling-reference":
            assert f"CT {p.path[-1]} does not exist" in p.message
        if p.code == "plaintext-secret":
            assert "${secret:NAME}" in p.message
            assert "NewKick" not in p.message and "SECRET_PASSWORD" not in p.message


def test_upstream_loads_every_guest_and_stack(upstream_dir: Path) -> None:
    estate = queries.load(upstream_dir)
    assert sorted(estate.lxc.lxc_configs) == ["101", "102", "103", "801", "802", "900", "901", "910", "911",
                                              "912", "914", "917"]
    assert [vm.vmid for vm in estate.vms.vms] == [9000, 1001, 1002]
    assert sorted(estate.stacks.docker_stacks) == ["portainer_service", "qdrant_service", "thinkheads_ai_app"]
    # Upstream facts the model must keep: dependencies across kinds, clone chains, storage ids.
    assert queries.find_guest(estate, "1002").kind == "vm"
    assert queries.clone_chain(estate, 912) == [912, 911, 901, 900]
    chain = queries.dependency_chain(estate, 801)
    assert chain[-1] == 801 and {900, 901, 911, 103, 1002, 1001, 9000, 102, 101} <= set(chain)
    assert chain.index(1001) < chain.index(1002) < chain.index(801)
    assert "quickOS-lxc-disks" in estate.hypervisor.storage_ids()
    assert [s.name for s in estate.vms.vms[1].docker_stacks] == ["portainer_service"]


def test_upstream_via_the_cli_text(upstream_dir: Path) -> None:
    done = subprocess.run([CLI, "validate", str(upstream_dir)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(EXPECTED)
    assert all(" warning: " in line for line in lines)
    assert (f"{upstream_dir}/{HYP}:575:9: portainer_api.admin_password: warning: a plaintext secret"
            in done.stdout)
    assert f"valid: 0 errors, {len(EXPECTED)} warnings" in done.stderr


def test_upstream_via_the_cli_json(upstream_dir: Path) -> None:
    done = subprocess.run([CLI, "validate", str(upstream_dir), "--format", "json"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["valid"] is True and out["errors"] == []
    assert len(out["warnings"]) == len(EXPECTED)
    for item in out["warnings"]:
        assert set(item) == {"file", "line", "column", "path", "code", "message"}
        assert item["line"] >= 1 and item["column"] >= 1


def test_the_copies_are_the_published_files(upstream_dir: Path) -> None:
    """tests/data/phoenix-upstream holds the upstream files unchanged."""
    import hashlib

    published = {
        "phoenix_hypervisor_config.json": "45100657baacd42e2d3336b2ee205b62bd17fc80d2700204f18fd8c0c297adb1",
        "phoenix_lxc_configs.json": "1bdcad4ac4c8b13d387d113afbe3e647de76a8b06fca2f2d475326de09a2b30b",
        "phoenix_stacks_config.json": "bfc3e7db2c081bf36376b7945afedecef69ac6e94aad29a2a2d3a7b7cc8cceef",
        "phoenix_vm_configs.json": "f5f721e92eae4d2ae23bd0bc4c33f1d91244be459fffe2ad5e5000be24d1e939",
    }
    assert {f: hashlib.sha256((upstream_dir / f).read_bytes()).hexdigest() for f in published} == published


def _edited(upstream_dir: Path, tmp_path: Path, edits: dict[str, Callable[[Any], None]]) -> Path:
    import shutil

    target = tmp_path / "config"
    shutil.copytree(upstream_dir, target)
    for name, change in edits.items():
        data = json.loads((target / name).read_text(encoding="utf-8"))
        change(data)
        (target / name).write_text(json.dumps(data, indent=4), encoding="utf-8")
    return target


def test_schema_errors_do_not_hide_the_cross_file_checks(upstream_dir: Path, tmp_path: Path) -> None:
    """A typo in each file, and a real dangling clone source: every deserved warning is still reported,
    beside the three errors."""
    def lxc(d: Any) -> None:
        d["lxc_configs"]["101"]["corez"] = 2
        d["lxc_configs"]["102"]["clone_from_ctid"] = "999"

    config = _edited(upstream_dir, tmp_path, {
        HYP: lambda d: d.update(timezonee="UTC"),
        LXC: lxc,
        VM: lambda d: d["vms"][2].update(memroy_mb=1),
    })
    _, report = validate_directory(config)
    assert sorted((p.file, p.code, p.to_dict()["path"]) for p in report.errors) == [
        (HYP, "unknown-field", "timezonee"),
        (LXC, "clone-source-missing", "lxc_configs.102.clone_from_ctid"),
        (LXC, "unknown-field", "lxc_configs.101.corez"),
        (VM, "unknown-field", "vms.2.memroy_mb"),
    ]
    assert sorted((p.file, p.code, p.to_dict()["path"]) for p in report.warnings) == sorted(
        (f, c, p) for f, c, p, _ in EXPECTED)


def test_an_invalid_value_silences_only_the_checks_that_need_it(upstream_dir: Path, tmp_path: Path) -> None:
    """A bad value in `zfs` leaves the storage ids unknown: no storage errors are invented, and the
    other checks (shared volumes, secrets) still run."""
    config = _edited(upstream_dir, tmp_path, {HYP: lambda d: d["zfs"].update(arc_max_gb="lots")})
    _, report = validate_directory(config)
    assert [(p.code, p.to_dict()["path"]) for p in report.errors] == [("invalid-value", "zfs.arc_max_gb")]
    assert sorted((p.file, p.code, p.to_dict()["path"]) for p in report.warnings) == sorted(
        (f, c, p) for f, c, p, _ in EXPECTED)
