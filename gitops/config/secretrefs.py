"""`${secret:NAME}` references: finding them and resolving them at the last moment.

A reference is resolved from the file `PHOENIX_SECRETS_DIR/NAME`, else from the environment
variable `PHOENIX_SECRET_<NAME>` (upper-cased, `.`/`-` as `_`); only that prefix is read, so a
config commit cannot pull arbitrary environment variables out of the controller. Used by the
checks (syntax only) and by the executors that send values to Proxmox or Portainer.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gitops import secretvalues
from gitops.errors import ConfigError

REF = re.compile(r"\$\{secret:([A-Za-z0-9_.-]+)\}")
SECRET_MASK = "(secret)"  # what plans, results, logs and the API show in a secret's place


def scrub(text: str, secrets: Iterable[str | None], mask: str = SECRET_MASK) -> str:
    """The one redaction function (`gitops.secretvalues.scrub`), masking with `(secret)` by default. Used by
    the executor (resolved secrets in errors), the logs and the Git source (credentials in git's output)."""
    return secretvalues.scrub(text, secrets, mask)


def is_reference(value: str) -> bool:
    return bool(REF.search(value))


def digest(value: str) -> str:
    """A fingerprint of a resolved value, so the planner can tell a changed secret without holding it."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def env_name(name: str) -> str:
    return "PHOENIX_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


class SecretResolver:
    """Resolves references; raises ConfigError naming the secret (never a value) when one is missing."""

    def __init__(self, secrets_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.secrets_dir = secrets_dir
        self.environ = os.environ if environ is None else environ

    def value(self, name: str) -> str:
        if secretvalues.reserved(name):
            raise ConfigError(f"secret '{name}' is one of the controller's own credentials; a config cannot "
                              "reference it (secret-reserved)")
        found = self._lookup(name)
        if found is not None and found.strip() in secretvalues.REGISTRY.credentials():
            raise ConfigError(f"secret '{name}' holds one of the controller's own credentials (its PVE, Portainer, "
                              "SSH, forge or API secrets); a config cannot reference it")
        if found is not None:
            return found
        where = f"{self.secrets_dir}/{name} or " if self.secrets_dir else ""
        raise ConfigError(f"secret '{name}' is not set: create {where}the environment variable {env_name(name)}")

    def _lookup(self, name: str) -> str | None:
        if self.secrets_dir is not None:
            path = self.secrets_dir / name
            if path.is_file():
                return path.read_text(encoding="utf-8").rstrip("\n")
        return self.environ.get(env_name(name))

    def known_values(self, names: Iterable[str] = ()) -> dict[str, str]:
        """Every secret value this resolver can produce, mapped to the reference that stands for it.

        `names` (those the config references) come first, so a value shared by two secrets maps to the
        name the config uses; then every file of the secrets folder and every `PHOENIX_SECRET_*` variable.
        Missing secrets and empty values are skipped. For redacting what is read back from a system.
        """
        found: dict[str, str] = {}
        for name in names:
            with contextlib.suppress(ConfigError, OSError, UnicodeDecodeError):
                found.setdefault(self.value(name), f"${{secret:{name}}}")
        if self.secrets_dir is not None and self.secrets_dir.is_dir():
            for path in sorted(self.secrets_dir.iterdir()):
                if path.is_file() and REF.fullmatch(f"${{secret:{path.name}}}"):
                    with contextlib.suppress(OSError, UnicodeDecodeError):
                        found.setdefault(self._lookup(path.name) or "", f"${{secret:{path.name}}}")
        for key, value in self.environ.items():
            if key.startswith("PHOENIX_SECRET_"):
                found.setdefault(value, f"${{secret:{key.removeprefix('PHOENIX_SECRET_').lower()}}}")
        found.pop("", None)
        return found

    def resolve(self, text: str) -> str:
        """`text` with every reference replaced by its value."""
        return REF.sub(lambda m: self.value(m.group(1)), text)

    def resolve_all(self, data: Any) -> Any:
        if isinstance(data, str):
            return self.resolve(data) if "${secret:" in data else data
        if isinstance(data, dict):
            return {k: self.resolve_all(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.resolve_all(v) for v in data]
        return data

    def digests(self, templates: list[str]) -> dict[str, str]:
        """`digest` of each template's resolved value, by template; templates that cannot resolve are left out."""
        found: dict[str, str] = {}
        for template in templates:
            try:
                found[template] = digest(self.resolve(template))
            except ConfigError:
                continue
        return found
