"""`--wait`'s loop over the request route's answers: progress lines when they change, the exit code."""

from __future__ import annotations

from typing import Any

import pytest

from gitops.cli import waiting


def scripted(*answers: dict[str, Any]) -> Any:
    queue = list(answers)

    def call(method: str, api: str, path: str) -> dict[str, Any]:
        assert (method, path) == ("GET", "/api/v1/requests/00ff00ff00ff00ff")
        return queue.pop(0) if len(queue) > 1 else queue[0]
    return call


def test_progress_is_printed_when_it_changes(capsys: pytest.CaptureFixture[str]) -> None:
    progress = {"revision": "a" * 40, "kind": "rollback", "total": 3, "done": 1, "current": "lxc/101 update"}
    call = scripted({"done": False, "phase": "validating", "progress": None},
                    {"done": False, "progress": progress}, {"done": False, "progress": progress},
                    {"done": False, "progress": {**progress, "done": 3, "current": None}},
                    {"done": True, "action": "applied", "revision": "a" * 40, "detail": ""})
    assert waiting.follow(call, "http://x", "00ff00ff00ff00ff", 60, sleep=lambda s: None) == 0
    printed = capsys.readouterr()
    assert printed.err.splitlines() == ["waiting (validating)", f"rollback {'a' * 12}: 1/3 actions done; now: "
                                        "lxc/101 update", f"rollback {'a' * 12}: 3/3 actions done"]
    assert printed.out == f"{'a' * 12} applied\n"


@pytest.mark.parametrize(("action", "code"), [("applied", 0), ("none", 0), ("failed", 1), ("rolled_back", 1),
                                              ("rejected", 1), ("refused", 1), ("skipped", 1)])
def test_exit_codes(action: str, code: int) -> None:
    call = scripted({"done": True, "action": action, "revision": "b" * 40, "detail": "why"})
    assert waiting.follow(call, "http://x", "00ff00ff00ff00ff", 1, sleep=lambda s: None) == code


def test_timeout_is_124() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += max(seconds, 0.5)
    call = scripted({"done": False, "phase": "applying", "progress": None})
    assert waiting.follow(call, "http://x", "00ff00ff00ff00ff", 2, sleep=sleep, monotonic=lambda: now[0]) == 124
