"""The guest agent channel waits for a VM that is still booting, and gives up with a clear error."""

from __future__ import annotations

from typing import Any

import pytest

from gitops import errors
from gitops.drivers.guests.agent import Agent


def test_waits_until_the_agent_answers(pve: Any, pve_client: Any) -> None:
    pve.add_vm(1001, "vm", status="running", config={"agent": "1"})
    vm = pve.vm(1001)
    vm.agent = {}
    vm.agent_hangs = True  # booting: the agent does not answer yet
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 2:
            vm.agent_hangs = False

    pve_client.sleep = sleep
    Agent(pve_client, timeout=60).wait_ready("pve1", 1001)
    assert slept == [1.0, 1.0]


def test_gives_up_after_the_boot_timeout(pve: Any, pve_client: Any) -> None:
    pve.add_vm(1002, "vm", status="running", config={"agent": "0"})
    now = [0.0]
    pve_client.sleep = lambda s: now.__setitem__(0, now[0] + s)
    agent = Agent(pve_client, timeout=60, boot_timeout=5, clock=lambda: now[0])
    with pytest.raises(errors.TransientError, match="did not answer within 5 s"):
        agent.wait_ready("pve1", 1002)


def test_lxc_lines_are_replaced_in_the_main_section_only() -> None:
    from gitops.drivers.guests.containers import lxc_lines, replace_lxc_lines

    conf = ("arch: amd64\nhostname: web\nlxc.apparmor.profile: unconfined\nmemory: 512\n\n"
            "[before-upgrade]\narch: amd64\nlxc.apparmor.profile: unconfined\n")
    out = replace_lxc_lines(conf, ["lxc.cap.keep: sys_admin"])
    assert out == ("arch: amd64\nhostname: web\nmemory: 512\nlxc.cap.keep: sys_admin\n\n"
                   "[before-upgrade]\narch: amd64\nlxc.apparmor.profile: unconfined\n")
    assert lxc_lines(out) == ["lxc.cap.keep: sys_admin"]
    assert replace_lxc_lines("arch: amd64\n", []) == "arch: amd64\n"


def test_secrets_in_the_input_are_json_escaped_and_their_escaped_form_is_masked_too() -> None:
    import json as json_mod

    from gitops.drivers.guests.driver import GuestsDriver

    class Context:
        def params(self, params: dict[str, Any], *, what: str) -> dict[str, Any]:
            return {k: 'pa"ss\\word' for k in params}

    data, escaped = GuestsDriver._input('{"key": "${secret:db}", "other": 1}', Context())  # type: ignore[arg-type]
    assert json_mod.loads(data)["key"] == 'pa"ss\\word'
    assert escaped == ['pa\\"ss\\\\word']


def _shell_guest(ran: list[tuple[list[str], str]]) -> Any:
    """A guest whose /bin/sh knows the two joins the driver uses (and records what else runs)."""
    from gitops.drivers.guests import agent as agent_mod

    def guest_exec(vm: Any, argv: list[str], input_data: str) -> dict[str, Any]:
        files = vm.agent.setdefault("files", {})
        if argv[:3] == ["/bin/sh", "-c", agent_mod._JOIN]:
            out, parts = argv[4], argv[5:]
            files[out] = "".join(files.pop(p) for p in parts)
        elif argv[:3] == ["/bin/sh", "-c", agent_mod._STDIN_FROM]:
            ran.append((argv[5:], files.pop(argv[4])))
        else:
            ran.append((argv, input_data))
        return {"exitcode": 0, "out-data": "", "err-data": ""}
    return guest_exec


def test_writes_and_input_above_the_agent_limits_go_in_parts(pve: Any, pve_client: Any) -> None:
    # qemu-server API2/Qemu/Agent.pm: file-write content <= 61,440 characters, exec input-data <= 65,536;
    # the simulator refuses longer ones as PVE does, so every call below had to fit.
    from gitops.drivers.guests.agent import EXEC_INPUT_MAX, FILE_WRITE_MAX

    pve.add_vm(1003, "vm", status="running", config={"agent": "1"})
    ran: list[tuple[list[str], str]] = []
    pve.fake.guest_exec = _shell_guest(ran)
    agent = Agent(pve_client, timeout=60)
    agent.wait_ready("pve1", 1003)
    files = pve.vm(1003).agent.setdefault("files", {})
    big = "".join(chr(ord("a") + i % 26) for i in range(150_000))
    agent.write("pve1", 1003, "/etc/app.conf", big.encode())
    assert files["/etc/app.conf"] == big
    assert not [f for f in files if ".part" in f]
    agent.write("pve1", 1003, "/etc/small", b"x" * FILE_WRITE_MAX)
    assert files["/etc/small"] == "x" * FILE_WRITE_MAX

    stdin = ("y" * (EXEC_INPUT_MAX + 10)).encode()
    done = agent.exec("pve1", 1003, ["/usr/bin/tool", "--read-stdin"], stdin)
    assert done.status == 0
    assert ran == [(["/usr/bin/tool", "--read-stdin"], stdin.decode())]
    writes = [r for r in pve.requests if r[0] == "POST" and r[1].endswith("/agent/file-write")]
    assert len(writes) == 3 + 1 + 2  # 150,000 in 3 parts, one whole, the stdin in 2 parts
