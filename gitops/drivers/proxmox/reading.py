"""Reading the live state of Proxmox into `gitops.planner.live.LiveState`, with as few calls as will do.

Called by the controller and the CLI before planning (and for drift checks). The calls:

- one `GET cluster/resources`: every guest's kind, node, name, status, template flag, tags and lock;
  the nodes;
- per guest the caller names in `current` (those it acted on since its last read) and per guest whose line
  says `unknown` (created since pvestatd's last broadcast), one `GET .../status/current`: `cluster/resources`
  takes a guest's status, name and template flag from the statistics pvestatd broadcasts every 10 seconds,
  so right after a start it may still say `stopped`; `status/current` asks the guest (its tags and lock
  too: a caller may hand in an answer of `cluster/resources` read before it acted);
- per managed guest, one `GET .../pending`: it carries the current value of every key *and* what is
  pending, so it replaces `GET .../config` (PVE's `config` shows pending values merged in for
  containers, so it could not tell them apart anyway), and the config's `digest` (kept on the guest:
  the config write planned from this read carries it, and PVE refuses it if the config changed since);
- per managed guest, only when there can be something to see: the firewall options and rules (a NIC
  has `firewall=1`, or the caller asks for the guest in `firewall`), the snapshot list (the config
  has `parent`, which PVE sets while any snapshot the config descends from exists, or the caller asks
  in `snapshots`);
- one `GET storage`, and the content of storages that hold `vztmpl`, `iso` or `import` volumes: once
  for a shared storage, on each online node it is enabled on for a node-local one;
- one `GET nodes/{node}/aplinfo`: the appliance index (OS templates PVE can download by name).

Guests on a node that is offline are listed (kind, node, name) but not read in detail: the planner
leaves them alone.

Guest calls run in a thread pool bounded by the client's read concurrency, when the calls before them (the
cluster resources, the storages) show that a round trip takes long enough for threads to pay; each GET
is retried on transient errors.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from gitops import retrying
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.errors import PermanentError
from gitops.planner.live import LiveFirewall, LiveGuest, LiveState, LiveStorage
from gitops.planner.proxmox import pve_paths

T = TypeVar("T")
PARALLEL_ABOVE = 0.002  # seconds per call above which reading in parallel pays
# A guest's config keys, and its values this short (a bridge, an OS type, `1`), are kept once for all guests
# (`sys.intern`): a sweep of 10,000 guests holds them in the cache and, while it reads, in its new answers.
INTERN_UP_TO = 64


def shared(value: Any) -> Any:
    """`value`, kept once for all guests when it is a string of at most INTERN_UP_TO characters."""
    return sys.intern(value) if type(value) is str and len(value) <= INTERN_UP_TO else value
TEMPLATE_CONTENT = frozenset({"vztmpl", "iso", "import"})
_NET_KEY = re.compile(r"^net\d+$")
_FIREWALL_ON = re.compile(r"(^|,)firewall=(1|true|on|yes)(,|$)")


def guest_path(guest: LiveGuest) -> str:
    """`nodes/{node}/{lxc|qemu}/{vmid}`, the API path of a guest."""
    return pve_paths.guest_path(guest.kind, guest.node, guest.vmid)


def read_live_state(
    client: ProxmoxClient,
    vmids: set[int] | None = None,
    *,
    firewall: Collection[int] = (),
    snapshots: Collection[int] | None = (),
    current: Collection[int] = (),
) -> LiveState:
    """The cluster as the planner sees it; details (config, pending, firewall, snapshots) for `vmids`
    (every guest when None). `firewall` and `snapshots` name guests whose firewall or snapshot list is
    read even without a sign of one (pass the guests whose desired config has them). `snapshots=None`
    reads no snapshot list at all: the caller reads the few it needs later with `read_snapshots`."""
    round_trips: list[float] = []  # seconds each call before the guests' took
    state = read_resources(client, round_trips)
    managed = [g for vmid, g in sorted(state.guests.items())
               if (vmids is None or vmid in vmids) and g.node not in state.offline_nodes]
    read_cluster(client, state, round_trips)
    read_guests(client, managed, round_trips, firewall=firewall, snapshots=snapshots, current=current)
    return state


def read_resources(client: ProxmoxClient, round_trips: list[float] | None = None,
                   resources: list[dict[str, Any]] | None = None, *,
                   known: Mapping[int, LiveGuest] | None = None) -> LiveState:
    """The nodes and every guest's kind, node, name, status, template flag, tags and lock: one
    `GET cluster/resources` (or its answer, when given). `known`: guests already read in detail, by id,
    whose line the caller found unchanged: on an online node, that guest itself stands for its line."""
    if resources is None:
        resources = fetch_resources(client, round_trips)
    state = LiveState(node=client.node)
    state.nodes = sorted(str(r["node"]) for r in resources if r.get("type") == "node")
    state.offline_nodes = {str(r["node"]) for r in resources
                           if r.get("type") == "node" and r.get("status", "online") != "online"}
    for item in resources:
        kind = pve_paths.guest_kind(str(item.get("type")))
        if kind is None:
            continue
        found = known.get(int(item["vmid"])) if known else None
        if found is not None and found.kind == kind and found.node not in state.offline_nodes:
            state.guests[found.vmid] = found
            continue
        guest = LiveGuest(
            kind=kind,
            vmid=int(item["vmid"]),
            node=shared(str(item.get("node", ""))),
            name=str(item.get("name") or ""),
            status=shared(str(item.get("status") or "stopped")),
            template=bool(int(item.get("template") or 0)),
            tags=tags_of(item.get("tags")),
            lock=str(item.get("lock") or ""),
        )
        state.guests[guest.vmid] = guest
    return state


def fetch_resources(client: ProxmoxClient, round_trips: list[float] | None = None) -> list[dict[str, Any]]:
    """`GET cluster/resources`: one line per node, guest and storage of the cluster."""
    return list(get(client, "cluster/resources", round_trips) or [])


def read_cluster(client: ProxmoxClient, state: LiveState, round_trips: list[float]) -> None:
    """The storages (with the template content of those that hold templates) and the appliance index."""
    for item in get(client, pve_paths.storage_path(), round_trips) or []:
        storage = _read_storage(client, item, round_trips, _online(state))
        state.storages[storage.storage] = storage
    state.appliances = _read_appliances(client, round_trips, _online(state))


def read_guests(client: ProxmoxClient, managed: list[LiveGuest], round_trips: list[float], *,
                firewall: Collection[int] = (), snapshots: Collection[int] | None = (),
                current: Collection[int] = ()) -> None:
    """Each guest's details (see `read_live_state`), in threads when a round trip takes long enough."""
    current_for = set(current)
    firewall_for = set(firewall)
    snapshots_for: set[int] | None = None if snapshots is None else set(snapshots)
    # Threads pay when each round trip waits on the server (a real PVE takes 10-50 ms to read a config);
    # when it answers at once, they only contend. The quickest call so far tells which it is.
    per_call = min(round_trips) if round_trips else 1.0
    workers = 1 if per_call < PARALLEL_ABOVE else max(1, client.read_concurrency)
    if workers == 1 or len(managed) < 2:
        for g in managed:
            _read_guest(client, g, g.vmid in firewall_for, _snapshot_wish(g, snapshots_for),
                        _now_wish(g, current_for))
        return
    with ThreadPoolExecutor(max_workers=min(workers, len(managed)), thread_name_prefix="pve-read") as pool:
        jobs = [pool.submit(_read_guest, client, g, g.vmid in firewall_for, _snapshot_wish(g, snapshots_for),
                            _now_wish(g, current_for)) for g in managed]
        for job in jobs:
            job.result()


