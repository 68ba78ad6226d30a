"""A simulated Proxmox VE cluster: fakepve, plus the PVE behaviours fakepve 0.5.0 does not model.

- VM disk resize: fakepve answers `PUT /nodes/{node}/qemu/{vmid}/resize` with success and changes
  nothing; PVE grows the disk (and refuses to shrink it).
- `import-from=` disks: fakepve keeps them in the config with size 0; PVE imports the image at its size.
- VM migration over the API: fakepve has `POST /nodes/{node}/lxc/{vmid}/migrate` but only a Python
  `migrate()` for VMs. `POST /nodes/{node}/qemu/{vmid}/migrate` is added as qemu-server's
  `migrate_vm` does it: `target` must be another node of the cluster, a running VM needs `online=1`
  ("can't migrate running VM without --online"), a running VM with disks on storage that is not
  `shared` needs `with-local-disks=1`, the VM holds the `migrate` lock for the task (type `qmigrate`)
  and then lives on the target. Assumed: volumes keep their ids (the storage exists on both nodes),
  and the task takes `migrate_secs` PVE seconds whatever the disk size.
- Migrating to a node that is offline: fakepve's container migration moves the guest anyway. PVE
  cannot reach the node and fails; here both kinds refuse with "target node 'NAME' is not online"
  (PVE's wording varies with where the SSH tunnel fails; the message is assumed).
- The appliance index, `GET/POST /nodes/{node}/aplinfo` (what `pveam available` and `pveam download`
  call), which fakepve answers from the schema alone (an empty list; a download that stores nothing).
  As PVE's `apl_download` does, POST refuses a name the index does not list (400, `template: no such
  template`), a storage that is missing or disabled, or one without `vztmpl` content (`storage 'X'
  does not support templates`), then runs a `download` task whose id is the template and which leaves
  `vztmpl/<template>` on the storage. Assumed, not PVE's: the index is `APPLIANCES`, a few real names
  of PVE 8's `system` section (PVE reads a cache that `pveam update` fills from download.proxmox.com),
  without checksums, and each download has the made-up size given there.
- Access control (users, groups, roles, ACLs, API tokens): fakepve stores none of it; see
  `gitops.demo.simulated_access`.
- Node networks (interfaces, pending changes, reload): fakepve stores none; see
  `gitops.demo.simulated_network`.
- PVE 9's permission rule for `download-url` comes from `gitops.demo.permissions`.
- The config digest in `GET .../pending` (PVE lists it there, fakepve only in `GET .../config`): see
  `gitops.demo.config_digests`.
- PVE's refusals fakepve lets through (import file names, bind mounts that cannot be cloned or migrated,
  root-only settings for API tokens, guest agent size limits): `gitops.demo.pve_rules`, each with its
  PVE source file.
- A record of the requests it receives, for the conformance test against PVE's schema (opt-in with
  `PHOENIX_PVE_RECORD`): `gitops.demo.request_log`.
- vzdump backups over the API (fakepve has only a Python `backup()`): `gitops.demo.backups`.
- The guest agent: fakepve's writes no file and runs nothing; `gitops.demo.guest_agent` keeps files and
  asks the caller what a command does.
- Guest statistics in `cluster/resources` (status, name, template, sizes) as late as pvestatd's broadcast
  makes them, when a test asks (`stats_interval`): `gitops.demo.guest_stats`.
- A container config write that allocates no volume lists no volume (fakepve lists every container's on
  every write, a walk of the whole cluster): `gitops.demo.volume_index`.
The controller relies on all of these, so this subclass adds them. Everything else is fakepve's,
including its leniencies (a node-local storage shows the same content on every node; the controller
reads content per node and does not rely on it).

`SimulatedNode` serves one on a loopback address from a background event loop, for `phoenix-gitops
demo` and for the tests' `pve` fixture, as one node (`pve1`) or a cluster of several (`pve1`..`pveN`).
Requires the `demo` (or `test`) extra, which brings fakepve.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import re
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from fakepve import FakePve, TaskError, settle
from fakepve.certs import make_cert
from fakepve.lxc import format_size, parse_size
from fakepve.model import PveError
from fakepve.qemu import join_drive, split_drive, volume_ref
from fakepve.routing import split_list

from gitops.demo.backups import VzdumpBackups
from gitops.demo.config_digests import PendingDigests
from gitops.demo.guest_agent import GuestAgentFiles
from gitops.demo.guest_stats import GuestStatsLag
from gitops.demo.permissions import Pve9DownloadPermission
from gitops.demo.pve_rules import PveRules
from gitops.demo.request_log import RequestLog
from gitops.demo.simulated_access import AccessControl
from gitops.demo.simulated_network import NodeNetwork
from gitops.demo.volume_index import LazyTakenVolumes

TIMEOUT = 30
MIB = 1024**2

# (template file, os, package, version, headline, size the simulated download has)
_APPLIANCES = [
    ("debian-11-standard_11.7-1_amd64.tar.zst", "debian-11", "debian-11-standard", "11.7-1",
     "Debian 11 Bullseye (standard)", 120 * MIB),
    ("debian-12-standard_12.7-1_amd64.tar.zst", "debian-12", "debian-12-standard", "12.7-1",
     "Debian 12 Bookworm (standard)", 126 * MIB),
    ("ubuntu-22.04-standard_22.04-1_amd64.tar.zst", "ubuntu-22.04", "ubuntu-22.04-standard", "22.04-1",
     "Ubuntu 22.04 Jammy (standard)", 129 * MIB),
    ("ubuntu-24.04-standard_24.04-2_amd64.tar.zst", "ubuntu-24.04", "ubuntu-24.04-standard", "24.04-2",
     "Ubuntu 24.04 Noble (standard)", 141 * MIB),
    ("alpine-3.20-default_20240908_amd64.tar.xz", "alpine-3.20", "alpine-3.20-default", "20240908",
     "Alpine Linux 3.20 (default)", 3 * MIB),
    ("rockylinux-9-default_20240912_amd64.tar.xz", "rockylinux-9", "rockylinux-9-default", "20240912",
     "Rocky Linux 9 (default)", 98 * MIB),
]
APPLIANCES: dict[str, dict[str, Any]] = {
    template: {
        "template": template, "os": os_, "package": package, "version": version, "headline": headline,
        "description": headline, "section": "system", "type": "lxc", "architecture": "amd64",
        "location": f"http://download.proxmox.com/images/system/{template}",
        "source": "http://download.proxmox.com/images", "infopage": "https://linuxcontainers.org",
        "maintainer": "Proxmox Support Team <support@proxmox.com>", "size": size,
    }
    for template, os_, package, version, headline, size in _APPLIANCES
}


class PhoenixFakePve(RequestLog, PveRules, VzdumpBackups, PendingDigests, GuestAgentFiles, Pve9DownloadPermission,
                     AccessControl, NodeNetwork, GuestStatsLag, LazyTakenVolumes, FakePve):  # type: ignore[misc]
    """fakepve with VM disk resize, `import-from` disks, the appliance index, PVE 9's download permission,
    VM migration, config digests in the pending view, access control (`simulated_access`), node networks
    (`simulated_network`), vzdump backups (`gitops.demo.backups`) and a guest agent that keeps files
    (`gitops.demo.guest_agent`), as PVE does them."""

    migrate_secs = 20.0  # PVE seconds a VM migration task takes

    def _routes_storage(self) -> list[tuple[str, str, Any]]:
        routes: list[tuple[str, str, Any]] = super()._routes_storage()
        return [*routes, ("GET", "/nodes/{node}/aplinfo", self._apl_list),
                ("POST", "/nodes/{node}/aplinfo", self._apl_download)]

    async def _apl_list(self, v: dict[str, Any], user: str) -> Any:
        return [{k: val for k, val in a.items() if k != "size"} for a in APPLIANCES.values()]

    async def _apl_download(self, v: dict[str, Any], user: str) -> Any:
        appliance = APPLIANCES.get(str(v["template"]))
        if appliance is None:
            raise PveError(400, "Parameter verification failed.", {"template": "no such template"})
        storage = str(v["storage"])
        store = self._check_enabled(storage, v["node"])
        if "vztmpl" not in split_list(store.get("content")):
            raise PveError(500, f"storage '{storage}' does not support templates")

        async def body() -> None:
            await self.pause(5)
            self.store_file(storage, appliance["template"], appliance["size"], content="vztmpl")

        return await self.task(v["node"], "download", appliance["template"], user, body,
                               log=[f"downloading {appliance['location']} to {appliance['template']}"])

    def _routes_qemu(self) -> list[tuple[str, str, Any]]:
        routes: list[tuple[str, str, Any]] = super()._routes_qemu()
        return [*routes, ("PUT", "/nodes/{node}/qemu/{vmid}/resize", self._qm_resize),
                ("POST", "/nodes/{node}/qemu/{vmid}/migrate", self._qm_migrate)]

    def _check_target_online(self, target: str) -> None:
        if target in self.nodes and not self.nodes[target].get("online", True):
            raise PveError(500, f"target node '{target}' is not online")

    async def _lxc_migrate(self, user: str, v: dict[str, Any]) -> Any:
        self._check_target_online(str(v.get("target", "")))
        return await super()._lxc_migrate(user, v)

    async def _qm_migrate(self, v: dict[str, Any], user: str) -> Any:
        target = str(v.get("target") or "")
        if not target:
            raise PveError(400, "Parameter verification failed.",
                           {"target": "property is missing and it is not optional"})
        if target == v["node"]:
            raise PveError(400, "Parameter verification failed.", {"target": "target is local node."})
        self.need_quorum()
        if target not in self.nodes:
            raise PveError(500, f"no such cluster node '{target}'")
        self._check_target_online(target)
        vm = self.find(v["node"], v["vmid"])
        self._check_lock(vm)
        online = str(v.get("online", "0")) in ("1", "true")
        if vm.status == "running":
            if not online:
                raise PveError(500, "can't migrate running VM without --online")
            local = [key for key, value in sorted(vm.config.items()) if self._local_disk(key, value)]
            if local and str(v.get("with-local-disks", "0")) not in ("1", "true"):
                raise PveError(500, f"can't live migrate attached local disks without with-local-disks option "
                                    f"({', '.join(local)})")

        async def body() -> str:
            vm.lock = "migrate"
            try:
                await self.pause(self.migrate_secs)
                vm.node = target
            finally:
                vm.lock = None
            return "migration finished successfully"

        return await self.task(vm.node, "qmigrate", vm.vmid, user, body, vm=vm,
                               log=[f"starting migration of VM {vm.vmid} to node '{target}'"])

    def _local_disk(self, key: str, value: Any) -> bool:
        """A disk (not a CD-ROM) on storage that is not `shared`."""
        if not re.fullmatch(r"(scsi|virtio|sata|ide|efidisk|tpmstate)\d+", key):
            return False
        volume, props = split_drive(str(value))
        sid = volume_ref(volume)[0]
        if sid is None or props.get("media") == "cdrom":
            return False
        return not self.storages.get(sid, {}).get("shared")

    def _qm_new_drive(self, vmid: int, key: str, value: str, default: str | None) -> tuple[str, list[str]]:
        volume, props = split_drive(value)
        source = props.get("import-from")
        if not source:
            return super()._qm_new_drive(vmid, key, value, default)  # type: ignore[no-any-return]
        sid, name = volume_ref(source)
        image = self._volumes(sid).get(name) if sid else None
        if image is None:
            raise TaskError(f"volume '{source}' does not exist")
        rest = {k: v for k, v in props.items() if k != "import-from"}
        made_value, made = super()._qm_new_drive(vmid, key, join_drive(volume, rest), default)
        volid, final = split_drive(made_value)
        final = dict(final)
        final["size"] = format_size(int(image.get("size") or 0))
        return join_drive(volid, final), made

    async def _qm_resize(self, v: dict[str, Any], user: str) -> Any:
        vm = self.find(v["node"], v["vmid"])
        disk = v["disk"]
        text = str(v["size"])
        grow = text.startswith("+")
        request = parse_size(text.lstrip("+"))
        if request is None:
            raise PveError(400, "Parameter verification failed.", {"size": "invalid format"})
        self._check_lock(vm)

        def decide() -> tuple[str, dict[str, str], int]:
            value = vm.config.get(disk)
            if value is None:
                raise PveError(500, f"disk '{disk}' does not exist")
            volume, props = split_drive(value)
            props = dict(props)
            size = parse_size(props.get("size", "")) or 0
            new = size + request if grow else request
            if new < size:
                raise PveError(500, f"VM {vm.vmid} - shrinking disks is not supported")
            return volume, props, new

        decide()

        async def body() -> None:
            try:
                volume, props, new = decide()
            except PveError as exc:
                raise TaskError(exc.message) from exc
            props["size"] = format_size(new)
            vm.config[disk] = join_drive(volume, props)

        return await self.task(vm.node, "resize", vm.vmid, user, body, vm=vm)


class SimulatedNode:
    """A PhoenixFakePve served over HTTPS on a loopback address from its own event-loop thread: one node
    (`pve1`), or with `nodes=N` a cluster of `pve1`..`pveN`."""

    def __init__(self, workdir: Path, *, host: str = "127.0.0.1", port: int = 0, password: str = "secret",
                 time_scale: float = 0.0, nodes: int = 1) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        certfile, keyfile, _ = make_cert(str(workdir), hosts=(host,))
        self.cafile = str(certfile)
        self.password = password
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pve-simulator", daemon=True)
        self.thread.start()
        self.fake = PhoenixFakePve(user="root@pam", password=password, host=host, port=port)
        self.fake.time_scale = time_scale
        for i in range(2, nodes + 1):
            self.fake.add_node(f"pve{i}")
        self.run(self.fake.start(str(certfile), str(keyfile)))

    @property
    def address(self) -> str:
        """`host:port`, as PHOENIX_PVE_HOST takes it."""
        return f"{self.fake.host}:{self.fake.port}"

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(TIMEOUT)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call a FakePve method, running it on the server loop when it is a coroutine function."""
        value = getattr(self.fake, name)
        if inspect.iscoroutinefunction(value):
            return self.run(value(*args, **kwargs))
        return value(*args, **kwargs)

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        self.run(settle())
        self.run(self.fake.stop())
        gc.collect()
        self.run(asyncio.sleep(0.05))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        if not self.thread.is_alive():
            self.loop.close()
