"""Reach the configured Proxmox VE and report what `phoenix-gitops check` needs to know.

Called by `gitops.controller.preflight` only. Logs in (as `connect` does for every run), reads the
PVE version and the node, and compares the token's privileges on `/` (`GET /access/permissions`,
which every user may read about itself) with the `PhoenixGitOps` role.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gitops.drivers.proxmox import privileges
from gitops.drivers.proxmox.connection import connect
from gitops.settings import Settings


@dataclass(frozen=True, slots=True)
class ProxmoxProbe:
    host: str
    user: str
    version: str
    node: str
    nodes: list[str]
    missing_privileges: list[str] = field(default_factory=list)

    @property
    def token(self) -> bool:
        return "!" in self.user


def probe(settings: Settings) -> ProxmoxProbe:
    """Log in and look around; the driver's errors (AuthenticationError, TransientError...) pass through."""
    with connect(settings, sleep=lambda _s: None) as client:
        answer = client.get("version") or {}
        version = str(answer.get("version") or answer.get("release") or "unknown")
        held = client.request("GET", "access/permissions", {"path": "/"}) or {}
        return ProxmoxProbe(host=client.host, user=client.user, version=version, node=client.node,
                            nodes=list(client.nodes), missing_privileges=privileges.missing(held))
