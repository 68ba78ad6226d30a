"""Guest statistics in `cluster/resources` as late as pvestatd makes them: a mixin of the simulated node.

PVE answers `GET /cluster/resources` from two sources (`PVE::API2::Cluster` with
`PVE::API2Tools::extract_vm_stats`): a guest's id, type, node, tags and lock come from the cluster's
config filesystem and are current; its status, name, template flag, uptime and sizes (maxmem, maxcpu,
maxdisk, ...) come from the RRD data each node's pvestatd broadcasts every 10 seconds. Until the next
broadcast a guest just started still shows `stopped`, a changed memory its old `maxmem`, and a guest
created since the last one has no such data: its `status` is `unknown` and the other fields are absent.
fakepve answers everything current.

With `stats_interval` (real seconds) above 0, guests' lines here carry the statistics of the last
broadcast, taken at most that long ago: the first answer after enabling takes one, and so does each answer
once the interval has passed. 0 (the default) answers everything current, as fakepve does. Assumed: one
broadcast for the whole cluster (PVE's nodes broadcast each on its own clock), and the moment of each is the
answer that finds the last one too old. Status and statistics of `GET .../status/current` are always
current, as PVE's (`vmstatus` asks the running guest). Used by `gitops.demo.simulator.PhoenixFakePve`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from fakepve.routing import ok

# The fields of a guest's line that come from pvestatd's broadcast (the rest is current).
BROADCAST = ("status", "name", "template", "uptime", "maxcpu", "cpu", "maxmem", "mem", "maxdisk", "disk",
             "netin", "netout", "diskread", "diskwrite", "memhost")
GUEST_TYPES = ("qemu", "lxc")


class GuestStatsLag:
    """Mixed in before FakePve: wraps its `_resources`."""

    stats_interval: float = 0.0  # real seconds between broadcasts; 0: current
    _broadcast: dict[int, dict[str, Any]] | None = None
    _broadcast_at: float = 0.0

    async def _resources(self, request: Any) -> Any:
        answer = await super()._resources(request)  # type: ignore[misc]
        if self.stats_interval <= 0:
            self._broadcast = None
            return answer
        data = json.loads(answer.body)["data"]
        guests = [item for item in data if item.get("type") in GUEST_TYPES]
        now = time.monotonic()
        if self._broadcast is None or now - self._broadcast_at >= self.stats_interval:
            self._broadcast = {int(item["vmid"]): {k: item[k] for k in BROADCAST if k in item} for item in guests}
            self._broadcast_at = now
        for item in guests:
            for key in BROADCAST:
                item.pop(key, None)
            item.update(self._broadcast.get(int(item["vmid"]), {"status": "unknown"}))
        return ok(data)
