"""Checks of one guest alone, their findings kept with the guest's parsed entry.

A check of one guest alone reads that guest's model and nothing else of the estate (what it is given
besides, such as the host policy, is part of its `key`). Its findings are the same for the same entry
text, so `each_guest` keeps them with the entry (`Estate.kept`): a commit that changes one
guest of 10,000 runs such checks on that guest, and replays what the others' entries found. A finding is
a problem (with its path below the guest's) or a claim (an address the guest takes, which the caller
matches across guests in the order the guests come, as if the check had run on each). Used by the checks
in `gitops.config.checks`.

Checks across guests (`references`) keep what they read of each guest the same way (`Estate.reads`), and
replay their last problems (`Recorded`) when nothing they read changed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import Any

from gitops.config.estate import Estate
from gitops.config.problems import PathPart, Report

Path = tuple[PathPart, ...]
# (kind, path below the guest, code or claimed value, message): kind is "error", "warning" or a claim's name.
Finding = tuple[str, Path, str, str]
LocalCheck = Callable[["Findings", Path, Any], None]
# claim(kind, path of the claim, value, path of the guest, guest)
Claim = Callable[[str, Path, str, Path, Any], None]


class Findings(Report):
    """What a check of one guest found, as it said it: paths and messages are kept whole (the report they
    are replayed into shortens them, once)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[Finding] = []

    def error(self, file: str, path: Path, code: str, message: str) -> None:
        self.found.append(("error", path, code, message))

    def warning(self, file: str, path: Path, code: str, message: str) -> None:
        self.found.append(("warning", path, code, message))

    def claim(self, kind: str, path: Path, value: str) -> None:
        """The guest takes `value` (an address, say) at `path`: matched across guests by the caller."""
        self.found.append((kind, path, value, ""))


def each_guest(estate: Estate, report: Report, file: str, check: LocalCheck, key: Hashable,
               claim: Claim | None = None) -> None:
    """`check(findings, (), guest)` for each guest of `file` (the LXC or the VM file), its problems put in
    `report` under the guest's path and its claims passed to `claim` (with the guest), in order. `key`
    names the check and everything it reads besides the guest; findings are kept under it."""
    for path, guest, found in estate.kept(file, functools.partial(_run, check), key):
        for kind, below, code, message in found:
            where = (*path, *below)
            if kind == "error":
                report.error(file, where, code, message)
            elif kind == "warning":
                report.warning(file, where, code, message)
            elif claim is not None:
                claim(kind, where, code, path, guest)


def _run(check: LocalCheck, guest: Any) -> tuple[Finding, ...]:
    findings = Findings()
    check(findings, (), guest)
    return tuple(findings.found)


class Recorded(Report):
    """The problems a check reported, in order, to be replayed into another report (`replay`)."""

    def __init__(self) -> None:
        super().__init__()
        self.said: list[tuple[str, str, Path, str, str]] = []

    def error(self, file: str, path: Path, code: str, message: str) -> None:
        self.said.append(("error", file, path, code, message))

    def warning(self, file: str, path: Path, code: str, message: str) -> None:
        self.said.append(("warning", file, path, code, message))

    def replay(self, report: Report) -> None:
        for kind, file, path, code, message in self.said:
            (report.error if kind == "error" else report.warning)(file, path, code, message)
