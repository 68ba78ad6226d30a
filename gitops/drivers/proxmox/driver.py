"""`ProxmoxDriver`: Proxmox VE behind the driver seam (`gitops.drivers.seam.Driver`).

Built by the controller and the CLI around a `connection.ProxmoxClient`; the executor
(`gitops.drivers.executing`) calls `run` for each action whose `system` is `proxmox`, and the
convergence steps call `read_live` / `read_details` before planning. Reading is `reading`'s, task waits
are `tasks`', retries `retrying`'s; library errors were already translated by the client (`errors`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from gitops import errors, retrying
from gitops.config.estate import Estate
from gitops.drivers.proxmox import clonelocks, cluster_reading, tasks
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.drivers.proxmox.reading import read_live_state, read_snapshots
from gitops.drivers.seam import ActionContext
from gitops.planner.live import LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import PROXMOX, Action, ApiCall, Plan, System
from gitops.planner.proxmox import cluster_firewall, network
from gitops.planner.proxmox import desired as desired_mod


class ProxmoxDriver:
    """The Proxmox system: guests, storages, templates on one cluster, through one client."""

    system: System = PROXMOX

    def __init__(self, client: ProxmoxClient, *, policy: retrying.RetryPolicy = retrying.PROXMOX,
                 task_timeout: float = 3600.0, concurrency: int | None = None, source_address: str = "",
                 secrets_dir: Path | None = None) -> None:
        self.client = client
        self.secrets_dir = secrets_dir  # PHOENIX_SECRETS_DIR: where one-time secrets (new API tokens) go
        self.source_address = source_address  # PHOENIX_PVE_SOURCE_ADDRESS: how PVE sees us (NAT)
        self.policy = policy
        self.task_timeout = task_timeout
        self.concurrency = max(1, concurrency or client.concurrency)

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
        read = read_live_state(self.client, ids, firewall=with_firewall, snapshots=ids if full else None)
        # The Proxmox part of the snapshot; other systems' fields are theirs to fill.
        live.node, live.nodes, live.guests, live.storages = read.node, read.nodes, read.guests, read.storages
        live.offline_nodes, live.appliances = read.offline_nodes, read.appliances
        if network.desired_interfaces(estate.hypervisor):
            cluster_reading.read_networks(self.client, live)
        access = estate.hypervisor.access
        if access is not None:
            cluster_reading.read_access(self.client, live, [t.partition("!")[0] for t in access.tokens])
        if cluster_firewall.firewall_block(estate.hypervisor) is not None:
            cluster_reading.read_firewalls(self.client, live)
            live.controller_address = cluster_reading.controller_address(self.client, self.source_address)

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
        for call in action.calls:
            self._call(action, call, context)

    def _call(self, action: Action, call: ApiCall, context: ActionContext) -> None:
        what = f"{call.method} {call.path}"
        params = context.params(call.params, what=what)
        secret_file = self._secret_file(call, action) if call.save_secret else None
        context.calling(what)

        def attempt() -> None:
            answer = self.client.request(call.method, call.path, params, target=action.target)
            if secret_file is not None:
                _write_secret(secret_file, answer, action.target)
            if call.wait and tasks.is_upid(answer):
                context.task(answer)
                result = tasks.wait_for_task(self.client, answer, target=action.target, timeout=self.task_timeout)
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
        if self.secrets_dir is None or not self.secrets_dir.is_dir():
            raise errors.PermanentError(
                f"{call.method} {call.path} answers a secret that must be kept in PHOENIX_SECRETS_DIR, which is "
                "not set (or not a folder): not sent", target=action.target)
        return self.secrets_dir / call.save_secret


def _write_secret(path: Path, answer: object, target: str) -> None:
    """Write a new token's one-time `value` to `path`, readable by the owner only."""
    value = answer.get("value") if isinstance(answer, dict) else None
    if not isinstance(value, str) or not value:
        raise errors.PermanentError("the API answered no secret to keep", target=target)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")


def _retry_if(exc: BaseException) -> bool:
    """Transient API errors, and tasks that failed on a lock or timeout (they changed nothing); never a
    lost task wait, which could run the same change twice."""
    if isinstance(exc, tasks.TaskWaitError):
        return False
    if isinstance(exc, errors.TaskFailedError):
        return exc.transient
    return retrying.is_retryable(exc)
