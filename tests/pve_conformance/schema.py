"""Checks one request against PVE 8.4's own API schema (tests/data/pve-api/apidata.js.gz) and the rules
PVE's Perl sources add (gitops/demo/pve_rules.py).

The schema check: the path and method exist; each parameter is one the method takes (numbered ones such as
`net0` under `net[n]`), of its type, in its enum, matching its pattern and length, with its `format`
(named formats such as `pve-storage-id`, and property strings such as `pve-lxc-network` key by key); every
parameter that is not optional is there. PVE's own checks as fakepve implements them
(`fakepve.schema.validate`, the checker fakepve runs against PVE 9's schema), applied to PVE 8.4's.
The rules: the file name of a `download-url`, `import-from` volume names, and settings only `root@pam` may
make when a token sends them. Rules that need the node's state (cloning or migrating a container with a
bind mount) are refused by the simulator itself while the tests run.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from pathlib import Path
from typing import Any

from fakepve import schema as fakepve_schema
from fakepve.model import PveError

from gitops.demo import pve_rules

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "data" / "pve-api" / "apidata.js.gz"
_DRIVE = re.compile(r"^(scsi|virtio|sata|ide|efidisk|tpmstate)\d+$")


@functools.lru_cache(maxsize=1)
def tree() -> list[dict[str, Any]]:
    """The schema's path tree (`const apiSchema = [...]` of apidata.js)."""
    text = gzip.decompress(SCHEMA_FILE.read_bytes()).decode()
    data: list[dict[str, Any]] = json.loads(text[text.index("["): text.rindex("]") + 1])
    return data


def resolve(path: str) -> tuple[dict[str, Any], dict[str, str]] | None:
    """The schema node of a concrete path and the values of its `{params}`, or None."""
    nodes, found, values = tree(), None, {}
    for segment in [s for s in path.split("/") if s]:
        literal = [n for n in nodes if n.get("text") == segment]
        if literal:
            found = literal[0]
        else:
            variable = [n for n in nodes if str(n.get("text", "")).startswith("{")]
            if not variable:
                return None
            found = variable[0]
            values[str(found["text"]).strip("{}")] = segment
        nodes = found.get("children") or []
    return (found, values) if found is not None else None


def problems(method: str, path: str, params: dict[str, Any], *, token: bool = False) -> list[str]:
    """What PVE 8.4 would refuse in this request (empty when it takes it)."""
    resolved = resolve(path)
    if resolved is None:
        return [f"{method} {path}: no such path in PVE 8.4's API"]
    node, path_values = resolved
    template = str(node["path"])
    info = (node.get("info") or {}).get(method)
    if info is None:
        allowed = ", ".join(sorted(node.get("info") or {})) or "none"
        return [f"{method} {template}: PVE 8.4 has no {method} here (only {allowed})"]
    values = {**params, **path_values}
    _, errors = fakepve_schema.validate(info.get("parameters"), values)
    found = [f"{method} {template}: {name}: {why.strip()}" for name, why in sorted(errors.items())]
    return found + [f"{method} {template}: {why}" for why in _rule_problems(method, template, values, token)]


def _rule_problems(method: str, template: str, values: dict[str, Any], token: bool) -> list[str]:
    out: list[str] = []
    if method == "POST" and template == "/nodes/{node}/storage/{storage}/download-url":
        name = pve_rules.normalize_content_filename(str(values.get("filename", "")))
        content = str(values.get("content", ""))
        if content == "import" and not pve_rules.UPLOAD_IMPORT_NAME.search(name):
            out.append(f"filename: invalid filename or wrong extension ({name}; Status.pm)")
        if (content == "iso" and not pve_rules.ISO_NAME.search(name)) or \
                (content == "vztmpl" and not pve_rules.VZTMPL_NAME.search(name)):
            out.append(f"filename: wrong file extension ({name}; Status.pm)")
    if template in ("/nodes/{node}/qemu", "/nodes/{node}/qemu/{vmid}/config"):
        for key, value in sorted(values.items()):
            if _DRIVE.match(key):
                out += _refused(pve_rules.check_import_source, str(value))
    lxc_config = ("/nodes/{node}/lxc", "/nodes/{node}/lxc/{vmid}/config")
    if token and method in ("POST", "PUT") and template in lxc_config:
        new = dict(values)
        if template.endswith("/config"):
            new.pop("features", None)  # allowed when unchanged, and the old value is not known here
        unprivileged = str(values.get("unprivileged", "1")) in ("1", "true")
        out += _refused(pve_rules.token_root_only, new, {}, unprivileged)
    return out


def _refused(check: Any, *args: Any) -> list[str]:
    try:
        check(*args)
    except PveError as exc:
        return [f"{exc.status} {exc.message}"]
    return []


def check_records(directory: Path) -> tuple[int, list[str]]:
    """(requests checked, problems) of every request recorded under `directory` (gitops.demo.request_log)."""
    seen: set[str] = set()
    found: list[str] = []
    for file in sorted(directory.glob("pve-requests-*.jsonl")):
        for line in file.read_text(encoding="utf-8").splitlines():
            if not line or line in seen:
                continue
            seen.add(line)
            entry = json.loads(line)
            found += problems(entry["method"], entry["path"], entry["params"], token=entry.get("token", False))
    return len(seen), sorted(set(found))
