"""The entry memo of validation (`gitops.config.loading.ENTRY_MEMO`): a guest or stack whose JSON was
validated before is not validated again, and the result is exactly a full validation's: the same
problems (codes, messages, paths, lines), the same models, the same dropped entries. Random edits of
configs-example (the property tests' `_mutate`), each validated with the memo (warm from the example and
from the examples before) and without it. Without it means from nothing: the file's last parse is
forgotten too, and with it what each entry's own checks found (`documents`, `checks.local`)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gitops.config import documents
from gitops.config.estate import LXC_FILE, Estate
from gitops.config.lxc import LxcGuest
from gitops.config.memo import BoundedMemo, Last
from gitops.config.problems import Report
from gitops.config.validation import validate_directory
from tests.config.test_properties import ORIGINAL, SETTINGS, _mutate, write_estate


def _same(memoized: tuple[Estate, Report], fresh: tuple[Estate, Report]) -> None:
    (estate, report), (want_estate, want_report) = memoized, fresh
    assert [p.to_dict() for p in report.problems] == [p.to_dict() for p in want_report.problems]
    for part in ("hypervisor", "lxc", "vms", "stacks"):
        got, want = getattr(estate, part), getattr(want_estate, part)
        assert got == want, part
        assert got.model_dump(by_alias=True) == want.model_dump(by_alias=True), part
        assert json.dumps(got.model_dump(mode="json")) == json.dumps(want.model_dump(mode="json")), part
    assert (estate.loaded, estate.dropped, estate.partial, estate.vm_index, estate.raw) == (
        want_estate.loaded, want_estate.dropped, want_estate.partial, want_estate.vm_index, want_estate.raw)


def _both(files: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write_estate(directory, files)
        memoized = validate_directory(directory)
        documents.forget()
        _same(memoized, validate_directory(directory, memo=False))


@SETTINGS
@given(data=st.data())
def test_memoized_validation_of_random_edits_is_a_full_validation(data: st.DataObject) -> None:
    _both(ORIGINAL)  # the memo holds every entry of the example
    files = json.loads(json.dumps(ORIGINAL))
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        _mutate(data, files)
    _both(files)


def test_a_changed_guest_is_validated_again_and_the_others_are_not(tmp_path: Path) -> None:
    files = json.loads(json.dumps(ORIGINAL))
    write_estate(tmp_path, files)
    first, _ = validate_directory(tmp_path)
    guests = files[LXC_FILE]["lxc_configs"]
    changed = sorted(guests)[0]
    guests[changed]["memory_mb"] = 4096
    write_estate(tmp_path, files)
    second, report = validate_directory(tmp_path)
    assert report.valid
    assert second.lxc.lxc_configs[changed].memory_mb == 4096
    assert second.lxc.lxc_configs[changed] is not first.lxc.lxc_configs[changed]
    for ctid in sorted(guests)[1:]:
        assert second.lxc.lxc_configs[ctid] is first.lxc.lxc_configs[ctid], ctid
    # The same edit invalid: reported exactly as without the memo, and the entry is dropped.
    guests[changed]["memory_mb"] = "lots"
    write_estate(tmp_path, files)
    _same(validate_directory(tmp_path), validate_directory(tmp_path, memo=False))
    _, report = validate_directory(tmp_path)
    assert [(p.code, p.path) for p in report.errors] == [("invalid-value", ("lxc_configs", changed, "memory_mb"))]


def test_the_memo_keeps_at_most_its_limit() -> None:
    memo: BoundedMemo[tuple[str, str], LxcGuest] = BoundedMemo(3)
    models = [LxcGuest(name=f"ct{i}") for i in range(5)]
    for i, model in enumerate(models):
        memo.put((LXC_FILE, str(i)), model)
    assert len(memo) == 3
    assert memo.get((LXC_FILE, "0")) is None
    assert memo.get((LXC_FILE, "4")) is models[4]
    memo.get((LXC_FILE, "2"))  # used: kept over "3"
    memo.put((LXC_FILE, "5"), models[0])
    assert memo.get((LXC_FILE, "3")) is None and memo.get((LXC_FILE, "2")) is models[2]


def test_what_a_guest_was_found_to_be_is_judged_again_under_another_host_policy(tmp_path: Path) -> None:
    """The findings kept with an entry are kept under the host policy they were judged by."""
    from gitops.settings import HostPolicy

    files = json.loads(json.dumps(ORIGINAL))
    guests = files[LXC_FILE]["lxc_configs"]
    guests[sorted(guests)[0]]["unprivileged"] = False
    write_estate(tmp_path, files)
    codes = [p.code for p in validate_directory(tmp_path)[1].errors]
    assert codes == ["policy-privileged"]
    assert validate_directory(tmp_path, HostPolicy(allow_privileged=True))[1].valid
    assert [p.code for p in validate_directory(tmp_path)[1].errors] == codes


def test_an_address_taken_twice_is_found_whichever_guest_changed(tmp_path: Path) -> None:
    """The addresses each guest's own check claims are matched across guests at every validation, though
    the check itself ran once for each entry's text."""
    files = json.loads(json.dumps(ORIGINAL))
    guests = files[LXC_FILE]["lxc_configs"]
    with_ip = [k for k in sorted(guests) if "/" in str((guests[k].get("network_config") or {}).get("ip", ""))]
    first, second = with_ip[:2]
    write_estate(tmp_path, files)
    assert validate_directory(tmp_path)[1].valid
    guests[second]["network_config"]["ip"] = guests[first]["network_config"]["ip"]
    write_estate(tmp_path, files)
    errors = validate_directory(tmp_path)[1].errors
    assert [(p.code, p.path) for p in errors] == [("ip-duplicate", ("lxc_configs", second, "network_config", "ip"))]
    assert f"CT {first}" in errors[0].message


