"""The live state the controller last read, per guest, so a new revision reads only what can have changed.

Kept by the reconciler (one per controller process, `LiveCache(max_age=drift interval)`) and handed to the
Proxmox driver of each run; the CLI has none and reads everything fresh. For each guest it keeps what the
last read found (config, pending values and PVE's digest among them), when, the guest's line of
`GET cluster/resources` at that time, and the desired state it was read for. A read for a revision
(`read_cached`) makes one `GET cluster/resources` and then reads fresh only:

- guests whose desired state is not the one they were last read for (the commit changed them), and the
  guests that clone from one of those (their dependents in the plan graph);
- guests whose `cluster/resources` line changed (node, name, status, lock, tags, template, memory, cores,
  disk size: a migration, a start or stop, a hand edit of the sizes) or that are new to the cache;
- guests the controller itself acted on since (every action drops its target: `invalidate`);
- anything read longer ago than `max_age` (the drift interval).

Guests that are gone from `cluster/resources` are gone from the answer (the planner plans them as missing).
The cluster-level part (storages and their templates, the appliance index, networks, access, firewalls) is
kept whole: read again when the hypervisor file changed, when an action touched a non-guest target, or
when older than `max_age`. A hand edit that shows nowhere in `cluster/resources` (a guest's description,
say) is found by the drift check, which reads everything (`sweep`), and a config write never overwrites
one blindly: it carries the digest it was planned from (`digests`).

The sweep is paced: with `sweep_rps` (PHOENIX_DRIFT_RPS) above 0, every GET of the drift check's full read
waits for its slot (`gitops.pacing.Pace`), so it sends at most that many requests a second and leaves the
rest of the API to everything else. Other reads are never paced.

The sweep gives way: when the drift check was nobody's request (`sweep(give_way=True)`) and `yield_to()`
(set by the service: a push, a sync or a rollback waits) turns true, its next GET raises `errors.Yielded`
instead, and threads waiting for a slot wake at once. What the cache held is kept until a sweep has read
its replacement, so the work that goes first still reads only what changed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitops import errors, pacing
from gitops.drivers.proxmox import reading
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.planner.live import LiveGuest, LiveState, PlanMemo
from gitops.planner.proxmox.desired import DesiredGuest, desired_key

# The fields of a guest's `cluster/resources` line that say its config or placement changed (not its load).
RESOURCE_FIELDS = ("type", "node", "name", "status", "template", "tags", "lock", "maxmem", "maxcpu", "maxdisk")
# The LiveState fields the cluster-level reads fill (the rest is per guest, or another system's).
CLUSTER_FIELDS = ("storages", "appliances", "cluster_firewall", "access", "node_networks", "node_addresses",
                  "node_firewalls", "controller_address", "api_port")


@dataclass
class CachedGuest:
    guest: LiveGuest
    line: tuple[Any, ...]  # its RESOURCE_FIELDS when read
    desired: str           # the desired state it was read for (`desired_key`)
    read_at: float


@dataclass(frozen=True)
class Prefetched:
    """A `GET cluster/resources` answer read ahead of the plan (`ProxmoxDriver.prefetch`), with its round trip."""

    resources: list[dict[str, Any]]
    round_trips: tuple[float, ...]


@dataclass
class ReadCounts:
    """What the last read did: guests read fresh, guests served from the cache, cluster part fresh."""

    fresh: int = 0
    cached: int = 0
    cluster_fresh: bool = False


@dataclass
class LiveCache:
    """Per guest, the last read; and the cluster-level part. Thread-safe for the driver's calls."""

    max_age: float
    clock: Callable[[], float] = time.monotonic
    guests: dict[int, CachedGuest] = field(default_factory=dict)
    cluster: dict[str, Any] | None = None
    cluster_key: str = ""
    cluster_read_at: float = 0.0
    last: ReadCounts = field(default_factory=ReadCounts)
    sweep_rps: float = 0.0  # requests per second of the sweep's reads (0: unpaced)
    sweeping: bool = False  # the next read is the drift check's sweep (`sweep`)
    giving_way: bool = False  # ... and it stops when `yield_to()` says other work waits
    yield_to: Callable[[], bool] | None = None  # set by the service: whether a push, sync or rollback waits
    last_pace: pacing.Pace | None = None  # the last sweep's, when paced (what it waited)
    # What was redacted and planned of the guests it serves (`PlanMemo`): handed to every state it reads.
    memo: PlanMemo = field(default_factory=PlanMemo)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _lines: tuple[list[dict[str, Any]], dict[int, tuple[Any, ...]]] | None = field(default=None, repr=False)

    def lines_of(self, resources: list[dict[str, Any]]) -> dict[int, tuple[Any, ...]]:
        """Each guest's `cluster/resources` line in `resources`, by id; the last answer's are kept while it is
        that same answer (the verify reads from the plan's: 10,000 lines made once, not twice)."""
        kept = self._lines
        if kept is not None and kept[0] is resources:
            return kept[1]
        lines = {int(item["vmid"]): line_of(item) for item in resources if item.get("vmid") is not None}
        self._lines = (resources, lines)
        return lines

    def invalidate(self, target: str) -> None:
        """Forget what an action changed: a guest (`lxc/101`, `vm/1001`), or else the cluster part."""
        kind, _, ident = target.partition("/")
        with self._lock:
            if kind in ("lxc", "vm") and ident.isdigit():
                self.guests.pop(int(ident), None)
                self.memo.forget(int(ident))
            else:
                self.cluster = None

    def expire(self) -> None:
        """Forget everything: the next read is a full one (the drift check's sweep, a new leader)."""
        with self._lock:
            self.guests.clear()
            self.memo.clear()
            self.cluster = None

    def sweep(self, *, give_way: bool = False) -> None:
        """Read everything fresh at the next read (the drift check's full read), paced at `sweep_rps`; with
        `give_way`, stopped (`errors.Yielded`) as soon as `yield_to()` is true."""
        self.sweeping = True
        self.giving_way = give_way

    def take_sweep(self, client: ProxmoxClient) -> tuple[ProxmoxClient, bool]:
        """The client the next read uses (paced and giving way when it is the sweep), and whether it is."""
        sweeping, self.sweeping = self.sweeping, False
        stop = self.yield_to if sweeping and self.giving_way else None
        self.giving_way = False
        if not sweeping or (self.sweep_rps <= 0 and stop is None):
            return client, sweeping
        pace = None
        if self.sweep_rps > 0:  # real time: the client's sleep may be a test's no-op
            pace = self.last_pace = pacing.Pace(self.sweep_rps,
                                                sleep=pacing.sleep_unless(stop) if stop else time.sleep)

        def give_way() -> None:
            if stop is not None and stop():
                raise errors.Yielded("the drift check gave way to waiting work; it runs again after it")

        def gate() -> None:
            give_way()
            if pace is not None:
                pace.wait()
                give_way()  # a slot may have been long in coming

        return client.paced(gate), sweeping


