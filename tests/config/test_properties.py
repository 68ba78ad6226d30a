"""Property tests: whatever the four files hold, validation returns a report and never raises, and every
problem it reports is placed (a file among the four, a JSON path, a line).

(a) any JSON value as a whole file; (b) random edits of configs-example: delete a key, replace a value
anywhere, duplicate a guest, rename a key. Hypothesis and function-scoped fixtures do not mix, so each
example writes into its own temporary directory.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops.config.estate import CONFIG_FILES, STACKS_FILE
from gitops.config.problems import Report
from gitops.config.validation import validate_directory

EXAMPLE = Path(__file__).resolve().parents[2] / "configs-example"
FILES = CONFIG_FILES  # the four config files, in the package's order
FILE_LEVEL = {"json-syntax", "file-missing", "file-unreadable"}
ORIGINAL = {name: json.loads((EXAMPLE / name).read_text(encoding="utf-8")) for name in FILES}
# 60 examples a test keeps the file at a few seconds; PHOENIX_PROPERTY_EXAMPLES=2000 for a deeper hunt.
EXAMPLES = int(os.environ.get("PHOENIX_PROPERTY_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Values that reach the checks' corner cases more often than uniform text would.
TRICKY_TEXT = st.sampled_from([
    "", "101", "900", "9000", "1002", "²", "١٠١", "x-note", "none", "0,1", "dhcp", "10.20.0.11/24",
    "10.20.0.1", "::1/128", "02:00:00:14:00:0b", "${secret:a}", "${secret:", "tcp", "80,443", "1:2:3",
    "ACCEPT", "group", "tank-lxc-disks", "webapp", "-", "a" * 300,
])
TEXT = st.text(max_size=12) | TRICKY_TEXT
SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=12)


def write_estate(directory: Path, files: dict[str, Any]) -> None:
    for name in FILES:
        (directory / name).write_text(json.dumps(files[name], indent=2) + "\n", encoding="utf-8")


def check_report(report: Report, directory: Path, roots_are_objects: bool = True,
                 files: dict[str, Any] | None = None) -> None:
    """Every problem names one of the four files, a path (unless file-level), and a line when readable."""
    assert isinstance(report, Report)
    for p in report.problems:
        assert p.file in FILES, p
        assert p.severity in ("error", "warning")
        assert p.code and p.message
        if p.code not in FILE_LEVEL and roots_are_objects:
            assert p.path != (), p
        if p.code != "file-unreadable" and (directory / p.file).is_file():
            assert p.line >= 1 and p.column >= 1, p
        json.dumps(p.to_dict())  # what `--format json` prints
        if files is not None and p.line:
            _check_position(p, directory, files[p.file])



def _check_position(p: Any, directory: Path, data: Any) -> None:
    """When the problem's path exists in the data, line:column lands on its key (or, for a list item,
    on its value). Files are written by `write_estate`, so keys appear as json.dumps writes them."""
    node = data
    for part in p.path:
        in_dict = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
        else:
            return  # a missing field, or a pydantic location that is not a JSON path
    if not p.path:
        return
    line = (directory / p.file).read_text(encoding="utf-8").splitlines()[p.line - 1]
    here = line[p.column - 1:]
    last = p.path[-1]
    expected = json.dumps(last) if isinstance(last, str) else json.dumps(node)[:1]
    assert here.startswith(expected), f"{p} points at {here[:30]!r}, expected {expected!r}"


@SETTINGS
@given(target=st.sampled_from(FILES), value=JSON)
def test_any_json_value_as_a_file_gives_a_report(target: str, value: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write_estate(directory, {**ORIGINAL, target: value})
        _, report = validate_directory(directory)
        check_report(report, directory, roots_are_objects=isinstance(value, dict))
        if not isinstance(value, dict):
            assert not report.valid


@SETTINGS
@given(target=st.sampled_from(FILES), text=st.text(max_size=40) | st.binary(max_size=40))
def test_any_text_as_a_file_gives_a_report(target: str, text: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write_estate(directory, ORIGINAL)
        path = directory / target
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        _, report = validate_directory(directory)
        check_report(report, directory, roots_are_objects=False)
        if isinstance(text, bytes):
            try:
                text.decode("utf-8")
            except UnicodeDecodeError:
                assert [(p.file, p.code) for p in report.errors] == [(target, "file-unreadable")]


# --- (b) edits of configs-example -------------------------------------------------------------------

def _locations(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path below the root (dict keys and list indexes)."""
    out: list[tuple[Any, ...]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        out.append((*path, key))
        out.extend(_locations(child, (*path, key)))
    return out


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def _mutate(data: st.DataObject, files: dict[str, Any]) -> str:
    kind = data.draw(st.sampled_from(["delete", "replace", "duplicate", "rename", "tricky", "rekey"]), label="kind")
    if kind == "rekey":  # a guest's id becomes any text
        guests = files[FILES[1]].get("lxc_configs")
        if not isinstance(guests, dict) or not guests:
            return "nothing to rekey"
        key = data.draw(st.sampled_from(sorted(guests)), label="guest")
        guests[data.draw(TEXT, label="new id")] = guests.pop(key)
        return f"rekey CT {key}"
    if kind == "duplicate":
        if data.draw(st.booleans(), label="lxc?"):
            guests = files[FILES[1]].get("lxc_configs")
            if not isinstance(guests, dict) or not guests:
                return "nothing to duplicate"
            key = data.draw(st.sampled_from(sorted(guests)), label="guest")
            new = data.draw(st.sampled_from(["5000", key + "1", "x", "0101"]), label="new id")
            guests[new] = json.loads(json.dumps(guests[key]))
            return f"duplicate CT {key} as {new}"
        vms = files[FILES[2]].get("vms")
        if not isinstance(vms, list) or not vms:
            return "nothing to duplicate"
        i = data.draw(st.integers(0, len(vms) - 1), label="vm")
        vms.insert(data.draw(st.integers(0, len(vms)), label="at"), json.loads(json.dumps(vms[i])))
        return f"duplicate VM {i}"
    name = data.draw(st.sampled_from(FILES), label="file")
    locations = _locations(files[name])
    if kind == "rename":
        locations = [p for p in locations if isinstance(_get(files[name], p[:-1]), dict)]
    if kind == "tricky":  # a string becomes one of the values that reach the checks' corners
        locations = [p for p in locations if isinstance(_get(files[name], p), str)]
    if not locations:
        return "nothing to edit"
    path = data.draw(st.sampled_from(locations), label="path")
    parent = _get(files[name], path[:-1])
    if kind == "delete":
        del parent[path[-1]]
    elif kind == "replace":
        parent[path[-1]] = data.draw(JSON, label="value")
    elif kind == "tricky":
        parent[path[-1]] = data.draw(TRICKY_TEXT, label="value")
    else:
        new_key = data.draw(TEXT, label="new key")
        items = [(new_key if k == path[-1] else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)
    return f"{kind} {name} {path}"


@SETTINGS
@given(data=st.data())
def test_edits_of_the_example_give_placed_problems(data: st.DataObject) -> None:
    files = json.loads(json.dumps(ORIGINAL))
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        _mutate(data, files)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write_estate(directory, files)
        _, report = validate_directory(directory)
        check_report(report, directory, files=files)


@settings(max_examples=max(15, EXAMPLES // 4), deadline=None, database=None)
@given(data=st.data())
def test_edits_with_a_missing_file_give_placed_problems(data: st.DataObject) -> None:
    files = json.loads(json.dumps(ORIGINAL))
    _mutate(data, files)
    gone = data.draw(st.sampled_from(FILES), label="missing")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write_estate(directory, files)
        (directory / gone).unlink()
        _, report = validate_directory(directory)
        check_report(report, directory, files=files)
        if gone == STACKS_FILE:  # optional: absent means no stacks
            assert not any(p.file == gone for p in report.problems)
        else:
            assert any(p.code == "file-missing" and p.file == gone for p in report.errors)


def test_the_example_is_copied_unchanged() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name in FILES:
            shutil.copyfile(EXAMPLE / name, Path(tmp) / name)
        _, report = validate_directory(tmp)
        assert report.problems == []
