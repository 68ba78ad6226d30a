"""Proxmox's part of the live state a cluster would report once converged to a config: the "live" side of a
config-to-config plan.

`assume(estate, options, live)` (the `assume` of `planning.RULES`, called by
`gitops.planner.systems.assumed_live`) is what `phoenix-gitops plan --base REF --head REF` (and a
pull-request review without a Proxmox node) compares the head's config with, so the plan lists exactly
what merging the head would change. Pure. Each guest is on the node its config names (the cluster's
nodes are the ones the configs name, `live.nodes`). It assumes what PVE adds on its own after a converge: a MAC on every
NIC, disks named `<storage>:<kind>-<id>-disk-N` with their size, the storages the config defines or
uses, the OS templates and cloud images the guests were made from, and the `phoenix-gitops` tag; and
the cluster's own resources as the config declares them (the cluster firewall, access control, each
node's bridges and VLANs), so a config-to-config plan lists only what changes there too.
"""

from __future__ import annotations

from typing import Any

from gitops.config.estate import Estate
from gitops.planner.live import LiveAccess, LiveClusterFirewall, LiveFirewall, LiveGuest, LiveState, LiveStorage
from gitops.planner.options import PlanOptions
from gitops.planner.proxmox import access, network
from gitops.planner.proxmox.desired import MANAGED_TAG, DesiredGuest, desired_guests, pve_rule
from gitops.planner.proxmox.hypervisor import storage_definitions


def assume(estate: Estate, options: PlanOptions, live: LiveState) -> None:
    """Storages, guests (each on its own node) and the cluster's resources as `estate` declares them."""
    for sid, params in storage_definitions(estate).items():
        content = {c.strip() for c in str(params.get("content", "")).split(",") if c.strip()}
        live.storages[sid] = LiveStorage(sid, str(params.get("type", "dir")), content)
    for d in desired_guests(estate, options.node):
        live.guests[d.vmid] = _guest(d, d.node or options.node)
        _assume_storages(d, live)
    _assume_cluster(estate, live)


def _assume_cluster(estate: Estate, live: LiveState) -> None:
    hv = estate.hypervisor
    block = hv.host_firewall()
    if block is not None:
        live.cluster_firewall = LiveClusterFirewall(
            options={"enable": int(block.enabled), "policy_in": block.default_input_policy,
                     "policy_out": block.default_output_policy},
            rules=[{**pve_rule(r), "pos": i} for i, r in enumerate(block.global_firewall_rules)],
            aliases=dict(block.aliases), ipsets={k: list(v) for k, v in block.ipsets.items()})
        live.node_firewalls = {n: LiveFirewall(options={"enable": 1}) for n in live.nodes}
    if hv.access is not None:
        acl = {(a.path, kind, ugid, role): a.propagate for a in hv.access.acls
               for kind, names in (("user", a.users), ("group", a.groups), ("token", a.tokens))
               for ugid in names for role in a.roles}
        live.access = LiveAccess(
            users={u: {**access.user_fields(user), "groups": set(user.groups)} for u, user in hv.access.users.items()},
            groups={g: ({"comment": group.comment} if group.comment is not None else {})
                    for g, group in hv.access.groups.items()},
            roles={r: set(privs) for r, privs in hv.access.roles.items()},
            tokens={t: {"privsep": int(tok.privsep), "expire": tok.expire,
                        **({"comment": tok.comment} if tok.comment else {})} for t, tok in hv.access.tokens.items()},
            acl=acl)
    interfaces = network.desired_interfaces(hv)
    if interfaces:
        live.node_networks = {n: {name: dict(cfg) for name, cfg in interfaces.items()} for n in live.nodes}


def _mac(vmid: int, index: int) -> str:
    return f"BC:24:11:{(vmid >> 8) & 0xFF:02X}:{vmid & 0xFF:02X}:{index & 0xFF:02X}"


def _guest(d: DesiredGuest, node: str) -> LiveGuest:
    config: dict[str, Any] = {k: v for k, v in d.config.items() if v != ""}
    for index, (key, value) in enumerate(sorted(config.items())):
        if key.startswith("net") and d.kind == "lxc" and "hwaddr=" not in value:
            config[key] = f"{value},hwaddr={_mac(d.vmid, index)},type=veth"
        elif key.startswith("net") and d.kind == "vm" and value.startswith("virtio,"):
            config[key] = value.replace("virtio,", f"virtio={_mac(d.vmid, index)},", 1)
    if d.kind == "lxc" and d.create_only.get("unprivileged") == "1":
        config["unprivileged"] = 1  # PVE shows it on an unprivileged container (absent: privileged)
    if d.storage and d.disk_gb:
        disk = "subvol" if d.kind == "lxc" else "vm"
        config[d.disk_key] = f"{d.storage}:{disk}-{d.vmid}-disk-0,size={d.disk_gb}G"
    for n, m in enumerate(d.mounts, start=1):
        if m.host_path:
            config[m.key] = f"{m.host_path},mp={m.path}" + (",ro=1" if m.read_only else "")
        else:
            config[m.key] = f"{m.storage}:subvol-{d.vmid}-disk-{n},mp={m.path},size={m.size_gb}G"
    rules = [{**r, "pos": i, "digest": "assumed", "ipversion": 4} for i, r in enumerate(d.firewall.rules)]
    options: dict[str, Any] = {"enable": 1} if d.firewall.enabled else {}
    if d.firewall.enabled and d.firewall.policy_in:
        options["policy_in"] = d.firewall.policy_in
    if d.firewall.enabled and d.firewall.policy_out:
        options["policy_out"] = d.firewall.policy_out
    return LiveGuest(kind=d.kind, vmid=d.vmid, node=node, name=d.name,
                     status="stopped" if d.template else "running", template=d.template, tags=[MANAGED_TAG],
                     config=config, firewall=LiveFirewall(options=options, rules=rules))


def _assume_storages(d: DesiredGuest, live: LiveState) -> None:
    """Storages a converged guest uses exist, and the template or image it was made from is on them."""
    for sid in {d.storage, *(m.storage for m in d.mounts)} - {None}:
        live.storages.setdefault(str(sid), LiveStorage(str(sid), "dir", {"images", "rootdir"}))
    if d.ostemplate and d.clone_from is None:
        sid = d.ostemplate.split(":", 1)[0]
        live.storages.setdefault(sid, LiveStorage(sid, "dir", {"vztmpl"})).volumes.add(d.ostemplate)
    if d.image:
        store = next((s for s in sorted(live.storages.values(), key=lambda s: s.storage) if "import" in s.content),
                     None)
        if store is None:
            store = live.storages.setdefault("local", LiveStorage("local", "dir", {"import"}))
        store.volumes.add(f"{store.storage}:import/{d.image}")


def config_nodes(estate: Estate, default: str) -> set[str]:
    """The cluster nodes a config names: each guest's node (its own, else the hypervisor file's, else
    `default`)."""
    return {d.node or default for d in desired_guests(estate, default)}
