"""Intake: what comes in before a decision -- suspend/resume, the fetch and the ledger entries for new
commits, the explicit revision an operator named -- gathered into the `Facts` that `deciding.decide` reads.

Called by `gitops.controller.reconciling` at the start of every reconcile. Writes only through the
`Recorder` (events) and the ledger's revision entries; never a revision's status beyond `superseded`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from gitops import errors, events
from gitops.controller import backoff, eligibility
from gitops.controller.deciding import Facts
from gitops.controller.recording import Patch, Recorder
from gitops.controller.triggers import Work
from gitops.settings import Settings
from gitops.source import CommitInfo, ConfigRepo
from gitops.store import Store

log = logging.getLogger(__name__)

HISTORY_LIMIT = 200  # commits recorded at most per fetch (the newest; older ones are left out, and said)


class Intake:
    def __init__(self, settings: Settings, store: Store, repo: ConfigRepo, recorder: Recorder,
                 clock: Callable[[], dt.datetime]) -> None:
        self.settings = settings
        self.store = store
        self.repo = repo
        self.recorder = recorder
        self.clock = clock

    def suspend(self, suspend: bool) -> None:
        if suspend:
            self.recorder.commit(Patch(suspended=True, phase="suspended"))
            self.recorder.event(events.EventKind.SUSPEND, "automatic applies suspended", events.Suspended())
        else:
            pinned = self.store.get_state(drift=False).pinned_revision
            self.recorder.commit(Patch(suspended=False, pinned_revision=None, phase="idle"))
            self.recorder.event(events.EventKind.RESUME, "automatic applies resumed; any pin lifted",
                                events.Resumed(unpinned=pinned))

    def fetch(self, trigger: str) -> CommitInfo:
        """Fetch; record the commits new to the ledger (only the newest is a target, the others are
        `superseded`); remember the branch head. SourceError when the repository cannot be fetched."""
        self.recorder.phase("fetching")
        fetched = self.repo.fetch()
        head = fetched.head
        state = self.store.get_state(drift=False)
        try:
            self.store.get_revision(head.sha)
            known = True
        except errors.NotFoundError:
            known = False
        if not known:
            commits = self._new_commits(state.branch_head, head, trigger)
            ledger_trigger = trigger if trigger in ("poll", "webhook", "startup") else "manual"
            for commit in commits:
                self.recorder.seen(commit, ledger_trigger)
            older = [r.sha for r in self.store.revisions_in_status("pending") if r.sha != head.sha]
            superseded = self.recorder.superseded(older)
            self.recorder.event(events.EventKind.REVISION, f"new head {head.short_sha}: {head.subject}",
                                events.RevisionRecorded(head=head.sha, subject=head.subject, commits=len(commits),
                                                        superseded=superseded), revision=head.sha)
            log.info("new head %s (%d commits, %d superseded)", head.short_sha, len(commits), len(superseded),
                     extra={"revision": head.sha, "trigger": trigger})
        if fetched.forced and fetched.previous_sha:
            message = (f"the branch was force-pushed: {fetched.previous_sha[:12]} is no longer in its history; "
                       f"following {head.short_sha}")
            log.warning(message, extra={"revision": head.sha, "trigger": trigger})
            self.recorder.event(events.EventKind.FORCE_PUSH, message,
                                events.ForcePushed(previous=fetched.previous_sha, head=head.sha),
                                level="warning", revision=head.sha)
        self.recorder.commit(Patch(last_poll_at=self.clock(), branch_head=head.sha, phase="idle"))
        self._prune(head.sha)
        return head

    def _new_commits(self, since: str | None, head: CommitInfo, trigger: str) -> list[CommitInfo]:
        """The commits from the last branch head to the new one, oldest first. When they cannot be
        listed, only the head is recorded, and the gap is logged and recorded as an event."""
        if since is None:
            return [head]
        try:
            return self.repo.commits_between(since, head.sha, limit=HISTORY_LIMIT) or [head]
        except errors.PhoenixError as exc:
            message = (f"the commits between {since[:12]} and {head.short_sha} cannot be listed ({exc}); "
                       "only the head is recorded")
            log.warning(message, extra={"revision": head.sha, "trigger": trigger})
            self.recorder.event(events.EventKind.HISTORY_GAP, message,
                                events.HistoryGap(since=since, head=head.sha, error=str(exc)), level="warning")
            return [head]

    def _prune(self, head: str) -> None:
        """Keep the exported config folders still needed: the head, the applied, pinned and target
        revisions (a long-running controller otherwise keeps one folder per commit it ever saw)."""
        state = self.store.get_state(drift=False)
        keep = {head, *(s for s in (state.applied_revision, state.pinned_revision, state.target_revision) if s)}
        self.repo.prune_checkouts(keep)

    def resolve(self, ref: str) -> str:
        """A ledger revision, or a commit of the repo (recorded on the way); NotFoundError otherwise."""
        try:
            return self.store.get_revision(ref).sha
        except errors.NotFoundError:
            commit = self.repo.commit(ref)
            self.recorder.seen(commit, "manual")
            return commit.sha

    def facts(self, work: Work, head: CommitInfo | None) -> Facts:
        """Everything `decide` weighs, read now."""
        requested: str | None = None
        requested_error = ""
        if work.revision:
            try:
                requested = self.resolve(work.revision)
            except errors.NotFoundError as exc:
                requested_error = str(exc)
                kind = events.EventKind.ROLLBACK_ERROR if work.pin else events.EventKind.SYNC_ERROR
                self.recorder.event(kind, str(exc), events.RequestFailed(ref=work.revision, error=str(exc)),
                                    level="error")
            if requested is not None and work.pin:
                refusal = eligibility.never_applied(self.store, self.store.get_revision(requested))
                if refusal:
                    requested, requested_error = None, refusal
                    self.recorder.event(events.EventKind.ROLLBACK_ERROR, refusal,
                                        events.RequestFailed(ref=work.revision, error=refusal), level="error")
        state = self.store.get_state(drift=False)
        head_sha = head.sha if head is not None else state.branch_head
        statuses: dict[str, str] = {}
        for sha in {requested, state.pinned_revision, head_sha} - {None}:
            assert sha is not None
            try:
                statuses[sha] = self.store.get_revision(sha).status
            except errors.NotFoundError:
                statuses[sha] = "pending"
        return Facts(
            applied=state.applied_revision, pinned=state.pinned_revision, suspended=state.suspended, head=head_sha,
            requested=requested, requested_error=requested_error, statuses=statuses,
            window_open=self.settings.sync_allowed(self.clock()), self_heal=self.settings.self_heal,
            auto_rollback=self.settings.auto_rollback,
            retry_due=backoff.due(state.retry, state.pinned_revision or head_sha or "", self.clock()),
        )
