"""Every system's planner rules in one list (`RULES`), and the whole plan made from them. Pure.

`plan_changes(estate, live, options)` runs each system's rules in the order listed, so an action can
depend on the targets of rules listed before it: Proxmox's storages and guests
(`gitops.planner.proxmox.planning`), then Proxmox's cluster-level resources (the cluster firewall,
access, networks), in-guest provisioning (`gitops.planner.guests`, which threads its actions between
the guests'), then Portainer's stacks (`gitops.planner.portainer`), which run on the guests. A new
system adds its `SystemRules` here and nowhere else in the planner.
"""

from __future__ import annotations

from gitops.config.estate import Estate
from gitops.planner.details import Detail
from gitops.planner.guests import provisioning
from gitops.planner.live import LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Plan
from gitops.planner.portainer import rules as portainer
from gitops.planner.proxmox import access, cluster_firewall, network, planning
from gitops.planner.rules import SystemRules

RULES: list[SystemRules] = [planning.RULES, cluster_firewall.RULES, access.RULES, network.RULES,
                            provisioning.RULES, portainer.RULES]


def plan_changes(estate: Estate, live: LiveState, options: PlanOptions) -> Plan:
    """The ordered plan that takes `live` to `estate`: every system's rules, in `RULES` order."""
    plan = Plan(assumed=live.assumed)
    for rules in RULES:
        rules.plan(estate, live, options, plan)
    # A dependency on a target with nothing to do is already met: keep the plan about what happens.
    acting = {a.target for a in plan.actions}
    for a in plan.actions:
        a.depends_on = [t for t in a.depends_on if t in acting]
    return plan


def managed_targets(estate: Estate, live: LiveState, options: PlanOptions) -> list[str]:
    """Every target the plan converges, system by system in `RULES` order."""
    return [target for rules in RULES for target in rules.targets(estate, live, options)]


def describe_targets(estate: Estate, live: LiveState, options: PlanOptions) -> dict[str, Detail]:
    """What each system says of its targets (`SystemRules.describe`), for the dashboard."""
    out: dict[str, Detail] = {}
    for rules in RULES:
        if rules.describe is not None:
            out.update(rules.describe(estate, live, options))
    return out


def assumed_live(estate: Estate, options: PlanOptions, *, nodes: list[str], assumed: str) -> LiveState:
    """The live state the systems would report once converged to `estate` (every system's `assume`), on a
    cluster of `nodes` (the ones the configs name, and `options.node`): the "live" side of a
    config-to-config plan. `assumed` says what it is, for the plan to say that nothing live was read."""
    live = LiveState(node=options.node, nodes=sorted({options.node, *nodes}), assumed=assumed)
    for rules in RULES:
        if rules.assume is not None:
            rules.assume(estate, options, live)
    return live
