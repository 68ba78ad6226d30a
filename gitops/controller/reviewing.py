"""Review one config read-only: validate it, then plan it against the live systems or against a base config.

The one code path behind pull-request reviews (`gitops.controller.pullrequests`) and
`phoenix-gitops plan --base --head`. It reads and plans through the `Convergence` port, with the same
options as the controller's own plans (provisioning and snapshot actions shown, a missing script an
error), and never applies: there is no apply call anywhere in this module.
"""

from __future__ import annotations

import logging
from pathlib import Path

from gitops import errors
from gitops.config.validation import validate_directory
from gitops.controller.systems import Convergence
from gitops.planner.reviews import Review
from gitops.settings import HostPolicy

log = logging.getLogger(__name__)


def review_config(head_dir: Path, head_sha: str, convergence: Convergence, *, live: bool,
                  base_dir: Path | None = None, base_label: str = "the base", allow_destroy: bool = False,
                  revision_url: str | None = None, applied_revision: str | None = None,
                  policy: HostPolicy | None = None, earlier_dir: Path | None = None) -> Review:
    """Validate `head_dir`; if valid, plan it against the live systems (`live`) or else against the state
    `base_dir` converges to (nothing live is read). A live plan shows a changed script as a diff from the
    one in `earlier_dir` (the applied revision's config folder, else the base's) that the guest ran."""
    against = "the live node" if live else base_label
    try:
        estate, report = validate_directory(head_dir, policy)
    except errors.ConfigError as exc:
        return Review(head_sha, against, error=str(exc), revision_url=revision_url)
    if not report.valid:
        return Review(head_sha, against, report, revision_url=revision_url)
    try:
        if live:
            with convergence.open() as session:
                against = session.where + (
                    f", where revision {applied_revision[:12]} is applied" if applied_revision else "")
                run = session.plan(estate, revision=head_sha, allow_destroy=allow_destroy,
                                   earlier=earlier_dir or base_dir)
            return Review(head_sha, against, report, run.plan, revision_url=revision_url)
        if base_dir is None:
            raise errors.SettingsError("neither live systems nor a base config to plan against")
        base, base_report = validate_directory(base_dir, policy)
        if not base_report.valid:
            return Review(head_sha, against, report, revision_url=revision_url,
                          error=f"{base_label} is not a valid config ({len(base_report.errors)} errors)")
        run = convergence.plan_config(base, estate, revision=head_sha, against=base_label,
                                      allow_destroy=allow_destroy)
        against = f"{base_label}, assumed converged"
        return Review(head_sha, against, report, run.plan, revision_url=revision_url)
    except errors.PhoenixError as exc:
        log.warning("review of %s could not plan: %s", head_sha[:12], exc)
        return Review(head_sha, against, report, error=str(exc), revision_url=revision_url)
