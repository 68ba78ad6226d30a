"""VMs, through the QEMU guest agent over the PVE API: `agent/file-write`, `agent/exec`,
`agent/exec-status`, `agent/file-read`. No SSH needed. The VM must run with the agent installed and
enabled (`agent: 1`). Used by `gitops.drivers.guests.driver`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gitops import errors
from gitops.drivers.guests.containers import INPUT_FILE, RECORD_DIR, RECORD_FILE, RUN_DIR, parse_record
from gitops.drivers.guests.ssh import Completed
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.planner.proxmox import pve_paths


@dataclass
class Agent:
    client: ProxmoxClient
    timeout: float
    poll_s: float = 1.0
    boot_timeout: float = 300.0
    clock: Callable[[], float] = field(default=time.monotonic)

    def _path(self, node: str, vmid: int, command: str) -> str:
        return pve_paths.guest_path("vm", node, vmid, f"agent/{command}")

    def read_record(self, node: str, vmid: int) -> dict[str, str] | None:
        """Step -> identity of what ran in the VM; {} when nothing did; None when the agent does not answer."""
        try:
            answer = self.client.request("GET", self._path(node, vmid, "file-read"), {"file": RECORD_FILE},
                                         target=f"vm/{vmid}")
        except errors.DriverError as exc:
            if "No such file" in str(exc) or "not found" in str(exc).lower():
                return {}
            return None
        content = answer.get("content", "") if isinstance(answer, dict) else ""
        return parse_record(str(content).encode())

    def wait_ready(self, node: str, vmid: int) -> None:
        """Until the agent answers `ping`: a VM just started boots (and runs cloud-init) first."""
        deadline = self.clock() + self.boot_timeout
        while True:
            try:
                self.client.request("POST", self._path(node, vmid, "ping"), {}, target=f"vm/{vmid}")
                return
            except errors.DriverError as exc:
                if self.clock() > deadline:
                    raise errors.TransientError(f"the guest agent of VM {vmid} did not answer within "
                                                f"{self.boot_timeout:.0f} s: {exc}", target=f"vm/{vmid}") from None
            self.client.sleep(self.poll_s)

    def begin(self, node: str, vmid: int, guest_input: bytes) -> str:
        self.wait_ready(node, vmid)
        self.exec(node, vmid, ["mkdir", "-p", "-m", "0700", RUN_DIR, RECORD_DIR], b"", check=True)
        self.write(node, vmid, INPUT_FILE, guest_input)
        return RUN_DIR

    def run_script(self, node: str, vmid: int, folder: str, step: str, script: bytes,
                   guest_input: bytes) -> Completed:
        name = step.replace(":", "_").replace("/", "_")
        inside = f"{RUN_DIR}/{name}"
        self.write(node, vmid, inside, script)
        argv = ["env", f"PHOENIX_GUEST_CONFIG={INPUT_FILE}", f"PHOENIX_GUEST_ID={vmid}", f"PHOENIX_STEP={step}",
                "/bin/bash", inside, str(vmid)]
        return self.exec(node, vmid, argv, guest_input)

    def write_record(self, node: str, vmid: int, folder: str, record: dict[str, str]) -> None:
        self.write(node, vmid, RECORD_FILE, json.dumps(record, sort_keys=True).encode())

    def end(self, node: str, vmid: int, folder: str) -> None:
        self.exec(node, vmid, ["rm", "-f", "--", INPUT_FILE], b"")

    def write(self, node: str, vmid: int, path: str, data: bytes) -> None:
        self.client.request("POST", self._path(node, vmid, "file-write"),
                            {"file": path, "content": data.decode()}, target=f"vm/{vmid}")

    def exec(self, node: str, vmid: int, argv: list[str], stdin: bytes, *, check: bool = False) -> Completed:
        """Run `argv` in the VM and wait for it to end (`exec-status` until `exited`)."""
        target = f"vm/{vmid}"
        params: dict[str, Any] = {"command": argv}
        if stdin:
            params["input-data"] = stdin.decode()
        started = self.client.request("POST", self._path(node, vmid, "exec"), params, target=target)
        pid = started.get("pid") if isinstance(started, dict) else None
        if pid is None:
            raise errors.PermanentError(f"agent exec in VM {vmid} gave no pid", target=target)
        deadline = self.clock() + self.timeout
        while True:
            status = self.client.request("GET", self._path(node, vmid, "exec-status"), {"pid": pid}, target=target)
            if isinstance(status, dict) and status.get("exited"):
                done = Completed(int(status.get("exitcode", 255)), str(status.get("out-data", "")).encode(),
                                 str(status.get("err-data", "")).encode())
                if check and done.status != 0:
                    raise errors.PermanentError(f"{argv[0]} in VM {vmid} exited {done.status}", target=target)
                return done
            if self.clock() > deadline:
                raise errors.PermanentError(f"{argv[0]} in VM {vmid} still runs after {self.timeout:.0f} s",
                                            target=target)
            self.client.sleep(self.poll_s)
