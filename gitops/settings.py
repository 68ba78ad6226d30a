"""Settings of the controller and the command line, from `PHOENIX_*` variables or a TOML file.

Read by the CLI (which passes them down), the drivers and the controller. Secrets are `SecretStr`,
so they never show in a repr, a log line or an error message.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, JsonValue, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

# marks a setting (beside the host policy) that widens what a commit may do: see `widening_settings`
WIDENS: dict[str, JsonValue] = {"widens": True}
MIN_SECRET_LENGTH = 4  # a shorter secret would mask ordinary words in logs, so it is refused, not left unmasked


class SyncWindow(BaseModel):
    """A time window in which automatic applies are allowed (`allow`) or refused (`deny`)."""

    kind: str = Field(pattern="^(allow|deny)$")
    weekdays: list[int] = Field(default_factory=lambda: list(range(7)), description="0 = Monday")
    start: dt.time = dt.time(0, 0)
    end: dt.time = dt.time(23, 59, 59)

    def contains(self, when: dt.datetime) -> bool:
        t = when.time()
        if self.start <= self.end:
            return when.weekday() in self.weekdays and self.start <= t <= self.end
        # A window across midnight: its hours after midnight belong to the weekday on which it opened.
        if t >= self.start:
            return when.weekday() in self.weekdays
        return t <= self.end and (when.weekday() - 1) % 7 in self.weekdays


class HostPolicy(BaseModel):
    """What a commit to the config repo may do to the Proxmox host (the committer does not control this).

    Read by `gitops.config.checks.policy`; a commit outside it is rejected at validation, naming the
    rule (`policy-*` codes). The defaults accept every upstream Phoenix config and refuse the classic
    ways out of a container: host bind mounts outside the data folders, privileged containers, raw LXC
    keys such as hooks, device nodes other than GPUs, FUSE and TUN, all-device cgroup rules on privileged
    containers (a warning on unprivileged ones, as upstream used them) and id maps onto host root.
    """

    model_config = {"extra": "forbid"}

    bind_mount_prefixes: list[str] = Field(
        default_factory=lambda: ["/mnt/pve", "/usr/local/phoenix_hypervisor"],
        description="host folders under which bind mounts (and dir storages) may lie",
    )
    allow_privileged: bool = Field(False, description="allow `unprivileged: false` containers")
    lxc_option_keys: list[str] = Field(
        default_factory=lambda: [
            "lxc.apparmor.profile", "lxc.apparmor.allow_nesting", "lxc.mount.auto", "lxc.mount.entry",
            "lxc.cap.keep", "lxc.cap.drop", "lxc.cgroup2.devices.allow", "lxc.cgroup.devices.allow",
            "lxc.net.N.type", "lxc.net.N.link", "lxc.net.N.name", "lxc.net.N.flags", "lxc.net.N.hwaddr",
            "lxc.net.N.mtu", "lxc.net.N.macvlan.mode", "lxc.net.N.ipvlan.mode", "lxc.net.N.vlan.id",
            "lxc.net.N.ipv4.address", "lxc.net.N.ipv4.gateway", "lxc.net.N.ipv6.address", "lxc.net.N.ipv6.gateway",
        ],
        description="raw `lxc_options` keys allowed, an explicit list (`N` stands for an index: `lxc.net.N.type`); "
                    "no wildcards, so a list never grows into a hook such as `lxc.net.N.script.up`",
    )
    pct_option_keys: list[str] = Field(
        default_factory=lambda: ["nesting", "keyctl", "mknod", "fuse"],
        description="`pct_options` keys allowed (upstream wrote PVE features there: `nesting=1`)",
    )
    qm_option_keys: list[str] = Field(
        default_factory=lambda: ["vga", "machine", "cpu", "bios", "ostype", "agent", "balloon", "numa", "sockets",
                                 "tablet", "localtime"],
        description="`qm_options` keys allowed (upstream: `--vga qxl`); never by default `args`, `hookscript`, "
                    "`serialN`, `usbN` or `hostpciN`, which reach host commands and devices",
    )
    devices: list[str] = Field(
        default_factory=lambda: ["/dev/nvidia*", "/dev/dri/*", "/dev/fuse", "/dev/net/tun"],
        description="host device nodes that may be passed into a container (shell-style patterns)",
    )
    all_devices: Literal["reject", "unprivileged-only", "allow"] = Field(
        "unprivileged-only",
        description="cgroup rules that open every device (`a`, `c *:* rwm`): `unprivileged-only` refuses them on "
                    "privileged containers and warns on unprivileged ones (which cannot create device nodes, so "
                    "they reach only the nodes passed in, which `devices` checks); `reject` refuses them always",
    )
    allow_root_id_maps: bool = Field(False, description="allow id maps onto host uid/gid 0")
    # The `access` block (PVE users, tokens, roles, ACLs): see gitops.config.checks.access.
    allow_pam_realm: bool = Field(False, description="allow users and tokens in the `pam` realm (host accounts, "
                                  "root@pam among them)")
    allow_token_without_privsep: bool = Field(False, description="allow `privsep: false` tokens (every right of "
                                              "their user)")
    allow_privileged_roles: bool = Field(False, description="allow roles with Sys.* (but Sys.Audit), "
                                         "Permissions.Modify or Realm.* (Administrator, PVEAdmin...)")
    allow_root_acls: bool = Field(False, description="allow ACLs on `/` and `/access`")
    # URLs PVE downloads from (`download-url`): see gitops.config.checks.urls.
    url_allow_http: bool = Field(False, description="allow http (not only https) template and image URLs")
    url_hosts: list[str] = Field(default_factory=list, description="when set, the only hosts templates and images "
                                 "may come from (`.example.org` for its subdomains)")
    url_allow_private: bool = Field(False, description="allow loopback, link-local (cloud metadata), private and "
                                    "reserved addresses in template and image URLs")

    @field_validator("lxc_option_keys", "pct_option_keys", "qm_option_keys")
    @classmethod
    def _explicit(cls, keys: list[str]) -> list[str]:
        wild = [k for k in keys if any(c in k for c in "*?[]")]
        if wild:
            raise ValueError(f"option keys are an explicit list (no wildcards; `N` stands for an index): {wild}")
        return [k.strip() for k in keys]


class NotifyTarget(BaseModel):
    """Where notifications go: an Apprise URL (Slack, Discord, Matrix, ntfy, Gotify, mailto...) or a
    JSON webhook (`kind = "webhook"`, an http(s) URL, the body signed with `secret` as
    `X-Signature: sha256=<hex HMAC>`). `events` keeps only those event kinds (empty: all).
    The URL is a secret: Apprise URLs carry their service's token."""

    name: str = Field("", description="shown in logs instead of the URL")
    kind: str = Field("apprise", pattern="^(apprise|webhook)$")
    url: SecretStr
    events: list[str] = Field(default_factory=list)
    secret: SecretStr | None = None

    @property
    def label(self) -> str:
        return self.name or self.kind


