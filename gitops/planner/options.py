"""Options of one planning run: what the caller decides, since the planner has no clock or settings."""

from __future__ import annotations

from dataclasses import dataclass

from gitops.config.scripts import Provisioning


@dataclass(frozen=True)
class PlanOptions:
    node: str
    allow_destroy: bool = False
    # Delete what the controller created and the config no longer has (`PHOENIX_PRUNE`); `allow_destroy`
    # does too, and more (re-creating a guest, cluster firewall rules nobody declared).
    prune: bool = False
    # The storage a guest is backed up to (vzdump) before it is destroyed; None: no backup.
    backup_storage: str | None = None
    backup_mode: str = "snapshot"
    snapshot_name: str | None = None  # e.g. `phx-<revision>`; None: no pre-apply snapshots
    snapshots_keep: int = 3
    snapshot_prefix: str = "phx-"
    # The scripts each guest's provisioning runs (`gitops.config.scripts`); None: provisioning is off.
    provisioning: Provisioning | None = None

    @property
    def removes_orphans(self) -> bool:
        """What the controller made and the config no longer has is deleted by this plan."""
        return self.prune or self.allow_destroy
