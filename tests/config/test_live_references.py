"""The twelve upstream commits of 2025-10-01..03 (tests/data/live-references) name a storage or a clone source
that the config no longer declares but upstream's node had: they validate, with warnings naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops.config.validation import validate_directory

DATA = Path(__file__).resolve().parents[1] / "data" / "live-references"
COMMITS = sorted(p.name for p in DATA.iterdir() if p.is_dir())
STORAGE = "quickOS-shared-prod-data-volumes"


def test_all_twelve_are_here() -> None:
    assert len(COMMITS) == 12


@pytest.mark.parametrize("commit", COMMITS)
def test_a_live_reference_is_a_warning_not_an_error(commit: str) -> None:
    _, report = validate_directory(DATA / commit)
    assert report.valid, [str(p) for p in report.errors]
    named = {(p.code, STORAGE if STORAGE in p.message else p.message.split(" does not exist")[0])
             for p in report.warnings if p.code in ("storage-undeclared", "clone-source-undeclared")}
    assert named <= {("storage-undeclared", STORAGE), ("clone-source-undeclared", "CT 903"),
                     ("clone-source-undeclared", "CT 902")}
    assert named, "no undeclared reference reported"
