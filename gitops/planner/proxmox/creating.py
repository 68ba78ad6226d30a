"""Actions for a guest that does not exist yet: create from an OS template or image, or full-clone a
template and reconfigure the clone; then set its firewall. Pure; used by `gitops.planner.proxmox.planning`.
"""

from __future__ import annotations

from gitops.planner.live import LiveGuest
from gitops.planner.plan import Action, ApiCall, FieldChange, Problem
from gitops.planner.proxmox import pve_paths
from gitops.planner.proxmox.desired import DesiredGuest
from gitops.planner.proxmox.normalize import format_gib, gib, parse_size, split_props
from gitops.planner.proxmox.updating import rule_calls

# Create-time defaults for a VM made from a cloud image: not compared afterwards.
VM_CREATE_DEFAULTS = {"scsihw": "virtio-scsi-pci", "ostype": "l26", "serial0": "socket", "vga": "serial0",
                      "agent": "1", "boot": "order=scsi0"}


def _set(config: dict[str, str]) -> dict[str, object]:
    """Keys to send: empty desired values mean `unset`, which a new guest already is."""
    return {k: v for k, v in config.items() if v != ""}


def create_action(d: DesiredGuest, image_volid: str | None) -> Action:
    """`create` for a guest made from its OS template (LXC) or image / empty disk (VM)."""
    params: dict[str, object] = {"vmid": d.vmid, **_set(d.config), **d.create_only}
    if d.kind == "lxc":
        params["ostemplate"] = d.ostemplate
        params["rootfs"] = f"{d.storage}:{d.disk_gb or 8}"
        for m in d.mounts:
            params[m.key] = m.create_value()
        calls = [ApiCall("POST", pve_paths.guests_path("lxc", d.node), params, wait=True)]
    else:
        params.update(VM_CREATE_DEFAULTS)
        params["ide2"] = f"{d.storage}:cloudinit"
        disk_gb = d.disk_gb or 8
        if image_volid:
            params["scsi0"] = f"{d.storage}:0,import-from={image_volid}"
        else:
            params["scsi0"] = f"{d.storage}:{disk_gb}"
        calls = [ApiCall("POST", pve_paths.guests_path("vm", d.node), params, wait=True)]
        if image_volid and d.disk_gb is not None:  # else the disk keeps the image's own size
            calls.append(ApiCall("PUT", d.path("resize"), {"disk": "scsi0", "size": f"{disk_gb}G"}, wait=True))
    calls += _firewall_calls(d)
    changes = [FieldChange(k, None, v, secret=k in d.secret_keys) for k, v in _set(d.config).items()]
    source = d.ostemplate or image_volid or "an empty disk"
    return Action(target=d.target, action="create", node=d.node, calls=calls, changes=changes,
                  summary=f"create {d.kind} {d.name} from {source}")


def clone_problem(d: DesiredGuest, source: DesiredGuest, source_live: LiveGuest | None) -> Problem | None:
    """A clone whose disk is smaller than its template's cannot be made: disks only grow."""
    have = _source_disk(source, source_live)
    if d.disk_gb is not None and have is not None and gib(d.disk_gb) < have:
        return Problem(d.target, "disk-shrink",
                       f"{d.disk_key} would be {format_gib(have)} as a clone of {source.target} but the config "
                       f"says {d.disk_gb}G; disks only grow, so the clone cannot be made that small")
    return None


