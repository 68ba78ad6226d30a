"""Reading a config directory: JSON syntax, then the pydantic models, with every problem placed.

`load_estate(dir)` returns the estate (built from whatever parts are valid, so cross-file checks
still run) and a report of the file-level problems. Called by `gitops.config.validation`.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from gitops.config import documents, hostoptions
from gitops.config.common import strip_extensions
from gitops.config.estate import (
    COLLECTIONS,
    CONFIG_FILES,
    HYPERVISOR_FILE,
    LXC_FILE,
    MODELS,
    STACKS_FILE,
    VM_FILE,
    Estate,
)
from gitops.config.hypervisor import FIREWALL_TAG, VOLUME_TAG
from gitops.config.lxc import LxcGuest
from gitops.config.memo import BoundedMemo, digest
from gitops.config.problems import PathPart, Report
from gitops.config.stacks import Stack
from gitops.config.vm import Vm
from gitops.errors import ConfigError

MAX_DEPTH = 64  # the real files nest 6 deep; the checks and the models recurse over what they read
# Top-level maps of named entries: an entry with an error is left out, not the whole map.
_ENTRY_MAPS: dict[str, set[str]] = {HYPERVISOR_FILE: {"shared_volumes", "storages"}}
UNION_TAGS = {VOLUME_TAG, FIREWALL_TAG}  # tagged-union members pydantic names in error paths
_ATTR = {HYPERVISOR_FILE: "hypervisor", LXC_FILE: "lxc", VM_FILE: "vms", STACKS_FILE: "stacks"}
# The model of one entry of each file's collection (`COLLECTIONS`): what `_EntryMemo` validates alone.
_ENTRY_MODELS: dict[str, type[BaseModel]] = {LXC_FILE: LxcGuest, VM_FILE: Vm, STACKS_FILE: Stack}
MEMO_ENTRIES = 30_000  # validated entries kept across loads (10,000 guests, and a commit's changes, fit)


def load_estate(directory: Path | str, report: Report | None = None, *, memo: bool = True) -> tuple[Estate, Report]:
    """Load the four files of `directory`. Raises ConfigError only if the directory is unusable.

    `memo`: take the entries validated before from `ENTRY_MEMO` (the same result; False validates all)."""
    root = Path(directory)
    if not root.is_dir():
        raise ConfigError(f"{root}: not a directory")
    report = report if report is not None else Report()
    estate = Estate(directory=root, reuse=memo)
    for name in CONFIG_FILES:
        path = root / name
        if not path.is_file():
            if name == STACKS_FILE:  # optional: upstream had none before 2025-10-06; absent means no stacks
                estate.loaded.add(name)
            else:
                report.error(name, (), "file-missing", f"{name} is missing from {root}")
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            report.error(name, (), "file-unreadable", f"cannot read {name}: {exc}")
            continue
        data: Any = None
        try:
            # Parsed entry by entry against the file's last text (the checkout parsed this very text already).
            document = documents.parse(name, text, COLLECTIONS.get(name))
            text = document.text
            data = document.data
            estate.documents[name] = document
            deep = document.derive(("too_deep", MAX_DEPTH), functools.partial(_document_too_deep, document, MAX_DEPTH))
        except json.JSONDecodeError as exc:
            report.problems.append(_syntax_problem(name, exc, report))
            continue
        except ValueError:  # an integer literal longer than Python converts (4,300 digits)
            found = _LONG_NUMBER.search(text)
            _file_problem(report, name, "json-number-too-long", "a number has more digits than any value can use",
                          _position(text, found.start() if found else 0))
            continue
        except RecursionError:
            deep = True
        finally:
            estate.texts[name] = text
        if deep:
            _file_problem(report, name, "json-too-deep", f"arrays or objects are nested more than {MAX_DEPTH} deep",
                          _deep_position(text, MAX_DEPTH))
            continue
        estate.raw[name] = data
        dropped: set[PathPart] = set()
        partial: set[str] = set()
        if '"x-' in text:
            data = strip_extensions(data, MODELS[name])
            model = (_validate_memo if memo else _validate)(name, data, report, dropped, partial)
        elif memo:
            model = _validate_memo(name, data, report, dropped, partial, document)
        else:
            model = _validate(name, data, report, dropped, partial)
        estate.dropped[name] = _dropped_keys(data, name, dropped)
        estate.partial[name] = partial
        if name == VM_FILE:
            estate.vm_index = _kept_indexes(data, dropped)
        if model is not None:
            setattr(estate, _ATTR[name], model)
            estate.loaded.add(name)
    return estate, report


def _document_too_deep(document: documents.Document, limit: int) -> bool:
    """`too_deep` of the document's data, from each entry's own height (kept with the entry)."""
    if not document.entries:
        return too_deep(document.data, limit)
    if any(1 + documents.height(value) > limit for _key, value in document.rest()):
        return True
    return any(2 + entry.derive("height", documents.height) > limit for entry in document.entries.values())


def too_deep(data: Any, limit: int) -> bool:
    """True when lists or dicts in `data` nest deeper than `limit` (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


_LONG_NUMBER = re.compile(r"\d{1000,}")


def _file_problem(report: Report, name: str, code: str, message: str, where: tuple[int, int]) -> None:
    report.error(name, (), code, message)
    report.problems[-1].line, report.problems[-1].column = where


def _position(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _deep_position(text: str, limit: int) -> tuple[int, int]:
    """Line and column of the first `[` or `{` that opens level `limit + 1` (strings skipped)."""
    depth, in_string, escaped = 0, False, False
    for offset, char in enumerate(text):
        if in_string:
            escaped = not escaped and char == "\\"
            in_string = escaped or char != '"'
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return _position(text, offset)
        elif char in "]}":
            depth -= 1
    return 1, 1


def _syntax_problem(name: str, exc: json.JSONDecodeError, report: Report) -> Any:
    report.error(name, (), "json-syntax", f"invalid JSON: {exc.msg}")
    problem = report.problems.pop()
    problem.line, problem.column = exc.lineno, exc.colno
    return problem


# Validated entries (a guest, a stack) by their file and JSON text: a commit that changes one guest validates
# that guest, not the thousands it left alone. An entry's model depends on its own data only (no validator
# of a file model reads across entries), so a model validated from the same text is the same model; loaded
# estates are not changed (see `Estate.derived`), so two estates may share an entry's model.
# Keyed by a digest of the entry's JSON text, not the text (10,000 guests' texts are ~10 MB more to hold).
ENTRY_MEMO: BoundedMemo[tuple[str, bytes], BaseModel] = BoundedMemo(MEMO_ENTRIES)


def _validate_memo(name: str, data: Any, report: Report, bad_entries: set[PathPart],
                   partial: set[str], document: documents.Document | None = None) -> BaseModel | None:
    """`_validate`, with each entry of the file's collection taken from `ENTRY_MEMO` when the same text
    was validated before. Any error anywhere in the file: the whole file is validated afresh by
    `_validate`, so problems (codes, messages, paths) and the rebuilt model are exactly its own.
    `document`: the parse `data` is the value of; each entry's model is kept with its entry there."""
    collection, entry_model = COLLECTIONS.get(name), _ENTRY_MODELS.get(name)
    entries = data.get(collection) if isinstance(data, dict) and collection else None
    if entry_model is None or not isinstance(entries, dict | list):
        return _validate(name, data, report, bad_entries, partial)
    pairs = entries.items() if isinstance(entries, dict) else enumerate(entries)
    parsed = document.entries if document is not None and document.data is data else {}
    built: dict[Any, BaseModel] = {}
    for key, entry in pairs:
        kept = parsed.get(key)
        if kept is not None and kept.value is not entry:
            kept = None
        model = kept.derived.get(("model", name)) if kept is not None else None
        if model is None:
            memo_key = (name, _entry_digest(entry))  # once per entry text: the model is kept with it below
            model = ENTRY_MEMO.get(memo_key)
            if model is None:
                try:
                    model = entry_model.model_validate(entry)
                except ValidationError:
                    return _validate(name, data, report, bad_entries, partial)
                ENTRY_MEMO.put(memo_key, model)
            if kept is not None:  # the same model for the same entry text, without asking the memo again
                kept.derived[("model", name)] = model
        built[key] = model
    whole = {**data, collection: built if isinstance(entries, dict) else list(built.values())}
    try:
        return MODELS[name].model_validate(whole)  # the models are instances: pydantic keeps them as they are
    except ValidationError:
        return _validate(name, data, report, bad_entries, partial)


def _entry_digest(entry: Any) -> bytes:
    """The memo key of an entry: the digest of its JSON (the same value, however the file formats it)."""
    return digest(json.dumps(entry))


def _validate(name: str, data: Any, report: Report, bad_entries: set[PathPart],
              partial: set[str]) -> BaseModel | None:
    """The file's model; on errors, every error is reported and the model is rebuilt from what is
    sound, so the cross-file checks still run on it: unknown fields are left out, an entry of the
    collection with another error is dropped (`bad_entries`), so is an entry of a top-level map
    (`shared_volumes.NAME`), and a top-level key with another error is dropped (`partial`: checks
    that need it stay quiet)."""
    model_cls: type[BaseModel] = MODELS[name]
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    collection = COLLECTIONS.get(name)
    unknown: list[tuple[PathPart, ...]] = []
    bad_map_entries: list[tuple[PathPart, ...]] = []
    bad_keys: set[str] = set()
    for err in errors:
        loc = tuple(part for part in err["loc"] if part not in UNION_TAGS)
        code, message = _describe(err)
        report.error(name, loc, code, message)
        if err["type"] == "extra_forbidden":
            unknown.append(tuple(err["loc"]))
        elif collection and len(loc) >= 2 and loc[0] == collection:
            bad_entries.add(loc[1])
        elif len(loc) >= 2 and loc[0] in _ENTRY_MAPS.get(name, ()):
            bad_map_entries.append(loc[:2])  # only that entry goes; its map counts as incomplete
            partial.add(f"{loc[0]}.{loc[1]}")
            if loc[0] == "storages":
                partial.add("storages")
        elif loc and isinstance(loc[0], str):
            partial.add(loc[0])
            bad_keys.add(loc[0])
    if not isinstance(data, dict):
        return None
    trimmed = _without(data, unknown + bad_map_entries, UNION_TAGS)
    for key in bad_keys:
        trimmed.pop(key, None)
    entries = trimmed.get(collection) if collection else None
    if isinstance(entries, dict):
        trimmed[collection] = {k: v for k, v in entries.items() if k not in bad_entries}
    elif isinstance(entries, list):
        trimmed[collection] = [v for i, v in enumerate(entries) if i not in bad_entries]
    try:
        return model_cls.model_validate(trimmed)
    except ValidationError:
        return None


def _without(data: Any, paths: list[tuple[PathPart, ...]], skip: set[str]) -> Any:
    """A copy of `data` without the keys at `paths` (pydantic error locations; `skip` parts are union tags)."""
    copied = copy.deepcopy(data)
    for path in paths:
        node = copied
        parts = [p for p in path if p not in skip]
        for part in parts[:-1]:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                break
        else:
            if isinstance(node, dict) and parts:
                node.pop(parts[-1], None)
    return copied


def _dropped_keys(data: Any, name: str, bad_entries: set[PathPart]) -> set[str]:
    """Ids (or stack names) of the entries dropped from the collection, as strings."""
    if name != VM_FILE:
        return {str(k) for k in bad_entries}
    vms = data.get("vms") if isinstance(data, dict) else None
    keys: set[str] = set()
    for i in bad_entries:
        vm = vms[i] if isinstance(vms, list) and isinstance(i, int) and 0 <= i < len(vms) else None
        if isinstance(vm, dict) and isinstance(vm.get("vmid"), int | str):
            keys.add(str(vm["vmid"]))
    return keys


def _kept_indexes(data: Any, dropped: set[PathPart]) -> list[int]:
    """Original positions of the VMs that loaded (bad ones are dropped from the model)."""
    vms = data.get("vms") if isinstance(data, dict) else None
    if not isinstance(vms, list):
        return []
    return [i for i in range(len(vms)) if i not in dropped]


def _describe(err: Any) -> tuple[str, str]:
    kind = err["type"]
    loc = err["loc"]
    field = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        return "unknown-field", f"unknown field '{field}' (custom fields must start with 'x-')"
    if kind == "missing":
        return "missing-field", f"required field '{field}' is missing"
    if kind in hostoptions.CODES:
        return kind, err["msg"]
    got = err.get("input")
    shown = json.dumps(got) if isinstance(got, str | int | float | bool) or got is None else type(got).__name__
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return "invalid-value", f"{err['msg']} (got {shown})"


def read_json(path: Path) -> Any:
    """The parsed JSON of one file (for tools that need the raw data)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
