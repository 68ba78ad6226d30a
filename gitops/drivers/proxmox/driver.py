"""`ProxmoxDriver`: Proxmox VE behind the driver seam (`gitops.drivers.seam.Driver`).

Built by the controller and the CLI around a `connection.ProxmoxClient`; the executor
(`gitops.drivers.executing`) calls `run` for each action whose `system` is `proxmox`, and the
convergence steps call `read_live` / `read_details` before planning. Reading is `reading`'s, task waits
are `tasks`', retries `retrying`'s; library errors were already translated by the client (`errors`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gitops import errors, privatefiles, retrying, secretvalues
from gitops.config.estate import Estate
from gitops.drivers.proxmox import clonelocks, cluster_reading, digests, live_cache, power, reading, tasks
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.drivers.proxmox.reading import read_live_state, read_snapshots
from gitops.drivers.seam import ActionContext
from gitops.planner.live import LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import PROXMOX, Action, ApiCall, Plan, Problem, System
from gitops.planner.proxmox import cluster_firewall, network
from gitops.planner.proxmox import desired as desired_mod

# What an action on a guest may be and leave the guest where it was, and the cluster's guests the same ones:
# after others (create, clone, delete, migrate, a restore...), the next read asks `cluster/resources` again.
KEEPS_PLACE = frozenset({"update", "resize", "start", "stop", "restart", "snapshot", "convert-to-template",
                         "firewall", "backup", "provision", "host-config"})


class ProxmoxDriver:
    """The Proxmox system: guests, storages, templates on one cluster, through one client."""

    system: System = PROXMOX

    def __init__(self, client: ProxmoxClient, *, policy: retrying.RetryPolicy = retrying.PROXMOX,
                 task_timeout: float = 3600.0, concurrency: int | None = None, source_address: str = "",
                 state_dir: Path | None = None, cache: live_cache.LiveCache | None = None) -> None:
        self.client = client
        self.cache = cache  # the controller's: reads only what can have changed (None: read everything)
        self.state_dir = state_dir  # PHOENIX_STATE_DIR: where one-time secrets (new API tokens) go
        self.source_address = source_address  # PHOENIX_PVE_SOURCE_ADDRESS: how PVE sees us (NAT)
        self.policy = policy
        self.task_timeout = task_timeout
        self.concurrency = max(1, concurrency or client.concurrency)
        self._prefetched: live_cache.Prefetched | None = None  # for the first cached read (`prefetch`)
        # Guests this driver acted on: their status is read from the guest, `cluster/resources` lags (`reading`)
        self._acted: set[int] = set()
        # The `cluster/resources` answer of the last read through the cache, and whether an action since may
        # have changed which guests there are or where (one not in `KEEPS_PLACE`): if not, the next read (the
        # verify) takes it again, and reads fresh only the guests acted on.
        self._answer: live_cache.Prefetched | None = None
        self._moved = False

    @property
    def node(self) -> str:
        """The default node: where guests without a `node` of their own go."""
        return self.client.node

    def __repr__(self) -> str:
        return f"ProxmoxDriver({self.client!r})"

    # -- reading -----------------------------------------------------------------------------

    def read_live(self, estate: Estate, options: PlanOptions, live: LiveState, *, full: bool = False) -> None:
        """The config's guests in detail, every guest's kind, node and tags, the storages. Snapshot lists
        only with `full` (the others are read by `read_details` for the guests a plan changes)."""
        guests = desired_mod.desired_guests(estate, options.node)
        ids = {d.vmid for d in guests}
        with_firewall = {d.vmid for d in guests if d.firewall.enabled or d.firewall.rules}
        if self.cache is not None and not full:
            answer = None if self.cache.sweeping else self._resources()  # a sweep reads its own, paced
            read = live_cache.read_cached(
                self.client, self.cache, guests, firewall=with_firewall, cluster_key=repr(estate.hypervisor),
                read_cluster_extra=lambda client, state: self._read_cluster_level(estate, state, client),
                keys=desired_mod.desired_keys(estate, options.node), prefetched=answer, current=self._acted)
            self._answer, self._moved = answer, False
        else:
            self._answer = None
            if self.cache is not None:
                self.cache.expire()  # a full read (a data rollback) goes on to change guests: start afresh
            read = read_live_state(self.client, ids, firewall=with_firewall, snapshots=ids if full else None,
                                   current=self._acted)
            self._read_cluster_level(estate, read)
        # The Proxmox part of the snapshot; other systems' fields are theirs to fill.
        live.node, live.nodes, live.guests = read.node, read.nodes, read.guests
        live.offline_nodes = read.offline_nodes
        live.memo = read.memo
        for name in live_cache.CLUSTER_FIELDS:
            setattr(live, name, getattr(read, name))

    def _resources(self) -> live_cache.Prefetched:
        """The `cluster/resources` answer a read through the cache starts from: the one read ahead (`prefetch`),
        else the last read's when no action since can have added, removed or moved a guest (the guests acted on
        are read fresh, their status from the guest: `reading`), else a new one."""
        answer, self._prefetched = self._prefetched, None
        if answer is None and not self._moved:
            answer = self._answer
        return answer if answer is not None else self._fetch_resources()

    def _fetch_resources(self) -> live_cache.Prefetched:
        round_trips: list[float] = []
        return live_cache.Prefetched(reading.fetch_resources(self.client, round_trips), tuple(round_trips))

    def prefetch(self) -> None:
        """Read `GET cluster/resources` now, for this driver's next read through the cache (the plan's): the
        controller connects and asks while it checks out and validates a revision. A read that fails here is
        left to that read, which asks again and says why."""
        if self.cache is None:
            return
        try:
            self._prefetched = self._fetch_resources()
        except errors.PhoenixError:
            return

    def _read_cluster_level(self, estate: Estate, live: LiveState, client: ProxmoxClient | None = None) -> None:
        """What the hypervisor file's blocks need: networks, access, firewalls (each only when configured);
        through `client` when given (the sweep's paced one), else the driver's."""
        client = client or self.client
        if network.desired_interfaces(estate.hypervisor):
            cluster_reading.read_networks(client, live)
        access = estate.hypervisor.access
        if access is not None:
            cluster_reading.read_access(client, live, [t.partition("!")[0] for t in access.tokens])
        if cluster_firewall.firewall_block(estate.hypervisor) is not None:
            cluster_reading.read_firewalls(client, live)
            live.controller_address = cluster_reading.controller_address(client, self.source_address)

    def read_details(self, plan: Plan, options: PlanOptions, live: LiveState) -> bool:
        """Snapshot lists of the guests the plan changes (a snapshot first, old ones pruned)."""
        if not options.snapshot_name:
            return False
        changed = {int(a.target.split("/", 1)[1]) for a in plan.actions
                   if a.system == PROXMOX and a.action in ("update", "resize")
                   and a.target.startswith(("lxc/", "vm/"))}
        touched = [live.guests[i] for i in sorted(changed) if i in live.guests]
        if not touched:
            return False
        read_snapshots(self.client, touched)
        return True

    # -- acting ------------------------------------------------------------------------------

    def lane(self, action: Action) -> str:
        return action.node or self.client.node

    def run(self, action: Action, context: ActionContext) -> None:
        try:
            digests.check_before(self.client, action)
            for call in action.calls:
                def stop(guest: str) -> None:  # a destroy of a guest found running (`power`)
                    self._call(action, ApiCall("POST", f"{guest}/status/stop", wait=True), context)
                if power.before(self.client, call, stop):
                    self._call(action, call, context)
        finally:
            kind, _, ident = action.target.partition("/")
            if kind in ("lxc", "vm") and ident.isdigit():
                self._acted.add(int(ident))
                self._moved = self._moved or action.action not in KEEPS_PLACE
            if self.cache is not None:  # whatever happened, what it knew of the target is old now
                self.cache.invalidate(action.target)

    def _call(self, action: Action, call: ApiCall, context: ActionContext) -> None:
        what = f"{call.method} {call.path}"
        params = digests.with_digest(context.params(call.params, what=what), action, call)
        secret_file = self._secret_file(call, action) if call.save_secret else None
        context.calling(what)

        def attempt() -> None:
            answer = self.client.request(call.method, call.path, params, target=action.target)
            if secret_file is not None:
                _write_secret(secret_file, answer, action.target)
            if call.wait and tasks.is_upid(answer):
                context.task(answer)
                result = tasks.wait_for_task(self.client, answer, target=action.target, timeout=self.task_timeout,
                                             polling=lambda: context.calling(f"GET tasks/{answer}/status"))
                context.task(answer, result.warnings)

        policy = self.policy
        if clonelocks.clone_source(call.method, call.path) is not None:
            # Someone else's clone of the source holds its lock as long as a clone takes: wait that long.
            policy = dataclasses.replace(policy, attempts=1_000_000, max_delay=self.task_timeout)
        with clonelocks.turn(self.client.host, call.method, call.path):  # clones of one source take turns
            retrying.call_with_retries(attempt, policy=policy, sleep=self.client.sleep, retry_if=_retry_if,
                                       what=f"{what} for {action.target}")

    def close(self) -> None:
        self.client.close()

    def _secret_file(self, call: ApiCall, action: Action) -> Path:
        """Where the answer's secret goes; checked before the call, so a secret is never made and lost."""
        problem = self._secret_problem(call)
        if problem is not None:
            raise errors.PermanentError(f"{call.method} {call.path}: {problem}: not sent", target=action.target)
        assert self.state_dir is not None
        return self.state_dir / call.save_secret

    def _secret_problem(self, call: ApiCall) -> str | None:
        if self.state_dir is None:
            return "the one-time secret it answers must be kept in PHOENIX_STATE_DIR, which is not set"
        why = privatefiles.can_create(self.state_dir / call.save_secret)
        return None if why is None else f"the one-time secret it answers cannot be kept in PHOENIX_STATE_DIR: {why}"

    def secret_problems(self, plan: Plan) -> list[Problem]:
        """A plan error for each call whose one-time secret could not be stored (before anything is made)."""
        return [Problem(action.target, "secret-store", f"{call.method} {call.path}: {problem}")
                for action in plan.actions for call in action.calls
                if call.save_secret and (problem := self._secret_problem(call)) is not None]


def _write_secret(path: Path, answer: object, target: str) -> None:
    """Write a new token's one-time `value` to the new file `path` (0600 in a 0700 folder)."""
    value = answer.get("value") if isinstance(answer, dict) else None
    if not isinstance(value, str) or not value:
        raise errors.PermanentError("the API answered no secret to keep", target=target)
    secretvalues.REGISTRY.add(value, credential=True)
    privatefiles.create_private(path, (value + "\n").encode())


def _retry_if(exc: BaseException) -> bool:
    """Transient API errors, and tasks that failed on a lock or timeout (they changed nothing); never a
    lost task wait, which could run the same change twice."""
    if isinstance(exc, tasks.TaskWaitError):
        return False
    if isinstance(exc, errors.TaskFailedError):
        return exc.transient
    return retrying.is_retryable(exc)
