"""What a run's provisioning actions ran, per guest and step, as ledger records (`StepRecord`).

Read from the plan (each `provision` action's step calls: name, script, identity) and the executor's
outcome of that action: the guests driver reports each step it starts as a task `step@identity`, so the
steps started are known; in a failed action the last one started is the one that failed, with the exit
status its error states; each step's output tail is what the driver kept with the outcome (`output`),
scrubbed of secrets by the executor. Steps never started are not recorded.
Called by `gitops.controller.recording.Recorder.finish`.
"""

from __future__ import annotations

import re

from gitops.drivers.executing import ApplyResult
from gitops.planner.plan import Plan
from gitops.store import StepRecord

_EXIT = re.compile(r"exited with status (\d+)")


def step_records(plan: Plan, result: ApplyResult) -> list[StepRecord]:
    out: list[StepRecord] = []
    for action, outcome in zip(plan.actions, result.outcomes, strict=False):
        if action.action != "provision" or outcome.status not in ("ok", "failed"):
            continue
        started = set(outcome.upids)
        ran = [c for c in action.calls[1:]
               if f"{step_name(c.path)}@{str(c.params['identity'])[:12]}" in started]
        for i, call in enumerate(ran):
            failed = outcome.status == "failed" and i == len(ran) - 1
            match = _EXIT.search(outcome.error) if failed else None
            out.append(StepRecord(
                target=action.target, step=step_name(call.path), identity=str(call.params["identity"]),
                script=str(call.params.get("script", "")), status="failed" if failed else "ok",
                exit_status=int(match.group(1)) if match else (None if failed else 0),
                output_tail="\n".join(outcome.output.get(step_name(call.path), outcome.log if failed else []))))
    return out


def step_name(path: str) -> str:
    """`lxc/101/steps/feature:docker` -> `feature:docker`."""
    return path.split("/steps/", 1)[1]
