"""A write refused as stale (its target changed since the plan read it) is read and planned again.

Called by `systems.Session.apply` after the executor ran a plan. PVE refuses a config write whose `digest` is
not the config's any more (someone edited the guest by hand between the plan and the write); the executor
marks that action's outcome `stale`. Sending the same write again would overwrite the hand edit blindly, so
instead the live state is read again, the estate planned again from it, and what remains to do for the
stale targets (and the actions that were skipped because of them) is run. At most `MAX_REPLANS` rounds: a
target edited again and again by someone else ends failed, with PVE's refusal, for the next reconcile.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from gitops.drivers.executing import ActionOutcome, ApplyResult
from gitops.planner.plan import Plan

if TYPE_CHECKING:
    from gitops.controller.converging import PlanRun

log = logging.getLogger(__name__)
MAX_REPLANS = 3
REPLANNED = "planned again: the target changed since the plan read it (PVE refused the config digest)"


def replan_stale(run: PlanRun, result: ApplyResult, read_and_plan: Callable[[], PlanRun | None],
                 execute: Callable[[Plan], ApplyResult]) -> ApplyResult:
    """`result`, with the stale actions (and those skipped because of them) replaced by what a fresh plan of
    their targets did. `run.plan` gains the re-planned actions, so every outcome's index stays valid."""
    for _ in range(MAX_REPLANS):
        stale = {o.target for o in result.outcomes if o.stale}
        if not stale or result.cancelled:
            return result
        fresh = read_and_plan()
        if fresh is None:
            return result
        redo = stale | {o.target for o in result.skipped}
        log.warning("%d target(s) changed since they were read (%s): read and planned again",
                    len(stale), ", ".join(sorted(stale)))
        again = Plan(actions=[a for a in fresh.plan.actions if a.target in redo],
                     errors=[p for p in fresh.plan.errors if p.target in redo])
        if again.errors:
            run.plan.errors += again.errors
            return result
        run.live = fresh.live
        done = execute(again) if again.actions else ApplyResult()
        offset = len(run.plan.actions)
        run.plan.actions += again.actions
        kept = [o for o in result.outcomes if not (o.stale or o.status == "skipped")]
        added = [_renumbered(o, offset) for o in done.outcomes]
        result = ApplyResult(kept + added, result.duration + done.duration, cancelled=done.cancelled)
    return result


def _renumbered(outcome: ActionOutcome, offset: int) -> ActionOutcome:
    return dataclasses.replace(outcome, index=outcome.index + offset, warnings=[*outcome.warnings, REPLANNED])
