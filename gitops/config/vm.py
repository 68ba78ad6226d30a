"""Model of `phoenix_vm_configs.json`: `vm_defaults` and QEMU VMs as a list with integer `vmid`.

Loaded by `gitops.config.loading`; read by the checks, the queries and the planner.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from gitops.config import bounds
from gitops.config.common import ConfigModel, Firewall, HealthCheck, RestartPolicy, TraefikService
from gitops.config.hostoptions import QmOptionField


class VmDefaults(ConfigModel):
    """Values a VM takes when it leaves them out."""

    template: str | None = None
    cores: int | None = Field(None, ge=bounds.CORES[0], le=bounds.CORES[1])
    memory_mb: int | None = Field(None, ge=bounds.MEMORY_MB[0], le=bounds.MEMORY_MB[1])
    disk_size_gb: int | None = Field(None, ge=bounds.DISK_GB[0], le=bounds.DISK_GB[1])
    storage_pool: str | None = None
    network_bridge: str | None = None


class VmNetwork(ConfigModel):
    """The VM's cloud-init network: `ip` is `dhcp` or an address with its prefix."""

    ip: str | None = None
    gw: str | None = None
    nameserver: str | None = None
    nameservers: list[str] | None = Field(None, description="deprecated (until 2025-10-02): now `nameserver`")
    bridge: str | None = None
    mac_address: str | None = None
    vlan: int | None = Field(None, ge=1, le=4094)


class UserConfig(ConfigModel):
    username: str
    gw: str | None = Field(None, description="no upstream script reads it (the gateway is `network_config.gw`)")
    password: str | None = Field(None, description="use a `${secret:NAME}` reference")
    ssh_public_keys: list[str] = Field(default_factory=list)


class VmVolume(ConfigModel):
    """A share mounted inside the VM by the upstream scripts (NFS)."""

    type: str
    server: str | None = None
    path: str | None = None
    name: str | None = None
    mount_point: str


class DockerFirewallRule(ConfigModel):
    """A DOCKER-USER iptables rule, applied inside the VM by upstream's docker feature (2025-11-07..11-11)."""

    chain: str = "DOCKER-USER"
    interface: str | None = None
    protocol: str | None = None
    port: int | str | None = None
    source: str | None = None
    action: str = "ACCEPT"


class ComposeFile(ConfigModel):
    """A compose file copied into the VM by upstream (2025-10-03), before `docker_stacks`."""

    source: str
    destination: str


class PortainerConfig(ConfigModel):
    """Where upstream (2025-10-03..10-06) found Portainer's own compose file."""

    compose_file_path: str


class StackRef(ConfigModel):
    """A stack deployed to this VM, in one of its environments."""

    name: str
    environment: str = "production"


class DnsRecord(ConfigModel):
    hostname: str
    ip: str


class VmSnapshots(ConfigModel):
    pre_features: str | None = Field(None, alias="pre-features")
    post_features: str | None = Field(None, alias="post-features")


def _names_allowed(schema: dict[str, Any]) -> None:
    """JSON Schema of `docker_stacks`: a stack name is accepted as well (see `Vm._stack_names`)."""
    schema["items"] = {"anyOf": [{"type": "string"}, schema["items"]]}


class Vm(ConfigModel):
    """One VM. Fields left out take `vm_defaults`."""

    vmid: int = Field(ge=100, le=999_999_999)
    name: str
    is_template: bool = False
    clone_from_vmid: int | None = None
    template_image: str | None = Field(None, description="cloud image file to import as the template's disk")
    template_image_url: str | None = Field(None, description="where to download the image when missing (new)")
    template_snapshot_name: str | None = None
    node: str | None = None
    count: int | None = None
    cores: int | None = Field(None, ge=bounds.CORES[0], le=bounds.CORES[1])
    memory_mb: int | None = Field(None, ge=bounds.MEMORY_MB[0], le=bounds.MEMORY_MB[1])
    disk_size_gb: int | None = Field(None, ge=bounds.DISK_GB[0], le=bounds.DISK_GB[1])
    storage_pool: str | None = None
    network_bridge: str | None = None
    start_at_boot: bool = False
    boot_order: int = Field(0, ge=bounds.BOOT_ORDER[0], le=bounds.BOOT_ORDER[1])
    boot_delay: int = Field(0, ge=bounds.BOOT_DELAY_S[0], le=bounds.BOOT_DELAY_S[1])
    features: list[str] = Field(default_factory=list, description="Phoenix feature scripts")
    portainer_role: str | None = None
    swarm_role: str | None = None
    node_labels: list[str] = Field(default_factory=list)
    portainer_environment_name: str | None = None
    portainer_agent_hostname: str | None = None
    trigger_sync_on_completion: bool = False
    dependencies: list[str] = Field(default_factory=list)
    traefik_service: TraefikService | None = None
    network_config: VmNetwork | None = None
    user_config: UserConfig | None = None
    volumes: list[VmVolume] = Field(default_factory=list)
    docker_stacks: list[StackRef] = Field(default_factory=list, json_schema_extra=_names_allowed)
    dns_records: list[DnsRecord] = Field(default_factory=list)
    qm_options: list[QmOptionField] = Field(default_factory=list, description="`--KEY VALUE` or `KEY=VALUE` "
                                            "(`qm set` options); judged by the host policy, not sent")
    iptables_rules: list[str] = Field(default_factory=list)
    # Older upstream layouts, accepted with a warning (see gitops.config.checks.legacy).
    docker_firewall_rules: list[DockerFirewallRule] | None = None
    docker_compose_files: list[ComposeFile] | None = None
    portainer_config: PortainerConfig | None = None
    portainer_admin_user: str | None = None
    portainer_admin_password: str | None = None
    mount_points: list[dict[str, Any]] | None = Field(None, description="no upstream VM script reads it")
    snapshots: VmSnapshots | None = None
    firewall: Firewall = Field(default_factory=Firewall)
    health_checks: list[HealthCheck] = Field(default_factory=list, description="post-apply checks (new)")
    restart_policy: RestartPolicy = "never"
    description: str | None = None
    tags: list[str] = Field(default_factory=list)

    def portainer_environment(self) -> str | None:
        """The Portainer environment this VM provides: an agent's is `portainer_environment_name` (or the
        VM's name); the primary's is Portainer's own (`portainer_environment_name`, or `local`). None
        when the VM runs no Portainer."""
        role = (self.portainer_role or "").strip().lower()
        if role == "primary":
            return (self.portainer_environment_name or "local").strip()
        if role == "agent":
            return (self.portainer_environment_name or self.name).strip()
        return None

    @field_validator("docker_stacks", mode="before")
    @classmethod
    def _stack_names(cls, value: object) -> object:
        # Upstream data names stacks by string; its old schema used objects. Both are accepted.
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value


class VmFile(ConfigModel):
    """The whole VM file."""

    schema_: str | None = Field(None, alias="$schema")
    vm_defaults: VmDefaults = Field(default_factory=VmDefaults)
    vms: list[Vm] = Field(default_factory=list)

    def disk_gb(self, vm: Vm) -> int | None:
        """The disk size a VM gets: its own, else `vm_defaults.disk_size_gb` unless it is a template.

        A template made from a cloud image keeps the image's size unless it sets its own: no upstream
        script applies the default to one (they size the template in the script), and a default would
        make its clones' own sizes look like shrinks."""
        if vm.disk_size_gb is not None or vm.is_template:
            return vm.disk_size_gb
        return self.vm_defaults.disk_size_gb
