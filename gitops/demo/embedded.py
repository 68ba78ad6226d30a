"""The embedded default behind `phoenix-gitops demo`: a simulated Proxmox node and a simulated Portainer, a
local config repo of the example estate (with the compose files its stacks name), secrets and an API
token, all under the data dir, and the settings to serve them.

Called by the CLI's `demo` only. The simulated node (`gitops.demo.simulator`: fakepve, the `demo`
extra) runs in this process, on loopback, on an asyncio loop in a background thread, with a
self-signed certificate made for 127.0.0.1; tasks finish at once (`time_scale` 0). The simulated
Portainer (`gitops.demo.portainer`) serves plain HTTP on loopback and accepts the demo secret
`portainer_api_key` as its API key. Everything made here is reused when the demo starts again with
the same data dir (both simulators start empty each time; the controller converges them again).
A running demo holds `demo.lock` in the data dir (an flock, released when it stops or dies): a second
demo on the same folder is refused before it touches anything of the first's (its PKI, token, repo).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from gitops import errors, privatefiles
from gitops.config import secretrefs
from gitops.config.estate import CONFIG_FILES
from gitops.config.schema import write_schemas
from gitops.settings import Settings

EXAMPLE_SECRETS = (
    "portainer_admin_password", "portainer_api_key", "vm_default_password", "qdrant_api_key",
    "webapp_db_password_prod", "webapp_db_password_staging",
)
LOOPBACK = "127.0.0.1"
# the demo's pace: a commit is seen within 2 s, drift within 30 s; PHOENIX_POLL_INTERVAL and
# PHOENIX_DRIFT_INTERVAL set another (a test's short drift interval)
DEMO_PACE = {"poll_interval": 2.0, "drift_interval": 30.0}

if TYPE_CHECKING:
    from gitops.demo.portainer import SimulatedPortainer
    from gitops.demo.simulator import SimulatedNode
    from gitops.demo.ssh_node import SimulatedSshNodes


@dataclass
class Demo:
    settings: Settings
    repo_dir: Path
    token: str
    token_created: bool
    token_file: Path
    node: SimulatedNode
    portainer: SimulatedPortainer
    lock: DemoLock
    settings_file: Path
    ssh: SimulatedSshNodes | None = None  # with PHOENIX_PROVISIONING: the nodes' shells

    def close(self) -> None:
        if self.ssh is not None:
            self.ssh.stop()
        self.portainer.stop()
        self.node.stop()
        self.lock.release()


class DemoLock:
    """`demo.lock` in the data dir, held (flock) while a demo runs there; its text is the holder's pid."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "demo.lock"
        self.file = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.seek(0)
            holder = self.file.read().strip() or "unknown"
            self.file.close()
            raise errors.SettingsError(
                f"another demo is running with the data folder {data_dir} (pid {holder}); stop it first, or start "
                "this one with PHOENIX_DATA_DIR set to another folder") from None
        self.file.seek(0)
        self.file.truncate()
        self.file.write(f"{os.getpid()}\n")
        self.file.flush()

    def release(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def example_files() -> dict[str, bytes]:
    """The four example files, the compose files their stacks name and the provisioning scripts their
    guests name (`bin/`), shipped with the package (`gitops/examples/`), by path relative to the config
    directory."""
    folder = resources.files("gitops") / "examples"
    files = {name: (folder / name).read_bytes() for name in CONFIG_FILES}
    pending = [("stacks", folder / "stacks"), ("bin", folder / "bin")]
    while pending:
        prefix, entry = pending.pop()
        for child in entry.iterdir():
            if child.is_dir():
                pending.append((f"{prefix}/{child.name}", child))
            elif not child.name.startswith("."):
                files[f"{prefix}/{child.name}"] = child.read_bytes()
    return files


def start_demo(data_dir: Path, nodes: int = 1) -> Demo:
    """Make (or reuse) everything under `data_dir`, start the simulated node (a cluster of `nodes`
    nodes, `pve1`..`pveN`; guests without a `node` go to `pve1`), return the settings."""
    try:
        from gitops.demo.simulator import SimulatedNode
    except ImportError:
        raise errors.SettingsError("the demo needs fakepve: pip install 'phoenix-gitops[demo]'") from None
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = DemoLock(data_dir)  # before anything of a running demo's could be touched
    try:
        return _start(data_dir, nodes, lock, SimulatedNode)
    except BaseException:
        lock.release()
        raise


def _start(data_dir: Path, nodes: int, lock: DemoLock, simulated_node: type[SimulatedNode]) -> Demo:
    secrets_dir = _secrets(data_dir / "secrets")
    token_file = data_dir / "api-token"
    token, created = _token(token_file)
    repo_dir = _config_repo(data_dir / "config-repo")

    password = secrets.token_urlsafe(16)
    node = simulated_node(data_dir / "pve-pki", host=LOOPBACK, password=password, nodes=nodes)
    portainer_key = _demo_secret(secrets_dir, "portainer_api_key")
    portainer = _start_portainer(portainer_key)

    settings = Settings(
        pve_host=node.address, pve_user="root@pam", pve_password=SecretStr(password),
        pve_verify_ssl=node.cafile, git_url=repo_dir.as_uri(), git_branch="main",
        data_dir=data_dir, database_url="", secrets_dir=secrets_dir,
        api_token=SecretStr(token), boot_delays=False, pve_node="pve1" if nodes > 1 else "",
        portainer_url=portainer.url, portainer_api_key=SecretStr(portainer_key),
    )
    settings = settings.model_copy(update={k: v for k, v in DEMO_PACE.items() if k not in settings.model_fields_set})
    ssh = None
    if settings.provisioning:  # PHOENIX_PROVISIONING: the nodes' shells, simulated too
        from gitops.demo.ssh_node import SimulatedSshNodes

        ssh = SimulatedSshNodes(node.fake, node.loop, data_dir / "ssh", host=LOOPBACK)
        node.fake.guest_exec = ssh.agent_exec
        settings = settings.model_copy(update={"ssh_key": str(ssh.key_file), "ssh_known_hosts": str(ssh.known_hosts),
                                               "ssh_hosts": ssh.hosts})
    settings_file = write_settings_file(data_dir / "demo-settings.toml", settings)
    return Demo(settings, repo_dir, token, created, token_file, node, portainer, lock, settings_file, ssh)


def write_settings_file(path: Path, settings: Settings) -> Path:
    """The settings a command line needs to plan, apply, diff and check against the demo's simulated systems
    and its config repo and data folder (not its API token: the controller commands read PHOENIX_API_TOKEN),
    as a TOML file for `--settings`. It holds the simulated node's root password and the Portainer key, so it
    is written private (0600)."""
    keys = ("pve_host", "pve_user", "pve_password", "pve_verify_ssl", "pve_node", "git_url", "git_branch", "data_dir",
            "secrets_dir", "portainer_url", "portainer_api_key", "boot_delays", "provisioning", "ssh_key",
            "ssh_known_hosts")
    values = {k: _plain(getattr(settings, k)) for k in keys}
    lines = ["# Written by `phoenix-gitops demo` for its simulated systems; rewritten at every start.",
             "# Use: phoenix-gitops --settings THIS_FILE plan|apply|diff|check ..."]
    lines += [f"{k} = {_toml(v)}" for k, v in values.items() if v not in ("", None)]
    if settings.ssh_hosts:
        lines += ["", "[ssh_hosts]"] + [f"{_toml(n)} = {_toml(a)}" for n, a in sorted(settings.ssh_hosts.items())]
    _write_private(path, "\n".join(lines))
    return path


def _plain(value: object) -> object:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return str(value) if isinstance(value, Path) else value


def _toml(value: object) -> str:
    """A TOML value: a boolean, or a basic string (JSON's escapes are TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(str(value), ensure_ascii=False)


def _start_portainer(api_key: str) -> SimulatedPortainer:
    from gitops.demo.portainer import ADMIN, PortainerModel, SimulatedPortainer

    return SimulatedPortainer(PortainerModel(api_keys={api_key: ADMIN}), host=LOOPBACK)


def _demo_secret(folder: Path, name: str) -> str:
    path = folder / name
    if path.is_file():
        return path.read_text(encoding="utf-8").rstrip("\n")
    return os.environ[f"PHOENIX_SECRET_{name.upper()}"]


def _secrets(folder: Path) -> Path:
    privatefiles.private_folder(folder)
    for name in EXAMPLE_SECRETS:
        path = folder / name
        privatefiles.tighten(path)  # made by an earlier demo, perhaps under another umask
        if not path.exists() and secretrefs.env_name(name) not in os.environ:  # the resolver's own name rule
            _write_private(path, secrets.token_urlsafe(18))
    return folder


def _token(path: Path) -> tuple[str, bool]:
    from_env = os.environ.get("PHOENIX_API_TOKEN", "").strip()
    if from_env:
        return from_env, False
    if path.is_file() and path.read_text().strip():
        privatefiles.tighten(path)
        return path.read_text().strip(), False
    token = secrets.token_urlsafe(32)
    _write_private(path, token)
    return token, True


def _write_private(path: Path, text: str) -> None:
    privatefiles.replace_private(path, (text + "\n").encode())


def _config_repo(folder: Path) -> Path:
    """A git repository (branch main) whose first commit is the example estate."""
    if (folder / ".git").is_dir():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in example_files().items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    write_schemas(folder / "schemas")  # the example files' `$schema` points here
    env = {**os.environ, "GIT_AUTHOR_NAME": os.environ.get("GIT_AUTHOR_NAME", "Phoenix demo"),
           "GIT_AUTHOR_EMAIL": os.environ.get("GIT_AUTHOR_EMAIL", "demo@phoenix.invalid"),
           "GIT_COMMITTER_NAME": os.environ.get("GIT_COMMITTER_NAME", "Phoenix demo"),
           "GIT_COMMITTER_EMAIL": os.environ.get("GIT_COMMITTER_EMAIL", "demo@phoenix.invalid")}
    git = shutil.which("git") or "git"
    try:
        for args in (["init", "--quiet", "--initial-branch", "main"], ["add", "--all"],
                     ["commit", "--quiet", "-m", "The example estate"]):
            subprocess.run([git, *args], cwd=folder, env=env, check=True, capture_output=True, timeout=60)
        # the Try lines commit here: on a machine where git knows no one yet, this repo's own identity
        if subprocess.run([git, "config", "user.email"], cwd=folder, capture_output=True, timeout=60).returncode:
            for key, value in (("user.name", "Phoenix demo"), ("user.email", "demo@phoenix.invalid")):
                subprocess.run([git, "config", key, value], cwd=folder, check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise errors.SourceError(f"cannot make the demo config repo in {folder}: {exc}") from None
    return folder
