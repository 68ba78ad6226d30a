"""Every earlier upstream version is judged as the upstream scripts of its own commit read it.

`tests/data/phoenix-upstream/history/<commit>/` holds the config files of eight upstream commits
(byte-for-byte). Each must be valid (warnings allowed), except 106c349, rejected for its duplicate IP
and nothing else; each older layout gets the warning that says what replaced it. Every upstream commit
that carries the config files is judged too, from `all-commits.tar.xz` beside them (its source and how
it is made: `tests/data/phoenix-upstream/make_all_commits.py`).
"""

from __future__ import annotations

import json
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from gitops.config.estate import CONFIG_FILES
from gitops.config.validation import validate_directory

UPSTREAM = Path(__file__).resolve().parents[1] / "data" / "phoenix-upstream"
HISTORY = UPSTREAM / "history"
ALL_COMMITS = UPSTREAM / "all-commits.tar.xz"
VLLM_FLAT = {"vllm_model", "vllm_model_type", "vllm_served_model_name", "vllm_tensor_parallel_size",
             "vllm_gpu_memory_utilization", "vllm_max_model_len", "vllm_port", "vllm_quantization",
             "vllm_trust_remote_code", "vllm_args", "vllm_parameters"}
SEPTEMBER = {  # 829c047 and 106c349: flat vLLM fields, old VM network keys, host firewall in shared_volumes
    *(("deprecated-field", f) for f in VLLM_FLAT), ("deprecated-field", "vllm"),
    ("unused-field", "integration_tests"), ("unused-field", "run_integration_tests"),
    ("deprecated-field", "nameservers"), ("unused-field", "gw"), ("deprecated-field", "firewall"),
}
# Per commit: (the warnings it deserves as (code, last path part), besides dangling shared volumes and
# plaintext secrets), and the errors.
EXPECTED: dict[str, tuple[set[tuple[str, str]], list[tuple[str, str]]]] = {
    "829c047": (SEPTEMBER, []),
    "106c349": (SEPTEMBER, [("ip-duplicate", "vms.1.network_config.ip")]),
    "59b4f6b": ({("deprecated-field", "firewall"), ("deprecated-field", "portainer_admin_user"),
                 ("deprecated-field", "portainer_admin_password"), ("deprecated-field", "name")}, []),
    "bb0c80f": ({("deprecated-field", "firewall"), ("deprecated-field", "portainer_admin_user"),
                 ("deprecated-field", "portainer_admin_password")}, []),
    "eb0a8c3": ({("deprecated-field", "firewall"), ("unused-field", "mount_points")}, []),
    "0385ea2": ({("deprecated-field", "firewall")}, []),
    "2402c8f": ({("deprecated-field", "firewall"), ("deprecated-field", "docker_firewall_rules")}, []),
    "7b5b0e6": ({("deprecated-field", "template_file"), ("unused-field", "nginx_proxy")}, []),  # nginx_proxy: stacks
}
# policy-all-devices: the host policy's warning on 902/954's `lxc.cgroup2.devices.allow=a` (tests/config/test_policy.py)
ALWAYS_ALLOWED = {"dangling-reference", "plaintext-secret", "policy-all-devices"}


