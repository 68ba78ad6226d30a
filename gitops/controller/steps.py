"""The reconcile's steps: checkout, validate, connect, plan, drift gate, then (once recorded as begun)
restore data, apply, verify. One list for every policy: apply, rollback, auto-rollback and self-heal.

Called by `gitops.controller.reconciling`, which runs `run_steps(context, attempt, policy, begin)` and
records the outcome (`gitops.controller.recording`). Each step takes the `Attempt`, fills in what it
found, and returns None to go on or a `Stop` saying how the attempt ends: `rejected` (invalid, never
applied), `failed`, `pending` (waiting: a system unreachable, or the controller stopping; tried again),
and for a self-heal `in-sync` (nothing to correct) or `not-corrected` (the drift is recorded only).
Steps never write a status; they report their phase through `StepContext.phase`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops import errors
from gitops.config.estate import Estate
from gitops.config.validation import validate_directory
from gitops.controller import checks, converging, rollback
from gitops.controller.connecting import Ahead
from gitops.controller.policy import Policy
from gitops.controller.systems import Convergence, LiveCache, Session, data_rollback_warning, ran_folder
from gitops.drivers.executing import ApplyEvent, ApplyResult
from gitops.drivers.seam import CancelToken
from gitops.planner import drift
from gitops.planner.documents import PlanDocument, RunResult, ValidationReport
from gitops.planner.plan import Plan
from gitops.settings import Settings
from gitops.source import ConfigRepo
from gitops.store import Store

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted: the controller stopped; it is applied again at the next start"


@dataclass
class Stop:
    """How an attempt ends early: the status to record and why."""

    status: str  # rejected, failed, pending, in-sync, not-corrected, yielded
    error: str
    changed_live: bool = False  # something was applied: a rollback is worth it


@dataclass
class Attempt:
    """One revision being converged under one policy, and what each step found."""

    sha: str
    trigger: str
    previous: str | None  # the applied revision when the attempt began
    restore_data: bool = False
    directory: Path | None = None
    estate: Estate | None = None
    validation: ValidationReport | None = None
    session: Session | None = None  # the systems' drivers, connected for this attempt
    connecting: Ahead[Session] | None = None  # the session being opened while the revision is validated
    run: converging.PlanRun | None = None
    plan: PlanDocument | None = None  # the plan as shown and kept
    restore: ApplyResult | None = None
    result: ApplyResult | None = None
    checks: checks.CheckReport | None = None
    found: drift.DriftReport | None = None  # self-heal: the drift that started it
    drift: drift.DriftReport | None = None  # after the apply
    snapshot: str | None = None
    run_id: int | None = None
    targets: list[str] = field(default_factory=list)  # a targeted sync: the resources asked for

    def result_document(self) -> RunResult:
        """What the run did, as the ledger keeps it: only what the attempt got to."""
        out: dict[str, Any] = {"previous": self.previous, "snapshot": self.snapshot, "trigger": self.trigger}
        if self.targets:
            out["targets"] = self.targets
        if self.found is not None:
            out["drift"] = self.corrected()
        if self.restore is not None:
            out["restore"] = self.restore.to_dict()
        if self.result is not None:
            out["apply"] = self.result.to_dict()
        if self.checks is not None:
            out["checks"] = self.checks.to_dict()
        if self.drift is not None:
            out["remaining"] = [{"target": r.target, "state": r.state, "actions": r.actions}
                                for r in self.drift.resources if r.state in ("drifted", "missing")]
        return RunResult.model_validate(out)

    def corrected(self) -> list[str]:
        """The drifted resources a self-heal run corrects: all of them, or those of a targeted sync's plan."""
        found = self.found.drifted_targets if self.found is not None else []
        if not self.targets or self.run is None:
            return found
        touched = {a.target for a in self.run.plan.actions} | set(self.targets)
        return [t for t in found if t in touched]

    def validation_errors(self, limit: int = 5) -> list[str]:
        return self.validation.messages(limit) if self.validation is not None else []


@dataclass
class StepContext:
    """What the steps use: settings, the repo, the ledger (read only), the systems, time, and the ways
    they report (a phase, an event listener for action logs)."""

    settings: Settings
    repo: ConfigRepo
    store: Store
    convergence: Convergence
    cancel: CancelToken
    clock: Callable[[], dt.datetime]
    sleep: Callable[[float], None]
    dial: Callable[..., str | None] | None
    phase: Callable[[str], None]
    on_action: Callable[[str], Callable[[ApplyEvent], None]]  # revision -> listener that logs each action
    on_data_rollback: Callable[[str, str, Plan], None]  # revision, snapshot, restore plan: recorded before it runs
    live_cache: LiveCache | None = None  # the live state last read (`gitops.drivers.proxmox.live_cache`)


Step = Callable[[StepContext, Attempt, Policy], Stop | None]


