"""Config writes that carry the digest they were planned from (PVE's optimistic locking).

Used by `driver.ProxmoxDriver.run`. A plan's config write (`ApiCall.digest`) was planned from a read of
the guest's config whose digest it keeps. Sent alone, the write carries that `digest` and PVE refuses it
(`errors.StaleError`) when the config changed since: a hand edit made between the plan and the write is
never overwritten blindly; the controller reads the guest again and plans it again.

When the same action first takes a pre-apply snapshot, the snapshot itself changes the config (and its
digest). Then the digest is checked once before the snapshot (one `GET .../pending`), and the write goes
without it: the window left open is the snapshot's few seconds, not the time since the plan.
"""

from __future__ import annotations

from typing import Any

from gitops import errors
from gitops.drivers.proxmox import reading
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.planner.plan import Action, ApiCall


def send_digest(action: Action, call: ApiCall) -> bool:
    """Whether `call` goes with its digest: it has one and no earlier call of the action changes the config."""
    return bool(call.digest) and action.calls.index(call) == 0


def check_before(client: ProxmoxClient, action: Action) -> None:
    """For each digest write that follows another call of its action: the config is still the one planned
    from, or StaleError before anything is sent."""
    for call in action.calls:
        if not call.digest or send_digest(action, call):
            continue
        pending = f"{call.path.rsplit('/', 1)[0]}/pending"
        items = reading.get(client, pending)
        current = next((str(i.get("value", "")) for i in items or [] if i.get("key") == "digest"), "")
        if current and current != call.digest:
            raise errors.StaleError(f"{call.method} {call.path}: the config changed since it was planned "
                                    "(its digest is not the one read); not sent", target=action.target)


def with_digest(params: dict[str, Any], action: Action, call: ApiCall) -> dict[str, Any]:
    """The params as sent: with `digest` when `send_digest` says so."""
    return {**params, "digest": call.digest} if send_digest(action, call) else params
