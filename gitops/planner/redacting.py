"""Redacting live state: every known secret value read back from a system is replaced by its reference.

A field that holds `${secret:NAME}` inside a longer string (a description, a firewall comment, a
cloud-init user) reads back from PVE with the value in it. Replaced by the reference at the one place
live state is read (`gitops.controller.converging.read_and_plan`), the value never reaches a plan, the
ledger, a log line or the API, and the field compares equal to the config, so it converges. Pure: the
caller resolves the secrets (`SecretResolver.known_values`).

A guest the controller's live-state cache serves again (`LiveState.memo`) was redacted when it was read; it is
redacted again only when the secret values are not the same ones: each guest is redacted once per read of it,
not once per revision.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from gitops.planner.live import LiveState

MIN_INSIDE = 4  # shorter values are replaced only when they are a whole field (not inside ordinary words)


def redact_live(live: LiveState, values: Mapping[str, str]) -> None:
    """Replace, in place, each secret value (key of `values`) found in `live` by its reference (its value)."""
    if not values:
        return
    ordered = sorted(values.items(), key=lambda kv: len(kv[0]), reverse=True)
    memo = live.memo
    mark = _mark(ordered) if memo is not None else ""
    for guest in live.guests.values():
        if memo is not None and memo.is_redacted(guest, mark):
            continue
        guest.name = redact(guest.name, ordered)
        guest.tags = [redact(t, ordered) for t in guest.tags]
        guest.config = redact(guest.config, ordered)
        guest.pending = redact(guest.pending, ordered)
        guest.firewall.options = redact(guest.firewall.options, ordered)
        guest.firewall.rules = redact(guest.firewall.rules, ordered)
        if memo is not None:
            memo.redacted(guest, mark)
    for storage in live.storages.values():
        storage.config = redact(storage.config, ordered)
    for stack in live.stacks.stacks if live.stacks else []:
        stack.env = redact(stack.env, ordered)  # the stack file is left as read: it is compared byte for byte


def _mark(ordered: list[tuple[str, str]]) -> str:
    """What the secret values hash to (kept in memory with the cache; the values themselves are not)."""
    digest = hashlib.sha256()
    for value, reference in ordered:
        digest.update(f"{len(value)}:{value}{len(reference)}:{reference}".encode())
    return digest.hexdigest()


def redact(data: Any, ordered: list[tuple[str, str]]) -> Any:
    """`data` (strings, lists, dicts, at any depth) with the secret values replaced, longest first."""
    if isinstance(data, str):
        for value, reference in ordered:
            if data == value:
                return reference
            if len(value) >= MIN_INSIDE and value in data:
                data = data.replace(value, reference)
        return data
    if isinstance(data, dict):
        return {k: redact(v, ordered) for k, v in data.items()}
    if isinstance(data, list):
        return [redact(v, ordered) for v in data]
    return data
