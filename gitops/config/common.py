"""Building blocks shared by the four config files: the strict base model, firewall rules, tests.

Every model forbids unknown fields (a typo must not pass silently); keys starting with `x-` are free
for users and dropped before validation (`strip_extensions`). Used by the per-file model modules.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gitops.config import bounds

# What to do with a change PVE can apply only at the next start (LXC and VM alike).
RestartPolicy = Literal["never", "on-change"]


class ConfigModel(BaseModel):
    """Strict base: unknown fields are errors. `x-*` fields are removed before validation by
    `strip_extensions` (one pass over the raw data, so pydantic validates without a Python hook)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=False)


def strip_extensions(data: Any) -> Any:
    """The data without the user's own `x-*` keys, at any depth."""
    if isinstance(data, dict):
        return {k: strip_extensions(v) for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
    if isinstance(data, list):
        return [strip_extensions(v) for v in data]
    return data


class FirewallRule(ConfigModel):
    """One firewall rule, as PVE names its parts; `port` is the upstream name of `dport`.

    Values stay strings here; `gitops.config.checks.firewall` says which ones PVE would refuse.
    """

    type: str = Field(description="in, out or group")
    action: str = Field(description="ACCEPT, DROP or REJECT (a security group's name for type group)")
    proto: str | None = Field(None, description="tcp, udp, icmp... or a protocol number")
    port: str | None = Field(None, description="destination port(s): `80`, `80,443`, `8000:8010`")
    dport: str | None = None
    sport: str | None = None
    source: str | None = Field(None, description="address, CIDR, range, or an alias/ipset name")
    dest: str | None = None
    macro: str | None = None
    iface: str | None = None
    log: str | None = None
    enable: bool = True
    comment: str | None = None


class Firewall(ConfigModel):
    """A guest's firewall: whether it is on and its rules, in order."""

    enabled: bool = False
    rules: list[FirewallRule] = Field(default_factory=list)
    policy_in: str | None = Field(None, description="default input policy: ACCEPT, DROP or REJECT")
    policy_out: str | None = None


class TestSpec(ConfigModel):
    """A test the upstream scripts run (kept for them; the controller does not run these)."""

    name: str
    type: str
    path: str


class HealthCheck(ConfigModel):
    """A post-apply check the controller runs: TCP connect or HTTP GET (new in Phoenix GitOps)."""

    type: str = Field(pattern="^(tcp|http)$")
    host: str | None = Field(None, description="defaults to the guest's static IP")
    port: int | None = Field(None, ge=1, le=65535)
    url: str | None = Field(None, description="for http: the URL to GET")
    expect_status: int = Field(200, ge=100, le=599)
    timeout_s: float = Field(5.0, gt=0, le=bounds.HEALTH_TIMEOUT_S)
    retries: int = Field(3, ge=1, le=bounds.HEALTH_RETRIES)


class TraefikService(ConfigModel):
    """How Traefik reaches a guest's service (read by the upstream proxy scripts)."""

    name: str
    port: int = Field(ge=1, le=65535)
    scheme: str | None = None
