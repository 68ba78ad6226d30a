"""A pull request's review as data and words: its validation, its read-only plan, the verdict.

Pure. Made by the controller's pull-request reviews (`gitops.controller.reviewing`) and by
`phoenix-gitops plan --base --head`; shown as the one PR comment (markdown) and as a commit status
(`state`, `description`). Nothing in a review is ever applied. Secrets are masked by the plan's own
rendering (`(secret)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gitops.config.problems import Report
from gitops.planner import showing
from gitops.planner.plan import Plan

MARKER = "<!-- phoenix-gitops:review -->"
ReviewState = Literal["success", "failure", "error"]


@dataclass(frozen=True)
class Review:
    head_sha: str
    against: str  # what the plan compares with: "the live node pve1", "base 1a2b3c4d5e6f (main)"
    report: Report | None = None  # validation of the head; None when it could not be read
    plan: Plan | None = None  # None when invalid, or when planning was impossible
    error: str | None = None  # why the review could not be done (fetch, node unreachable)
    revision_url: str | None = None

    @property
    def state(self) -> ReviewState:
        if self.error is not None:
            return "error"
        if self.report is None or not self.report.valid or self.plan is None or self.plan.errors:
            return "failure"
        return "success"

    @property
    def description(self) -> str:
        """One line for the commit status."""
        if self.error is not None:
            return f"could not review: {self.error}"[:140]
        if self.report is not None and not self.report.valid:
            first = self.report.errors[0]
            return f"invalid ({len(self.report.errors)} errors): {first.file}:{first.line}: {first.message}"
        if self.plan is None:
            return "not planned"
        return showing.summary_line(self.plan)

    def markdown(self, title: str = "Phoenix GitOps") -> str:
        head = self.head_sha[:12]
        icon = {"success": ":white_check_mark:", "failure": ":x:", "error": ":warning:"}[self.state]
        done = f"Planned read-only against {self.against}." if self.plan is not None else "Not planned."
        lines = [f"## {icon} {title}: `{head}`", "", f"{done} Nothing in a pull request is applied."]
        if self.revision_url:
            lines.append(f"Details: {self.revision_url}")
        lines.append("")
        if self.error is not None:
            lines += [f"**The review could not be done:** {self.error}", ""]
        if self.report is not None and (self.report.problems or not self.report.valid):
            lines.append(showing.validation_markdown(self.report, title="Validation"))
        elif self.report is not None:
            lines += ["### Validation", "", "The config is valid.", ""]
        if self.plan is not None:
            lines.append(showing.plan_markdown(self.plan, title="Plan"))
            destroying = [a.target for a in self.plan.actions if a.destructive]
            if destroying:
                lines += [f":rotating_light: **Destroys data:** {', '.join(f'`{t}`' for t in destroying)}", ""]
        lines.append(MARKER)
        return "\n".join(lines) + "\n"
