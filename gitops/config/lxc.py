"""Model of `phoenix_lxc_configs.json`: LXC containers keyed by CTID string.

Loaded by `gitops.config.loading`; read by the checks, the queries and the planner.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from gitops.config import bounds
from gitops.config.common import ConfigModel, Firewall, HealthCheck, RestartPolicy, TestSpec, TraefikService
from gitops.config.hostoptions import HostText, LxcOptionField, PctOptionField


class LxcNetwork(ConfigModel):
    """One container NIC (`netN`). `ip` is `dhcp`, `manual` or an address with its prefix."""

    name: str = "eth0"
    bridge: str | None = None
    ip: str | None = None
    gw: str | None = None
    hwaddr: str | None = None
    type: str | None = Field(None, description="bridge or macvlan (upstream scripts only)")
    parent: str | None = None
    nameserver: str | None = None
    nameservers: str | None = Field(None, description="space- or comma-separated DNS servers")
    vlan: int | None = Field(None, alias="tag", ge=1, le=4094)
    firewall: bool | None = None


class MountPoint(ConfigModel):
    """A bind mount of a host path into the container (`mpN`)."""

    host_path: HostText
    container_path: HostText
    owner_uid: int | None = Field(None, ge=bounds.LINUX_ID[0], le=bounds.LINUX_ID[1])
    owner_gid: int | None = Field(None, ge=bounds.LINUX_ID[0], le=bounds.LINUX_ID[1])
    read_only: bool = False
    shared: bool = Field(False, description=(
        "new: the host path is on storage every node mounts at the same path (NFS, CephFS...), so PVE may "
        "migrate the container (`shared=1`); a bind mount without it keeps the container on its node"))


class ZfsVolume(ConfigModel):
    """A volume allocated on a storage and mounted in the container (`mpN`)."""

    name: str
    pool: str = Field(description="a storage id the hypervisor file defines")
    size_gb: int = Field(ge=bounds.DISK_GB[0], le=bounds.DISK_GB[1])
    mount_point: HostText


class IdMap(ConfigModel):
    type: Literal["uid", "gid"]
    host_id: int = Field(ge=bounds.LINUX_ID[0], le=bounds.LINUX_ID[1])
    container_id: int = Field(ge=bounds.LINUX_ID[0], le=bounds.LINUX_ID[1])
    size: int = Field(1, ge=1, le=bounds.LINUX_ID[1])


class ContainerHealthCheck(ConfigModel):
    """Upstream's in-container health script (run by the upstream scripts, not by the controller)."""

    command: str
    retries: int = 3
    interval: int = 10


class VllmEngineConfig(ConfigModel):
    """Arguments handed to vLLM by the upstream scripts; passed through, not interpreted."""

    ModelConfig: dict[str, Any] = Field(default_factory=dict)
    CacheConfig: dict[str, Any] = Field(default_factory=dict)
    ParallelConfig: dict[str, Any] = Field(default_factory=dict)
    ServerConfig: dict[str, Any] = Field(default_factory=dict)


class IntegrationTests(ConfigModel):
    """Upstream's older in-container test hook (`integration_tests.script`); no upstream script reads it."""

    script: str | None = None


class PublicInterface(ConfigModel):
    """The macvlan NIC of upstream's 2025-11-23 design, read by its firewall script only."""

    enabled: bool = False
    type: str | None = None
    mode: str | None = None
    ip: str | None = None
    gw: str | None = None
    mac_address: str | None = None