def tags_of(value: Any) -> list[str]:
    """A guest's tags as PVE lists them (`tags` of a `cluster/resources` line or of `status/current`), each
    kept once for all guests (`shared`)."""
    return [shared(t) for t in split_tags(str(value or ""))]


def split_tags(text: str) -> list[str]:
    """PVE's tag string (`a;b`, also `a,b` or `a b`) as a list."""
    return [t for t in re.split(r"[;,\s]+", text) if t]


def parse_pending(items: Iterable[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config, pending) from a `.../pending` answer: current values, and for each key whose next value
    differs, that value (None for a pending delete)."""
    config: dict[str, Any] = {}
    pending: dict[str, Any] = {}
    for item in items:
        key = shared(str(item.get("key", "")))  # the same few dozen keys in every guest of a big estate
        if not key:
            continue
        if "value" in item:
            config[key] = shared(item["value"])
        if item.get("delete"):
            pending[key] = None
        elif "pending" in item and item["pending"] != item.get("value"):
            pending[key] = item["pending"]
    return config, pending


def has_firewall_nic(config: dict[str, Any], pending: dict[str, Any]) -> bool:
    """True if a NIC (now or after the pending change) has the firewall flag."""
    values = [v for k, v in [*config.items(), *pending.items()] if _NET_KEY.match(k) and v is not None]
    return any(_FIREWALL_ON.search(str(v)) for v in values)


def _snapshot_wish(guest: LiveGuest, wanted: set[int] | None) -> bool | None:
    """True: read the list; False: read it if the config shows a snapshot; None: never."""
    return None if wanted is None else guest.vmid in wanted


def read_snapshots(client: ProxmoxClient, guests: Iterable[LiveGuest]) -> None:
    """Fill in the snapshot lists of `guests` (those the plan is about to change)."""
    todo = list(guests)
    workers = min(max(1, client.read_concurrency), len(todo))
    if workers <= 1:
        for g in todo:
            _read_snapshot_list(client, g)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pve-read") as pool:
        for job in [pool.submit(_read_snapshot_list, client, g) for g in todo]:
            job.result()


def _read_snapshot_list(client: ProxmoxClient, guest: LiveGuest) -> None:
    listed = get(client, f"{guest_path(guest)}/snapshot") or []
    guest.snapshots = [str(s["name"]) for s in listed if s.get("name") and s["name"] != "current"]


def _now_wish(guest: LiveGuest, current: set[int]) -> bool:
    """Whether the guest's status is asked of the guest itself (see the module docstring)."""
    return guest.vmid in current or guest.status == "unknown"


def _read_guest(client: ProxmoxClient, guest: LiveGuest, want_firewall: bool, want_snapshots: bool | None,
                want_current: bool = False) -> int:
    """Fill in the guest's details; returns the number of calls made."""
    base = guest_path(guest)
    calls = 1
    if want_current:
        now = get(client, f"{base}/status/current") or {}
        guest.status = shared(str(now.get("status") or guest.status))
        guest.name = str(now.get("name") or guest.name)
        guest.template = bool(int(now.get("template") or 0))  # PVE gives these three only when set
        guest.tags = tags_of(now.get("tags"))
        guest.lock = str(now.get("lock") or "")
        calls += 1
    guest.config, guest.pending = parse_pending(get(client, f"{base}/pending") or [])
    guest.digest = str(guest.config.pop("digest", "") or "")  # PVE lists the config's digest as an item
    if want_firewall or has_firewall_nic(guest.config, guest.pending):
        options = dict(get(client, f"{base}/firewall/options") or {})
        options.pop("digest", None)
        rules = [{k: v for k, v in r.items() if k != "digest"}
                 for r in get(client, f"{base}/firewall/rules") or []]
        guest.firewall = LiveFirewall(options=options, rules=rules)
        calls += 2
    if want_snapshots or (want_snapshots is not None and guest.config.get("parent")):
        _read_snapshot_list(client, guest)
        calls += 1
    return calls


def _online(state: LiveState) -> list[str]:
    return [n for n in state.nodes if n not in state.offline_nodes]


def _read_storage(client: ProxmoxClient, item: dict[str, Any], round_trips: list[float],
                  online: list[str]) -> LiveStorage:
    config = {k: v for k, v in item.items() if k != "digest"}
    content = {c for c in str(item.get("content") or "").split(",") if c}
    storage = LiveStorage(storage=str(item["storage"]), type=str(item.get("type", "")), content=content,
                          config=config)
    if not content & TEMPLATE_CONTENT or int(item.get("disable") or 0):
        return storage
    nodes = _storage_nodes(client, item, online)
    nodes = nodes[:1] if storage.shared else nodes

    def listing(node: str) -> set[str]:
        listed = get(client, pve_paths.node_storage_path(node, storage.storage, "content"), round_trips) or []
        return {str(v["volid"]) for v in listed if v.get("volid") and str(v.get("content", "")) in TEMPLATE_CONTENT}
    for node, volumes in zip(nodes, per_node(client, listing, nodes), strict=True):
        storage.volumes |= volumes
        if not storage.shared:
            storage.node_volumes[node] = volumes
    return storage


def per_node(client: ProxmoxClient, read: Callable[[str], T], nodes: list[str]) -> list[T]:
    """`read(node)` for each node, in order; from threads when there are several (one round trip each)."""
    if len(nodes) < 2:
        return [read(n) for n in nodes]
    with ThreadPoolExecutor(max_workers=min(len(nodes), max(1, client.read_concurrency)),
                            thread_name_prefix="pve-read") as pool:
        return list(pool.map(read, nodes))


def _storage_nodes(client: ProxmoxClient, item: dict[str, Any], online: list[str]) -> list[str]:
    """The online nodes a storage is enabled on (its `nodes` list, or all), the default node first."""
    limited = {n for n in str(item.get("nodes") or "").split(",") if n}
    nodes = [n for n in online if not limited or n in limited] or ([client.node] if client.node else [])
    return sorted(nodes, key=lambda n: n != client.node)


def _read_appliances(client: ProxmoxClient, round_trips: list[float], online: list[str]) -> set[str]:
    """Template file names of the node's appliance index (the default node's, else the first online one).
    PVE reads it from a local cache; a node that has none (never ran `pveam update`) answers an empty
    list, and so does this on a permanent error."""
    node = client.node or (online[0] if online else "")
    if not node:
        return set()
    try:
        listed = get(client, pve_paths.node_path(node, "aplinfo"), round_trips) or []
    except PermanentError:
        return set()
    return {str(a["template"]) for a in listed if a.get("template") and a.get("type", "lxc") in ("lxc", "openvz")}


def get(client: ProxmoxClient, path: str, round_trips: list[float] | None = None) -> Any:
    """GET with retries (every read of the driver's goes through it); when `round_trips` is given, the time
    of the call that answered goes there."""
    def call() -> Any:
        started = time.perf_counter()
        answer = client.request("GET", path)
        if round_trips is not None:
            round_trips.append(time.perf_counter() - started)
        return answer
    return retrying.call_with_retries(call, sleep=client.sleep, what=f"GET {path}")