def test_the_checks_across_guests_run_again_only_when_what_they_read_changed(tmp_path: Path,
                                                                            monkeypatch: Any) -> None:
    """`references._reads`: a memory change replays the last problems of ids, clones, dependencies and stacks;
    a dependency changed to a guest that does not exist is found at once."""
    from gitops.config.checks import references

    runs: list[str] = []
    monkeypatch.setattr(references, "_LAST", Last())  # the same estate was validated by the tests before
    original = references._check_dependencies
    monkeypatch.setattr(references, "_check_dependencies",
                        lambda estate, report: (runs.append("ran"), original(estate, report)))
    files = json.loads(json.dumps(ORIGINAL))
    guests = files[LXC_FILE]["lxc_configs"]
    ctid = sorted(guests)[-1]
    write_estate(tmp_path, files)
    assert validate_directory(tmp_path)[1].valid and runs == ["ran"]
    guests[ctid]["memory_mb"] = 4321
    write_estate(tmp_path, files)
    assert validate_directory(tmp_path)[1].valid and runs == ["ran"]  # replayed
    guests[ctid]["dependencies"] = [*guests[ctid].get("dependencies", []), "4242"]
    write_estate(tmp_path, files)
    errors = validate_directory(tmp_path)[1].errors
    assert runs == ["ran", "ran"]
    assert [p.code for p in errors] == ["dependency-missing"]
    _same(validate_directory(tmp_path), validate_directory(tmp_path, memo=False))


def test_a_health_check_on_another_guest_is_judged_again_when_that_guest_moves(tmp_path: Path) -> None:
    """What each guest's URLs and health checks were found to be is kept under every guest's address: a check
    that dials another guest's address is allowed while it is one, and refused once that guest moved."""
    files = json.loads(json.dumps(ORIGINAL))
    guests = files[LXC_FILE]["lxc_configs"]
    with_ip = [k for k in sorted(guests) if "/" in str((guests[k].get("network_config") or {}).get("ip", ""))]
    dialer, dialed = with_ip[:2]
    address = guests[dialed]["network_config"]["ip"].split("/")[0]
    guests[dialer]["health_checks"] = [{"type": "tcp", "host": address, "port": 22}]
    write_estate(tmp_path, files)
    assert validate_directory(tmp_path)[1].valid
    prefix = guests[dialed]["network_config"]["ip"].split("/")[1]
    moved = address.rsplit(".", 1)[0] + (".251" if not address.endswith(".251") else ".252")
    guests[dialed]["network_config"]["ip"] = f"{moved}/{prefix}"  # same subnet, another address
    write_estate(tmp_path, files)
    errors = validate_directory(tmp_path)[1].errors
    assert [(p.code, p.path) for p in errors] == [("policy-url", ("lxc_configs", dialer, "health_checks", 0))]
    _same(validate_directory(tmp_path), validate_directory(tmp_path, memo=False))
