"""The shape of one system's planner rules (`SystemRules`); `gitops.planner.systems.RULES` lists them all.

Each system keeps its rules in its own pure folder (`gitops/planner/proxmox/`, `gitops/planner/guests/`,
`gitops/planner/portainer/`) and makes one `SystemRules` per kind of resource: its managed targets (for
drift, the resources list and the dashboard) and a function that appends its actions, errors and
warnings to the plan. Each action it makes names its `system`, so the executor hands it to that system's
driver. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gitops.config.estate import Estate
from gitops.planner.details import Detail
from gitops.planner.live import LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Plan, System


@dataclass(frozen=True)
class SystemRules:
    """The planner rules of one system (or one kind of resource of it)."""

    system: System
    # The targets this system manages for `estate` (e.g. `stack/NAME@ENV`), in a stable order.
    targets: Callable[[Estate, LiveState, PlanOptions], list[str]]
    # Append this system's actions (each with `system` set), errors and warnings to the plan. Actions may
    # depend on Proxmox targets (`depends_on=["lxc/910"]`): the executor orders across systems.
    plan: Callable[[Estate, LiveState, PlanOptions, Plan], None]
    # Fill in this system's part of the live state a system converged to `estate` would report (the
    # "live" side of a config-to-config plan, `gitops.planner.systems.assumed_live`); None: nothing to add.
    assume: Callable[[Estate, PlanOptions, LiveState], None] | None = None
    # Describe this system's targets for the dashboard (node, role, health, dependencies, fields desired
    # against live); None: the plan's changes are all that is shown of them.
    describe: Callable[[Estate, LiveState, PlanOptions], dict[str, Detail]] | None = None