def checkout(ctx: StepContext, attempt: Attempt, policy: Policy) -> Stop | None:
    ctx.phase("drift_check" if policy.self_heal else "validating")
    try:
        attempt.directory = ctx.repo.checkout(attempt.sha)
    except errors.SourceError as exc:
        attempt.validation = ValidationReport.refused(str(exc), exc.code)
        return Stop("rejected", str(exc))
    return None


def validate(ctx: StepContext, attempt: Attempt, policy: Policy) -> Stop | None:
    assert attempt.directory is not None
    try:
        estate, report = validate_directory(attempt.directory, ctx.settings.policy)
    except errors.ConfigError as exc:
        attempt.validation = ValidationReport.refused(str(exc))
        return Stop("rejected", str(exc))
    except Exception as exc:  # validation is a pure function of the commit: retrying would crash again
        log.exception("validation crashed", extra={"revision": attempt.sha})
        message = f"the validator failed on this commit ({type(exc).__name__}); see the controller's logs"
        attempt.validation = ValidationReport.refused(message, "validation-crashed")
        return Stop("rejected", message)
    attempt.estate, attempt.validation = estate, ValidationReport.of(report)
    if not report.valid:
        first = report.errors[0]
        more = f" (and {len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
        log.warning("revision rejected: %s%s", first, more, extra={"revision": attempt.sha})
        return Stop("rejected", f"invalid config: {first}{more}")
    return None


def connect(ctx: StepContext, attempt: Attempt, policy: Policy) -> Stop | None:
    if not policy.self_heal:
        ctx.phase("planning")
    if attempt.connecting is not None:  # opened ahead (`connecting`): its session, or the error opening it gave
        connecting, attempt.connecting = attempt.connecting, None
        attempt.session = connecting.take()
    else:
        attempt.session = ctx.convergence.open(cancel=ctx.cancel, cache=ctx.live_cache)
    return None


def connect_ahead(ctx: StepContext, attempt: Attempt, policy: Policy) -> None:
    """The controller's revisions (not a drift check: its read is the sweep) connect while they are checked
    out and validated, and read `cluster/resources` for the plan (`gitops.controller.connecting`)."""
    if ctx.live_cache is None or policy.self_heal or attempt.connecting is not None or attempt.session is not None:
        return
    attempt.connecting = open_ahead(ctx)


def open_ahead(ctx: StepContext) -> Ahead[Session]:
    """The systems' session, opened in a thread of its own, reading `cluster/resources` for the first plan."""
    convergence, cancel, cache = ctx.convergence, ctx.cancel, ctx.live_cache
    return Ahead(lambda: convergence.open(cancel=cancel, cache=cache, prefetch=True))


def release(attempt: Attempt) -> None:
    """The attempt is over: its session closed, and one opened ahead but never taken closed once open."""
    if attempt.session is not None:
        attempt.session.close()
    if attempt.connecting is not None:
        attempt.connecting.release()
        attempt.connecting = None


def plan(ctx: StepContext, attempt: Attempt, policy: Policy) -> Stop | None:
    """Read and plan, with every secret the plan would send checked; a plan with errors stops here."""
    assert attempt.session is not None and attempt.estate is not None
    earlier = ran_folder(ctx.settings, ctx.repo, ctx.store.get_state(drift=False).applied_revision,
                         attempt.sha) if ctx.settings.provisioning else None
    options = attempt.session.options(attempt.estate, revision=attempt.sha, earlier=earlier)
    attempt.snapshot = options.snapshot_name
    if policy.self_heal and ctx.live_cache is not None:
        ctx.live_cache.sweep(give_way=policy.give_way)  # the drift check is the full sweep: all read fresh, paced
    attempt.run = attempt.session.read_and_plan(attempt.estate, options)
    if policy.self_heal:
        attempt.found = drift.compare(attempt.estate, attempt.run.live, attempt.run.plan, revision=attempt.sha,
                                      now=ctx.clock())
        if policy.targets:  # a targeted sync: the rest of the plan is left for another day
            attempt.run.plan = attempt.run.plan.only(policy.targets)
            attempt.targets = sorted(policy.targets)
        drifted = attempt.corrected()
        if not drifted:
            attempt.plan = PlanDocument.of(attempt.run.plan)
            return Stop("in-sync", "in sync")
        known = {(p.target, p.message) for p in attempt.run.plan.errors}
        attempt.run.plan.errors += [p for p in attempt.session.unresolvable_secrets(
            attempt.estate, options, drifted) if (p.target, p.message) not in known]
        attempt.found = attempt.found.refused(attempt.run.plan.errors)
    shown = PlanDocument.of(attempt.run.plan)
    if attempt.restore_data:
        shown = shown.warn_first("*", "data-rollback", data_rollback_warning("(see restore)"))
    attempt.plan = shown
    if attempt.run.plan.errors:
        first = attempt.run.plan.errors[0]
        more = f" (and {len(attempt.run.plan.errors) - 1} more)" if len(attempt.run.plan.errors) > 1 else ""
        status = "not-corrected" if policy.self_heal else "failed"
        return Stop(status, f"the plan has errors: {first.target}: {first.message}{more}")
    if policy.self_heal and not policy.heal:
        return Stop("not-corrected", f"drift recorded, not corrected ({policy.not_healed})")
    return None


