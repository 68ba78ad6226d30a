"""Model of the hypervisor file's `access` block (new in Phoenix GitOps): PVE users, groups, roles, ACLs and
API tokens the controller converges (`gitops.planner.proxmox.access`). Loaded as part of
`gitops.config.hypervisor.HypervisorConfig`.
"""

from __future__ import annotations

from pydantic import Field

from gitops.config.common import ConfigModel


class AccessGroup(ConfigModel):
    comment: str | None = None


class AccessUser(ConfigModel):
    """A PVE user (`name@realm`); its groups must be declared or exist."""

    comment: str | None = None
    email: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    enable: bool = True
    expire: int = Field(0, ge=0, description="epoch seconds; 0 never")
    groups: list[str] = Field(default_factory=list)
    password: str | None = Field(None, description="pve realm only, set at creation: a ${secret:NAME} reference")


class AccessToken(ConfigModel):
    """An API token (`name@realm!tokenid`); its secret is written to PHOENIX_SECRETS_DIR once, when created."""

    privsep: bool = Field(True, description="privilege separation: the token needs ACLs of its own")
    comment: str | None = None
    expire: int = Field(0, ge=0)


class AccessAcl(ConfigModel):
    """Roles on a path (`/`, `/vms`, `/storage/local`...) for users, groups or tokens."""

    path: str
    roles: list[str]
    users: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    tokens: list[str] = Field(default_factory=list)
    propagate: bool = True


class Access(ConfigModel):
    groups: dict[str, AccessGroup] = Field(default_factory=dict)
    roles: dict[str, list[str]] = Field(default_factory=dict, description="custom role -> privileges")
    users: dict[str, AccessUser] = Field(default_factory=dict)
    tokens: dict[str, AccessToken] = Field(default_factory=dict)
    acls: list[AccessAcl] = Field(default_factory=list)
