"""Older upstream layouts: accepted, each with a warning that says what replaced it or that nothing reads it.

Every entry was judged against the upstream scripts of the commits whose data carries it
(SirHeads/Testing-ideas, `git grep FIELD <commit> -- usr/local/phoenix_hypervisor`): a field a
script of its time read is `deprecated-field` when a later layout replaced it, and a field no script
ever read is `unused-field`. The "Older upstream layouts" table of docs/layouts.md says the same, with what each means
to the controller. Called by `gitops.config.validation`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from pydantic import BaseModel

from gitops.config.checks.local import each_guest
from gitops.config.estate import HYPERVISOR_FILE, LXC_FILE, STACKS_FILE, VM_FILE, Estate
from gitops.config.hypervisor import HostFirewall
from gitops.config.problems import PathPart, Report

_VLLM = "replaced upstream by `vllm_engine_config` (2025-10-03); kept for the in-guest scripts, not converged"


@dataclass(frozen=True)
class Legacy:
    """One older field: where it sits in a guest (or stack), its warning code and message."""

    path: tuple[str, ...]
    code: str
    message: str


LXC_LEGACY = (
    *(Legacy((name,), "deprecated-field", _VLLM) for name in (
        "vllm_model", "vllm_model_type", "vllm_served_model_name", "vllm_tensor_parallel_size",
        "vllm_gpu_memory_utilization", "vllm_max_model_len", "vllm_port", "vllm_quantization",
        "vllm_trust_remote_code", "vllm_args", "vllm_parameters")),
    Legacy(("vllm",), "deprecated-field", "replaced upstream by `tests.vllm` (2025-10-03); not run by the controller"),
    Legacy(("integration_tests",), "unused-field", "no upstream script reads it; not run by the controller"),
    Legacy(("run_integration_tests",), "unused-field", "no upstream script reads it; not run by the controller"),
)
VM_LEGACY = (
    Legacy(("network_config", "nameservers"), "deprecated-field",
           "replaced upstream by `network_config.nameserver` (2025-10-02); converged as the VM's nameserver "
           "(the servers joined by spaces) when `nameserver` is not given"),
    Legacy(("user_config", "gw"), "unused-field",
           "no upstream script reads it (the gateway is `network_config.gw`); ignored"),
    Legacy(("docker_firewall_rules",), "deprecated-field",
           "read inside the VM by upstream's docker feature from 2025-11-07 to 2025-11-14 only, then dropped; "
           "not converged (the controller converges `firewall.rules`)"),
    Legacy(("docker_compose_files",), "deprecated-field",
           "replaced upstream by `docker_stacks` and the stacks file (2025-10-06); not converged"),
    Legacy(("portainer_config",), "deprecated-field",
           "replaced upstream the same day (2025-10-03) by `docker_compose_files`, then by `docker_stacks` "
           "(2025-10-06); not converged"),
    Legacy(("portainer_admin_user",), "deprecated-field",
           "replaced upstream by `portainer_api.admin_user` in the hypervisor file (2025-10-08); not converged"),
    Legacy(("portainer_admin_password",), "deprecated-field",
           "replaced upstream by `portainer_api.admin_password` in the hypervisor file (2025-10-08); "
           "not converged"),
    Legacy(("mount_points",), "unused-field", "no upstream VM script reads it (containers have `mount_points`, "
           "VMs `volumes`); ignored"),
)
STACK_LEGACY = (
    Legacy(("name",), "deprecated-field", "a stack's name is its key in `docker_stacks`; this field is ignored"),
)


def check_legacy(estate: Estate, report: Report) -> None:
    each_guest(estate, report, LXC_FILE, functools.partial(_warn, file=LXC_FILE, table=LXC_LEGACY), "legacy")
    each_guest(estate, report, VM_FILE, functools.partial(_warn, file=VM_FILE, table=VM_LEGACY), "legacy")
    for name, stack in estate.stacks.docker_stacks.items():
        _warn(report, ("docker_stacks", name), stack, file=STACKS_FILE, table=STACK_LEGACY)
    if isinstance(estate.hypervisor.shared_volumes.get("firewall"), HostFirewall):
        moved = ("the host firewall moved upstream to top-level `firewall` (2025-11-16); read as the host "
                 "firewall, validated, not converged")
        if estate.hypervisor.firewall is not None:
            moved += " (top-level `firewall` is given too and wins)"
        report.warning(HYPERVISOR_FILE, ("shared_volumes", "firewall"), "deprecated-field", moved)


def _warn(report: Report, where: tuple[PathPart, ...], model: BaseModel, *, file: str,
          table: tuple[Legacy, ...]) -> None:
    for legacy in table:
        value: object = model
        for part in legacy.path:
            value = getattr(value, part, None) if isinstance(value, BaseModel) else None
        if value is not None:
            report.warning(file, (*where, *legacy.path), legacy.code, legacy.message)
