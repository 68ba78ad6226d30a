"""Unified diffs of a file's text as plans show them (a stack's compose file, a provisioning script):
every changed line in full, two lines of context."""

from __future__ import annotations

import difflib


def unified(old: str | None, new: str | None, name: str, *, old_side: str = "live", new_side: str = "desired") -> str:
    """The unified diff from `old` to `new`, headed `old_side/NAME` and `new_side/NAME`."""
    return "\n".join(difflib.unified_diff((old or "").splitlines(), (new or "").splitlines(),
                                           f"{old_side}/{name}", f"{new_side}/{name}", lineterm="", n=2))