def test_every_history_version_is_tested() -> None:
    assert sorted(p.name for p in HISTORY.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("commit", sorted(EXPECTED))
def test_history_version_is_judged_as_its_scripts_read_it(commit: str) -> None:
    warnings, errors = EXPECTED[commit]
    _, report = validate_directory(HISTORY / commit)
    assert [(p.code, p.to_dict()["path"]) for p in report.errors] == errors
    got = {(p.code, str(p.path[-1])) for p in report.warnings if p.code not in ALWAYS_ALLOWED}
    assert got == warnings
    assert all(p.line >= 1 for p in report.problems)


def test_the_september_layout_means_what_upstream_meant() -> None:
    """829c047: clones of a container from its snapshot, the host firewall under `shared_volumes`,
    one DNS server as a string, VM nameservers as a list."""
    estate, _ = validate_directory(HISTORY / "829c047")
    hv = estate.hypervisor
    assert hv.network.interfaces is not None and hv.network.interfaces.dns_nameservers == ["8.8.8.8"]
    firewall = hv.host_firewall()
    assert firewall is not None and firewall.enabled and firewall.default_input_policy == "DROP"
    assert "firewall" not in hv.volumes()
    source = estate.lxc_guest("900")
    assert source is not None and not source.is_template and source.template_snapshot_name == "pre-configured"
    vm = estate.vm(8000)
    assert vm is not None and vm.network_config is not None
    assert vm.network_config.nameservers == ["75.75.75.75", "75.75.76.76"]


def test_deprecated_messages_say_what_replaced_them() -> None:
    _, report = validate_directory(HISTORY / "59b4f6b")
    messages = {p.path[-1]: p.message for p in report.warnings if p.code == "deprecated-field"}
    assert "`portainer_api.admin_user`" in messages["portainer_admin_user"]
    assert "top-level `firewall`" in messages["firewall"]
    assert "its key in `docker_stacks`" in messages["name"]


def _upstream_commits(into: Path) -> dict[str, Path]:
    """Every upstream commit that touched the config files, each written out as a folder of them."""
    with tarfile.open(ALL_COMMITS) as tar:
        def read(name: str) -> bytes:
            member = tar.extractfile(name)
            assert member is not None
            return member.read()
        index: dict[str, dict[str, str]] = json.loads(read("index.json"))
        folders = {}
        for commit, files in index.items():
            folder = folders[commit] = into / commit
            folder.mkdir()
            for name, blob in files.items():
                (folder / name).write_bytes(read(f"blobs/{blob}"))
    return folders


def test_every_upstream_commit_with_the_config_files(tmp_path: Path) -> None:
    """Every upstream commit carrying the hypervisor, LXC and VM files (with or without stacks) is
    valid, except those with a real mistake: 106c349's duplicate IP, a clone of a CT the file does not
    define (960 from 903, 952 from 902: upstream's `pct clone` fails on them), and a `volumes` pool
    that no file defines (upstream's `pct set --mpN` fails on it)."""
    verdicts: dict[str, list[str]] = {}
    with_stacks: set[str] = set()
    for commit, folder in _upstream_commits(tmp_path).items():
        present = {p.name for p in folder.iterdir()}
        if not set(CONFIG_FILES[:3]) <= present:
            continue  # before the VM file existed
        if present == set(CONFIG_FILES):
            with_stacks.add(commit[:7])
        _, report = validate_directory(folder)
        verdicts[commit[:7]] = sorted({p.code for p in report.errors})
    rejected = sorted(c for c, codes in verdicts.items() if codes)
    assert (len(verdicts), len(with_stacks), len(rejected)) == (66, 49, 13), rejected
    assert Counter(code for codes in verdicts.values() for code in codes) == Counter(
        {"storage-unknown": 8, "clone-source-missing": 5, "ip-duplicate": 1})
    assert verdicts["106c349"] == ["ip-duplicate"]
    assert not with_stacks & set(rejected)  # all 49 commits with the four files are valid (8 were before)


def test_an_error_in_the_older_host_firewall_is_placed_where_it_is(tmp_path: Path) -> None:
    import shutil

    config = tmp_path / "config"
    shutil.copytree(HISTORY / "0385ea2", config)
    hyp = config / CONFIG_FILES[0]
    data = json.loads(hyp.read_text(encoding="utf-8"))
    data["shared_volumes"]["firewall"]["enabled"] = "maybe"
    data["shared_volumes"]["firewall"]["global_firewall_rules"][0]["proto"] = "tcpp"
    hyp.write_text(json.dumps(data, indent=4), encoding="utf-8")
    _, report = validate_directory(config)
    assert sorted((p.code, p.to_dict()["path"]) for p in report.errors) == [
        ("invalid-value", "shared_volumes.firewall.enabled")]
    # Only that entry is left out of the model (its rules are not judged); the other shared volumes
    # and the rest of the file are still checked.
    assert {p.code for p in report.warnings} == {"plaintext-secret", "dangling-reference"}
    assert not any(p.path[:2] == ("shared_volumes", "firewall") for p in report.problems if p.severity == "warning")


def test_fields_with_no_upstream_history_stay_errors(tmp_path: Path) -> None:
    import shutil

    config = tmp_path / "config"
    shutil.copytree(HISTORY / "829c047", config)
    lxc = config / CONFIG_FILES[1]
    data = json.loads(lxc.read_text(encoding="utf-8"))
    data["lxc_configs"]["950"]["vllm_modle"] = "typo"
    lxc.write_text(json.dumps(data, indent=4), encoding="utf-8")
    _, report = validate_directory(config)
    assert [(p.code, p.to_dict()["path"]) for p in report.errors] == [
        ("unknown-field", "lxc_configs.950.vllm_modle")]
    # The rest of CT 950 is still judged: its older vLLM fields still warn.
    assert any(p.to_dict()["path"] == "lxc_configs.950.vllm_model" for p in report.warnings)


def test_the_top_level_host_firewall_wins_over_the_older_place(tmp_path: Path) -> None:
    import shutil

    config = tmp_path / "config"
    shutil.copytree(HISTORY / "0385ea2", config)
    hyp = config / CONFIG_FILES[0]
    data = json.loads(hyp.read_text(encoding="utf-8"))
    data["firewall"] = {"enabled": False, "default_input_policy": "ACCEPT"}
    hyp.write_text(json.dumps(data, indent=4), encoding="utf-8")
    estate, report = validate_directory(config)
    [moved] = [p for p in report.warnings if p.code == "deprecated-field"]
    assert "wins" in moved.message
    firewall = estate.hypervisor.host_firewall()
    assert firewall is not None and firewall.default_input_policy == "ACCEPT"
