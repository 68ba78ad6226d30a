"""Structured logs: JSON lines off a terminal, context keys, secrets never printed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from gitops import logs


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_context_and_hide_secrets() -> None:
    stream = io.StringIO()
    logs.configure(stream=stream)
    logs.register_secret("hunter2-very-secret")
    logging.getLogger("gitops.test").warning("token is %s", "hunter2-very-secret",
                                             extra={"revision": "a" * 40, "guest": "lxc/101"})
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["level"] == "warning" and line["revision"] == "a" * 40 and line["guest"] == "lxc/101"
    assert "hunter2" not in stream.getvalue() and line["message"] == "token is ***"


def test_plain_lines_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    logs.configure(stream=stream)
    logging.getLogger("gitops.test").info("applied", extra={"revision": "b" * 40})
    text = stream.getvalue()
    assert "applied [revision=bbbbbbbbbbbb]" in text and not text.startswith("{")


def test_a_huge_message_is_cut_and_a_secret_at_the_cut_is_still_masked() -> None:
    stream = io.StringIO()
    logs.configure(stream=stream)
    secret = "s3cr3t-value-at-the-edge"
    logs.register_secret(secret)
    logging.getLogger("gitops.test").error("name %s", "x" * (logs.MAX_MESSAGE - 10) + secret + "y" * 5_000_000)
    line = stream.getvalue().strip().splitlines()[-1]
    assert len(line) < logs.MAX_MESSAGE + 500
    assert "s3cr3t" not in line and "more characters)" in line
