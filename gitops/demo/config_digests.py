"""Config digests in the pending view, as PVE answers them (part of `gitops.demo.simulator`).

fakepve computes a digest per guest config (a SHA-1 that changes with the config, its pending section and
its snapshots), answers it on `GET .../config`, and refuses a `PUT`/`POST .../config` whose `digest` is not
the current one with PVE's own messages (`detected modified configuration - file changed by other user?
Try again.` for containers, `checksum mismatch (file change by other user?)` for VMs). What it lacks: PVE's
`GET .../pending` (`PVE::GuestHelpers::config_with_pending_array`) lists every scalar of the loaded config,
and the loaded config carries its `digest`, so the answer has an item `{"key": "digest", "value": ...}`.
The controller reads guests through `.../pending` alone, so this adds that item for containers and VMs.

Assumed, not PVE's: fakepve hashes its JSON form of the config rather than the file's text, and a VM's
digest does not cover its pending section. Clients treat a digest as opaque, so neither difference shows
to them, except that a change made only to a VM's pending values does not change its digest here.
"""

from __future__ import annotations

import json
from typing import Any

from fakepve.routing import ok


class PendingDigests:
    """Mixin for the simulator: the `digest` item in both kinds' pending view."""

    async def _lxc_pending(self, user: str, v: dict[str, Any]) -> Any:
        data = list(await super()._lxc_pending(user, v))  # type: ignore[misc]
        ct = self._find_ct(v["node"], v["vmid"])  # type: ignore[attr-defined]
        return [*data, {"key": "digest", "value": ct.digest()}]

    async def _pending(self, request: Any) -> Any:
        answer = await super()._pending(request)  # type: ignore[misc]
        vm = self._vm(request, "VM.Audit")  # type: ignore[attr-defined]
        data = json.loads(answer.body)["data"]
        return ok([*data, {"key": "digest", "value": vm.digest()}])
