"""Checks of secrets: `${secret:NAME}` reference syntax, and plaintext secrets committed to Git.

Called by `gitops.config.validation`. Codes: secret-ref-invalid (error), secret-reserved (error: a
reference to one of the controller's own credentials, `gitops.secretvalues.reserved`), plaintext-secret
(warning). Values are never copied into messages.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from gitops import secretvalues
from gitops.config.checks.local import Finding, Findings
from gitops.config.documents import Document
from gitops.config.estate import CONFIG_FILES, HYPERVISOR_FILE, Estate
from gitops.config.problems import PathPart, Report
from gitops.config.secretrefs import REF, is_reference

_SECRET_KEY = re.compile(r"(pass(word|wd)?|secret|token|api_?key|private_?key|credential)", re.I)
_NOT_A_SECRET = re.compile(r"(_file|_path|_url|_hash|_name|_user|_id)$|^(ssh_public_key|public_key)$", re.I)
_SECRET_VALUE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|\b(ghp|gho|ghs|github_pat)_[A-Za-z0-9_]{20,}|\bglpat-[A-Za-z0-9_-]{20}"
    r"|\bAKIA[0-9A-Z]{16}\b|\bxox[abps]-[A-Za-z0-9-]{10,}|\bPVEAPIToken="
)
_PLACEHOLDERS = frozenset({"", "not_set", "none", "null", "changeme", "todo", "-"})


def check_secrets(estate: Estate, report: Report) -> None:
    for name in CONFIG_FILES:
        data = estate.raw.get(name)
        document = estate.documents.get(name)
        if data is None:
            continue
        if document is not None and document.entries and document.data is data and isinstance(data, dict):
            _by_entry(report, name, document)
        elif _may_hold_secrets(estate.texts.get(name)):
            for path, key, value in _strings(data, ()):
                _judge(report, name, path, key, value)


def _by_entry(report: Report, name: str, document: Document) -> None:
    """The walk of `_strings` over the file, each entry of its collection judged once for its text (its
    findings kept with the entry, `documents.Entry.derive`): the same problems, in the same order."""
    data = document.data
    named = data.get("name") if isinstance(data.get("value"), str) else None
    for k, v in data.items():
        if k != document.collection:
            if isinstance(v, str):
                _judge(report, name, (k,), named if k == "value" and isinstance(named, str) else k, v)
            else:
                for path, key, value in _strings(v, (k,)):
                    _judge(report, name, path, key, value)
            continue
        in_map = isinstance(v, dict)
        if in_map:
            named = v.get("name") if isinstance(v.get("value"), str) else None
        for position, entry in document.entries.items():
            where = (k, position)
            if isinstance(entry.value, str):  # an entry that is a bare string (invalid, reported elsewhere)
                said: object = (named if position == "value" and isinstance(named, str) else position) if in_map \
                    else None
                _judge(report, name, where, said if isinstance(said, str) else None, entry.value)
                continue
            text = document.text[entry.start:entry.end]
            found = entry.derive(("secrets", name), functools.partial(_entry_findings, name, text))
            for severity, below, code, message in found:
                (report.error if severity == "error" else report.warning)(name, (*where, *below), code, message)


def _entry_findings(name: str, text: str, value: Any) -> tuple[Finding, ...]:
    findings = Findings()
    if _may_hold_secrets(text):
        for path, key, found in _strings(value, ()):
            _judge(findings, name, path, key, found)
    return tuple(findings.found)


def _judge(report: Report, name: str, path: tuple[PathPart, ...], key: str | None, value: str) -> None:
    if "${secret:" in value:
        rest = REF.sub("", value)
        if "${secret:" in rest:
            report.error(name, path, "secret-ref-invalid",
                         "malformed secret reference: write ${secret:NAME} with NAME made of "
                         "letters, digits, '_', '.' or '-'")
        for ref in REF.findall(value):
            if secretvalues.reserved(ref) and not _for_upstream_scripts(name, path):
                report.error(name, path, "secret-reserved",
                             f"${{secret:{ref}}} names one of the controller's own credentials (PVE, "
                             "Portainer, SSH, forge and API secrets, and the API token secrets it writes); "
                             "a config may reference only the secrets meant for it")
        return
    if _looks_secret(key, value):
        report.warning(name, path, "plaintext-secret",
                       "a plaintext secret is committed to Git; replace it with ${secret:NAME} "
                       "and put the value in PHOENIX_SECRETS_DIR/NAME")


def _for_upstream_scripts(name: str, path: tuple[PathPart, ...]) -> bool:
    """The hypervisor file's `portainer_api` block: upstream's scripts read it to reach Portainer; the
    controller never resolves or sends it (it uses its own settings), so a reference there goes nowhere."""
    return name == HYPERVISOR_FILE and bool(path) and path[0] == "portainer_api"


# Lower-case words without which no key or value of the file can look secret (see the patterns above).
_HINTS = ("pass", "secret", "token", "apikey", "api_key", "private", "credential", "-----begin", "ghp_", "gho_",
          "ghs_", "github_pat_", "glpat-", "akia", "xox", "pveapitoken=")


def _may_hold_secrets(text: str | None) -> bool:
    """False only when the file's text cannot hold a reference or a secret: then no walk is needed.

    Plain substring tests (a regex over megabytes costs seconds). A file with `\\u` escapes is always
    walked, since an escaped key would slip past this look."""
    if text is None or "\\u" in text or "${secret:" in text:
        return True
    low = text.lower()
    return any(hint in low for hint in _HINTS)


def _looks_secret(key: str | None, value: str) -> bool:
    if _SECRET_VALUE.search(value):
        return True
    if key is None or not _secret_key(key) or is_reference(value):
        return False
    return value.strip().lower() not in _PLACEHOLDERS


@lru_cache(maxsize=4096)
def _secret_key(key: str) -> bool:
    """Whether a key names a secret (cached: large estates repeat the same few hundred keys)."""
    return bool(_SECRET_KEY.search(key)) and not _NOT_A_SECRET.search(key)


def _strings(data: Any, path: tuple[PathPart, ...]) -> Iterator[tuple[tuple[PathPart, ...], str | None, str]]:
    """(path, the key that names the value, value) for every string; `{"name": K, "value": V}` names V by K."""
    if isinstance(data, dict):
        named = data.get("name") if isinstance(data.get("value"), str) else None
        for k, v in data.items():
            if isinstance(v, str):
                yield (*path, k), (named if k == "value" and isinstance(named, str) else k), v
            else:
                yield from _strings(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            if isinstance(v, str):
                yield (*path, i), None, v
            else:
                yield from _strings(v, (*path, i))
