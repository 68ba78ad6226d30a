"""Hypervisor-level actions: every storage definition the hypervisor file makes (ZFS datasets, NFS, dir...)
and any other storage the guests use, and OS templates / cloud images that guests to be created need,
downloaded when missing (on each node that needs them when their storage is node-local, once when it is
shared): an OS template from its `template_url`, else by
name from the node's appliance index (`POST nodes/{node}/aplinfo`, upstream's `pveam download`); a
cloud image from `template_image_url`, else from the URL upstream derives (`ubuntu_release`).

Cloud images need a storage with `import` content. The first the config defines with it is used;
else the first `dir` storage the config defines for ISO images gets `import` added to its content
(upstream keeps images beside its ISOs); else one the node already has.

Pure; used by `gitops.planner.proxmox.planning`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gitops.config.estate import Estate
from gitops.planner.live import LiveState
from gitops.planner.plan import Action, ApiCall, FieldChange, Problem
from gitops.planner.proxmox import pve_paths
from gitops.planner.proxmox.desired import DesiredGuest
from gitops.planner.proxmox.normalize import import_filename


@dataclass
class HypervisorPlan:
    actions: list[Action] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    image_volids: dict[int, str] = field(default_factory=dict)  # VM template id -> image volid to import
    needs: dict[int, list[str]] = field(default_factory=dict)   # guest id -> hypervisor targets first


def storage_definitions(estate: Estate) -> dict[str, dict[str, object]]:
    """PVE `/storage` parameters for each storage the hypervisor file defines."""
    hv = estate.hypervisor
    out: dict[str, dict[str, object]] = {}
    for ds in hv.zfs.datasets:
        params: dict[str, object] = {"type": ds.proxmox_storage_type, "content": ds.proxmox_content_type}
        if ds.proxmox_storage_type == "zfspool":
            params["pool"] = f"{ds.pool}/{ds.name}"
        else:
            params["path"] = f"/{ds.pool}/{ds.name}"
        out[ds.storage_id] = params
    for sid, st in hv.storages.items():
        params = {"type": st.type, "content": st.content, **st.options}
        for key in ("path", "pool", "server", "export"):
            value = getattr(st, key)
            if value is not None:
                params[key] = value
        out[sid] = params
    return out


def plan_hypervisor(estate: Estate, live: LiveState, desired: list[DesiredGuest], creating: list[DesiredGuest],
                    node: str) -> HypervisorPlan:
    out = HypervisorPlan()
    definitions = storage_definitions(estate)
    import_sid = _import_storage(desired, creating, definitions, live)
    used = _used_storages(estate, node, desired, creating) | ({import_sid} if import_sid else set())
    for sid in sorted(used | set(definitions)):
        _storage(sid, definitions, live, out)
    for d in creating:  # each on the node the guest goes to
        if d.kind == "lxc" and d.ostemplate and d.clone_from is None:
            _lxc_template(d, live, d.node or node, out)
        elif d.kind == "vm" and d.image:
            _vm_image(d, live, d.node or node, import_sid, out)
    return out


def _used_storages(estate: Estate, node: str, desired: list[DesiredGuest], creating: list[DesiredGuest]) -> set[str]:
    """The storages the guests use (`desired`: the estate's desired guests on `node`, whose part is made once
    per estate: the plan and the verify both ask), and those the OS templates of the guests to create lie on."""
    used = set(estate.derive(("desired-storages", node), lambda: _desired_storages(desired)))
    for d in creating:
        if d.ostemplate:
            used.add(d.ostemplate.split(":", 1)[0])
    return used


def _desired_storages(desired: list[DesiredGuest]) -> frozenset[str]:
    used: set[str] = set()
    for d in desired:
        if d.storage:
            used.add(d.storage)
        used |= {m.storage for m in d.mounts if m.storage}
    return frozenset(used)


def _storage(sid: str, definitions: dict[str, dict[str, object]], live: LiveState, out: HypervisorPlan) -> None:
    want = definitions.get(sid)
    have = live.storages.get(sid)
    target = f"storage/{sid}"
    if have is None:
        if want is None:
            out.errors.append(Problem(target, "storage-undefined",
                                      f"storage '{sid}' is used but does not exist on the node, and the "
                                      "hypervisor file does not define it: add it to `zfs.datasets` or `storages`"))
            return
        params = {"storage": sid, **want}
        out.actions.append(Action(target=target, action="storage", summary=f"define {want['type']} storage {sid}",
                                  changes=[FieldChange(k, None, v) for k, v in params.items()],
                                  calls=[ApiCall("POST", pve_paths.storage_path(), params)]))
        return
    if want is None:
        if live.assumed:
            out.warnings.append(Problem(target, "reference-unchecked",
                                        f"storage '{sid}' is used but not defined in the hypervisor file; a plan "
                                        "between two configs cannot check that the node has it"))
        return
    want_content = {c.strip() for c in str(want["content"]).split(",") if c.strip()}
    if want_content and want_content != have.content:
        out.actions.append(Action(
            target=target, action="storage", summary=f"set content types of {sid}",
            changes=[FieldChange("content", ",".join(sorted(have.content)), ",".join(sorted(want_content)))],
            calls=[ApiCall("PUT", pve_paths.storage_path(sid), {"content": ",".join(sorted(want_content))})],
        ))


def _has_volume(live: LiveState, volid: str, node: str | None = None) -> bool:
    """`volid` is on its storage (as `node` sees it; on any node when None)."""
    storage = live.storages.get(volid.split(":", 1)[0])
    if storage is None:
        return False
    return volid in storage.volumes if node is None else storage.has_volume(volid, node)


def _download_target(live: LiveState, volid: str, node: str) -> tuple[str, str]:
    """(`template/VOLID`, "") for a shared storage or a single node; (`template/VOLID@NODE`, " to NODE")
    for a node-local storage of a cluster: there each node needs its own copy."""
    storage = live.storages.get(volid.split(":", 1)[0])
    if storage is not None and not storage.shared and len(live.nodes) > 1:
        return f"template/{volid}@{node}", f" to {node}"
    return f"template/{volid}", ""


def _lxc_template(d: DesiredGuest, live: LiveState, node: str, out: HypervisorPlan) -> None:
    volid = d.ostemplate or ""
    if _has_volume(live, volid, node):
        return
    if d.template_url:
        _download(d, volid, "vztmpl", d.template_url, node, live, out)
        return
    storage, _, rest = volid.partition(":")
    name = rest.split("/", 1)[-1]
    if name not in live.appliances:
        out.errors.append(Problem(d.target, "template-missing",
                                  f"OS template {volid} is not on its storage, not in the node's appliance index "
                                  "(`pveam available`), and the guest has no `template_url` to download it from"))
        return
    target, where = _download_target(live, volid, node)
    out.needs.setdefault(d.vmid, []).append(target)
    if not any(a.target == target for a in out.actions):
        out.actions.append(Action(target=target, action="download-template", node=node,
                                  summary=f"download appliance {name}{where}",
                                  changes=[FieldChange("volume", None, volid)],
                                  calls=[ApiCall("POST", pve_paths.node_path(node, "aplinfo"),
                                                 {"storage": storage, "template": name}, wait=True)],
                                  depends_on=[f"storage/{storage}"]))


def _live_image(live: LiveState, image: str, node: str | None = None) -> str | None:
    """The volid of `image` (stored as `import_filename(image)`) on a storage with `import` content (as `node`
    sees it; any node when None)."""
    name = import_filename(image)
    for storage in sorted(live.storages.values(), key=lambda st: st.storage):
        for volid in sorted(storage.volumes):
            if volid.endswith(f":import/{name}") and \
                    (node is None or storage.has_volume(volid, node)):
                return volid
    return None


def _vm_image(d: DesiredGuest, live: LiveState, node: str, store: str | None, out: HypervisorPlan) -> None:
    image = d.image or ""
    found = _live_image(live, image, node)
    if found:
        out.image_volids[d.vmid] = found
        return
    if store is None or not d.image_url:
        out.errors.append(Problem(d.target, "image-missing",
                                  f"cloud image {image} is on no storage with `import` content, and "
                                  + ("the guest has no `template_image_url`" if store else
                                     "no storage with `import` content is defined to download it to")))
        return
    volid = f"{store}:import/{import_filename(image)}"
    out.image_volids[d.vmid] = volid
    _download(d, volid, "import", d.image_url, node, live, out)


def _download(d: DesiredGuest, volid: str, content: str, url: str, node: str, live: LiveState,
              out: HypervisorPlan) -> None:
    """A `download-template` action for `volid` (once, however many guests need it; on node-local
    storage once per node, `template/VOLID@NODE`), and the need."""
    target, where = _download_target(live, volid, node)
    out.needs.setdefault(d.vmid, []).append(target)
    if any(a.target == target for a in out.actions):
        return
    storage, _, rest = volid.partition(":")
    filename = rest.split("/", 1)[-1]
    params = {"content": content, "filename": filename, "url": url}
    out.actions.append(Action(target=target, action="download-template", summary=f"download {filename}{where}",
                              node=node, changes=[FieldChange("volume", None, volid)],
                              calls=[ApiCall("POST", pve_paths.node_storage_path(node, storage, "download-url"),
                                             params, wait=True)],
                              depends_on=[f"storage/{storage}"]))


def _content(params: dict[str, object]) -> list[str]:
    return [c for c in str(params.get("content", "")).split(",") if c]


def _import_storage(desired: list[DesiredGuest], creating: list[DesiredGuest],
                    definitions: dict[str, dict[str, object]], live: LiveState) -> str | None:
    """The storage a cloud image is downloaded to (None when no VM to create needs one). A storage the
    config defines that holds or gets an image has `import` in its wanted content, so plans agree
    before and after the download (see the module docstring for the choice)."""
    for image in sorted({d.image for d in desired if d.kind == "vm" and d.image}):
        found = _live_image(live, image)  # an image on a storage the config defines keeps it importing
        sid = found.split(":", 1)[0] if found else None
        if sid in definitions and "import" not in _content(definitions[sid]):
            definitions[sid]["content"] = ",".join([*_content(definitions[sid]), "import"])
    if all(_live_image(live, d.image) for d in creating if d.kind == "vm" and d.image):
        return None
    for sid, params in sorted(definitions.items()):
        if "import" in _content(params):
            return sid
    for sid, params in sorted(definitions.items()):
        if params.get("type") == "dir" and "iso" in _content(params):
            params["content"] = ",".join([*_content(params), "import"])
            return sid
    for sid, st in sorted(live.storages.items()):
        if "import" in st.content:
            return sid
    return None
