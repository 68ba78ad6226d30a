"""`gitops.config.documents.parse`: the same value as `json.loads`, or the same error, entry by entry against
the previous text of the file; an entry is taken from the previous document only when its text is the same."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitops.config import documents

NAME = "phoenix_lxc_configs.json"


@pytest.fixture(autouse=True)
def _fresh() -> None:
    documents.forget()


def _loads_or_error(text: str) -> object:
    try:
        return ("value", json.loads(text))
    except (ValueError, RecursionError) as exc:
        return ("error", type(exc))


def _parse_or_error(text: str, collection: str = "lxc_configs") -> object:
    try:
        return ("value", documents.parse(NAME, text, collection).data)
    except (ValueError, RecursionError) as exc:
        return ("error", type(exc))


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                           max_size=3), max_leaves=8)
files = st.fixed_dictionaries({"lxc_configs": st.dictionaries(st.sampled_from(["100", "101", "102", "features"]),
                                                              values, max_size=4)},
                              optional={"lxc_defaults": values, "x-note": values})


@settings(max_examples=300, deadline=None)
@given(first=files, second=files, indent=st.sampled_from([None, 0, 2, "\t"]),
       cut=st.integers(min_value=0, max_value=400), junk=st.sampled_from(["", "x", ",", "}", "]", " ", "\"", "{"]))
def test_the_same_value_or_error_as_json_loads(first: dict, second: dict, indent: object, cut: int, junk: str) -> None:
    """Any file, parsed after any other (entries shared or not), and any text cut short or with a character
    put in: what json.loads says, value for value (types included) or error for error."""
    documents.parse(NAME, json.dumps(first, indent=indent), "lxc_configs")  # type: ignore[arg-type]
    text = json.dumps(second, indent=indent)  # type: ignore[arg-type]
    got = _parse_or_error(text)
    assert got == _loads_or_error(text)
    assert json.dumps(got, sort_keys=True) == json.dumps(_loads_or_error(text), sort_keys=True, default=str)
    broken = text[:cut % (len(text) + 1)] + junk + text[cut % (len(text) + 1):]
    assert _parse_or_error(broken) == _loads_or_error(broken)


def test_an_unchanged_entry_is_the_same_value_and_keeps_what_was_derived() -> None:
    first = documents.parse(NAME, '{"lxc_configs": {"100": {"memory_mb": 512}, "101": {"memory_mb": 1}}}',
                            "lxc_configs")
    made: list[object] = []
    first.entries["100"].derive("seen", lambda value: made.append(value) or len(made))
    second = documents.parse(NAME, '{"lxc_configs": {"100": {"memory_mb": 512}, "101": {"memory_mb": 2}}}',
                             "lxc_configs")
    assert second.data["lxc_configs"]["100"] is first.data["lxc_configs"]["100"]
    assert second.entries["100"].derive("seen", lambda value: made.append(value) or len(made)) == 1
    assert second.data["lxc_configs"]["101"] == {"memory_mb": 2}
    assert made == [{"memory_mb": 512}]


@pytest.mark.parametrize("changed", ["1.0", "true", "1e0", "1 "])
def test_values_python_finds_equal_are_not_taken_for_each_other(changed: str) -> None:
    """`1`, `1.0` and `true` are equal in Python: an entry is matched by its text, never by equality."""
    documents.parse(NAME, '{"lxc_configs": {"100": {"unprivileged": 1}}}', "lxc_configs")
    text = '{"lxc_configs": {"100": {"unprivileged": ' + changed + "}}}"
    assert json.dumps(documents.parse(NAME, text, "lxc_configs").data) == json.dumps(json.loads(text))


def test_an_entry_that_moves_in_a_list_is_parsed_again() -> None:
    documents.parse("phoenix_vm_configs.json", '{"vms": [{"vmid": 1}, {"vmid": 2}]}', "vms")
    moved = documents.parse("phoenix_vm_configs.json", '{"vms": [{"vmid": 2}, {"vmid": 1}, {"vmid": 3}]}', "vms")
    assert moved.data == {"vms": [{"vmid": 2}, {"vmid": 1}, {"vmid": 3}]}
    assert [e.value["vmid"] for e in moved.entries.values()] == [2, 1, 3]


def test_a_repeated_key_keeps_the_last_value_in_the_first_place_as_json_loads() -> None:
    text = '{"lxc_configs": {"100": {"a": 1}, "101": {}, "100": {"a": 2}}, "lxc_configs": {}}'
    assert _parse_or_error(text) == _loads_or_error(text)
    text = '{"lxc_configs": {"100": {"a": 1}, "101": {}, "100": {"a": 2}}}'
    assert list(documents.parse(NAME, text, "lxc_configs").data["lxc_configs"].items()) == \
        list(json.loads(text)["lxc_configs"].items())


def test_a_deep_file_raises_what_json_loads_raises() -> None:
    text = '{"lxc_configs": {"100": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    assert _parse_or_error(text) == _loads_or_error(text)


def test_the_same_text_is_the_same_document() -> None:
    text = '{"lxc_configs": {"100": {}}}'
    assert documents.parse(NAME, text, "lxc_configs") is documents.parse(NAME, text, "lxc_configs")


def test_height() -> None:
    assert documents.height(1) == 0
    assert documents.height({}) == 1
    assert documents.height([[], {"a": [1]}]) == 3


entry_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=2) | st.dictionaries(
    st.sampled_from(["a", "b", "memory_mb"]), inner, max_size=2), max_leaves=4)


@settings(max_examples=400, deadline=None)
@given(collection=st.sampled_from(["lxc_configs", "vms"]),
       entries=st.lists(st.tuples(st.sampled_from(["100", "101", "102", "103", "104"]), entry_values), max_size=8),
       edits=st.lists(st.tuples(st.sampled_from(["set", "insert", "delete", "before", "after", "space"]),
                                st.integers(0, 9), entry_values), min_size=1, max_size=3),
       before=values, after=values)
def test_a_file_edited_here_and_there_parses_as_json_loads(collection: str, entries: list, edits: list,
                                                            before: object, after: object) -> None:
    """A file of entries (keys repeated, for a map) edited in one place or a few, each text parsed after the
    last: entries taken from the shared start, the shared end and the old entries give json.loads's value."""
    name = f"phoenix_{collection}.json"

    def text_of(items: list, head: object, tail: object, spaced: bool) -> str:
        sep = ", " if spaced else ","
        body = (sep.join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in items) if collection == "lxc_configs"
                else sep.join(json.dumps(v) for _k, v in items))
        wrapped = "{" + body + "}" if collection == "lxc_configs" else "[" + body + "]"
        return "{" + f'"head": {json.dumps(head)}, "{collection}": {wrapped}, "tail": {json.dumps(tail)}' + "}"

    items, head, tail, spaced = list(entries), before, after, False
    documents.parse(name, text_of(items, head, tail, spaced), collection)
    for kind, where, value in edits:
        at = where % (len(items) + 1)
        if kind == "set" and items:
            items[at % len(items)] = (items[at % len(items)][0], value)
        elif kind == "insert":
            items.insert(at, (str(100 + where), value))
        elif kind == "delete" and items:
            del items[at % len(items)]
        elif kind == "before":
            head = value
        elif kind == "after":
            tail = value
        else:
            spaced = not spaced
        text = text_of(items, head, tail, spaced)
        document = documents.parse(name, text, collection)
        assert json.dumps(document.data) == json.dumps(json.loads(text))
        for key, entry in document.entries.items():
            assert json.loads(text[entry.start:entry.end]) == entry.value or entry.value != entry.value
            assert json.dumps(document.data[collection][key]) == json.dumps(entry.value)