def restore_data(ctx: StepContext, attempt: Attempt, policy: Policy) -> Stop | None:
    """A rollback with `restore_data`: the guests go back to the snapshot taken before the revision that
    followed the target was applied; then the plan is made again from what they are now."""
    if not (policy.restore_data and attempt.restore_data):
        return None
    assert attempt.session is not None and attempt.estate is not None and attempt.run is not None
    snap = rollback.snapshot_for(ctx.store, ctx.store.get_state(drift=False).applied_revision, attempt.sha)
    if snap is None:
        return Stop("failed", f"no pre-apply snapshot leads back to {attempt.sha[:12]}: data not restored")
    options = attempt.run.options
    restore = attempt.session.restore_plan(attempt.estate, options, snap)
    ctx.on_data_rollback(attempt.sha, snap, restore)
    attempt.restore = attempt.session.execute(restore, ctx.on_action(attempt.sha))
    if not attempt.restore.ok:
        return Stop("failed", "restoring snapshots failed: " + "; ".join(
            f"{o.target}: {o.error}" for o in attempt.restore.failed or attempt.restore.skipped),
            changed_live=any(o.status == "ok" for o in attempt.restore.outcomes))
    attempt.run = attempt.session.read_and_plan(attempt.estate, options, check_secrets=False)
    shown = PlanDocument.of(attempt.run.plan).warn_first("*", "data-rollback", restore.warnings[0].message)
    attempt.plan = shown.model_copy(update={"restore": PlanDocument.of(restore).actions})
    return None


def apply(ctx: StepContext, attempt: Attempt, policy: Policy) -> Stop | None:
    """The one executor, with the cancel token: running actions finish, no new one starts."""
    assert attempt.session is not None and attempt.run is not None
    attempt.result = attempt.session.apply(attempt.run, ctx.on_action(attempt.sha))
    if attempt.result.cancelled and not attempt.result.ok:
        return Stop("pending", "interrupted: the controller stopped during the apply; "
                    "it is applied again at the next start",
                    changed_live=any(o.status == "ok" for o in attempt.result.outcomes))
    if not attempt.result.ok:
        failed = attempt.result.failed or attempt.result.skipped
        detail = "; ".join(f"{o.target} {o.action}: {o.error}" for o in failed[:3])
        return Stop("failed", f"apply failed: {detail}", changed_live=True)
    return None


def verify(ctx: StepContext, attempt: Attempt, policy: Policy) -> Stop | None:
    """Plan again (what is left is drift), and run the post-apply checks."""
    assert attempt.session is not None and attempt.estate is not None and attempt.run is not None
    ctx.phase("verifying")
    verified = attempt.session.verify(attempt.estate, attempt.run.options, revision=attempt.sha, now=ctx.clock(),
                                      sleep=ctx.sleep, dial=ctx.dial)
    attempt.drift, attempt.checks = verified.drift, verified.checks
    if not attempt.checks.ok:
        return Stop("failed", f"post-apply checks failed: {attempt.checks.summary()}", changed_live=True)
    return None


PREPARE: tuple[Step, ...] = (checkout, validate, connect, plan)
ACT: tuple[Step, ...] = (restore_data, apply, verify)


def run_steps(ctx: StepContext, attempt: Attempt, policy: Policy, begin: Callable[[Attempt], None]) -> Stop | None:
    """PREPARE, then `begin` (the recorder opens the run: nothing was applied before), then ACT. A step's
    error becomes a Stop by its type: transient -> pending, any other -> failed. The caller `release`s the
    attempt after."""
    connect_ahead(ctx, attempt, policy)
    for step in PREPARE:
        stop = _run(step, ctx, attempt, policy)
        if stop is not None:
            return stop
    if ctx.cancel.cancelled:
        return Stop("pending", INTERRUPTED)
    begin(attempt)
    for step in ACT:
        if ctx.cancel.cancelled and step is apply:
            return Stop("pending", INTERRUPTED, changed_live=attempt.restore is not None)
        stop = _run(step, ctx, attempt, policy)
        if stop is not None:
            return stop
    return None


def _run(step: Step, ctx: StepContext, attempt: Attempt, policy: Policy) -> Stop | None:
    try:
        return step(ctx, attempt, policy)
    except errors.Yielded as exc:  # a sweep that gave way: nothing was applied, nothing failed
        return Stop("yielded", str(exc))
    except errors.TransientError as exc:
        return Stop("pending", f"waiting: {exc}")
    except errors.PhoenixError as exc:
        return Stop("failed", str(exc), changed_live=attempt.result is not None)
