"""wait_for_task(): OK, WARNINGS, TASK ERROR, and a task that does not end."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from fakepve import TaskError

from gitops import errors
from gitops.drivers.proxmox import tasks
from gitops.drivers.proxmox.connection import ProxmoxClient


def test_ok_task(pve: Any, pve_client: ProxmoxClient) -> None:
    pve.add_ct(101, "web")
    upid = pve_client.request("POST", "nodes/pve1/lxc/101/status/start")
    result = tasks.wait_for_task(pve_client, upid, target="lxc/101")
    assert (result.upid, result.exitstatus, result.warnings) == (upid, "OK", [])


def test_failed_task_names_target_and_message(pve: Any, pve_client: ProxmoxClient) -> None:
    ct = pve.add_ct(101, "web")
    ct.start_error = "unable to mount rootfs: no such device"
    upid = pve_client.request("POST", "nodes/pve1/lxc/101/status/start")
    with pytest.raises(errors.TaskFailedError) as caught:
        tasks.wait_for_task(pve_client, upid, target="lxc/101")
    exc = caught.value
    assert str(exc) == "lxc/101: task vzstart failed: unable to mount rootfs: no such device"
    assert exc.target == "lxc/101" and exc.upid == upid
    assert exc.log[-1] == "TASK ERROR: unable to mount rootfs: no such device"


def test_task_error_injected_by_name(pve: Any, pve_client: ProxmoxClient) -> None:
    pve.add_ct(101, "web")
    pve.fail("POST", "/nodes/pve1/lxc/101/status/start", error="missing_rootfs_configuration")
    upid = pve_client.request("POST", "nodes/pve1/lxc/101/status/start")
    with pytest.raises(errors.TaskFailedError, match=r"lxc/101: .*missing 'rootfs' configuration"):
        tasks.wait_for_task(pve_client, upid, target="lxc/101")


def test_warnings_succeed_with_the_warning_lines(pve: Any, pve_client: ProxmoxClient) -> None:
    async def body() -> None:
        raise TaskError("WARNINGS: 1")
    upid = pve.run(pve.fake.task("pve1", "vzdump", 101, "root@pam", body,
                                 log=["INFO: starting", "WARN: unable to freeze filesystem"]))
    result = tasks.wait_for_task(pve_client, upid, target="lxc/101")
    assert result.exitstatus == "WARNINGS: 1"
    assert result.warnings == ["WARN: unable to freeze filesystem"]


def test_polls_with_injected_sleep_and_gives_up_at_the_timeout(pve: Any, pve_client: ProxmoxClient) -> None:
    pve.time_scale = 1.0
    ct = pve.add_ct(101, "web")
    ct.start_secs = 3600  # a task that will not end during the test
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    upid = pve_client.request("POST", "nodes/pve1/lxc/101/status/start")
    with pytest.raises(tasks.TaskWaitError, match="still running after 10s"):
        tasks.wait_for_task(pve_client, upid, target="lxc/101", timeout=10, sleep=sleep, clock=lambda: now[0])
    assert 10 <= now[0] < 13


def test_upid_node() -> None:
    assert tasks.upid_node("UPID:pve2:0000:0000:0000:vzstart:101:root@pam:") == "pve2"
    with pytest.raises(errors.PermanentError):
        tasks.upid_node("nonsense")


def test_each_poll_of_a_long_task_is_a_sign_of_progress(pve: Any, pve_client: ProxmoxClient) -> None:
    """The driver passes `polling` on to the executor's progress events: the loop's liveness probe is beaten
    while a task runs, however long it takes."""
    pve.time_scale = 1.0
    ct = pve.add_ct(101, "web")
    ct.start_secs = 3600
    now = [0.0]
    polls: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    upid = pve_client.request("POST", "nodes/pve1/lxc/101/status/start")
    with pytest.raises(tasks.TaskWaitError):
        tasks.wait_for_task(pve_client, upid, target="lxc/101", timeout=10, sleep=sleep, clock=lambda: now[0],
                            polling=lambda: polls.append(now[0]))
    assert len(polls) >= 5 and all(b - a <= 2.0 for a, b in itertools.pairwise(polls))