class Settings(BaseSettings):
    """Every setting named in docs/architecture.md, plus the controller's behaviour switches."""

    # Errors never echo an input: a refused secret must not be printed while it is refused.
    model_config = SettingsConfigDict(env_prefix="PHOENIX_", extra="ignore", env_nested_delimiter="__",
                                      hide_input_in_errors=True)

    pve_host: str = ""
    pve_user: str = "root@pam"
    pve_password: SecretStr | None = None
    pve_token_name: str = ""
    pve_token_value: SecretStr | None = None
    pve_verify_ssl: str = "true"
    pve_node: str = ""
    pve_source_address: str = Field(
        "", description="the address the Proxmox API sees the controller come from (default: the local address "
        "of the connection); checked against the firewall so a plan never locks the controller out")
    pve_timeout: float = 30.0
    pve_concurrency: int = Field(8, ge=1, le=64, description="guest operations (tasks) in parallel per node")
    pve_read_concurrency: int = Field(32, ge=1, le=128, description="parallel read-only API calls (GETs)")

    portainer_url: str = ""
    portainer_api_key: SecretStr | None = None
    portainer_user: str = Field("", description="admin user for a JWT login, when there is no API key")
    portainer_password: SecretStr | None = None
    portainer_verify_ssl: str = "true"
    portainer_timeout: float = 30.0
    portainer_read_concurrency: int = Field(16, ge=1, le=128, description="parallel reads of stack files")
    portainer_concurrency: int = Field(4, ge=1, le=64, description="stack deployments in parallel per environment")

    git_url: str = ""
    git_branch: str = "main"
    git_path: str = "."
    git_token: SecretStr | None = None
    git_max_file_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="largest file of a commit the controller "
                                    "reads (config files, the scripts and compose files they name); a larger one "
                                    "rejects the revision (`file-too-large`); other files are never read",
                                    json_schema_extra=WIDENS)
    git_ssh_key: str = ""

    poll_interval: float = 60.0
    drift_interval: float = 300.0
    drift_rps: float = Field(0.0, ge=0, description="requests per second the drift check's full read (the "
                             "sweep) may send to the Proxmox API, spread evenly, so that it leaves the rest of "
                             "the API to applies; 0: unpaced (as fast as PHOENIX_PVE_READ_CONCURRENCY allows)")
    gc_freeze: bool = Field(True, description="after each reconcile, collect what it left and freeze the rest out "
                            "of Python's garbage collector (a full collection every 10 minutes), so a large "
                            "estate's cache is not walked by every collection of the next commit; false: "
                            "Python's defaults")
    liveness_timeout: float = Field(0.0, ge=0, description="seconds the reconcile loop may go without a turn or "
                                    "an apply's progress before `/healthz` answers 503 (wedged); 0: the poll "
                                    "interval plus the longest one step may take (an hour for a hypervisor task, "
                                    "PHOENIX_SSH_TIMEOUT for a script) plus a minute")
    database_url: str = ""
    # How many replicas run together (the deploy files set it beside their replica count). More than one
    # needs PostgreSQL: on SQLite each would keep its own ledger and leader lock, and every one would apply.
    replicas: int = Field(1, ge=1)
    instance: str = Field("default", description="this controller's name among the controllers sharing one "
                          "database (one per cluster): it keys the ledger (a PostgreSQL schema `phoenix_NAME`, or "
                          "a SQLite file `phoenix.NAME.db`) and the leader lock; lowercase letters, digits, hyphens")
    data_dir: Path = Path("./phoenix-data")
    webhook_secret: SecretStr | None = None
    api_token: SecretStr | None = None
    api_read_token: SecretStr | None = Field(
        None, description="when set, reads (API and dashboard) need it or the write token; the plans show the "
                          "estate's whole layout")
    api_session_hours: float = Field(12.0, gt=0, le=24 * 30, description="how long a dashboard session (the cookie "
                                     "the login form sets when a read token is set) lasts")
    api_docs_need_read_token: bool = Field(True, description="with a read token set, `/docs`, `/redoc` and "
                                           "`/openapi.json` need it too (they show every route and model)")
    secrets_dir: Path | None = Field(None, description="read-only folder of secret files for `${secret:NAME}` "
                                                       "references (and the SSH key)")
    state_dir: Path | None = Field(None, description="writable folder for what the controller keeps for itself "
                                                     "(new API tokens' secrets); default `state` in the data dir")

    snapshots: bool = True
    snapshots_keep: int = Field(3, ge=1)
    self_heal: bool = True
    prune: bool = Field(False, description="delete the guests and stacks the controller created (tag "
                                           "`phoenix-gitops`, stack variable `PHOENIX_GITOPS_STACK`) that the "
                                           "config no longer has; off: they are listed as `orphan` and kept",
                          json_schema_extra=WIDENS)
    backup_storage: str = Field("", description="PVE storage (content `backup`) a guest is saved to with vzdump "
                                                "before the controller destroys it (prune or re-create); empty: "
                                                "no backup (its snapshots die with it)")
    backup_mode: Literal["snapshot", "suspend", "stop"] = Field("snapshot", description="vzdump's `mode` for "
                                                                 "those backups")
    auto_rollback: bool = True
    retry_interval: float = Field(30.0, gt=0, description="first wait before a failed revision is tried again; "
                                  "it doubles after each failure")
    retry_max_interval: float = Field(1800.0, gt=0, description="longest wait between tries of a failed revision")
    sync_windows: list[SyncWindow] = Field(default_factory=list)
    api_host: str = "127.0.0.1"
    api_port: int = Field(8080, ge=1, le=65535)
    api_max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="larger request bodies get 413, unread")
    api_read_timeout: float = Field(15.0, gt=0, le=600,
                                    description="seconds a client may take to send its request head or the next "
                                                "part of its body before the connection is closed")
    api_max_connections: int = Field(200, ge=1, description="open connections; more get 503")
    boot_delays: bool = Field(True, description="wait each guest's boot_delay before starting the next boot group")
    policy: HostPolicy = Field(default_factory=HostPolicy, description="what a commit may do to the host")

    # Forges: pull-request comments and commit statuses. Each forge has its token (never logged).
    github_token: SecretStr | None = None
    github_api_url: str = Field("https://api.github.com", description="Enterprise: https://HOST/api/v3")
    gitea_token: SecretStr | None = Field(None, description="Gitea or Forgejo")
    gitea_url: str = Field("", description="the Gitea or Forgejo server, e.g. https://git.example.org")
    gitlab_token: SecretStr | None = None
    gitlab_url: str = Field("https://gitlab.com", description="or a self-hosted GitLab")
    bitbucket_token: SecretStr | None = Field(None, description="a Bitbucket Cloud repository access token")
    bitbucket_api_url: str = "https://api.bitbucket.org"
    forge_verify_ssl: str = "true"
    forge: str = Field("", description="forge of the config repo, for deploy statuses: github, gitea, forgejo, "
                                       "gitlab, bitbucket")
    forge_repo: str = Field("", description="the config repo on that forge: owner/name or group/project")
    status_context: str = "phoenix-gitops"
    public_url: str = Field("", description="this controller's URL as people reach it, for links on the forge")
    pr_reviews: bool = Field(True, description="validate and plan pull requests from webhooks (never applied)",
                             json_schema_extra=WIDENS)
    review_concurrency: int = Field(2, ge=1, le=8, description="pull requests reviewed at once (one per PR)")

    notify: list[NotifyTarget] = Field(default_factory=list)

    # In-guest provisioning (feature and application scripts, host-side container settings): off unless set,
    # since whoever may commit to the config repo then runs code as root on the hosts.
    provisioning: bool = Field(False, description="run the config's feature and application scripts in the "
                               "guests, as root", json_schema_extra=WIDENS)
    scripts_dir: str = Field("", description="scripts folder, relative to the config folder (default: "
                                             "`bin/` there if present, else `../bin`, the upstream layout)")
    ssh_user: str = "root"
    ssh_key: str = Field("", description="private key file for SSH to the nodes (default: `ssh_key` in the "
                                         "secrets dir)")
    ssh_known_hosts: str = Field("", description="pinned known_hosts file (default: `known_hosts` in the "
                                                 "secrets dir); unknown host keys are refused")
    ssh_hosts: dict[str, str] = Field(default_factory=dict, description="node name -> `host[:port]` for SSH "
                                      "(default: the node name, port 22)")
    ssh_timeout: float = Field(1800.0, gt=0, description="seconds one script may run")

    @field_validator("instance")
    @classmethod
    def _instance(cls, value: str) -> str:
        if not INSTANCE_NAME.match(value):
            raise ValueError(f"invalid instance name {value!r}: {INSTANCE_RULE}")
        return value

    @model_validator(mode="after")
    def _no_short_secrets(self) -> Settings:
        short = [name for name, value in _secret_fields(self) if 0 < len(value.get_secret_value()) < MIN_SECRET_LENGTH]
        if short:
            raise ValueError(f"secrets shorter than {MIN_SECRET_LENGTH} characters cannot be masked in logs and "
                             f"are refused: {', '.join(short)}")
        return self

    @field_validator("pve_verify_ssl", "portainer_verify_ssl")
    @classmethod
    def _verify(cls, value: str) -> str:
        return value.strip()

    @property
    def verify(self) -> bool | str:
        """`requests`' verify argument: True, False or a CA bundle path."""
        return _verify_argument(self.pve_verify_ssl)

    @property
    def portainer_verify(self) -> bool | str:
        """httpx's verify argument for Portainer: True, False or a CA bundle path."""
        return _verify_argument(self.portainer_verify_ssl)

    @property
    def forge_verify(self) -> bool | str:
        """httpx's verify argument for the forges: True, False or a CA bundle path."""
        return _verify_argument(self.forge_verify_ssl.strip())

    @property
    def state_folder(self) -> Path:
        """`PHOENIX_STATE_DIR`, or `state` inside the data dir."""
        return self.state_dir if self.state_dir is not None else self.data_dir / "state"

    def sqlite_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'phoenix.db').resolve()}"

    def replicas_problem(self) -> str | None:
        """Why these settings cannot run as configured (several replicas on SQLite), or None."""
        if self.replicas > 1 and self.sqlite_url().startswith("sqlite"):
            return (f"PHOENIX_REPLICAS={self.replicas} needs PostgreSQL (PHOENIX_DATABASE_URL): on SQLite each "
                    "replica keeps its own ledger and leader lock, so every one would lead and apply")
        return None

    def sync_allowed(self, when: dt.datetime) -> bool:
        """Deny windows win; with allow windows, applies happen only inside one of them."""
        if any(w.kind == "deny" and w.contains(when) for w in self.sync_windows):
            return False
        allows = [w for w in self.sync_windows if w.kind == "allow"]
        return not allows or any(w.contains(when) for w in allows)


