"""Building blocks shared by the four config files: the strict base model, firewall rules, tests.

Every model forbids unknown fields (a typo must not pass silently); a field starting with `x-` is free
for users and dropped before validation (`strip_extensions`). In a map of named entries (guests,
stacks, volumes, storages, environment variables) a key is a name, `x-web` as much as `web`: it is
kept. The published JSON Schemas say the same (`gitops.config.schema`). Used by the per-file model
modules and by `gitops.config.loading`.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from gitops.config import bounds

# What to do with a change PVE can apply only at the next start (LXC and VM alike).
RestartPolicy = Literal["never", "on-change"]


class ConfigModel(BaseModel):
    """Strict base: unknown fields are errors. `x-*` fields are removed before validation by
    `strip_extensions` (one pass over the raw data, so pydantic validates without a Python hook)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=False)


# Where a value sits in a model: a model's fields (a model class), a map of entries, a list, or free data.
_Shape = type[BaseModel] | tuple[str, Any] | None


def strip_extensions(data: Any, model: type[BaseModel]) -> Any:
    """`data` for `model` without the user's own `x-*` fields: dropped from objects with fixed fields
    (models), at any depth; keys of maps are names and stay, and so does free data (`Any`)."""
    return _strip(data, model)


def _strip(data: Any, shape: _Shape) -> Any:
    if shape is None:
        return data
    if isinstance(shape, type):
        return _strip_object(data, (shape,))
    kind, inner = shape
    if kind == "map":
        return {k: _strip(v, inner) for k, v in data.items()} if isinstance(data, dict) else data
    if kind == "list":
        return [_strip(v, inner) for v in data] if isinstance(data, list) else data
    # a union: an object is read by its model members (their fields together), else by a map member
    members: tuple[_Shape, ...] = inner
    models = tuple(m for m in members if isinstance(m, type))
    if isinstance(data, dict) and models:
        return _strip_object(data, models)
    wanted = "map" if isinstance(data, dict) else "list" if isinstance(data, list) else None
    return next((_strip(data, m) for m in members if isinstance(m, tuple) and m[0] == wanted), data)


def _strip_object(data: Any, models: tuple[type[BaseModel], ...]) -> Any:
    if not isinstance(data, dict):
        return data
    fields = _fields(models)
    return {k: _strip(v, fields.get(k)) for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}


@functools.cache
def _fields(models: tuple[type[BaseModel], ...]) -> dict[str, _Shape]:
    """The fields' shapes by name and by alias (of every model given: the first one's shape wins)."""
    out: dict[str, _Shape] = {}
    for model in reversed(models):
        for name, info in model.model_fields.items():
            shape = _shape(info.annotation)
            out[name] = shape
            if info.alias:
                out[info.alias] = shape
    return out


def _shape(annotation: Any) -> _Shape:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _shape(get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    args = get_args(annotation)
    if origin in (dict, Mapping) and len(args) == 2:
        inner = _shape(args[1])
        return ("map", inner) if inner is not None else None
    if origin in (list, tuple, set, frozenset, Sequence) and args:
        inner = _shape(args[0])
        return ("list", inner) if inner is not None else None
    if origin in (Union, types.UnionType):
        members = tuple(m for m in (_shape(a) for a in args) if m is not None)
        return ("union", members) if members else None
    return None


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
