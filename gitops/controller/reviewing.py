"""Review one config read-only: validate it, then plan it against the live node or against a base config.

The one code path behind pull-request reviews (`gitops.controller.pullrequests`) and
`phoenix-gitops plan --base --head`. It reads and plans, it never applies: there is no apply call
anywhere in this module, and the drivers are only asked for live state (`read_and_plan`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from gitops import errors
from gitops.config.secretrefs import SecretResolver
from gitops.config.validation import validate_directory
from gitops.controller.converging import read_and_plan
from gitops.controller.systems import proxmox
from gitops.drivers.seam import Drivers
from gitops.planner.options import PlanOptions
from gitops.planner.proxmox.assumed import converged_live
from gitops.planner.reviews import Review
from gitops.planner.systems import plan_changes
from gitops.settings import HostPolicy

log = logging.getLogger(__name__)
DEFAULT_NODE = "pve1"


def review_config(head_dir: Path, head_sha: str, *, connect: Callable[[], Drivers] | None = None,
                  base_dir: Path | None = None, base_label: str = "the base", node: str = "",
                  secrets: SecretResolver | None = None, allow_destroy: bool = False,
                  revision_url: str | None = None, applied_revision: str | None = None,
                  policy: HostPolicy | None = None) -> Review:
    """Validate `head_dir`; if valid, plan it against the live systems (`connect` gives their drivers)
    or else against `base_dir`."""
    against = "the live node" if connect is not None else base_label
    try:
        estate, report = validate_directory(head_dir, policy)
    except errors.ConfigError as exc:
        return Review(head_sha, against, error=str(exc), revision_url=revision_url)
    if not report.valid:
        return Review(head_sha, against, report, revision_url=revision_url)
    try:
        if connect is not None:
            drivers = connect()
            try:
                where = proxmox(drivers).node
                against = f"the live node {where}" + (
                    f", where revision {applied_revision[:12]} is applied" if applied_revision else "")
                run = read_and_plan(drivers, estate, PlanOptions(node=where, allow_destroy=allow_destroy), secrets)
            finally:
                drivers.close()
            return Review(head_sha, against, report, run.plan, revision_url=revision_url)
        if base_dir is None:
            raise errors.SettingsError("neither a Proxmox node nor a base config to plan against")
        base, base_report = validate_directory(base_dir, policy)
        if not base_report.valid:
            return Review(head_sha, against, report, revision_url=revision_url,
                          error=f"{base_label} is not a valid config ({len(base_report.errors)} errors)")
        where = node or DEFAULT_NODE
        plan = plan_changes(estate, converged_live(base, where), PlanOptions(node=where, allow_destroy=allow_destroy))
        return Review(head_sha, against, report, plan, revision_url=revision_url)
    except errors.PhoenixError as exc:
        log.warning("review of %s could not plan: %s", head_sha[:12], exc)
        return Review(head_sha, against, report, error=str(exc), revision_url=revision_url)
