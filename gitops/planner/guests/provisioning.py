"""Planner rules of in-guest provisioning (system `guests`): run each guest's scripts, write each
container's host-side settings. Pure; listed in `gitops.planner.systems.RULES`, run after the
Proxmox rules, whose actions it reads and threads its own between.

- A new guest (created or cloned in this plan): its host-side settings right after it is made, before it
  first starts (a start folded into the create is split off for that); its steps right after it starts.
  A template is started for its steps, shut down, then converted, so clones carry what its scripts
  installed.
- A guest that exists: the host-side settings that differ from its node's file (they take effect at its
  next start); the steps whose identity differs from what the guest says ran (`LiveState.provisioned`).
  A template's scripts cannot run again (it cannot start): a changed step is a warning, and its clones
  get the new script only when they are re-created. A stopped guest cannot say what ran: a warning.
  A step that runs again shows a unified diff from the script that ran when its text is known
  (`Provisioning.ran`, by the identity the guest recorded), else the identity that ran and the new hash.

Action calls (their meaning is `gitops.drivers.guests.driver`'s): `PUT {kind}/{id}/input` with the JSON
the scripts get (secret references stay references), then one `POST {kind}/{id}/steps/{name}` per script
(its file, hash and identity); `PUT lxc/{id}/lxc-lines` and `POST lxc/{id}/bind-dir` for host settings.
Nothing happens unless `PlanOptions.provisioning` is set (the `PHOENIX_PROVISIONING` setting).
"""

from __future__ import annotations

from gitops.config.estate import Estate
from gitops.config.lxc import LxcGuest
from gitops.config.scripts import GuestSteps, Provisioning, Step
from gitops.planner.guests.host_settings import HostSettings, host_settings
from gitops.planner.live import LiveGuest, LiveHostConfig, LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import Action, ApiCall, FieldChange, Plan, Problem
from gitops.planner.proxmox.desired import DesiredGuest, desired_guests
from gitops.planner.rules import SystemRules
from gitops.planner.unified import unified

GUESTS = "guests"
MADE = ("create", "clone")


def plan_provisioning(estate: Estate, live: LiveState, options: PlanOptions, plan: Plan) -> None:
    provisioning = options.provisioning
    if provisioning is None:
        return
    for d in desired_guests(estate, options.node):
        steps = provisioning.guests.get(d.target)
        if steps is not None and steps.missing:
            for script in steps.missing:
                plan.errors.append(Problem(d.target, "script-missing",
                                           f"{script} is not in the scripts folder {provisioning.folder}"))
            continue
        ct = estate.lxc_guest(d.vmid) if d.kind == "lxc" else None
        host = host_settings(ct) if isinstance(ct, LxcGuest) else HostSettings()
        for problem in host.problems:
            plan.errors.append(Problem(d.target, "host-settings-invalid", problem))
        if host.problems:
            continue
        if any(a.target == d.target and a.action in MADE for a in plan.actions):
            _new_guest(d, steps, host, provisioning, plan)
        else:
            _existing_guest(d, steps, host, live, provisioning, plan)


def _new_guest(d: DesiredGuest, steps: GuestSteps | None, host: HostSettings, provisioning: Provisioning,
               plan: Plan) -> None:
    made = next(i for i, a in enumerate(plan.actions) if a.target == d.target and a.action in MADE)
    if not host.empty:
        at = made + 1
        create = plan.actions[made]
        if create.calls and create.calls[0].params.pop("start", None):
            # Settings PVE reads at start must be in the file first: the folded start becomes its own action.
            create.summary = create.summary.removesuffix(" and start it")
            plan.actions.insert(at, _power(d, "start", create.wait_after_s))
            create.wait_after_s = 0.0
        plan.actions.insert(at, _host_action(d, host, LiveHostConfig()))
    if steps is None or not steps.steps:
        return
    provision = _provision_action(d, steps, steps.steps, {}, provisioning)
    convert = next((i for i, a in enumerate(plan.actions)
                    if a.target == d.target and a.action == "convert-to-template"), None)
    if convert is not None:
        plan.actions[convert:convert] = [_power(d, "start"), provision, _power(d, "shutdown")]
        return
    last = max(i for i, a in enumerate(plan.actions) if a.target == d.target)
    plan.actions.insert(last + 1, provision)


def _existing_guest(d: DesiredGuest, steps: GuestSteps | None, host: HostSettings, live: LiveState,
                    provisioning: Provisioning, plan: Plan) -> None:
    guest = live.guest(d.vmid)
    if guest is None:
        return  # not made by this plan either: its creation failed to plan, already an error
    if d.kind == "lxc" and (not host.empty or d.target in live.host_configs):
        current = live.host_configs.get(d.target)
        if current is not None and _host_differs(host, current):
            plan.actions.append(_host_action(d, host, current, guest))
    if steps is None or not steps.steps:
        return
    ran = live.provisioned.get(d.target)
    if guest.template:
        if ran is not None and _stale(steps.steps, ran):
            plan.warnings.append(Problem(d.target, "template-provisioning-stale",
                                         "a script of this template changed; a template cannot run it again "
                                         "(re-create the template, then its clones, to carry the change)"))
        return
    if ran is None:
        plan.warnings.append(Problem(d.target, "provisioning-unknown",
                                     f"{d.target} is {guest.status}: what ran in it cannot be read; its scripts "
                                     "are checked when it runs"))
        return
    todo = _stale(steps.steps, ran)
    if todo:
        plan.actions.append(_provision_action(d, steps, todo, ran, provisioning, node=guest.node or d.node))


