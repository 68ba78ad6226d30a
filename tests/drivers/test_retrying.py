"""Retries: transient errors are tried again with backoff (never really slept), permanent ones are not."""

from __future__ import annotations

from typing import Any

import pytest

from gitops import errors, retrying
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.drivers.proxmox.reading import read_live_state


def test_transient_500s_are_retried_until_they_pass(pve: Any, pve_client: ProxmoxClient) -> None:
    pve.add_ct(101, "web")
    pve.fail("GET", "/nodes/pve1/lxc/101/pending", 500, "temporary failure", times=2)
    state = read_live_state(pve_client)
    assert state.guests[101].config["hostname"] == "web"
    assert pve.paths("GET").count("nodes/pve1/lxc/101/pending") == 3
    assert len(pve_client.sleep.calls) == 2  # type: ignore[attr-defined]


def test_permanent_errors_are_not_retried(pve: Any, pve_client: ProxmoxClient) -> None:
    pve.add_ct(101, "web")
    pve.fail("GET", "/nodes/pve1/lxc/101/pending", error="permission_denied")
    with pytest.raises(errors.PermanentError, match="403"):
        read_live_state(pve_client)
    assert pve.paths("GET").count("nodes/pve1/lxc/101/pending") == 1
    assert pve_client.sleep.calls == []  # type: ignore[attr-defined]


def test_attempts_are_bounded_and_waits_grow_within_the_maximum() -> None:
    slept: list[float] = []
    calls = []

    def always_down() -> None:
        calls.append(1)
        raise errors.TransientError("down")

    policy = retrying.RetryPolicy(attempts=4, max_delay=1000, initial=1, maximum=5)
    with pytest.raises(errors.TransientError):
        retrying.call_with_retries(always_down, policy=policy, sleep=slept.append)
    assert len(calls) == 4 and len(slept) == 3
    assert all(0 <= s <= 5 for s in slept)


@pytest.mark.parametrize("preset", [retrying.PROXMOX, retrying.PORTAINER, retrying.FORGE])
def test_each_named_preset_bounds_its_attempts_and_waits(preset: retrying.RetryPolicy) -> None:
    slept: list[float] = []
    calls = []

    def always_down() -> None:
        calls.append(1)
        raise errors.TransientError("down")

    with pytest.raises(errors.TransientError):
        retrying.call_with_retries(always_down, policy=preset, sleep=slept.append, what="preset")
    assert len(calls) == preset.attempts and len(slept) == preset.attempts - 1
    assert all(0 <= s <= preset.maximum for s in slept)
    if not preset.jitter:  # Portainer's waits are plain exponential: the same every time
        assert slept == [preset.initial, preset.initial, 2 * preset.initial][: len(slept)]


def test_a_permanent_error_is_raised_at_once_by_every_preset() -> None:
    for preset in (retrying.PROXMOX, retrying.PORTAINER, retrying.FORGE):
        slept: list[float] = []
        with pytest.raises(errors.PermanentError):
            retrying.call_with_retries(lambda: (_ for _ in ()).throw(errors.PermanentError("no")), policy=preset,
                                       sleep=slept.append)
        assert slept == []
