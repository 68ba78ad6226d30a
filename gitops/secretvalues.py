"""The one registry of every secret value the process holds, and the names a config may not reference.

Two kinds of secret live in a controller: its own credentials (the PVE password and token, the Portainer
key, the SSH key, the forge tokens, the webhook secret, the API tokens, the token secrets it writes) and
the secrets a config references as `${secret:NAME}`. Both are registered here (`register_settings`,
`REGISTRY.add`); every scrubber (logs, ledger events, the outbox to forges and notifications, the API and
pages through them) masks what `REGISTRY.values()` lists. The credentials are also kept apart
(`REGISTRY.credentials()`): the secret resolver refuses to hand one to a config, whatever its name, and
the checks refuse a reference to a reserved name (`reserved`). Bottom layer: settings only.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, SecretStr

from gitops.settings import MIN_SECRET_LENGTH, Settings

# The controller's own secrets, by the names they have (or had) in the secrets folder and in settings.
RESERVED_NAMES = frozenset({
    "pve_password", "pve_token", "pve_token_value", "portainer_api_key", "portainer_password", "ssh_key",
    "known_hosts", "git_token", "git_ssh_key", "github_token", "gitea_token", "gitlab_token", "bitbucket_token",
    "webhook_secret", "api_token", "api_read_token",
})
RESERVED_PREFIXES = ("pve_token_",)  # the API token secrets the controller writes
MAX_SECRET_FILE = 65536


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "_", name.lower())


def reserved(name: str) -> bool:
    """Whether `${secret:NAME}` names one of the controller's own credentials (any case, `.`/`-` as `_`)."""
    normal = _normal(name)
    return normal in RESERVED_NAMES or normal.startswith(RESERVED_PREFIXES)


class Registry:
    """Secret values held by this process (thread-safe). Values shorter than `MIN_SECRET_LENGTH` are not
    kept: they would mask ordinary words (settings refuse such secrets; see `Settings`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._credentials: set[str] = set()

    def add(self, *values: str | None, credential: bool = False) -> None:
        kept = {v for v in values if v and len(v) >= MIN_SECRET_LENGTH}
        with self._lock:
            self._values |= kept
            if credential:
                self._credentials |= kept

    def values(self) -> list[str]:
        """Every value, longest first (a value holding another is masked whole)."""
        with self._lock:
            return sorted(self._values, key=len, reverse=True)

    def credentials(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._credentials)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._credentials.clear()


REGISTRY = Registry()


def credential_values(settings: Settings) -> list[str]:
    """The controller's own credentials: every `SecretStr` of the settings, the database URL's password, the
    SSH key file."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(settings)
    found += database_password(settings.database_url)
    key = Path(settings.ssh_key) if settings.ssh_key else (
        settings.secrets_dir / "ssh_key" if settings.secrets_dir is not None else None)
    if key is not None:
        found += _read_small(key)
    return found


def database_password(url: str) -> list[str]:
    """The password inside a database URL (`postgresql+psycopg://user:PASSWORD@host/db`), as written and
    percent-decoded; none for a URL without one (SQLite)."""
    try:
        raw = urlsplit(url).password if url else None
    except ValueError:
        return []
    return [raw, unquote(raw)] if raw else []


def config_secret_values(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """The secrets a config may reference: files of the secrets folder, `PHOENIX_SECRET_*` variables."""
    env = os.environ if environ is None else environ
    found = [v for k, v in env.items() if k.startswith("PHOENIX_SECRET_")]
    folder = settings.secrets_dir
    if folder is not None and folder.is_dir():
        for path in sorted(folder.iterdir()):
            found += _read_small(path)
    return found


def register_settings(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    """Register what `settings` (and the environment) hold; every registered value, longest first."""
    REGISTRY.add(*credential_values(settings), credential=True)
    REGISTRY.add(*config_secret_values(settings, environ))
    return REGISTRY.values()


def scrub(text: str, secrets: Iterable[str | None], mask: str) -> str:
    """The one redaction function: `text` with every value of `secrets` replaced by `mask`, longest first
    (so a value that contains another is masked whole). `gitops.config.secretrefs.scrub` is this one."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, mask)
    return text


def scrub_held(text: str, mask: str, extra: Iterable[str | None] = ()) -> str:
    """`text` with every registered value (and `extra`) masked."""
    return scrub(text, [*REGISTRY.values(), *extra], mask)


def _read_small(path: Path) -> list[str]:
    try:
        if path.is_file() and path.stat().st_size <= MAX_SECRET_FILE:
            return [path.read_text(encoding="utf-8", errors="replace").strip()]
    except OSError:
        pass
    return []
