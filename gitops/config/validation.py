"""Validating a config directory: load the four files, run every cross-file check, place each problem.

`validate_directory(dir)` is what `phoenix-gitops validate`, the planner's callers and the
controller use; a commit with any error is never applied.
"""

from __future__ import annotations

from pathlib import Path

from gitops.config.checks.fields import check_fields
from gitops.config.checks.firewall import check_firewalls
from gitops.config.checks.identifiers import check_identifiers
from gitops.config.checks.legacy import check_legacy
from gitops.config.checks.network import check_network
from gitops.config.checks.policy import check_policy
from gitops.config.checks.references import check_references
from gitops.config.checks.secrets import check_secrets
from gitops.config.checks.stacks import check_stacks
from gitops.config.estate import CONFIG_FILES, Estate
from gitops.config.loading import load_estate
from gitops.config.positions import PositionIndex
from gitops.config.problems import Report
from gitops.settings import HostPolicy

CHECKS = (check_references, check_network, check_firewalls, check_secrets, check_fields, check_legacy,
          check_identifiers, check_stacks)


def validate_directory(directory: Path | str, policy: HostPolicy | None = None, *,
                       memo: bool = True) -> tuple[Estate, Report]:
    """The estate and every problem in it, errors and warnings, each with file, line and column.

    `policy` is the operator's host policy (settings); None means the default one. `memo`: guests and
    stacks validated before (the same JSON) are not validated again (`loading.ENTRY_MEMO`); the result
    is the same either way.
    """
    estate, report = load_estate(directory, memo=memo)
    for check in CHECKS:
        check(estate, report)
    check_policy(estate, report, policy if policy is not None else HostPolicy())
    _place(estate, report)
    order = {name: i for i, name in enumerate(CONFIG_FILES)}
    report.problems.sort(key=lambda p: (p.severity != "error", order.get(p.file, 9), p.line, p.column))
    return estate, report


def _place(estate: Estate, report: Report) -> None:
    todo = [p for p in report.problems if not p.line and p.file in estate.texts]
    indexes: dict[str, PositionIndex] = {}
    for problem in todo:
        index = indexes.get(problem.file)
        if index is None:
            wanted = [p.path for p in todo if p.file == problem.file]
            index = indexes[problem.file] = PositionIndex(estate.texts[problem.file], wanted)
        problem.line, problem.column = index.locate(problem.path)