def clone_action(d: DesiredGuest, source: DesiredGuest, source_live: LiveGuest | None, *,
                 shared: bool = False) -> Action:
    """`clone`: a full clone of the template, then the clone's own config, disk size and firewall.

    A clone for another node than the template's goes there with `target` when its storage is shared;
    PVE refuses `target` for node-local storage, so then it is cloned beside the template and migrated
    (offline: a new clone is stopped)."""
    name_key = "hostname" if d.kind == "lxc" else "name"
    clone_params: dict[str, object] = {"newid": d.vmid, name_key: d.name, "full": 1}
    if not source.template and source.snapshot_name:  # upstream: `pct clone SRC NEW --snapname NAME`
        clone_params["snapname"] = source.snapshot_name
    if d.storage:
        clone_params["storage"] = d.storage
    at = source_live.node if source_live is not None and source_live.node else source.node
    source_path = pve_paths.guest_path(source.kind, at, source.vmid, "clone")
    move: list[ApiCall] = []
    if at != d.node and shared:
        clone_params["target"] = d.node
    elif at != d.node:
        move = [ApiCall("POST", pve_paths.guest_path(d.kind, at, d.vmid, "migrate"), {"target": d.node}, wait=True)]
    calls = [ApiCall("POST", source_path, clone_params, wait=True), *move]
    inherited = _inherited_keys(source, source_live)
    ours = set(d.config) | {m.key for m in d.mounts}
    params: dict[str, object] = {**_set(d.config), **d.create_only}
    params.pop("unprivileged", None)  # inherited from the template; PVE refuses to change it
    for m in d.mounts:
        params[m.key] = m.create_value()
    deletes = sorted(k for k in inherited if k not in ours and _owned(k))
    deletes += sorted(k for k, v in d.config.items() if v == "" and k in inherited)
    if deletes:
        params["delete"] = ",".join(deletes)
    calls.append(ApiCall("PUT", d.path("config"), params))
    source_size = _source_disk(source, source_live)
    if d.disk_gb is not None and (source_size is None or gib(d.disk_gb) > source_size):
        calls.append(ApiCall("PUT", d.path("resize"), {"disk": d.disk_key, "size": format_gib(gib(d.disk_gb))},
                             wait=True))
    calls += _firewall_calls(d)
    changes = [FieldChange(k, None, v, secret=k in d.secret_keys) for k, v in _set(d.config).items()]
    where = f" on {d.node}" + (f" (cloned on {at}, then migrated)" if move else "") if at != d.node else ""
    return Action(target=d.target, action="clone", node=d.node, calls=calls, changes=changes,
                  summary=f"full clone of {source.target} as {d.name}{where}")


def _owned(key: str) -> bool:
    return key.startswith(("net", "mp", "dev")) and key[-1].isdigit()


def _inherited_keys(source: DesiredGuest, live: LiveGuest | None) -> set[str]:
    """Keys the clone may get from its source: what the source has now and what this run gives it
    (the clone is made after the source's update, so it inherits the new keys too)."""
    wanted = {k for k, v in source.config.items() if v != ""} | {m.key for m in source.mounts}
    return wanted | (set(live.config) if live is not None else set())


def _source_disk(source: DesiredGuest, live: LiveGuest | None) -> int | None:
    """The source's disk size in bytes: the live one, else the size the config sets, else unknown
    (a template made from a cloud image has the image's size)."""
    if live is not None:
        _, props = split_props(str(live.config.get(source.disk_key, "")))
        size = parse_size(props.get("size"))
        if size:
            return size
    if source.disk_gb is not None:
        return gib(source.disk_gb)
    return None if source.image else gib(8)  # an empty disk is made 8 GB (create_action)


def _firewall_calls(d: DesiredGuest) -> list[ApiCall]:
    fw = d.firewall
    options: dict[str, object] = {"enable": 1 if fw.enabled else 0}
    if fw.policy_in:
        options["policy_in"] = fw.policy_in
    if fw.policy_out:
        options["policy_out"] = fw.policy_out
    calls = [ApiCall("PUT", d.path("firewall/options"), options)] if (fw.enabled or len(options) > 1) else []
    return calls + rule_calls(d, 0, fw.rules)


def template_action(d: DesiredGuest) -> Action:
    return Action(target=d.target, action="convert-to-template", node=d.node, summary="convert to a template",
                  changes=[FieldChange("template", 0, 1)],
                  calls=[ApiCall("POST", d.path("template"), wait=True)])


def snapshot_action(d: DesiredGuest) -> Action:
    """The snapshot upstream clones a non-template container from (`template_snapshot_name`), taken once
    the guest is made and configured, before anything is cloned from it."""
    name = d.snapshot_name or ""
    return Action(target=d.target, action="snapshot", node=d.node, summary=f"snapshot {name} to clone from",
                  changes=[FieldChange("snapshot", None, name)],
                  calls=[ApiCall("POST", d.path("snapshot"), {"snapname": name,
                                                              "description": "clone source (template_snapshot_name)"},
                                 wait=True)])