def line_of(item: dict[str, Any]) -> tuple[Any, ...]:
    """The guest's `cluster/resources` line, to compare with the cache's (equal to `kept_line` of it)."""
    return tuple(map(item.get, RESOURCE_FIELDS))


def kept_line(line: tuple[Any, ...]) -> tuple[Any, ...]:
    """A line as the cache keeps it: its short strings (a node, a status) kept once for all guests
    (`reading.shared`). Only the lines of guests read fresh are kept so; the others are compared, not kept."""
    return tuple(map(reading.shared, line))


def read_cached(client: ProxmoxClient, cache: LiveCache, desired: list[DesiredGuest], *,
                firewall: Collection[int], cluster_key: str,
                read_cluster_extra: Callable[[ProxmoxClient, LiveState], None],
                keys: Mapping[int, str] | None = None, prefetched: Prefetched | None = None,
                current: Collection[int] = ()) -> LiveState:
    """The live state for `desired`, read fresh where the module docstring says, the rest from `cache` (the
    same `LiveGuest` objects, with the cache's memo: `LiveState.memo`). `keys`: each desired guest's
    `desired_key`, when the caller has them (`desired.desired_keys`). `prefetched`: this read's `cluster/resources`
    answer, read ahead by the same session. `current`: guests whose status is asked of the guest, not taken
    from `cluster/resources` (`reading.read_guests`). The sweep reads everything fresh, that answer too."""
    client, sweeping = cache.take_sweep(client)
    round_trips: list[float] = []
    if prefetched is not None and not sweeping:
        resources, round_trips = prefetched.resources, list(prefetched.round_trips)
    else:
        resources = reading.fetch_resources(client, round_trips)
    lines = cache.lines_of(resources)
    if keys is None:
        keys = {d.vmid: desired_key(d) for d in desired}
    now = cache.clock()
    with cache._lock:
        for vmid in [v for v in cache.guests if v not in lines]:  # deleted (by hand): gone
            del cache.guests[vmid]
            cache.memo.forget(vmid)
        changed = {vmid for vmid, key in keys.items()
                   if (entry := cache.guests.get(vmid)) is None or entry.desired != key}
        fresh_ids = changed | _clones_of(desired, changed)
        # what the cache still holds as it is: the same objects, not new ones merged with the old
        kept = {} if sweeping else {vmid: entry.guest for vmid, entry in cache.guests.items()
                                    if vmid in keys and vmid not in fresh_ids and entry.line == lines.get(vmid)
                                    and now - entry.read_at <= cache.max_age}
        state = reading.read_resources(client, resources=resources, known=kept)
        fresh = sorted((guest for vmid in keys if (guest := state.guests.get(vmid)) is not None
                        and guest is not kept.get(vmid) and guest.node not in state.offline_nodes),
                       key=lambda guest: guest.vmid)
        cluster = cache.cluster if (not sweeping and cache.cluster_key == cluster_key
                                    and now - cache.cluster_read_at <= cache.max_age) else None
    reading.read_guests(client, fresh, round_trips or [1.0], firewall=firewall, snapshots=None, current=current)
    if cluster is None:
        reading.read_cluster(client, state, round_trips)
        read_cluster_extra(client, state)
        cluster = {name: getattr(state, name) for name in CLUSTER_FIELDS}
    else:
        for name, value in cluster.items():
            setattr(state, name, value)
    with cache._lock:
        for guest in fresh:
            cache.guests[guest.vmid] = CachedGuest(guest, kept_line(lines.get(guest.vmid, ())), keys[guest.vmid], now)
        if cache.cluster is not cluster:
            cache.cluster, cache.cluster_key, cache.cluster_read_at = cluster, cluster_key, now
        cache.last = ReadCounts(fresh=len(fresh), cached=len(keys) - len(fresh),
                                cluster_fresh=cache.cluster_read_at == now)
    state.memo = cache.memo
    return state


def _clones_of(desired: list[DesiredGuest], changed: set[int]) -> set[int]:
    """The guests that need a changed one (its clones: they are planned from their source's state)."""
    if not changed:
        return set()
    return {d.vmid for d in desired if changed.intersection(d.needs)}
