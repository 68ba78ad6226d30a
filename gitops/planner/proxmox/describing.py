"""The Proxmox rules' description of their targets (`SystemRules.describe`): each storage and guest with
its node, role (template, clone, guest, storage), health (running, stopped, absent), what it depends on,
and every managed field desired against live, compared as the planner compares them. Pure.

A guest's description is kept (`DESCRIBED`, bounded) by everything it is made of: a drift report after a
commit that changed one guest describes that guest again and reuses the others'. With the controller's
live-state cache, the description of a guest the cache served as it was is taken from its memo
(`PlanMemo.description`) without even making that key.
"""

from __future__ import annotations

from collections.abc import Hashable

from gitops.config.estate import Estate
from gitops.config.memo import BoundedMemo
from gitops.planner.details import Detail, FieldValue, text
from gitops.planner.live import LiveGuest, LiveState, LiveStorage
from gitops.planner.options import PlanOptions
from gitops.planner.proxmox.comparing import same
from gitops.planner.proxmox.desired import DesiredGuest, desired_guests, desired_keys
from gitops.planner.proxmox.hypervisor import storage_definitions

DESCRIBED: BoundedMemo[Hashable, Detail] = BoundedMemo(30_000)  # 10,000 guests, and what changes, fit


def describe(estate: Estate, live: LiveState, options: PlanOptions) -> dict[str, Detail]:
    """Storages and guests, by target."""
    definitions = storage_definitions(estate)
    out: dict[str, Detail] = {}
    for sid, params in sorted(definitions.items()):
        out[f"storage/{sid}"] = _storage(params, live.storages.get(sid))
    desired = desired_guests(estate, options.node)
    keys = desired_keys(estate, options.node)
    by_id = {d.vmid: d for d in desired}
    for d in desired:
        out[d.target] = _guest(d, keys.get(d.vmid), live, by_id, definitions)
    return out


def _storage(params: dict[str, object], have: LiveStorage | None) -> Detail:
    """A storage definition: only its content types are converged once it exists (as the planner does);
    its other parameters are shown as the definition and the node have them."""
    fields = [FieldValue(field="type", desired=text(params.get("type")), live=have.type if have else None,
                         differs=have is None)]
    for key, want in sorted(params.items()):
        if key not in ("type", "content"):
            fields.append(FieldValue(field=key, desired=text(want), live=text(have.config.get(key)) if have else None,
                                     differs=have is None))
    want_content = {c.strip() for c in str(params.get("content") or "").split(",") if c.strip()}
    fields.append(FieldValue(field="content", desired=",".join(sorted(want_content)) or None,
                             live=",".join(sorted(have.content)) if have else None,
                             differs=have is None or (bool(want_content) and want_content != have.content)))
    return Detail(role="storage", health="defined" if have else "absent", fields=fields)


def _guest(d: DesiredGuest, desired: str | None, live: LiveState, by_id: dict[int, DesiredGuest],
           storages: dict[str, dict[str, object]]) -> Detail:
    guest = live.guest(d.vmid)
    have = guest.config if guest is not None else {}
    needs = [by_id[n].target for n in d.needs if n in by_id]
    if d.storage and d.storage in storages:
        needs.append(f"storage/{d.storage}")
    # This very live guest (the live-state cache never changes one in place: `PlanMemo`), desired the same way:
    # its last description, without the key below (10,000 guests' live values made into keys: 50 ms).
    memo, mine_now = live.memo, (desired, tuple(needs)) if desired is not None else None
    if memo is not None and guest is not None and mine_now is not None:
        kept = memo.description(guest, mine_now)
        if kept is not None:
            return kept  # type: ignore[no-any-return]
    # Everything the description is made of: the desired guest (its `desired_key`, a digest of all of it, or
    # the parts the description reads), the live values of the desired keys only (the others are not shown),
    # each a string or its type and repr (1, 1.0 and True are equal keys but shown differently).
    mine = desired if desired is not None else (d.kind, d.node, d.template, d.clone_from, d.secret_keys,
                                                tuple(d.config.items()))
    key = (mine, tuple(needs), guest is not None, guest.node if guest else None, guest.status if guest else None,
           tuple(v if type(v) is str else (type(v), repr(v)) for v in [have.get(k) for k in d.config]))
    found = DESCRIBED.get(key)
    if found is None:
        role = "template" if d.template else "clone" if d.clone_from is not None else "guest"
        found = _described(d, guest, have, sorted(d.config.items()), role, needs)
        DESCRIBED.put(key, found)
    if memo is not None and guest is not None and mine_now is not None:
        memo.describe(guest, mine_now, found)
    return found


def _described(d: DesiredGuest, guest: LiveGuest | None, have: dict[str, object], wanted: list[tuple[str, str]],
               role: str, needs: list[str]) -> Detail:
    fields = [FieldValue(field="node", desired=d.node or None, live=guest.node if guest else None,
                         differs=guest is None or (bool(d.node) and d.node != guest.node))]
    for key, want in wanted:
        secret = key in d.secret_keys
        value = have.get(key)
        fields.append(FieldValue(field=key, desired=text(want, secret=secret),
                                 live=text(value, secret=secret and value not in (None, "")),
                                 differs=guest is None or not same(d.kind, key, want, value)))
    return Detail(node=(guest.node if guest else d.node) or "", role=role,
                  health=guest.status if guest is not None else "absent", depends_on=needs, fields=fields)