class _Counting(json.JSONDecoder):
    decoded = 0

    def raw_decode(self, s: str, idx: int = 0) -> tuple[object, int]:
        _Counting.decoded += 1
        return super().raw_decode(s, idx)


@pytest.mark.parametrize("collection", ["lxc_configs", "vms"])
def test_a_change_to_one_entry_of_a_thousand_decodes_that_entry(monkeypatch: pytest.MonkeyPatch,
                                                                collection: str) -> None:
    """The entries before the change and after it are taken from the last document, not walked."""
    monkeypatch.setattr(documents, "_DECODER", _Counting())
    guests = {str(1000 + i): {"memory_mb": 512, "name": f"ct{i}", "tags": ["a"]} for i in range(1000)}

    def text() -> str:
        inner = guests if collection == "lxc_configs" else list(guests.values())
        return json.dumps({"defaults": {"cores": 2}, collection: inner, "x-note": "n"})

    first = documents.parse("f.json", text(), collection)
    guests["1500"]["memory_mb"] = 1024
    guests["1500"]["name"] = "a longer name"
    _Counting.decoded = 0
    second = documents.parse("f.json", text(), collection)
    assert _Counting.decoded == 3  # the changed entry, and the two small keys around the collection
    key: object = "1500" if collection == "lxc_configs" else 500
    assert second.data == json.loads(text())
    assert second.entries[key].value["name"] == "a longer name"  # type: ignore[index]
    unchanged = "1999" if collection == "lxc_configs" else 999
    assert second.entries[unchanged].value is first.entries[unchanged].value  # type: ignore[index]
    assert text()[second.entries[unchanged].start:second.entries[unchanged].end] == json.dumps(
        guests["1999"])
