"""The cluster firewall and each node's host firewall, from the hypervisor file's firewall block.

Targets `firewall/cluster` and `firewall/node/NODE`. The block (`firewall`, or in older layouts
`shared_volumes.firewall`: `firewall_block` reads both) becomes what the upstream script wrote to
`cluster.fw`: `enable`, `policy_in`/`policy_out` from `default_input_policy`/`default_output_policy`, its
`global_firewall_rules` as the cluster's rules, plus its aliases and IP sets; each online node's host
firewall is kept enabled while the block is.

Safety first:
- The resulting policy is checked against the controller's own connection to the API
  (`firewall_access`); a rule set that would drop it is a plan error (`firewall-lockout`), so nothing
  is applied.
- Staged: aliases and IP sets first, then the new rules are inserted above the old ones before the
  old ones are deleted (an allow rule never disappears before its replacement exists), and only then,
  as an action of its own, the options that enable the firewall or set a DROP policy.
Nothing is deleted without `--allow-destroy`: aliases and IP sets the block does not name are left
alone, and rules it does not name (made by hand, or removed from the config: rules carry no mark of
who made them) are kept after its own, with a warning; with `--allow-destroy` the block's rule list is
the cluster's rule list, as upstream's `cluster.fw` was.
Pure; listed in `gitops.planner.systems.RULES`.
"""

from __future__ import annotations

import ipaddress

from gitops.config.estate import Estate
from gitops.config.hypervisor import HostFirewall, HypervisorConfig
from gitops.planner.details import Detail
from gitops.planner.live import LiveClusterFirewall, LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import PROXMOX, Action, ApiCall, FieldChange, Plan, Problem
from gitops.planner.proxmox import firewall_access, placement, pve_paths
from gitops.planner.proxmox.comparing import canonical_rule
from gitops.planner.proxmox.desired import pve_rule
from gitops.planner.proxmox.updating import rule_changes
from gitops.planner.rules import SystemRules

CLUSTER = "firewall/cluster"


def firewall_block(hv: HypervisorConfig) -> HostFirewall | None:
    """The firewall block: `firewall`, or the older layout's `shared_volumes.firewall` (the config's one
    reading of both, `HypervisorConfig.host_firewall`)."""
    return hv.host_firewall()


def node_target(node: str) -> str:
    return f"firewall/node/{node}"


def targets(estate: Estate, live: LiveState, options: PlanOptions) -> list[str]:
    if firewall_block(estate.hypervisor) is None:
        return []
    return [CLUSTER, *(node_target(n) for n in live.nodes)]


def plan(estate: Estate, live: LiveState, options: PlanOptions, out: Plan) -> None:
    block = firewall_block(estate.hypervisor)
    if block is None:
        return
    have = live.cluster_firewall or LiveClusterFirewall()
    want_rules = [pve_rule(r) for r in block.global_firewall_rules]
    want_options = {"enable": "1" if block.enabled else "0", "policy_in": block.default_input_policy.upper(),
                    "policy_out": block.default_output_policy.upper()}
    live_rules = [canonical_rule(r) for r in sorted(have.rules, key=lambda r: int(r.get("pos", 0)))]
    wanted = [canonical_rule(dict(r)) for r in want_rules]
    # Rules on the cluster the block does not name (made by hand, or removed from the config) stay, after
    # the block's, unless --allow-destroy.
    extra = [r for r in live_rules if r not in wanted]
    if extra and not options.allow_destroy:
        want_rules = [*want_rules, *({k: v for k, v in r.items()} for r in extra)]
        wanted = [*wanted, *extra]
        out.warnings.append(Problem(CLUSTER, "firewall-rule-kept",
                                    f"{len(extra)} cluster firewall rule(s) the config does not name are kept, after "
                                    "its rules (plan with --allow-destroy to remove them)"))
    lockout = _lockout(estate, block, want_rules, live)
    if lockout is not None and not live.controller_address:
        out.warnings.append(lockout)  # config to config (a PR review): no connection to check
    elif lockout is not None:
        out.errors.append(lockout)
    calls, changes = _sets(block, have)
    destroys = bool(extra) and options.allow_destroy
    if live_rules != wanted:
        calls += [ApiCall("POST", pve_paths.cluster_firewall_path("rules"), dict(r)) for r in reversed(want_rules)]
        calls += [ApiCall("DELETE", pve_paths.cluster_firewall_path(f"rules/{len(want_rules) + i}"))
                  for i in range(len(live_rules) - 1, -1, -1)]
        changes += rule_changes(live_rules, wanted)
    if calls:
        out.actions.append(Action(target=CLUSTER, action="firewall", calls=calls, changes=changes,
                                  destructive=destroys, summary="set cluster firewall " + _fields(changes)))
    have_options = _options(have.options)
    diff = {k: v for k, v in want_options.items() if have_options.get(k) != v}
    if diff:  # all three sent, so cluster.fw states its policies (PVE's defaults apply when they are absent)
        diff = {k: v for k, v in want_options.items() if k in diff or k.startswith("policy")}
        staged = " (after its rules)" if calls else ""
        out.actions.append(Action(
            target=CLUSTER, action="firewall", summary=f"set cluster firewall options{staged}: " + ", ".join(
                f"{k}={v}" for k, v in diff.items()),
            changes=[FieldChange(f"firewall.{k}", have_options.get(k), v) for k, v in diff.items()],
            calls=[ApiCall("PUT", pve_paths.cluster_firewall_path("options"),
                           {k: _value(v) for k, v in diff.items()})]))
    if block.enabled:
        _nodes(live, out)


