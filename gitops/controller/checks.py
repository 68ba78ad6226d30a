"""Post-apply checks: every guest that should run is running, and the config's health checks pass.

Called by `gitops.controller.steps.verify` after an apply. A health check
(`health_checks` on a guest: TCP connect or HTTP GET) dials exactly the host the config names, or the
guest's static IP when it names none; guests on DHCP without a host are reported, not guessed. A name is
resolved when the check runs and every address it resolves to is judged by the host policy (`Prober`).
Sleep is injected so tests do not wait between retries.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitops.config import queries
from gitops.config.checks.urls import target_problem
from gitops.config.common import HealthCheck
from gitops.config.estate import Estate, static_ip
from gitops.planner.live import LiveState
from gitops.settings import HostPolicy

if TYPE_CHECKING:  # httpx is imported by the first http check: `plan` runs none and starts without it
    import httpx

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
        # a result holds four plain fields: `dataclasses.asdict`'s deep copy of each took 0.2 s at 10,000 guests
        return {"ok": self.ok, "results": [dict(vars(r)) for r in self.results]}

    def summary(self) -> str:
        return "; ".join(f"{r.target} {r.check}: {r.detail}" for r in self.failures)


def resolve_host(host: str) -> list[str]:
    """Every address `host` (a name or an address) resolves to, in the system resolver's order."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def run_checks(estate: Estate, live: LiveState, *, sleep: Callable[[float], None] = time.sleep,
               dial: Callable[[HealthCheck, str], str | None] | None = None,
               left_alone: frozenset[str] = frozenset(), policy: HostPolicy | None = None,
               resolve: Callable[[str], list[str]] = resolve_host) -> CheckReport:
    """Running state of every non-template guest, then each health check (retried `retries` times), dialled
    by `dial` or under the host `policy` (`Prober`). Guests the plan `left_alone` (their node is offline: a
    warning, not a failure) are not checked."""
    probe = dial or Prober(policy or HostPolicy(), estate.guest_addresses(), resolve)
    report = CheckReport()
    for ref in queries.all_guests(estate):
        guest = ref.guest  # what is read here (template, health checks, address) takes no defaults
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


class Prober:
    """The real dial of a health check, under the host policy: the check's host is resolved, every address
    it resolves to is judged (`gitops.config.checks.urls.target_problem`: a guest's own address, or one the
    policy allows), and the connection goes to the address judged, never to a second resolution; an http
    check names the host in `Host` and TLS's server name, and a redirect is a status, never followed."""

    def __init__(self, policy: HostPolicy, own: frozenset[str],
                 resolve: Callable[[str], list[str]] = resolve_host) -> None:
        self.policy = policy
        self.own = own
        self.resolve = resolve

    def __call__(self, check: HealthCheck, host: str) -> str | None:
        """None when the check passes, else why not."""
        import httpx

        url = httpx.URL(check.url or f"http://{_bracketed(host)}:{check.port}/") if check.type == "http" else None
        name = url.host if url is not None else host
        try:
            addresses = self.resolve(name)
        except (OSError, UnicodeError) as exc:
            return f"cannot resolve {name}: {getattr(exc, 'strerror', None) or exc}"
        for address in addresses:
            problem = target_problem(address, self.policy, self.own)
            if problem is not None:
                return f"refused by the host policy: {name}: {problem}"
        if not addresses:
            return f"cannot resolve {name}"
        if url is None:
            try:
                with socket.create_connection((addresses[0], int(check.port or 0)), timeout=check.timeout_s):
                    return None
            except OSError as exc:
                return f"cannot connect: {exc.strerror or exc}"
        return _get(check, url, addresses[0])


def _get(check: HealthCheck, url: httpx.URL, address: str) -> str | None:
    import httpx

    pinned = url.copy_with(host=address)
    headers = {"Host": url.netloc.decode("ascii"), "User-Agent": "phoenix-gitops health check"}
    try:
        with httpx.Client(timeout=check.timeout_s, follow_redirects=False) as client:
            status = client.get(pinned, headers=headers, extensions={"sni_hostname": url.host}).status_code
    except httpx.HTTPError as exc:
        return f"GET failed: {type(exc).__name__}: {exc}"
    return None if status == check.expect_status else f"status {status}, expected {check.expect_status}"


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
