"""Post-apply checks: every guest that should run is running, and the config's health checks pass.

Called by `gitops.controller.steps.verify` after an apply. A health check
(`health_checks` on a guest: TCP connect or HTTP GET) dials exactly the host the config names, or the
guest's static IP when it names none; guests on DHCP without a host are reported, not guessed.
Sleep is injected so tests do not wait between retries.
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from gitops.config import queries
from gitops.config.common import HealthCheck
from gitops.config.estate import Estate
from gitops.planner.live import LiveState

RETRY_PAUSE_S = 1.0


@dataclass
class CheckResult:
    target: str
    check: str  # `running`, `tcp host:port`, `http URL`
    ok: bool
    detail: str = ""


@dataclass
class CheckReport:
    results: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.ok]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "results": [asdict(r) for r in self.results]}

    def summary(self) -> str:
        return "; ".join(f"{r.target} {r.check}: {r.detail}" for r in self.failures)


def static_ip(guest: Any) -> str | None:
    """The guest's first static address without its prefix, or None (DHCP, manual, none)."""
    net = getattr(guest, "network_config", None)
    ip = getattr(net, "ip", None) if net is not None else None
    if not ip or ip in ("dhcp", "manual", "auto"):
        return None
    return str(ip).split("/", 1)[0]


def run_checks(estate: Estate, live: LiveState, *, sleep: Callable[[float], None] = time.sleep,
               dial: Callable[[HealthCheck, str], str | None] | None = None,
               left_alone: frozenset[str] = frozenset()) -> CheckReport:
    """Running state of every non-template guest, then each health check (retried `retries` times).
    Guests the plan `left_alone` (their node is offline: a warning, not a failure) are not checked."""
    probe = dial or probe_once
    report = CheckReport()
    for ref in queries.all_guests(estate):
        guest = queries.effective(estate, ref)
        if guest.is_template or ref.target in left_alone:
            continue
        live_guest = live.guest(ref.vmid)
        status = live_guest.status if live_guest is not None else "missing"
        report.results.append(CheckResult(ref.target, "running", status == "running", status))
        for check in getattr(guest, "health_checks", []) or []:
            report.results.append(_health(ref.target, check, static_ip(guest), probe, sleep))
    return report


def _health(target: str, check: HealthCheck, default_host: str | None,
            probe: Callable[[HealthCheck, str], str | None], sleep: Callable[[float], None]) -> CheckResult:
    host = check.host or default_host
    name = f"http {check.url}" if check.type == "http" and check.url else f"{check.type} {host}:{check.port}"
    if check.type == "http" and not check.url and not (host and check.port):
        return CheckResult(target, name, False, "no url, and no host and port to build one")
    if check.type == "tcp" and not (host and check.port):
        return CheckResult(target, name, False, "no host (the guest has no static IP) or no port")
    error: str | None = "not tried"
    for attempt in range(check.retries):
        error = probe(check, host or "")
        if error is None:
            return CheckResult(target, name, True, "ok")
        if attempt + 1 < check.retries:
            sleep(RETRY_PAUSE_S)
    return CheckResult(target, name, False, error or "failed")


def probe_once(check: HealthCheck, host: str) -> str | None:
    """None when the check passes, else why not."""
    if check.type == "tcp":
        try:
            with socket.create_connection((host, int(check.port or 0)), timeout=check.timeout_s):
                return None
        except OSError as exc:
            return f"cannot connect: {exc.strerror or exc}"
    url = check.url or f"http://{host}:{check.port}/"
    try:
        with urllib.request.urlopen(url, timeout=check.timeout_s) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        return f"GET failed: {getattr(exc, 'reason', exc)}"
    return None if status == check.expect_status else f"status {status}, expected {check.expect_status}"
