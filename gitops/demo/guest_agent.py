"""A guest agent that keeps files and asks what a command does: a mixin of the simulated node.

fakepve's guest agent answers only when a test set `vm.agent`, writes no file and runs nothing. PVE
relays `agent/*` calls to the qemu-guest-agent inside the VM. Here a running VM with `agent: 1` in its
config answers (assumed: its image runs qemu-guest-agent, as upstream's cloud images are set up to);
`agent/file-write` keeps the file in the guest, so `agent/file-read` returns it, as the guest's disk would;
`agent/exec` asks `guest_exec(vm, argv, input_data)` for the result `agent/exec-status` reports -- what
runs inside a VM is the caller's to say (a test); unset, every command exits 0 with no output, as fakepve
answers. Used by `gitops.demo.simulator.PhoenixFakePve`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class GuestAgentFiles:
    """Mixed in before FakePve: wraps its `_agent_call`."""

    # (vm, argv, input-data) -> {"exitcode", "out-data", "err-data"}: what a command run by the agent does.
    guest_exec: Callable[[Any, list[str], str], dict[str, Any]] | None = None

    async def _agent_call(self, match: Any, values: dict[str, Any]) -> Any:
        vm = self.find(values["node"], values["vmid"])  # type: ignore[attr-defined]
        enabled = str(vm.config.get("agent", "0")).split(",")[0].split("=")[-1] == "1"
        if vm.agent is None and enabled and vm.status == "running":
            vm.agent = {}
        command = match.template.rsplit("/", 1)[1]
        answer = await super()._agent_call(match, values)  # type: ignore[misc]
        if command == "file-write":
            vm.agent.setdefault("files", {})[values["file"]] = str(values.get("content", ""))
        elif command == "exec" and self.guest_exec is not None:
            argv = [str(a) for a in values["command"]]
            result = self.guest_exec(vm, argv, str(values.get("input-data", "")))
            vm.agent.setdefault("exec", {})[" ".join(argv)] = result
        return answer
