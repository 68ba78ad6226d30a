"""Model of `phoenix_hypervisor_config.json`: hypervisor globals, network, ZFS, storage ids, defaults.

Loaded by `gitops.config.loading`; read by the checks, the queries and the planner (storage
definitions, defaults for LXC guests).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Field, GetJsonSchemaHandler, Tag, field_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from gitops.config import bounds
from gitops.config.access import Access
from gitops.config.common import ConfigModel, FirewallRule, TestSpec


class Users(ConfigModel):
    username: str
    password_hash: str | None = None
    sudo_access: bool = False
    ssh_public_key: str | None = None


class Interface(ConfigModel):
    name: str
    address: str
    gateway: str | None = None
    dns_nameservers: list[str] = Field(default_factory=list, description="a list, or (older) one string")

    @field_validator("dns_nameservers", mode="before")
    @classmethod
    def _one_string(cls, value: object) -> object:
        # Upstream wrote a single server as a string until 2025-10-14; its setup script reads either.
        return value.replace(",", " ").split() if isinstance(value, str) else value


class InternalBridge(ConfigModel):
    name: str
    subnet: str


class Bridge(ConfigModel):
    """A Linux bridge on every node (new): its address, ports and VLAN awareness."""

    cidr: str | None = Field(None, description="the node's address on it, `ip/prefix`; none: no address")
    ports: list[str] = Field(default_factory=list, description="bridge ports, e.g. `eno2`")
    vlan_aware: bool = False
    comment: str | None = None


class Vlan(ConfigModel):
    """A VLAN interface on every node (new), e.g. `vmbr0.20`."""

    raw_device: str
    vlan_id: int = Field(ge=1, le=4094)
    cidr: str | None = None
    comment: str | None = None


class HypervisorNetwork(ConfigModel):
    external_registry_url: str | None = None
    portainer_server_ip: str | None = None
    portainer_server_port: int | None = Field(None, ge=1, le=65535)
    portainer_agent_port: int | None = Field(None, ge=1, le=65535)
    interfaces: Interface | None = None
    default_subnet: str | None = None
    nfs_server: str | None = None
    fallback_dns: str | None = None
    public_bridge: str | None = None
    macvlan_vlan_tag: int | None = Field(None, ge=1, le=4094)
    public_vlan_tag: int | None = Field(None, ge=1, le=4094)
    internal_bridge: InternalBridge | None = None
    bridges: dict[str, Bridge] = Field(default_factory=dict, description="more bridges, by name (new)")
    vlans: dict[str, Vlan] = Field(default_factory=dict, description="VLAN interfaces, by name (new)")


class DockerImages(ConfigModel):
    portainer_server_image: str | None = None
    portainer_agent_image: str | None = None


class NfsExport(ConfigModel):
    path: str
    clients: list[str] = Field(default_factory=list)
    options: list[str] = Field(default_factory=list)


class Nfs(ConfigModel):
    exports: list[NfsExport] = Field(default_factory=list)


class SambaShare(ConfigModel):
    name: str
    path: str
    options: str | None = None
    valid_users: list[str] = Field(default_factory=list)


class Samba(ConfigModel):
    user: str | None = None
    shares: list[SambaShare] = Field(default_factory=list)


class ZfsPool(ConfigModel):
    name: str
    raid_level: str
    disks: list[str] = Field(default_factory=list)


class ZfsDataset(ConfigModel):
    """A dataset; it becomes the Proxmox storage `<pool>-<name>`."""

    name: str
    pool: str
    properties: str = ""
    proxmox_storage_type: str = Field("zfspool", description="zfspool or dir")
    proxmox_content_type: str = Field("images,rootdir", description="PVE content types, comma-separated")
    storage_class: str | None = None

    @property
    def storage_id(self) -> str:
        return f"{self.pool}-{self.name}"


class Zfs(ConfigModel):
    arc_max_gb: int | None = Field(None, ge=1, le=bounds.DISK_GB[1])
    pools: list[ZfsPool] = Field(default_factory=list)
    datasets: list[ZfsDataset] = Field(default_factory=list)


class LxcDefaults(ConfigModel):
    """Defaults for LXC guests (`proxmox_defaults.lxc`)."""

    cores: int | None = Field(None, ge=bounds.CORES[0], le=bounds.CORES[1])
    memory_mb: int | None = Field(None, ge=bounds.MEMORY_MB[0], le=bounds.MEMORY_MB[1])
    network_config: str | None = Field(None, description="`ip/cidr,gateway,dns`")
    features: str | None = Field(None, description="PVE features string, e.g. `nesting=1`")
    security: str | None = None
    nesting: int | None = Field(None, ge=0, le=1)


class ProxmoxDefaults(ConfigModel):
    zfs_lxc_pool: str | None = Field(None, description="`pool/dataset` of the default LXC storage")
    lxc: LxcDefaults = Field(default_factory=LxcDefaults)


class NvidiaDriver(ConfigModel):
    install: bool = False
    version: str | None = None
    runfile_url: str | None = None
    cuda_version: str | None = None
    install_vllm_libs: bool = False


class Behavior(ConfigModel):
    rollback_on_failure: bool = False
    debug_mode: bool = False


class SharedVolume(ConfigModel):
    """A host path bind-mounted into several containers (keyed by CTID). Nothing converges it yet."""

    host_path: str
    mounts: dict[str, str] = Field(default_factory=dict)


class HostFirewall(ConfigModel):
    """The cluster and host firewall (`firewall`; formerly `shared_volumes.firewall`)."""

    enabled: bool = False
    default_input_policy: str = "DROP"
    default_output_policy: str = "ACCEPT"
    global_firewall_rules: list[FirewallRule] = Field(default_factory=list)
    aliases: dict[str, str] = Field(default_factory=dict, description="cluster aliases (new): name -> IP or CIDR")
    ipsets: dict[str, list[str]] = Field(
        default_factory=dict, description="cluster IP sets (new): name -> CIDRs; `management` adds to PVE's own")


# Until 2025-11-16 upstream kept the host firewall at `shared_volumes.firewall` (its scripts read it
# there from 2025-10-10); it moved to top-level `firewall`. An entry with no `host_path` that looks
# like a firewall is read as one. The tags below never reach users: loading drops them from paths.
LEGACY_FIREWALL_KEY = "firewall"
VOLUME_TAG, FIREWALL_TAG = "<volume>", "<firewall>"
_FIREWALL_KEYS = {"enabled", "default_input_policy", "default_output_policy", "global_firewall_rules"}


def _volume_or_firewall(value: Any) -> str:
    if isinstance(value, dict) and "host_path" not in value and _FIREWALL_KEYS & set(value):
        return FIREWALL_TAG
    return VOLUME_TAG


class _ReadAsFirewall:
    """The JSON Schema of the firewall member says when `_volume_or_firewall` picks it: no `host_path`
    and at least one firewall key (so `{}` is a volume missing its `host_path` to both)."""

    def __get_pydantic_json_schema__(self, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"allOf": [handler(core)], "not": {"required": ["host_path"]},
                "anyOf": [{"required": [key]} for key in sorted(_FIREWALL_KEYS)]}


SharedVolumeEntry = Annotated[
    Annotated[SharedVolume, Tag(VOLUME_TAG)] | Annotated[HostFirewall, Tag(FIREWALL_TAG), _ReadAsFirewall()],
    Discriminator(_volume_or_firewall),
]


class PortainerApi(ConfigModel):
    admin_user: str | None = None
    admin_password: str | None = None
    portainer_hostname: str | None = None
    api_key: str | None = None


class VmGlobalDefaults(ConfigModel):
    ubuntu_release: str | None = None


class DnsServer(ConfigModel):
    enabled: bool = False
    upstream_servers: list[str] = Field(default_factory=list)
    authoritative_zones: list[Any] = Field(default_factory=list)


class StepCa(ConfigModel):
    root_ca_name: str | None = None
    intermediate_ca_name: str | None = None
    dns_name: str | None = None
    provisioner_name: str | None = None


class StorageDefinition(ConfigModel):
    """An explicit Proxmox storage (new in Phoenix GitOps), for storages that are not ZFS datasets."""

    type: str = Field(description="PVE storage type: dir, zfspool, nfs, lvmthin...")
    content: str = "images,rootdir"
    path: str | None = None
    pool: str | None = None
    server: str | None = None
    export: str | None = None
    options: dict[str, str | int | bool] = Field(default_factory=dict, description="other PVE storage keys")


class HypervisorConfig(ConfigModel):
    """The whole hypervisor file."""

    schema_: str | None = Field(None, alias="$schema")
    version: str | None = None
    author: str | None = None
    domain_name: str | None = None
    node: str | None = Field(None, description="Proxmox node the guests live on (new; default: the only node)")
    users: Users | None = None
    core_paths: dict[str, str] = Field(default_factory=dict)
    timezone: str | None = None
    network: HypervisorNetwork = Field(default_factory=HypervisorNetwork)
    docker: DockerImages | None = None
    nfs: Nfs | None = None
    samba: Samba | None = None
    zfs: Zfs = Field(default_factory=Zfs)
    proxmox_storage_ids: dict[str, str] = Field(default_factory=dict)
    storages: dict[str, StorageDefinition] = Field(default_factory=dict)
    mount_point_base: str = "/mnt/pve"
    proxmox_defaults: ProxmoxDefaults = Field(default_factory=ProxmoxDefaults)
    tests: dict[str, list[TestSpec]] = Field(default_factory=dict)
    nvidia_driver: NvidiaDriver | None = None
    behavior: Behavior = Field(default_factory=Behavior)
    shared_volumes: dict[str, SharedVolumeEntry] = Field(default_factory=dict)
    firewall: HostFirewall | None = None
    access: Access | None = Field(None, description="PVE users, groups, roles, ACLs, API tokens (new)")
    portainer_api: PortainerApi | None = None
    vm_defaults: VmGlobalDefaults | None = None
    dns_server: DnsServer | None = None
    step_ca: StepCa | None = None

    def host_firewall(self) -> HostFirewall | None:
        """The host firewall, from `firewall` or (older layout) `shared_volumes.firewall`."""
        legacy = self.shared_volumes.get(LEGACY_FIREWALL_KEY)
        return self.firewall or (legacy if isinstance(legacy, HostFirewall) else None)

    def volumes(self) -> dict[str, SharedVolume]:
        """The shared volumes proper (without an older-layout host firewall among them)."""
        return {k: v for k, v in self.shared_volumes.items() if isinstance(v, SharedVolume)}

    def storage_ids(self) -> dict[str, str]:
        """Every storage id the file defines, with where it comes from (for messages)."""
        ids: dict[str, str] = {}
        for i, ds in enumerate(self.zfs.datasets):
            ids.setdefault(ds.storage_id, f"zfs.datasets.{i}")
        for key, sid in self.proxmox_storage_ids.items():
            ids.setdefault(sid, f"proxmox_storage_ids.{key}")
        for sid in self.storages:
            ids.setdefault(sid, f"storages.{sid}")
        return ids

    def default_lxc_storage(self) -> str | None:
        pool = self.proxmox_defaults.zfs_lxc_pool
        return pool.replace("/", "-", 1) if pool else None
