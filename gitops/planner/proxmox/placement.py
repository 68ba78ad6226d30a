"""Where each guest lives on a cluster: the node checks of a plan, in one place.

A guest's node is its own `node`, else the hypervisor file's `node`, else the default node
(`PHOENIX_PVE_NODE`, or the only node) -- `gitops.planner.proxmox.desired` resolves that. Here the plan
checks it against the cluster it read: a node that is missing, malformed or unknown is a plan error;
a guest on (or bound for) a node that is offline is left alone with a warning, and the rest of the
plan goes on. The node name's format is checked here only (`NODE_NAME`), so a stricter rule elsewhere
(config bounds) has one place to meet. Pure; used by `gitops.planner.proxmox.planning`.
"""

from __future__ import annotations

import re

from gitops.planner.live import LiveGuest, LiveState
from gitops.planner.plan import Problem

# PVE node names are host names (pve-manager: `pve-node` format, a DNS label).
NODE_NAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")


def node_problem(target: str, node: str, live: LiveState) -> Problem | None:
    """An error when `node` cannot hold `target`: not given on a cluster, malformed, or not a member."""
    if not node:
        nodes = ", ".join(live.nodes) or "none"
        return Problem(target, "node-missing",
                       f"the cluster has several nodes ({nodes}) and nothing says where {target} goes: give it "
                       "a `node`, or set `node` in the hypervisor file, or PHOENIX_PVE_NODE")
    if not NODE_NAME.match(node):
        return Problem(target, "node-invalid", f"node {node!r} is not a valid node name (a host name)")
    if live.nodes and node not in live.nodes:
        return Problem(target, "node-unknown",
                       f"node {node!r} is not a member of the cluster (nodes: {', '.join(live.nodes)})")
    return None


def offline_problem(target: str, nodes: list[str], live: LiveState) -> Problem | None:
    """A warning when any of `nodes` (where the guest is, where it should be) is offline: the guest is
    left alone until the node is back; the rest of the plan goes on."""
    down = sorted({n for n in nodes if n and n in live.offline_nodes})
    if not down:
        return None
    which = " and ".join(down)
    return Problem(target, "node-offline",
                   f"node {which} is offline: {target} is left alone until it is back (the rest is converged)")


def guest_nodes(node: str, current: LiveGuest | None) -> list[str]:
    """The nodes a guest's actions touch: where it should be and where it is."""
    return [node, *([current.node] if current is not None else [])]
