"""A plan: the ordered actions that take live state to the desired config, as plain data.

Made by `gitops.planner.systems.plan_changes`, shown by the CLI and the API (`gitops.planner.showing`),
run by the one executor, `gitops.drivers.executing`, which hands each action to the driver of its
`system`. Each action carries the exact API calls it will make, so what a reviewer reads is what will be
sent (secret values stay `${secret:NAME}` references until the executor resolves them at the last moment).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from gitops.config.secretrefs import SECRET_MASK

ActionKind = Literal[
    "create", "clone", "update", "resize", "start", "stop", "restart", "convert-to-template",
    "snapshot", "prune-snapshot", "firewall", "delete", "storage", "download-template", "migrate", "access", "network",
    "register", "deploy", "redeploy", "provision", "host-config", "backup",
]
HttpMethod = Literal["GET", "POST", "PUT", "DELETE"]
System = str  # the name a driver registers under: "proxmox", "portainer"
PROXMOX: System = "proxmox"
PORTAINER: System = "portainer"


@dataclass
class ApiCall:
    """One request to the API of the action's system, as its driver sends it.

    Proxmox: `path` is relative to `/api2/json` (built by `pve_paths`, e.g. `nodes/pve/lxc/101/config`);
    `wait` is true when the call answers with a UPID whose task must end before the next call. Another
    system gives `path` and `wait` the meaning its driver documents (docs/architecture.md, "Adding a system").
    """

    method: HttpMethod
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    wait: bool = False
    # The name of the secret file (in PHOENIX_SECRETS_DIR) the answer's one-time secret goes to (a new API
    # token's `value`); the secret never enters the plan, a log or the ledger.
    save_secret: str = ""
    # Proxmox config writes: the config digest the plan read. PVE refuses the write if the config changed
    # since (someone's hand edit), and the target is read and planned again instead of being overwritten.
    digest: str = ""


@dataclass
class FieldChange:
    """One field that differs: its name (config or PVE key), the live value and the desired one."""

    field: str
    old: Any
    new: Any
    secret: bool = False
    diff: str = ""  # a file or script: the unified diff from the live text to the desired one (never a secret)

    def shown(self) -> tuple[Any, Any]:
        """Old and new as they may be displayed: secrets masked."""
        if self.secret:
            return (SECRET_MASK if self.old not in (None, "") else self.old, SECRET_MASK)
        return (self.old, self.new)


@dataclass
class Action:
    """One step of a plan, on one target (`lxc/101`, `vm/1001`, `storage/ID`, `template/VOLID`), belonging
    to one `system`: the executor runs it with that system's driver, in that driver's `lane` (the node for
    Proxmox, the endpoint for Portainer)."""

    target: str
    action: ActionKind
    summary: str = ""
    changes: list[FieldChange] = field(default_factory=list)
    calls: list[ApiCall] = field(default_factory=list)
    restart_required: bool = False
    destructive: bool = False
    depends_on: list[str] = field(default_factory=list)  # targets whose actions must finish first
    node: str = ""
    wait_after_s: float = 0.0  # pause after success (boot_delay between boot-order groups)
    system: System = PROXMOX
    snapshot_first: str = ""  # the pre-apply snapshot its first call takes, if any (shown in plans)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, secrets masked."""
        data = asdict(self)
        data["changes"] = [
            {"field": c.field, "old": c.shown()[0], "new": c.shown()[1], **({"diff": c.diff} if c.diff else {})}
            for c in self.changes
        ]
        data["calls"] = [_mask_call(c) for c in self.calls]
        return data


@dataclass
class Problem:
    """A plan-level error or warning (e.g. a disk shrink, which is refused, never attempted)."""

    target: str
    code: str
    message: str


@dataclass
class Plan:
    """Ordered actions plus the errors that block them and the warnings worth reading."""

    actions: list[Action] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # targets with changes waiting for a restart
    # A config-to-config plan: what it compared with, since nothing live was read ("" : the live systems).
    assumed: str = ""

    @property
    def empty(self) -> bool:
        return not self.actions and not self.errors

    def closure(self, targets: Iterable[str]) -> set[str]:
        """`targets` and every target their actions depend on, transitively (what a targeted sync touches)."""
        wanted = set(targets)
        grown = True
        while grown:
            before = len(wanted)
            for action in self.actions:
                if action.target in wanted:
                    wanted.update(action.depends_on)
            grown = len(wanted) > before
        return wanted

    def only(self, targets: Iterable[str]) -> Plan:
        """The part of this plan for `targets` and what they depend on: their actions in the same order,
        their errors and warnings, and the errors not about any one resource (they block every apply)."""
        wanted = self.closure(targets)

        def kept(problem: Problem) -> bool:
            return problem.target in wanted or "/" not in problem.target  # `*`, `hypervisor`: about everything

        return Plan(actions=[a for a in self.actions if a.target in wanted],
                    errors=[p for p in self.errors if kept(p)], warnings=[p for p in self.warnings if kept(p)],
                    pending=[t for t in self.pending if t in wanted])

    def to_dict(self) -> dict[str, Any]:
        return {
            "actions": [a.to_dict() for a in self.actions],
            "errors": [asdict(p) for p in self.errors],
            "warnings": [asdict(p) for p in self.warnings],
            "pending": list(self.pending),
            **({"assumed": self.assumed} if self.assumed else {}),
        }


def _mask_call(call: ApiCall) -> dict[str, Any]:
    return {
        "method": call.method,
        "path": call.path,
        "params": {k: mask_secrets(v) for k, v in call.params.items()},
        "wait": call.wait,
        **({"save_secret": call.save_secret} if call.save_secret else {}),
    }


def mask_secrets(value: Any) -> Any:
    """Replace every `${secret:...}` reference (and its resolved value's place) by `(secret)`."""
    if isinstance(value, str) and "${secret:" in value:
        return SECRET_MASK
    return value
