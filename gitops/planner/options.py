"""Options of one planning run: what the caller decides, since the planner has no clock or settings."""

from __future__ import annotations

from dataclasses import dataclass

from gitops.config.scripts import Provisioning


@dataclass(frozen=True)
class PlanOptions:
    node: str
    allow_destroy: bool = False
    snapshot_name: str | None = None  # e.g. `phx-<revision>`; None: no pre-apply snapshots
    snapshots_keep: int = 3
    snapshot_prefix: str = "phx-"
    # The scripts each guest's provisioning runs (`gitops.config.scripts`); None: provisioning is off.
    provisioning: Provisioning | None = None
