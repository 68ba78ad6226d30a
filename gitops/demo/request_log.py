"""A record of every request the simulated node takes, for the conformance test against PVE's API schema.

Opt-in: with `PHOENIX_PVE_RECORD=DIR` in the environment (read at the first request), or `record_to(DIR)`
on a node, each distinct request it answers without an error (method, path, parameters, and whether a token
sent it) is appended as one JSON line to `DIR/pve-requests-<pid>.jsonl`, once per process. Secrets are
never written: passwords and the guest agent's file content and input become as many `x` as they had
characters, so length limits can still be checked. Used by `gitops.demo.simulator.PhoenixFakePve`; read
by `tests/pve_conformance`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from aiohttp import web
from fakepve.server import USER, collect

ENV = "PHOENIX_PVE_RECORD"
API_PREFIXES = ("/api2/json/", "/api2/extjs/")
# What a request may carry that must not reach a file: passwords, and what the guest agent writes or reads
# from stdin (the guest's input holds resolved secrets).
SECRET_KEYS = frozenset({"password", "cipassword", "new-password"})
AGENT_SECRET_KEYS = frozenset({"content", "input-data"})
_LOCK = threading.Lock()
_BODY: Any = web.RequestKey("phoenix_request_body", bytes) if hasattr(web, "RequestKey") else "phoenix_request_body"


class RequestLog:
    """Mixed in before FakePve: wraps `_record` (called once per request read) and `_answer` (which answers
    it); a request is written once answered without an error status. Requests the simulator refuses are
    left out: the tests that send them on purpose expect PVE's refusal."""

    record_dir: Path | None = None
    _seen: set[str]

    def record_to(self, directory: str | Path | None) -> None:
        """Start (or with None stop) writing requests to `directory`."""
        self.record_dir = Path(directory) if directory else None
        self._seen = set()

    def _record(self, request: Any, body: bytes) -> None:
        super()._record(request, body)  # type: ignore[misc]
        request[_BODY] = body

    async def _answer(self, request: Any, *args: Any) -> Any:
        response = await super()._answer(request, *args)  # type: ignore[misc]
        if getattr(response, "status", 500) < 400:
            self._write(request, request.get(_BODY, b""))
        return response

    def _write(self, request: Any, body: bytes) -> None:
        if self.record_dir is None and os.environ.get(ENV):
            self.record_to(os.environ[ENV])
        if self.record_dir is None or not request.path.startswith(API_PREFIXES):
            return
        entry = {"method": request.method, "path": "/" + request.path.split("/", 3)[3],
                 "params": _redacted(request.path, _params(request, body)),
                 "token": "!" in str(request.get(USER) or "")}
        line = json.dumps(entry, sort_keys=True)
        digest = hashlib.sha256(line.encode()).hexdigest()
        with _LOCK:
            if digest in self._seen:
                return
            self._seen.add(digest)
            self.record_dir.mkdir(parents=True, exist_ok=True)
            with open(self.record_dir / f"pve-requests-{os.getpid()}.jsonl", "a", encoding="utf-8") as out:
                out.write(line + "\n")


def _params(request: Any, body: bytes) -> dict[str, Any]:
    values: dict[str, Any] = collect(request.query.items())
    if not body:
        return values
    try:
        if request.content_type == "application/json":
            data = json.loads(body)
            values.update(data if isinstance(data, dict) else {})
        elif request.content_type != "multipart/form-data":
            values.update(collect(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)))
    except (ValueError, UnicodeDecodeError):
        values["(body)"] = "(not readable)"
    return values


def _redacted(path: str, values: dict[str, Any]) -> dict[str, Any]:
    secret = SECRET_KEYS | (AGENT_SECRET_KEYS if "/agent/" in path else frozenset())
    return {k: ("x" * len(str(v)) if k in secret and isinstance(v, str) else v) for k, v in values.items()}
