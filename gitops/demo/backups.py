"""vzdump over the API (`POST /nodes/{node}/vzdump`), which fakepve 0.5.0 answers from the schema alone.

fakepve has a Python `backup(vmid)` (the `backup` lock for a while) but no route that runs it. As PVE's
`API2::VZDump` and `PVE::VZDump` do it, for the parameters the controller sends (`vmid`, `storage`,
`mode`, `compress`):
- `vmid` is required here (PVE also takes `all`, `pool` or `exclude`, which the controller never sends);
  each guest must exist and live on the node the request is sent to;
- the storage must exist (`storage 'X' does not exist`), be enabled on the node and hold backups
  (`can't use storage 'X' for backups - wrong content type`);
- the user needs `VM.Backup` on each guest and `Datastore.AllocateSpace` on the storage;
- a `vzdump` task (its id the vmid list) holds each guest's `backup` lock in turn, and leaves
  `backup/vzdump-{lxc|qemu}-VMID-YYYY_MM_DD-HH_MM_SS.{tar|vma}[.zst|.gz|.lzo]` on the storage, content
  `backup`, as PVE names its archives. Assumed, not PVE's: the archive's size is the sum of the guest's
  disk sizes (no compression modelled), and the task takes `vzdump_secs` PVE seconds per guest.
"""

from __future__ import annotations

import time
from typing import Any

from fakepve.lxc import parse_size
from fakepve.model import PveError
from fakepve.qemu import split_drive
from fakepve.routing import split_list

_SUFFIX = {"0": "", "1": ".lzo", "gzip": ".gz", "lzo": ".lzo", "zstd": ".zst"}
_DISK_KEYS = ("rootfs", "mp", "scsi", "virtio", "sata", "ide", "efidisk", "tpmstate")


class VzdumpBackups:
    """Mixin of `PhoenixFakePve`: the vzdump route."""

    vzdump_secs = 10.0  # PVE seconds one guest's backup takes

    def _routes_storage(self) -> list[tuple[str, str, Any]]:
        routes: list[tuple[str, str, Any]] = super()._routes_storage()  # type: ignore[misc]
        return [*routes, ("POST", "/nodes/{node}/vzdump", self._vzdump)]

    async def _vzdump(self, v: dict[str, Any], user: str) -> Any:
        fake: Any = self
        node = str(v["node"])
        ids = split_list(v.get("vmid"))
        if not ids:
            raise PveError(400, "Parameter verification failed.",
                           {"vmid": "property is missing and it is not optional"})
        guests = []
        for text in ids:
            guest = fake.guest(int(text)) if text.isdigit() else None
            if guest is None or guest.node != node:
                raise PveError(500, f"guest with ID '{text}' not on node '{node}'")
            guests.append(guest)
        storage = str(v.get("storage") or "local")
        store = fake._check_enabled(storage, node)
        if "backup" not in split_list(store.get("content")):
            raise PveError(500, f"can't use storage '{storage}' for backups - wrong content type")
        compress = str(v.get("compress") or "0")
        if compress not in _SUFFIX:
            raise PveError(400, "Parameter verification failed.",
                           {"compress": f"value '{compress}' does not have a value in the enumeration "
                                        "'0, 1, gzip, lzo, zstd'"})
        for guest in guests:  # PVE: VM.Backup on each guest, Datastore.AllocateSpace on the storage
            fake.require(user, f"/vms/{guest.vmid}", "VM.Backup")
        fake.require(user, f"/storage/{storage}", "Datastore.AllocateSpace")
        for guest in guests:
            fake._check_lock(guest)

        async def body() -> str:
            for guest in guests:
                guest.lock = "backup"
                guest.config["lock"] = "backup"
                try:
                    await fake.pause(self.vzdump_secs)
                finally:
                    guest.lock = None
                    guest.config.pop("lock", None)
                kind = guest.guest.split("/", 1)[0]
                archive = ".tar" if kind == "lxc" else ".vma"
                stamp = time.strftime("%Y_%m_%d-%H_%M_%S", time.gmtime())
                name = f"vzdump-{kind}-{guest.vmid}-{stamp}{archive}{_SUFFIX[compress]}"
                fake.store_file(storage, name, _disk_bytes(guest.config), content="backup")
            return "INFO: Backup job finished successfully"

        return await fake.task(node, "vzdump", ",".join(ids), user, body, lock=False,
                               log=[f"INFO: starting new backup job: vzdump {' '.join(ids)} --storage {storage}"])


def _disk_bytes(config: dict[str, Any]) -> int:
    """The sum of the guest's disk sizes (`size=` of each disk, CD-ROMs left out)."""
    total = 0
    for key, value in config.items():
        if key.rstrip("0123456789") not in _DISK_KEYS:
            continue
        _volume, props = split_drive(str(value))
        if props.get("media") == "cdrom":
            continue
        total += parse_size(props.get("size", "")) or 0
    return total