def _stale(steps: tuple[Step, ...], ran: dict[str, str]) -> tuple[Step, ...]:
    return tuple(s for s in steps if ran.get(s.name) != s.identity)


def _host_differs(host: HostSettings, current: LiveHostConfig) -> bool:
    if host.lxc_lines != current.lxc_lines:
        return True
    return any(current.bind_dirs.get(path) != owner and not (owner == "" and current.bind_dirs.get(path))
               for path, owner in host.bind_dirs.items())


def _host_action(d: DesiredGuest, host: HostSettings, current: LiveHostConfig,
                 guest: LiveGuest | None = None) -> Action:
    calls: list[ApiCall] = []
    changes: list[FieldChange] = []
    if host.lxc_lines != current.lxc_lines:
        calls.append(ApiCall("PUT", f"lxc/{d.vmid}/lxc-lines", {"lines": list(host.lxc_lines)}))
        changes.append(FieldChange("lxc", "\n".join(current.lxc_lines) or None, "\n".join(host.lxc_lines) or None))
    for path, owner in host.bind_dirs.items():
        have = current.bind_dirs.get(path)
        if have == owner or (owner == "" and have):
            continue
        uid, _, gid = owner.partition(":")
        calls.append(ApiCall("POST", f"lxc/{d.vmid}/bind-dir", {"path": path, "uid": uid, "gid": gid}))
        changes.append(FieldChange(f"bind-dir {path}", have or None, owner or "exists"))
    running = guest is not None and guest.status == "running"
    summary = f"host-side settings in /etc/pve/lxc/{d.vmid}.conf and bind-mount folders"
    if running and any(c.path.endswith("lxc-lines") for c in calls):
        summary += " (raw lxc lines take effect at the next start)"
    return Action(target=d.target, action="host-config", system=GUESTS, node=d.node, calls=calls,
                  changes=changes, summary=summary, restart_required=running)


def _provision_action(d: DesiredGuest, steps: GuestSteps, todo: tuple[Step, ...], ran: dict[str, str],
                      provisioning: Provisioning, node: str = "") -> Action:
    calls = [ApiCall("PUT", f"{d.kind}/{d.vmid}/input", {"input": steps.input})]
    calls += [ApiCall("POST", f"{d.kind}/{d.vmid}/steps/{s.name}",
                      {"script": s.script, "file": s.path, "sha256": s.script_sha256, "identity": s.identity},
                      wait=True) for s in todo]
    changes = [_step_change(s, ran.get(s.name), provisioning) for s in todo]
    names = ", ".join(s.name for s in todo)
    return Action(target=d.target, action="provision", system=GUESTS, node=node or d.node, calls=calls,
                  changes=changes, summary=f"run in the guest: {names}")


def _step_change(step: Step, ran: str | None, provisioning: Provisioning) -> FieldChange:
    """A step that runs: old, the identity the guest says it ran (script and input hashed together); new, the
    script's hash first (a narrow table cuts the end of a long path, never the hash). When the script that
    ran is known (`Provisioning.ran`), a changed one is shown as a unified diff from it to the new one."""
    if not ran:
        return FieldChange(step.name, None, f"sha256:{step.script_sha256[:12]} {step.script}")
    change = FieldChange(step.name, f"ran {ran[:12]}", f"sha256:{step.script_sha256[:12]} {step.script}")
    before, after = provisioning.ran.get(ran), provisioning.texts.get(step.script_sha256)
    if before is not None and after is not None:
        if before == after:
            change.old = f"ran {ran[:12]} (the same script; its input changed)"
        else:
            change.diff = unified(before, after, step.script, old_side="ran")
    return change


def _power(d: DesiredGuest, what: str, wait_after_s: float = 0.0) -> Action:
    change = FieldChange("status", "stopped" if what == "start" else "running",
                         "running" if what == "start" else "stopped")
    summary = {"start": "start", "shutdown": "shut down (provisioned, before the conversion)"}[what]
    return Action(target=d.target, action="start" if what == "start" else "stop", node=d.node, summary=summary,
                  changes=[change], calls=[ApiCall("POST", d.path(f"status/{what}"), wait=True)],
                  wait_after_s=wait_after_s)


def assume_provisioned(estate: Estate, options: PlanOptions, live: LiveState) -> None:
    """What guests converged to `estate` say: every step of its scripts ran (as `options.provisioning`
    read them), and each container's node file holds its host-side settings. Nothing without provisioning."""
    if options.provisioning is None:
        return
    for target, steps in options.provisioning.guests.items():
        live.provisioned[target] = {s.name: s.identity for s in steps.steps}
    for d in desired_guests(estate, options.node):
        ct = estate.lxc_guest(d.vmid) if d.kind == "lxc" else None
        if isinstance(ct, LxcGuest):
            host = host_settings(ct)
            if not host.empty and not host.problems:
                live.host_configs[d.target] = LiveHostConfig(list(host.lxc_lines), dict(host.bind_dirs))


def _targets(estate: Estate, live: LiveState, options: PlanOptions) -> list[str]:
    return []  # the guests' own targets (drift reports provisioning on them)


RULES = SystemRules(system=GUESTS, targets=_targets, plan=plan_provisioning, assume=assume_provisioned)