class LxcGuest(ConfigModel):
    """One container. Fields left out take `proxmox_defaults.lxc` from the hypervisor file."""

    name: str
    is_template: bool = False
    clone_from_ctid: str | None = Field(None, description="CTID of the template to full-clone")
    template: str | None = Field(None, description="OS template: `/pool/dataset/template/cache/FILE` or a volid")
    template_url: str | None = Field(None, description="where to download the OS template when missing (new)")
    template_file: str | None = Field(None, description="deprecated: not read by anything")
    template_snapshot_name: str | None = None
    node: str | None = None
    start_at_boot: bool = False
    boot_order: int = Field(0, ge=bounds.BOOT_ORDER[0], le=bounds.BOOT_ORDER[1])
    boot_delay: int = Field(0, ge=bounds.BOOT_DELAY_S[0], le=bounds.BOOT_DELAY_S[1])
    memory_mb: int | None = Field(None, ge=bounds.MEMORY_MB[0], le=bounds.MEMORY_MB[1])
    swap_mb: int | None = Field(None, ge=bounds.SWAP_MB[0], le=bounds.SWAP_MB[1])
    cores: int | None = Field(None, ge=bounds.CORES[0], le=bounds.CORES[1])
    storage_pool: str | None = None
    storage_size_gb: int | None = Field(None, ge=bounds.DISK_GB[0], le=bounds.DISK_GB[1])
    network_config: LxcNetwork | None = None
    secondary_network_config: LxcNetwork | None = None
    mac_address: str | None = None
    gpu_assignment: str = "none"
    portainer_role: str | None = None
    unprivileged: bool = True
    features: list[str] = Field(default_factory=list, description="Phoenix feature scripts (not PVE features)")
    pve_features: dict[str, bool] | None = Field(None, description="PVE `features` (nesting, keyctl...) (new)")
    lxc_options: list[LxcOptionField] = Field(default_factory=list, description="raw `lxc.KEY: VALUE` lines "
                                              "for the node's container config file, judged by the host policy")
    pct_options: list[PctOptionField] = Field(default_factory=list, description="`KEY=VALUE` (upstream: PVE "
                                              "features such as `nesting=1`); judged by the host policy, not sent")
    apparmor_profile: str | None = None
    apparmor_manages_nesting: bool | None = None
    enable_lifecycle_snapshots: bool = False
    dependencies: list[str] = Field(default_factory=list)
    application_script: str | None = None
    traefik_service: TraefikService | None = None
    mount_points: list[MountPoint] = Field(default_factory=list)
    zfs_volumes: list[ZfsVolume] = Field(default_factory=list)
    volumes: list[ZfsVolume] = Field(default_factory=list, description="the name upstream's lxc-manager reads "
                                     "for the same volumes as `zfs_volumes` (converged alike, after them)")
    id_maps: list[IdMap] = Field(default_factory=list)
    vllm_engine_config: VllmEngineConfig | None = None
    # Before 2025-10-03 upstream gave vLLM its settings as flat fields; `vllm_engine_config` replaced
    # them. Accepted (deprecated-field), handed to nobody: vLLM runs inside the guest.
    vllm_model: str | None = None
    vllm_model_type: str | None = None
    vllm_served_model_name: str | None = None
    vllm_tensor_parallel_size: int | None = None
    vllm_gpu_memory_utilization: float | None = None
    vllm_max_model_len: int | None = None
    vllm_port: int | None = Field(None, ge=1, le=65535)
    vllm_quantization: str | None = None
    vllm_trust_remote_code: bool | None = None
    vllm_args: list[str] | None = None
    vllm_parameters: dict[str, Any] | None = None
    vllm: list[TestSpec] | None = Field(None, description="deprecated: the vLLM tests, now `tests.vllm`")
    integration_tests: IntegrationTests | None = None
    run_integration_tests: bool | None = None
    public_interface: PublicInterface | None = Field(None, description="macvlan NIC (upstream firewall script)")
    ports: list[str] = Field(default_factory=list)
    trigger_sync_on_completion: bool = False
    bootstrap_ca_url: str | None = None
    firewall: Firewall = Field(default_factory=Firewall)
    health_check: ContainerHealthCheck | None = None
    health_checks: list[HealthCheck] = Field(default_factory=list, description="post-apply checks (new)")
    tests: dict[str, list[TestSpec]] = Field(default_factory=dict)
    restart_policy: RestartPolicy = Field(
        "never", description="`on-change`: restart to apply changes that need it; `never`: leave them pending"
    )
    description: str | None = None
    tags: list[str] = Field(default_factory=list)


class LxcFile(ConfigModel):
    """The whole LXC file."""

    schema_: str | None = Field(None, alias="$schema")
    nvidia_driver_version: str | None = None
    nvidia_repo_url: str | None = None
    nvidia_runfile_url: str | None = None
    lxc_configs: dict[str, LxcGuest] = Field(default_factory=dict, json_schema_extra={
        # the CTID rule of `checks.references` (`guest-id-invalid`), so the schema refuses `x-101` too
        "propertyNames": {"pattern": "^0*[1-9][0-9]{2,8}$"}})
