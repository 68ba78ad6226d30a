"""The cluster firewall rules as tables: the lockout check (pve-firewall's host input chain) and the block's
two layouts."""

from __future__ import annotations

import pytest

from gitops.config.hypervisor import HostFirewall, HypervisorConfig
from gitops.planner.proxmox import cluster_firewall
from gitops.planner.proxmox.firewall_access import HostInput, lockout_reason

LAN_8006 = {"type": "in", "action": "ACCEPT", "proto": "tcp", "dport": "8006", "source": "10.0.0.0/24"}


def fw(*rules: dict[str, str], policy: str = "DROP", **kwargs: object) -> HostInput:
    return HostInput(enabled=True, policy_in=policy, cluster_rules=list(rules), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("firewall", "source", "locked"), [
    (fw(LAN_8006), "10.0.0.7", False),                                        # an ACCEPT rule matches
    (fw(LAN_8006), "192.168.1.7", True),                                      # nothing matches: DROP policy
    (fw(LAN_8006, policy="ACCEPT"), "192.168.1.7", False),                    # ACCEPT policy
    (fw(), "127.0.0.1", False),                                               # loopback is never filtered
    (HostInput(enabled=False, policy_in="DROP", cluster_rules=[]), "192.168.1.7", False),
    (fw(local_networks=["192.168.1.2/24"]), "192.168.1.7", False),            # the node's local network
    (fw(ipsets={"management": ["192.168.1.0/24", "!192.168.1.7"]}), "192.168.1.7", True),  # nomatch entry
    (fw({"type": "in", "action": "DROP", "source": "192.168.0.0/16"}, LAN_8006,
        ipsets={"management": ["192.168.1.0/24"]}), "192.168.1.7", True),     # a DROP rule before management
    (fw({"type": "in", "action": "ACCEPT", "source": "+admins", "dport": "8000:8010"},
        ipsets={"admins": ["192.168.1.7"]}), "192.168.1.7", False),           # ipset, port range
    (fw({"type": "in", "action": "ACCEPT", "source": "ctl", "proto": "tcp"},
        aliases={"ctl": "192.168.1.7"}), "192.168.1.7", False),               # alias
    (fw({"type": "in", "action": "ACCEPT", "proto": "udp", "source": "192.168.1.7"}), "192.168.1.7", True),
    (fw({"type": "in", "action": "ACCEPT", "dest": "10.0.0.2", "source": "192.168.1.7"}), "192.168.1.7", True),
    (fw({"type": "in", "action": "DROP", "macro": "SSH"}, LAN_8006), "10.0.0.7", True),  # unknowable: safe side
    (fw({"type": "in", "action": "DROP", "proto": "udp"}, LAN_8006), "10.0.0.7", False),
    (fw({"type": "in", "action": "DROP", "enable": "0"}, LAN_8006), "10.0.0.7", False),  # disabled rule
    (HostInput(enabled=True, policy_in="DROP", cluster_rules=[LAN_8006],
               host_rules=[{"type": "in", "action": "REJECT", "source": "10.0.0.7"}]), "10.0.0.7", True),
])
def test_lockout(firewall: HostInput, source: str, locked: bool) -> None:
    assert (lockout_reason(firewall, source, 8006) is not None) == locked


def test_the_block_is_read_from_either_layout() -> None:
    block = HostFirewall.model_validate({"enabled": True, "global_firewall_rules": [
        {"type": "in", "action": "ACCEPT", "proto": "tcp", "port": "8006"}]})
    assert cluster_firewall.firewall_block(HypervisorConfig(firewall=block)) is block
    older = HypervisorConfig.model_validate({"shared_volumes": {"firewall": block.model_dump(exclude_unset=True)}})
    assert cluster_firewall.firewall_block(older) == block
    assert cluster_firewall.firewall_block(HypervisorConfig()) is None