# Instance names: no underscore, so the PostgreSQL schema `phoenix_` + NAME (hyphens as underscores) is one-to-one.
INSTANCE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,39}$")
INSTANCE_RULE = "1 to 40 lowercase letters, digits and inner hyphens (such as `prod-eu`)"


def _secret_fields(model: BaseModel, prefix: str = "") -> list[tuple[str, SecretStr]]:
    found: list[tuple[str, SecretStr]] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for index, item in items:
            label = f"{prefix}{name}" + (f"[{index}]" if index is not None else "")
            if isinstance(item, SecretStr):
                found.append((label, item))
            elif isinstance(item, BaseModel):
                found += _secret_fields(item, label + ".")
    return found


def _verify_argument(text: str) -> bool | str:
    low = text.lower()
    if low in ("true", "1", "yes", ""):
        return True
    if low in ("false", "0", "no"):
        return False
    return text


def load_settings(toml_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment, then `toml_file` (if given) beneath it, then `overrides` above all."""
    if toml_file is None:
        return Settings(**overrides)

    class _FromToml(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file))

    return _FromToml(**overrides)


# PHOENIX_* variables that are not settings: read by the CLI itself, or families of names.
# read by the command line and the simulators (PHOENIX_PVE_RECORD: gitops.demo.request_log), not settings
CLI_VARIABLES = ("PHOENIX_API_URL", "PHOENIX_DEMO_NODES", "PHOENIX_PVE_RECORD")
VARIABLE_FAMILIES = ("PHOENIX_SECRET_",  # PHOENIX_SECRET_<NAME>: the value of ${secret:NAME}
                     "PHOENIX_TEST_")  # the test suite's own


def widening_settings() -> list[str]:
    """Every setting that widens what a commit to the config repo may do: each field of the host policy
    (`policy.NAME`), and the other settings marked `WIDENS` (by name). docs/security.md names each."""
    names = [f"policy.{name}" for name in HostPolicy.model_fields]
    names += [name for name, field in Settings.model_fields.items()
              if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("widens")]
    return names


def known_variables() -> list[str]:
    """Every PHOENIX_* variable a setting reads (`PHOENIX_POLICY__<FIELD>` for the host policy's fields)."""
    prefix = Settings.model_config.get("env_prefix", "")
    names = [f"{prefix}{name}".upper() for name in Settings.model_fields]
    names += [f"{prefix}POLICY__{name}".upper() for name in HostPolicy.model_fields]
    return [*names, *CLI_VARIABLES]


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A warning per PHOENIX_* variable in `environ` that nothing reads (a typo is otherwise silently
    ignored), naming the closest known one: `PHOENIX_PVE_HOTS is not a setting (did you mean
    PHOENIX_PVE_HOST?)`. Only names are looked at, never values."""
    known = known_variables()
    warnings = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith("PHOENIX_") or upper in known or upper.startswith(VARIABLE_FAMILIES):
            continue
        # compared without the common prefix, which would make every name look close
        close = difflib.get_close_matches(upper.removeprefix("PHOENIX_"), [k.removeprefix("PHOENIX_") for k in known],
                                          n=1, cutoff=0.6)
        hint = f" (did you mean PHOENIX_{close[0]}?)" if close else ""
        warnings.append(f"{name} is not a setting{hint}")
    return warnings


def read_environment_file(path: Path) -> dict[str, str]:
    """The variables of a systemd `EnvironmentFile` (what the unit in deploy/ reads), as systemd reads it:
    `KEY=VALUE` per line, `#` and `;` lines are comments, a value runs to the end of its line (a `\\` at
    the end continues it), whitespace around it is dropped, and one pair of enclosing quotes is removed.
    So a JSON value (`PHOENIX_SYNC_WINDOWS=[{"kind": "allow"}]`) arrives intact, where a shell's `.`
    would take it apart."""
    found: dict[str, str] = {}
    text = path.read_text(encoding="utf-8").replace("\\\n", "")
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, equals, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not equals or not key.replace("_", "a").isalnum() or key[0].isdigit():
            raise ValueError(f"{path}:{number}: not KEY=VALUE")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[key] = value
    return found
