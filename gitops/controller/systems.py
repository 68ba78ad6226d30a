"""The one port to the systems a run converges: `Convergence`, built once from settings.

The only module of the controller (and of the faces) that knows which systems exist. It offers the
drivers (`open()` connects every configured system's driver and returns a `Session`), the only
`plan_options(...)`, read-and-plan, apply, verify (drift and the post-apply checks), the config-to-config
plan (`plan_config`: against the state the base config converges to, nothing live read) and probe
(`phoenix-gitops check`'s line per system). The reconcile steps, `phoenix-gitops plan/apply`,
pull-request reviews, `plan --base/--head` and preflight all go through it, so they plan the same way:
provisioning and snapshots included, secrets checked.

Proxmox is always there (its client is made from the settings, or by the `proxmox` factory a test
injects); every other system registers a factory in `EXTRA_SYSTEMS` that returns its driver when its
settings are given, or None when the system is not configured.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gitops import errors
from gitops.config import scripts
from gitops.config.estate import Estate
from gitops.config.secretrefs import REF, SecretResolver
from gitops.config.validation import validate_directory
from gitops.controller import checks, converging, replanning
from gitops.drivers import guests, portainer
from gitops.drivers.executing import ApplyEvent, ApplyResult
from gitops.drivers.proxmox.connection import ProxmoxClient
from gitops.drivers.proxmox.connection import connect as connect_proxmox
from gitops.drivers.proxmox.driver import ProxmoxDriver
from gitops.drivers.proxmox.live_cache import LiveCache as LiveCache  # the controller keeps one (reconciling)
from gitops.drivers.seam import CancelToken, Driver, Drivers
from gitops.planner import drift, systems
from gitops.planner.options import PlanOptions
from gitops.planner.plan import PROXMOX, Plan, Problem
from gitops.planner.proxmox import assumed, restoring
from gitops.planner.proxmox.desired import desired_guests
from gitops.planner.proxmox.rootonly import root_only_settings
from gitops.settings import Settings

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from gitops.controller.preflight import Check
    from gitops.source import ConfigRepo

# settings -> the system's driver (connected), or None when its settings are absent. A new system appends
# its factory here, e.g. `gitops.drivers.portainer.from_settings`; a factory imports its driver (and the
# driver's libraries) only when the system is configured, so commands that need none stay quick to start.
EXTRA_SYSTEMS: list[Callable[[Settings], Driver | None]] = [guests.from_settings, portainer.from_settings]
OFFLINE = "node-offline"  # the plan's warning for a target whose node is offline: left alone until it is back
DEFAULT_NODE = "pve1"  # a config-to-config plan's default node when PHOENIX_PVE_NODE is not set


def drivers_for(settings: Settings, client: ProxmoxClient, *, cancel: CancelToken | None = None,
                extra: bool = True, cache: LiveCache | None = None) -> Drivers:
    """The registry of one run: Proxmox around `client` (reading through the controller's `cache` when given),
    then every configured extra system. On an error connecting one of them, the ones already connected are
    closed."""
    drivers = Drivers(cancel=cancel or CancelToken(), secrets=SecretResolver(settings.secrets_dir))
    drivers.register(ProxmoxDriver(client, concurrency=settings.pve_concurrency,
                                   source_address=settings.pve_source_address, state_dir=settings.state_folder,
                                   cache=cache))
    if not extra:
        return drivers
    try:
        for factory in EXTRA_SYSTEMS:
            driver = factory(settings)
            if driver is not None:
                drivers.register(driver)
    except BaseException:
        drivers.close()
        raise
    return drivers


@dataclass
class Verified:
    """What `Session.verify` found after an apply: the plan made again, the drift left, the checks."""

    run: converging.PlanRun
    drift: drift.DriftReport
    checks: checks.CheckReport


class Convergence:
    """The systems of this controller (or CLI run), from its settings. Cheap to build; `open()` connects."""

    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] = time.sleep,
                 proxmox: Callable[[], ProxmoxClient] | None = None) -> None:
        self.settings = settings
        self.sleep = sleep
        self._proxmox = proxmox  # a client factory a test or benchmark injects; else one from the settings

    def using(self, settings: Settings) -> Convergence:
        """The same systems under `settings` (the reconciler's, which an operator or a test may replace)."""
        return self if settings is self.settings else Convergence(settings, sleep=self.sleep, proxmox=self._proxmox)

    @property
    def reads_live(self) -> bool:
        """A live system to read is configured (otherwise plans are config to config)."""
        return bool(self.settings.pve_host)

    def open(self, *, cancel: CancelToken | None = None, cache: LiveCache | None = None,
             prefetch: bool = False) -> Session:
        """Connect every configured system's driver; Proxmox reads through the controller's `cache` when given
        (the command line reads everything fresh). `prefetch`: Proxmox reads `cluster/resources` now, for the
        session's first read (`ProxmoxDriver.prefetch`)."""
        client = self._proxmox() if self._proxmox else connect_proxmox(self.settings, sleep=self.sleep)
        session = Session(self, drivers_for(self.settings, client, cancel=cancel, cache=cache))
        keeper = session.drivers.get(PROXMOX)
        if prefetch and isinstance(keeper, ProxmoxDriver):
            keeper.prefetch()
        return session

    def plan_options(self, node: str, *, revision: str | None, estate: Estate | None,
                     allow_destroy: bool = False, earlier: Path | None = None) -> PlanOptions:
        """The options of every plan: `node` is the default node; with provisioning on, the scripts of
        `estate`'s guests are read now, from its folder (the checkout of the revision), and those of the
        config folder `earlier` (an earlier revision's: the applied one) to show a changed script as a diff
        from the one that ran; with snapshots on, a changed guest is snapshotted first as `phx-<revision>`."""
        settings = self.settings
        provisioning = None
        if settings.provisioning and estate is not None:
            provisioning = scripts.load_provisioning(estate, settings.scripts_dir)
            if earlier is not None:
                provisioning = provisioning.knowing(self._ran(provisioning, earlier))
        return PlanOptions(
            provisioning=provisioning,
            node=node,
            allow_destroy=allow_destroy,
            prune=settings.prune,
            backup_storage=settings.backup_storage or None,
            backup_mode=settings.backup_mode,
            snapshot_name=f"phx-{revision[:12]}" if settings.snapshots and revision else None,
            snapshots_keep=settings.snapshots_keep,
        )

    def _ran(self, provisioning: scripts.Provisioning, earlier: Path) -> dict[str, str]:
        """The scripts of config folder `earlier` by the identity each step ran as there: with its own
        inputs when it validates (a commit that changes a guest and its script both), else with today's."""
        try:
            estate, report = validate_directory(earlier, self.settings.policy)
        except errors.ConfigError:
            report = None
        if report is not None and report.valid:
            return scripts.ran_as(scripts.load_provisioning(estate, self.settings.scripts_dir))
        return scripts.ran_in(provisioning, scripts.scripts_folder(earlier, self.settings.scripts_dir))

    def plan_config(self, base: Estate, head: Estate, *, revision: str | None, against: str,
                    allow_destroy: bool = False) -> converging.PlanRun:
        """Plan `head` against the state `base` converges to, nothing live read: with the same options as
        a live plan (provisioning and snapshots), on the nodes the two configs name. `against` names the
        base for the plan ("base 1a2b3c4d5e6f (main)")."""
        node = self.settings.pve_node or DEFAULT_NODE
        base_options = self.plan_options(node, revision=None, estate=base, allow_destroy=allow_destroy)
        nodes = assumed.config_nodes(base, node) | assumed.config_nodes(head, node)
        live = systems.assumed_live(base, base_options, nodes=sorted(nodes),
                                    assumed=f"the state {against} converges to")
        options = self.plan_options(node, revision=revision, estate=head, allow_destroy=allow_destroy)
        if options.provisioning is not None and base_options.provisioning is not None:  # the base's scripts ran
            options = replace(options, provisioning=options.provisioning.knowing(
                scripts.ran_as(base_options.provisioning)))
        return converging.PlanRun(systems.plan_changes(head, live, options), live, options)

    def probe(self) -> list[Check]:
        """One preflight line per system, in order: the hypervisor first (Proxmox), then the others."""
        from gitops.controller.preflight import guarded

        return [guarded(_probe_proxmox, self.settings), guarded(_probe_portainer, self.settings)]


class Session:
    """One run's connected drivers (close it, or use it as a context manager) and what runs on them."""

    def __init__(self, convergence: Convergence, drivers: Drivers) -> None:
        self.convergence = convergence
        self.settings = convergence.settings
        self.drivers = drivers

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.drivers.close()

    @property
    def where(self) -> str:
        """What live plans compare with, in words: "the live node pve1"."""
        return f"the live node {self._node}"

    @property
    def _node(self) -> str:
        driver = self.drivers.get(PROXMOX)
        if not isinstance(driver, ProxmoxDriver):
            raise TypeError("no Proxmox driver registered")
        return driver.node

    def options(self, estate: Estate, *, revision: str | None, allow_destroy: bool = False,
                earlier: Path | None = None) -> PlanOptions:
        return self.convergence.plan_options(self._node, revision=revision, estate=estate,
                                             allow_destroy=allow_destroy, earlier=earlier)

    def plan(self, estate: Estate, *, revision: str | None, allow_destroy: bool = False,
             earlier: Path | None = None) -> converging.PlanRun:
        """Read and plan, every secret the plan would send checked; `earlier`: an earlier revision's config
        folder (what ran: a changed script is shown as a diff from its script)."""
        options = self.options(estate, revision=revision, allow_destroy=allow_destroy, earlier=earlier)
        return self.read_and_plan(estate, options)

    def read_and_plan(self, estate: Estate, options: PlanOptions, *,
                      check_secrets: bool = True) -> converging.PlanRun:
        secrets = SecretResolver(self.settings.secrets_dir) if check_secrets else None
        run = converging.read_and_plan(self.drivers, estate, options, secrets)
        keeper = self.drivers.get(PROXMOX)
        if check_secrets and isinstance(keeper, ProxmoxDriver):  # a new token's one-time secret needs a place
            run.plan.errors += keeper.secret_problems(run.plan)
        return run

    def unresolvable_secrets(self, estate: Estate, options: PlanOptions, targets: list[str]) -> list[Problem]:
        """An error for each of `targets` whose desired config names a secret that cannot be resolved, even
        one the plan would not send (a VM's cloud-init password is sent only at creation): a self-heal does
        not touch a guest whose config cannot be fully resolved."""
        secrets = SecretResolver(self.settings.secrets_dir)
        wanted = set(targets)
        problems: list[Problem] = []
        for d in desired_guests(estate, options.node):
            if d.target not in wanted:
                continue
            names = {name for value in [*d.config.values(), *d.create_only.values()] if isinstance(value, str)
                     for name in REF.findall(value)}
            for name in sorted(names):
                try:
                    secrets.value(name)
                except errors.ConfigError as exc:
                    problems.append(Problem(d.target, "secret-missing", str(exc)))
        return problems

    def apply(self, run: converging.PlanRun,
              on_event: Callable[[ApplyEvent], None] | None = None) -> ApplyResult:
        """Run the plan with the one executor; the registry's cancel token is checked before each action. A
        write refused because its target changed since the read (PVE's digest) is read and planned again
        (`replanning`), never sent again as it was."""
        result = converging.execute_plan(self.drivers, run.plan, self.settings, on_event)
        estate = run.estate
        return replanning.replan_stale(
            run, result, lambda: self.read_and_plan(estate, run.options) if estate is not None else None,
            lambda plan: converging.execute_plan(self.drivers, plan, self.settings, on_event))

    def restore_plan(self, estate: Estate, options: PlanOptions, snapshot: str) -> Plan:
        """The plan that takes `estate`'s guests back to `snapshot` (a data rollback), from a full read."""
        ids = {d.vmid for d in desired_guests(estate, options.node)}
        live = converging.read_live(self.drivers, estate, options, full=True)
        return restoring.restore_plan(live, ids, snapshot)

    def execute(self, plan: Plan, on_event: Callable[[ApplyEvent], None] | None = None) -> ApplyResult:
        return converging.execute_plan(self.drivers, plan, self.settings, on_event)

    def verify(self, estate: Estate, options: PlanOptions, *, revision: str, now: dt.datetime,
               sleep: Callable[[float], None] = time.sleep,
               dial: Callable[..., str | None] | None = None) -> Verified:
        """After an apply: plan again (what is left is drift), and run the post-apply checks."""
        after = self.read_and_plan(estate, options, check_secrets=False)
        found = drift.compare(estate, after.live, after.plan, revision=revision, now=now)
        offline = frozenset(w.target for w in after.plan.warnings if w.code == OFFLINE)
        return Verified(after, found, checks.run_checks(estate, after.live, sleep=sleep, dial=dial, left_alone=offline,
                                                            policy=self.settings.policy))


def config_facts(estate: Estate) -> tuple[int, dict[str, list[str]]]:
    """How many guests `estate` has, and per guest what only root@pam may set (no API token can)."""
    guests = desired_guests(estate, "")
    return len(guests), root_only_settings(guests)


def ran_folder(settings: Settings, repo: ConfigRepo, applied: str | None, planned: str | None = None) -> Path | None:
    """The config folder of the applied revision, whose scripts ran, for plans of another revision (`planned`)
    when provisioning is on: a changed script is shown as a diff from it. None when it cannot be had."""
    if not settings.provisioning or not applied or applied == planned:
        return None
    try:
        return repo.checkout(applied)
    except errors.SourceError as exc:
        log.info("the applied revision's scripts cannot be read (%s): changed scripts are shown by hash", exc)
        return None


def data_rollback_warning(snapshot: str) -> str:
    """The warning a plan that restores data carries (the words of `restoring`)."""
    return restoring.DATA_ROLLBACK_WARNING.format(snap=snapshot)


def _probe_proxmox(settings: Settings) -> Check:
    from gitops.controller.preflight import Check
    from gitops.drivers.proxmox import privileges
    from gitops.drivers.proxmox.probing import probe

    if not settings.pve_host:
        return Check("proxmox", "skipped", "PHOENIX_PVE_HOST is not set")
    try:
        found = probe(settings)
    except errors.AuthenticationError as exc:
        return Check("proxmox", "failed", str(exc),
                     "check PHOENIX_PVE_TOKEN_NAME (user@realm!name) and PHOENIX_PVE_TOKEN_VALUE, "
                     "or PHOENIX_PVE_USER and PHOENIX_PVE_PASSWORD")
    except errors.SettingsError as exc:
        return Check("proxmox", "failed", str(exc), "set the PHOENIX_PVE_* settings (docs/configuration.md: Settings)")
    except errors.DriverError as exc:
        text = str(exc)
        fix = ("set PHOENIX_PVE_VERIFY_SSL to the node's CA file (/etc/pve/pve-root-ca.pem on the node)"
               if "TLS" in text or "certificate" in text.lower() else
               f"is {settings.pve_host} the PVE API (port 8006) and reachable from here?")
        return Check("proxmox", "failed", text, fix)
    where = f"{found.host} (PVE {found.version}), node {found.node}, as {found.user}"
    if found.token and found.missing_privileges:
        return Check("proxmox", "failed", f"{where}: the token lacks {', '.join(found.missing_privileges)} on /",
                     f"give it the {privileges.ROLE} role on / (docs/operations.md: Run it on Proxmox)")
    return Check("proxmox", "ok", where)


def _probe_portainer(settings: Settings) -> Check:
    from gitops.controller.preflight import Check
    from gitops.drivers.portainer.probing import probe

    if not settings.portainer_url:
        return Check("portainer", "skipped", "PHOENIX_PORTAINER_URL is not set (no stacks are deployed)")
    try:
        found = probe(settings)
    except errors.AuthenticationError as exc:
        return Check("portainer", "failed", str(exc),
                     "make an access token in Portainer (My account > Access tokens) and set "
                     "PHOENIX_PORTAINER_API_KEY")
    except errors.DriverError as exc:
        return Check("portainer", "failed", str(exc),
                     "set PHOENIX_PORTAINER_URL to Portainer's address (https://host:9443), reachable from here")
    return Check("portainer", "ok", f"{found.url} (Portainer {found.version}), {found.environments} environment(s)")
