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
