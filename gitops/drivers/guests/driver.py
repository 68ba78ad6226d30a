"""`GuestsDriver`: inside the guests, behind the driver seam (system `guests`). Registered by
`gitops.controller.systems` only when `PHOENIX_PROVISIONING` is set.

Reading: for each guest the config gives scripts, what its own record says ran (`/var/lib/phoenix-gitops/
provisioned.json` in the guest: step -> identity), read when it runs; for each container with host-side
settings, the raw `lxc.*` lines of its node's config file and the owners of its bind-mount folders.

Acting (the calls of `gitops.planner.guests.provisioning`):
- `PUT {kind}/{id}/input` `{"input": JSON}`: the JSON every script of the action reads; `${secret:NAME}`
  references are resolved now, through the executor's context (so their values are scrubbed from every
  error and output tail), and JSON-escaped into it.
- `POST {kind}/{id}/steps/{name}` `{"file", "sha256", "identity"}`: run that script as root in the guest (it
  must still hash to `sha256`, else nothing runs): containers by SSH to the node and `pct push`/`pct exec`
  (`containers`), VMs through the guest agent (`agent`). Exit 0 adds the step to the guest's record; any
  other status fails the action with the step, the status and the tail of the output.
- `PUT lxc/{id}/lxc-lines` `{"lines"}`, `POST lxc/{id}/bind-dir` `{"path", "uid", "gid"}`: host-side settings.
Each step started is reported as a task (`step@identity`), which the ledger keeps per guest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from gitops import errors
from gitops.config.estate import Estate
from gitops.config.lxc import LxcGuest
from gitops.config.secretrefs import REF, scrub
from gitops.drivers.guests.agent import Agent
from gitops.drivers.guests.containers import Containers, lxc_lines
from gitops.drivers.guests.ssh import Completed, NodeShells
from gitops.drivers.proxmox.connection import ProxmoxClient, connect
from gitops.drivers.seam import ActionContext
from gitops.planner.guests.host_settings import host_settings
from gitops.planner.guests.provisioning import GUESTS
from gitops.planner.live import LiveHostConfig, LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Action, ApiCall, Plan, System
from gitops.planner.proxmox.desired import desired_guests
from gitops.settings import Settings

READERS = 16  # guests read at once
TAIL_LINES = 40  # kept with the outcome (and the ledger)
ERROR_LINES = 3  # quoted in the error message itself


class _Channel(Protocol):
    def begin(self, node: str, vmid: int, guest_input: bytes) -> str: ...
    def run_script(self, node: str, vmid: int, folder: str, step: str, script: bytes,
                   guest_input: bytes) -> Completed: ...
    def write_record(self, node: str, vmid: int, folder: str, record: dict[str, str]) -> None: ...
    def end(self, node: str, vmid: int, folder: str) -> None: ...


class GuestsDriver:
    """Scripts in guests and host-side container settings."""

    system: System = GUESTS

    def __init__(self, settings: Settings, *, client: ProxmoxClient | None = None,
                 shells: NodeShells | None = None) -> None:
        self.settings = settings
        self.concurrency = settings.pve_concurrency
        self._client = client
        self._shells = shells

    @property
    def containers(self) -> Containers:
        if self._shells is None:
            self._shells = NodeShells(self.settings)
        return Containers(self._shells)

    @property
    def agent(self) -> Agent:
        if self._client is None:
            self._client = connect(self.settings)
        return Agent(self._client, timeout=self.settings.ssh_timeout)

    def __repr__(self) -> str:
        return "GuestsDriver()"

    # -- reading -----------------------------------------------------------------------------

    def read_live(self, estate: Estate, options: PlanOptions, live: LiveState, *, full: bool = False) -> None:
        """What ran in each guest with scripts, and each container's host-side settings: one reader per
        guest, `READERS` at once (SSH channels share each node's connection; agent reads are API calls)."""
        provisioning = options.provisioning
        if provisioning is None:
            return
        readers: list[Callable[[], None]] = []
        for d in desired_guests(estate, options.node):
            guest = live.guest(d.vmid)
            if guest is None:
                continue
            node = guest.node or d.node
            if d.target in provisioning.guests:
                if guest.kind == "lxc" and (guest.template or guest.status == "running"):
                    read = self.containers.read_node_record if guest.template else self.containers.read_record
                    readers.append(partial(_keep, live.provisioned, d.target, read, node, d.vmid))
                elif guest.kind == "vm" and guest.status == "running" and not guest.template:
                    readers.append(partial(_keep, live.provisioned, d.target, self.agent.read_record, node, d.vmid))
                else:
                    live.provisioned[d.target] = None
            ct = estate.lxc_guest(d.vmid) if d.kind == "lxc" else None
            if ct is not None and guest.kind == "lxc" and (ct.lxc_options or not host_settings(ct).empty):
                readers.append(partial(_read_host, self.containers, live, d.target, node, d.vmid, ct))
        if not readers:
            return
        with ThreadPoolExecutor(max_workers=min(READERS, len(readers)), thread_name_prefix="guests-read") as pool:
            for future in [pool.submit(reader) for reader in readers]:
                future.result()

    def read_details(self, plan: Plan, options: PlanOptions, live: LiveState) -> bool:
        return False

    # -- acting ------------------------------------------------------------------------------

    def lane(self, action: Action) -> str:
        return action.node

    def run(self, action: Action, context: ActionContext) -> None:
        kind, _, rest = action.target.partition("/")
        vmid = int(rest)
        if action.action == "host-config":
            for call in action.calls:
                self._host_call(action, vmid, call, context)
            return
        if action.action != "provision":
            raise errors.PermanentError(f"{action.target}: the guests system has no action {action.action!r}",
                                        target=action.target)
        self._provision(action, kind, vmid, context)

    def _host_call(self, action: Action, vmid: int, call: ApiCall, context: ActionContext) -> None:
        params = context.params(call.params, what=f"{call.method} {call.path}")
        context.calling(f"{call.method} {call.path}")
        if call.path.endswith("/lxc-lines"):
            self.containers.write_lxc_lines(action.node, vmid, [str(line) for line in params["lines"]])
        elif call.path.endswith("/bind-dir"):
            self.containers.make_bind_dir(action.node, str(params["path"]), str(params.get("uid", "")),
                                          str(params.get("gid", "")), action.target)
        else:
            raise errors.PermanentError(f"{action.target}: unknown host-side call {call.path}", target=action.target)

    def _provision(self, action: Action, kind: str, vmid: int, context: ActionContext) -> None:
        first, steps = action.calls[0], action.calls[1:]
        guest_input, escaped = self._input(str(first.params["input"]), context)
        channel: _Channel = self.containers if kind == "lxc" else self.agent
        record = self._record(kind, action.node, vmid)
        folder = channel.begin(action.node, vmid, guest_input)
        try:
            for call in steps:
                step = call.path.split("/steps/", 1)[1]
                script = _script(call, action.target, step)
                identity = str(call.params["identity"])
                context.calling(f"run {step} ({call.params['script']})")
                context.task(f"{step}@{identity[:12]}")
                done = channel.run_script(action.node, vmid, folder, step, script, guest_input)
                lines = [scrub(line, escaped) for line in tail(done)]
                context.output(step, lines)
                if done.status != 0:
                    last = " | ".join(line.strip() for line in lines[-ERROR_LINES:] if line.strip())
                    raise errors.TaskFailedError(
                        f"{action.target}: step {step} exited with status {done.status}"
                        + (f"; output ends: {last}" if last else ""), target=action.target,
                        exitstatus=str(done.status), log=lines)
                record[step] = identity
                channel.write_record(action.node, vmid, folder, record)
        finally:
            channel.end(action.node, vmid, folder)

    def _record(self, kind: str, node: str, vmid: int) -> dict[str, str]:
        if kind == "lxc":
            return self.containers.read_record(node, vmid)
        return self.agent.read_record(node, vmid) or {}

    @staticmethod
    def _input(text: str, context: ActionContext) -> tuple[bytes, list[str]]:
        """The scripts' JSON with each secret resolved now and escaped as a JSON string's content, and the
        escaped forms that differ from the values (the executor masks the values; a script printing its
        JSON shows the escaped form, which this driver masks itself)."""
        names = sorted(set(REF.findall(text)))
        if not names:
            return text.encode(), []
        values = context.params({n: f"${{secret:{n}}}" for n in names}, what="the scripts' input")
        escaped: list[str] = []
        for name in names:
            value = str(values[name])
            inside = json.dumps(value)[1:-1]
            if inside != value:
                escaped.append(inside)
            text = text.replace(f"${{secret:{name}}}", inside)
        return text.encode(), escaped

    def close(self) -> None:
        if self._shells is not None:
            self._shells.close()
        if self._client is not None:
            self._client.close()


def _script(call: ApiCall, target: str, step: str) -> bytes:
    path = Path(str(call.params["file"]))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise errors.PermanentError(f"{target}: step {step}: {path} cannot be read ({exc.strerror})",
                                    target=target) from None
    if hashlib.sha256(data).hexdigest() != call.params["sha256"]:
        raise errors.PermanentError(f"{target}: step {step}: {call.params['script']} changed since the plan; "
                                    "nothing ran (plan again)", target=target)
    return data


def tail(done: Completed) -> list[str]:
    """The last lines of what the script printed (stdout, then stderr)."""
    text = (done.stdout + (b"\n" if done.stdout and done.stderr else b"") + done.stderr).decode(errors="replace")
    return text.splitlines()[-TAIL_LINES:]


def from_settings(settings: Settings) -> GuestsDriver | None:
    """The driver, when provisioning is on (`PHOENIX_PROVISIONING`); None otherwise."""
    return GuestsDriver(settings) if settings.provisioning else None


def _keep(into: dict[str, Any], key: str, read: Callable[[str, int], Any], node: str, vmid: int) -> None:
    into[key] = read(node, vmid)


def _read_host(containers: Containers, live: LiveState, target: str, node: str, vmid: int, ct: LxcGuest) -> None:
    found = LiveHostConfig(lxc_lines(containers.read_conf(node, vmid)))
    for path in host_settings(ct).bind_dirs:
        found.bind_dirs[path] = containers.bind_dir_owner(node, path, target)
    live.host_configs[target] = found
