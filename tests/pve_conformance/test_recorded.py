"""Every request the simulated node received during this test run, checked against PVE 8.4's API schema
and PVE's rules (tests/pve_conformance/schema.py). tests/conftest.py turns the recording on
(`PHOENIX_PVE_RECORD`) and runs this test after all others, so it sees the end-to-end tests' requests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitops.demo.request_log import ENV
from tests.pve_conformance.schema import check_records


def test_every_recorded_request_is_one_pve_takes() -> None:
    directory = os.environ.get(ENV)
    if not directory or not list(Path(directory).glob("pve-requests-*.jsonl")):
        pytest.skip("no requests recorded: run this with the end-to-end tests (the whole suite)")
    checked, found = check_records(Path(directory))
    assert checked > 0
    assert not found, f"{len(found)} kinds of request PVE 8.4 would refuse, of {checked} checked:\n" + "\n".join(found)
