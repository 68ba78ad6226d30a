"""Preflight: reach every configured system and say, one line each, what is wrong and how to fix it.

Lines: settings, database, proxmox, git, config (the files at the branch's head: valid? anything
no API token may set?), portainer.

Called by `phoenix-gitops check` (which prints the lines and exits 1 if any failed) and by `serve`
at start (which logs them and starts anyway: a Proxmox node that is down now may be up in a minute,
and the loop retries). Each check is a probe of the adapter that owns the system (the Proxmox and
Portainer drivers, the Git source, the store) whose errors are turned into a fix here, in one place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from gitops import errors
from gitops.settings import HostPolicy, Settings

Outcome = Literal["ok", "warning", "failed", "skipped"]
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Check:
    """The result for one system: `outcome`, what was found or what failed, and how to fix it."""

    system: str
    outcome: Outcome
    detail: str
    fix: str = ""

    def line(self) -> str:
        outcome = self.outcome.upper() if self.outcome == "failed" else self.outcome
        text = f"{self.system:<10} {outcome:<8} {self.detail}"
        return f"{text}  -> {self.fix}" if self.fix else text

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def run_checks(settings: Settings) -> list[Check]:
    """Every check, in the order a reader fixes them: settings, database, Proxmox, Git (and the config
    at its head), Portainer."""
    from gitops.controller.systems import Convergence

    host, *others = Convergence(settings).probe()
    checks = [check_settings(settings), guarded(check_database, settings), host]
    try:
        checks += check_git_and_config(settings)
    except Exception as exc:  # reported as that system's failure
        checks.append(Check("git", "failed", f"unexpected {type(exc).__name__}: {exc}", "please report this"))
    return checks + others


def failed(checks: list[Check]) -> bool:
    return any(c.outcome == "failed" for c in checks)


def log_checks(settings: Settings) -> list[Check]:
    """Run the checks and log each line (warning or error when not ok); for `serve` at start."""
    checks = run_checks(settings)
    for c in checks:
        level = {"ok": logging.INFO, "skipped": logging.INFO, "warning": logging.WARNING}.get(c.outcome, logging.ERROR)
        log.log(level, "check: %s", c.line(), extra={"system": c.system, "outcome": c.outcome})
    return checks


# -- the checks --------------------------------------------------------------------------------


def check_settings(settings: Settings) -> Check:
    problems: list[str] = []
    fixes: list[str] = []
    if not settings.pve_host:
        problems.append("PHOENIX_PVE_HOST is not set")
        fixes.append("set PHOENIX_PVE_HOST=host[:8006]")
    if settings.pve_token_name and "!" not in settings.pve_token_name:
        problems.append(f"PHOENIX_PVE_TOKEN_NAME {settings.pve_token_name!r} is not user@realm!name")
        fixes.append("write the token id as PVE shows it, e.g. phoenix@pve!gitops")
    if not settings.git_url:
        problems.append("PHOENIX_GIT_URL is not set")
        fixes.append("set PHOENIX_GIT_URL to the config repository")
    if problems:
        return Check("settings", "failed", "; ".join(problems), "; ".join(fixes))
    warnings = []
    if settings.api_token is None or not settings.api_token.get_secret_value():
        warnings.append("no PHOENIX_API_TOKEN: sync, rollback, suspend and resume over the API are refused")
    if settings.webhook_secret is None or not settings.webhook_secret.get_secret_value():
        warnings.append("no PHOENIX_WEBHOOK_SECRET: webhooks are refused, pushes are found by polling only")
    if warnings:
        return Check("settings", "warning", "; ".join(warnings), "set them (docs/configuration.md: Settings)")
    return Check("settings", "ok", "every required setting is there")


def check_database(settings: Settings) -> Check:
    from gitops.store.compatibility import inspect_ledger
    from gitops.store.database import redacted

    url = settings.sqlite_url()
    if not settings.database_url and not (settings.data_dir / "phoenix.db").exists():
        # nothing to reach yet, and `check` (often run as another user) must not create the file
        return Check("database", "ok", f"SQLite in {settings.data_dir}: no ledger yet, created at start")
    try:
        status = inspect_ledger(url)
    except errors.StoreError as exc:
        return Check("database", "failed", str(exc),
                     "check PHOENIX_DATABASE_URL (postgresql://user:password@host:5432/db) and that the server "
                     "runs, or unset it to use SQLite in PHOENIX_DATA_DIR")
    if not status.known:
        return Check("database", "failed", f"{redacted(url)}: {status.describe()}",
                     "run the newer phoenix-gitops, or use a fresh database and `phoenix-gitops ledger import`")
    return Check("database", "ok", f"{redacted(url)}: {status.describe()}")


@dataclass(frozen=True, slots=True)
class ConfigFacts:
    """What the check learns from the config files at the branch's head."""

    valid: bool
    errors: list[str]
    guests: int
    root_only: dict[str, list[str]]


def read_config_facts(directory: Path, policy: HostPolicy | None = None) -> ConfigFacts:
    from gitops.config.validation import validate_directory
    from gitops.controller.systems import config_facts

    estate, report = validate_directory(directory, policy)
    if not report.valid:
        return ConfigFacts(False, [p.message for p in report.errors][:3], 0, {})
    guests, root_only = config_facts(estate)
    return ConfigFacts(True, [], guests, root_only)


def check_git_and_config(settings: Settings) -> list[Check]:
    """The `git` line (the repo reached, its branch's head) and the `config` line (the files there)."""
    if not settings.git_url:
        return [Check("git", "skipped", "PHOENIX_GIT_URL is not set"),
                Check("config", "skipped", "no config repo to read")]
    from gitops.source.probing import probe

    try:
        url, head, facts = probe(settings, lambda folder: read_config_facts(folder, settings.policy))
    except errors.SourceError as exc:
        return [Check("git", "failed", str(exc),
                      "check PHOENIX_GIT_URL and PHOENIX_GIT_BRANCH, and PHOENIX_GIT_TOKEN (HTTPS) or "
                      "PHOENIX_GIT_SSH_KEY (ssh)"),
                Check("config", "skipped", "the config repo was not reached")]
    git = Check("git", "ok", f"{url} branch {settings.git_branch} at {head.short_sha} ({head.subject[:60]})")
    return [git, _config_check(settings, head.short_sha, facts)]


def _config_check(settings: Settings, sha: str, facts: ConfigFacts) -> Check:
    if not facts.valid:
        return Check("config", "warning", f"at {sha}: invalid ({'; '.join(facts.errors)})",
                     "see `phoenix-gitops validate`; the controller records the commit as rejected and applies "
                     "nothing until a valid one comes")
    where = f"at {sha}: valid, {facts.guests} guests"
    if settings.pve_token_name and facts.root_only:
        listed = [f"{target} {', '.join(reasons)}" for target, reasons in sorted(facts.root_only.items())]
        more = f" and {len(listed) - 3} more" if len(listed) > 3 else ""
        return Check("config", "failed", f"{where}; no API token may set: {'; '.join(listed[:3])}{more}",
                     "log in as root@pam with its password (PHOENIX_PVE_USER, PHOENIX_PVE_PASSWORD, no token): "
                     "PVE allows these to root@pam only")
    return Check("config", "ok", where)


def guarded(check: Callable[[Settings], Check], settings: Settings) -> Check:
    """A check that crashes is a failed line, not a traceback: the other systems are still checked."""
    try:
        return check(settings)
    except Exception as exc:  # reported as that system's failure
        system = check.__name__.removeprefix("_probe_").removeprefix("check_")
        return Check(system, "failed", f"unexpected {type(exc).__name__}: {exc}", "please report this")
