"""Structured logs: JSON lines when stderr is not a terminal, plain lines when it is; secrets scrubbed.

Called once by the CLI's `serve` and `demo` (`configure`). Code that logs passes context as `extra`
(`log.info("applied", extra={"revision": sha, "guest": "lxc/101"})`); those keys become JSON fields.
Every value of the process's secret registry (`gitops.secretvalues`: every credential setting, forge
tokens included, the secret files and `PHOENIX_SECRET_*` values) is replaced by `***` in every record,
whatever logged it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import IO, Any

from gitops import secretvalues

CONTEXT_KEYS = ("revision", "guest", "target", "trigger", "phase", "status", "duration_s", "error")
MASK = "***"
MAX_MESSAGE = 4096  # characters of a log message; a value echoed from a commit can be megabytes


def register_secret(*values: str | None) -> None:
    """Never print these values (empty and very short ones are ignored): added to the process's one
    registry of secrets (`gitops.secretvalues.REGISTRY`), which every scrubber reads."""
    secretvalues.REGISTRY.add(*values)


def _capped(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else f"{text[:MAX_MESSAGE]}...({len(text) - MAX_MESSAGE} more characters)"


def scrub(text: str) -> str:
    """`text` with every registered secret masked."""
    return secretvalues.scrub_held(text, MASK)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context keys, exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _capped(scrub(record.getMessage())),
        }
        for key in CONTEXT_KEYS:
            value = record.__dict__.get(key)
            if value is not None:
                out[key] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(out, default=str)


class PlainFormatter(logging.Formatter):
    """`HH:MM:SS level logger: message [revision=... guest=...]`, for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord({**record.__dict__, "msg": _capped(scrub(record.getMessage())), "args": ()})
        text = super().format(record)
        context = " ".join(
            f"{key}={str(record.__dict__[key])[:12] if key == 'revision' else record.__dict__[key]}"
            for key in CONTEXT_KEYS if record.__dict__.get(key) is not None
        )
        return scrub(f"{text} [{context}]" if context else text)


def configure(level: str | int = "INFO", *, stream: IO[str] | None = None, json_lines: bool | None = None) -> None:
    """Send every log record to `stream` (stderr), as JSON lines unless it is a terminal."""
    target = stream if stream is not None else sys.stderr
    as_json = not target.isatty() if json_lines is None else json_lines
    handler = logging.StreamHandler(target)
    handler.setFormatter(JsonFormatter() if as_json else PlainFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_phoenix", False)]:
        root.removeHandler(old)
    handler._phoenix = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # quiet libraries; httpx and apprise also because they log the URLs they call, and a notification
    # target's URL is a secret (Apprise URLs and webhook paths carry tokens)
    # asyncssh (provisioning) logs every channel it opens and the command it runs: five lines a command
    for noisy in ("uvicorn.access", "git.cmd", "urllib3", "aiohttp.access", "alembic.runtime.migration", "httpx",
                  "httpcore", "apprise", "asyncssh"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