def _options(options: dict[str, object]) -> dict[str, str]:
    """Live cluster options as compared: PVE keeps `enable` as a time stamp when set above 1."""
    out = {k: str(v).upper() if k.startswith("policy") else str(v) for k, v in options.items()}
    out["enable"] = "1" if int(str(options.get("enable") or 0)) >= 1 else "0"
    out.setdefault("policy_in", "DROP")
    out.setdefault("policy_out", "ACCEPT")
    return out


def _value(text: str) -> object:
    return int(text) if text.isdigit() else text


def _fields(changes: list[FieldChange]) -> str:
    names = list(dict.fromkeys(c.field.removeprefix("firewall.").split("[")[0] for c in changes))
    return ", ".join(names)


def _sets(block: HostFirewall, have: LiveClusterFirewall) -> tuple[list[ApiCall], list[FieldChange]]:
    """Aliases and IP sets the block names: created, or their value / entries set."""
    calls: list[ApiCall] = []
    changes: list[FieldChange] = []
    for name, cidr in sorted(block.aliases.items()):
        current = have.aliases.get(name)
        if current is None:
            calls.append(ApiCall("POST", pve_paths.cluster_firewall_path("aliases"), {"name": name, "cidr": cidr}))
        elif _norm(current) != _norm(cidr):
            calls.append(ApiCall("PUT", pve_paths.cluster_firewall_path(f"aliases/{name}"), {"cidr": cidr}))
        else:
            continue
        changes.append(FieldChange(f"firewall.aliases.{name}", current, cidr))
    for name, entries in sorted(block.ipsets.items()):
        current_entries = have.ipsets.get(name)
        base = pve_paths.cluster_firewall_path(f"ipset/{name}")
        if current_entries is None:
            calls.append(ApiCall("POST", pve_paths.cluster_firewall_path("ipset"), {"name": name}))
        present = {_norm(e) for e in current_entries or []}
        wanted = {_norm(e) for e in entries}
        for entry in entries:
            if _norm(entry) not in present:
                params: dict[str, object] = {"cidr": entry.removeprefix("!")}
                if entry.startswith("!"):
                    params["nomatch"] = 1
                calls.append(ApiCall("POST", base, params))
        for entry in current_entries or []:
            if _norm(entry) not in wanted:
                calls.append(ApiCall("DELETE", f"{base}/{entry.removeprefix('!')}"))
        if current_entries is None or present != wanted:
            changes.append(FieldChange(f"firewall.ipsets.{name}", sorted(current_entries or []) or None,
                                       sorted(entries)))
    return calls, changes


def _norm(cidr: str) -> str:
    """`10.0.0.1` and `10.0.0.1/32` are one entry to PVE."""
    flag = "!" if cidr.startswith("!") else ""
    try:
        return flag + str(ipaddress.ip_network(cidr.removeprefix("!"), strict=False))
    except ValueError:
        return cidr


def _nodes(live: LiveState, out: Plan) -> None:
    """Each online node's host firewall enabled (PVE's default, unless someone turned it off)."""
    for node in live.nodes:
        target = node_target(node)
        offline = placement.offline_problem(target, [node], live)
        if offline is not None:
            out.warnings.append(offline)
            continue
        have = live.node_firewalls.get(node)
        if have is None or int(str(have.options.get("enable", 1))) == 1:
            continue
        out.actions.append(Action(
            target=target, action="firewall", node=node, depends_on=[CLUSTER],
            summary=f"enable the host firewall of {node}",
            changes=[FieldChange("firewall.enable", have.options.get("enable"), 1)],
            calls=[ApiCall("PUT", pve_paths.node_path(node, "firewall/options"), {"enable": 1})]))


def _lockout(estate: Estate, block: HostFirewall, rules: list[dict[str, str]], live: LiveState) -> Problem | None:
    """A plan error when the resulting firewall would drop the controller's own connection to the API."""
    if not block.enabled:
        return None
    if not live.controller_address:
        return Problem(CLUSTER, "firewall-lockout",
                       "the controller's own address is unknown (a plan without a connection to Proxmox), so it "
                       "cannot tell whether this firewall would lock it out of the API; the plan against the "
                       "cluster checks it (PHOENIX_PVE_SOURCE_ADDRESS behind NAT)")
    interface = estate.hypervisor.network.interfaces
    local = [interface.address] if interface is not None and interface.address else []
    nodes = [n for n in live.nodes if n not in live.offline_nodes] or [""]
    for node in nodes:
        host = live.node_firewalls.get(node)
        if host is not None and int(str(host.options.get("enable", 1))) == 0:
            continue  # the plan keeps it as it is only when the block is off; see _nodes
        fw = firewall_access.HostInput(
            enabled=True, policy_in=block.default_input_policy, cluster_rules=rules,
            host_rules=[{k: str(v) for k, v in r.items()} for r in (host.rules if host else [])],
            aliases=block.aliases, ipsets=block.ipsets, local_networks=local)
        reason = firewall_access.lockout_reason(fw, live.controller_address, live.api_port)
        if reason is not None:
            where = f" of node {node}" if node else ""
            return Problem(CLUSTER, "firewall-lockout",
                           f"refused: this firewall would lock the controller out of the Proxmox API{where} -- a new "
                           f"connection from {live.controller_address} to TCP port {live.api_port}: {reason}. Add a "
                           f"rule accepting it (or the address to the `management` IP set) before the DROP policy")
    return None


def describe_firewalls(estate: Estate, live: LiveState, options: PlanOptions) -> dict[str, Detail]:
    """The cluster firewall (cluster-wide) and each node's host firewall, on that node."""
    if firewall_block(estate.hypervisor) is None:
        return {}
    return {CLUSTER: Detail(role="firewall"), **{node_target(n): Detail(node=n, role="firewall") for n in live.nodes}}


RULES = SystemRules(system=PROXMOX, targets=targets, plan=plan, describe=describe_firewalls)
