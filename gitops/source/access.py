"""How git reaches the config repo: credentials in the environment, never in a URL or a file.

Used by `gitops.source.repository` only. An HTTPS token goes in an `http.extraHeader` given through
`GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n`, so it is neither in the remote URL stored
in the clone's config nor on any command line; an SSH key through `GIT_SSH_COMMAND` with `-i` and
`IdentitiesOnly`. Git never prompts (`GIT_TERMINAL_PROMPT=0`, SSH `BatchMode`): a missing credential
is an error, not a hang.
"""

from __future__ import annotations

import base64
import os
import shlex
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from gitops import privatefiles
from gitops.config import secretrefs


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(`url` without a password, the user name in it, the password in it) for http(s) URLs."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.password is None:
        return url, parts.username if parts.scheme in ("http", "https") else None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    clean = urlunsplit(SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, unquote(parts.username) if parts.username else None, unquote(parts.password)


def display_url(url: str) -> str:
    """The URL as it may appear in messages and logs: no password, no query string."""
    parts = urlsplit(split_credentials(url)[0])
    if not parts.scheme:
        return url  # scp-like `git@host:path`: no secret can be in it
    return urlunsplit(SplitResult(parts.scheme, parts.netloc, parts.path, "", ""))


def git_environment(
    url: str, *, token: str | None, username: str | None, ssh_key: Path | None, known_hosts: Path
) -> dict[str, str]:
    """The variables to add to git's environment to reach `url`."""
    env = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
    settings: list[tuple[str, str]] = []
    if token:
        basic = base64.b64encode(f"{username or 'x-access-token'}:{token}".encode()).decode()
        settings.append(("http.extraHeader", f"Authorization: Basic {basic}"))
        settings.append(("credential.helper", ""))  # a refused token must not fall back to stored ones
    if settings:
        first = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
        for index, (key, value) in enumerate(settings, start=first):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        env["GIT_CONFIG_COUNT"] = str(first + len(settings))
    ssh = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new",
           "-o", f"UserKnownHostsFile={known_hosts}"]
    if ssh_key is not None:
        ssh += ["-i", str(ssh_key), "-o", "IdentitiesOnly=yes"]
    env["GIT_SSH_COMMAND"] = shlex.join(ssh)
    return env


def materialise_ssh_key(ssh_key: str, folder: Path) -> Path | None:
    """The key file to use: `ssh_key` itself if it is a path, or a 0600 file holding it if it is a key."""
    if not ssh_key.strip():
        return None
    if "-----BEGIN" not in ssh_key:
        return Path(ssh_key).expanduser()
    path = folder / "id_config_repo"
    privatefiles.replace_private(path, (ssh_key.strip() + "\n").encode())
    return path


def scrub(text: str, *secrets: str | None) -> str:
    """`text` with every secret replaced, for error messages built from git's output."""
    return secretrefs.scrub(text, secrets, "***")
