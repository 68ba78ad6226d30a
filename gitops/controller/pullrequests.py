"""Pull-request reviews: a webhook's PR is fetched, validated, planned read-only, commented and given a status.

Started by the service beside the reconcile loop, in a thread of its own; the API's webhook route
`submit`s events. For each opened or updated PR: a `pending` status on its head, then the head is
fetched (`ConfigRepo.fetch_ref`) and exported to a folder of its own, reviewed by
`reviewing.review_config` against the live node (read-only: nothing here can apply), the one
comment edited in place (found by its marker) and the final status set (success, failure, error),
linked to the review's page. Several events for one PR waiting at once are one review of the newest.
A forge that is down is logged, never raised: it holds up neither the reconcile loop nor other
reviews. Each review is recorded as a `pr-review` event (`events.PullRequestReviewed`; no secret: the
plan masks them and known secret values are scrubbed).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from gitops import errors, events
from gitops.config.secretrefs import scrub
from gitops.controller.forging import Forges
from gitops.controller.recording import Recorder
from gitops.controller.reviewing import review_config
from gitops.controller.systems import Convergence, ran_folder
from gitops.forges import CommitState, CommitStatus, ForgeClient
from gitops.planner.reviews import MARKER, Review
from gitops.settings import Settings
from gitops.source import ConfigRepo, PullRequestEvent
from gitops.store import Store

log = logging.getLogger(__name__)

Key = tuple[str, str, int]


class PullRequestReviews:
    def __init__(self, settings: Settings, store: Store, repo: ConfigRepo,
                 convergence: Convergence, forges: Forges, *, secrets: list[str] | None = None,
                 on_review: Callable[[PullRequestEvent, Review, float], None] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.repo = repo
        self.convergence = convergence
        self.forges = forges
        self.secrets = secrets or []
        self.on_review = on_review
        self.recorder = Recorder(store)
        self._pending: dict[Key, tuple[PullRequestEvent, float]] = {}
        self._active: set[Key] = set()  # PRs being reviewed: one review per PR at a time, newest last
        self._cond = threading.Condition()
        self._stopping = False
        self._threads: list[threading.Thread] = []

    # -- the API's side ---------------------------------------------------------------------------

    def submit(self, event: PullRequestEvent) -> None:
        """Queue a review of `event` (replacing a queued one of the same PR)."""
        with self._cond:
            self._pending[(event.provider, event.repo, event.number)] = (event, time.monotonic())
            self._cond.notify()

    # -- the thread ---------------------------------------------------------------------------------

    def start(self) -> None:
        for i in range(self.settings.review_concurrency):
            thread = threading.Thread(target=self.run, name=f"phoenix-reviews-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    def _next(self) -> tuple[Key, PullRequestEvent, float] | None:
        """The oldest queued PR nobody is reviewing now (under the lock)."""
        for key in self._pending:
            if key not in self._active:
                event, received = self._pending.pop(key)
                self._active.add(key)
                return key, event, received
        return None

    def run(self) -> None:
        """One worker: reviews queued PRs, oldest first, until `stop`."""
        while True:
            with self._cond:
                job = None
                while not self._stopping and (job := self._next()) is None:
                    self._cond.wait()
                if self._stopping or job is None:
                    return
            key, event, received = job
            try:
                self.review(event, received)
            except Exception:  # a bug in one review must not end the others
                log.exception("review of %s #%d crashed", event.repo, event.number)
            finally:
                with self._cond:
                    self._active.discard(key)
                    self._cond.notify_all()

    # -- one review ---------------------------------------------------------------------------------

    def review(self, event: PullRequestEvent, received: float | None = None) -> Review:
        """Fetch, validate, plan (read-only), comment and set the status of one PR; the review."""
        received = time.monotonic() if received is None else received
        forge = self.forges.for_provider(event.provider)
        if event.head_sha and len(event.head_sha) >= 40 and not self._has_status(forge, event, event.head_sha):
            self._status(forge, event, event.head_sha, CommitState.pending, "validating and planning (read-only)")
        # (the status goes on the head actually fetched; the webhook's may be behind it by then)
        review = self._review(event)
        self._record(event, review)
        self._post(forge, event, review)
        announced = event.head_sha if event.head_sha and len(event.head_sha) >= 40 else None
        if announced and review.head_sha and announced != review.head_sha:  # a newer push came meanwhile
            self._status(forge, event, announced, CommitState.error,
                         f"superseded: the pull request's head is now {review.head_sha[:12]}")
        if self.on_review is not None:
            self.on_review(event, review, time.monotonic() - received)
        log.info("reviewed %s #%d at %s: %s", event.repo, event.number, review.head_sha[:12], review.state,
                 extra={"revision": review.head_sha})
        return review

    def _review(self, event: PullRequestEvent) -> Review:
        """The review itself; whatever goes wrong ends in a review with an error, never a PR left pending."""
        folder = Path(tempfile.mkdtemp(prefix=f"pr-{event.number}-", dir=self._reviews_dir()))
        try:
            head = self.repo.fetch_ref(event.head_ref)
            self.repo.export(head.sha, folder)
            applied = self._applied()
            return review_config(folder, head.sha, self.convergence, live=True, policy=self.settings.policy,
                                 revision_url=self._page_url(head.sha), applied_revision=applied,
                                 earlier_dir=ran_folder(self.settings, self.repo, applied))
        except errors.PhoenixError as exc:
            return Review(event.head_sha or "", "the live node", error=str(exc))
        except Exception:  # a bug: said on the PR, detailed in the log
            log.exception("review of %s #%d failed", event.repo, event.number)
            return Review(event.head_sha or "", "the live node", error="internal error; see the controller's log")
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _applied(self) -> str | None:
        try:
            return self.store.get_state(drift=False).applied_revision
        except errors.StoreError:
            return None

    def _reviews_dir(self) -> Path:
        path = self.settings.data_dir / "reviews"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _page_url(self, sha: str) -> str | None:
        base = self.settings.public_url.rstrip("/")
        return f"{base}/reviews/{sha}" if base else None

    def _record(self, event: PullRequestEvent, review: Review) -> None:
        payload = events.PullRequestReviewed(
            provider=event.provider, repo=event.repo, number=event.number, head_sha=review.head_sha,
            state=review.state, against=review.against, error=self._clean(review.error) if review.error else None,
            validation=review.report.to_dict() if review.report else None,
            plan=review.plan.to_dict() if review.plan else None, markdown=self._clean(review.markdown()))
        message = self._clean(f"{event.repo} #{event.number} at {review.head_sha[:12]}: {review.state}, "
                              f"{review.description}")
        try:
            self.recorder.event(events.EventKind.PR_REVIEW, message, payload,
                                level="info" if review.state == "success" else "warning")
        except errors.StoreError as exc:
            log.warning("could not record the review of #%d: %s", event.number, exc)

    def _post(self, forge: ForgeClient | None, event: PullRequestEvent, review: Review) -> None:
        if forge is None:
            return
        try:
            forge.upsert_comment(event.repo, event.number, self._clean(review.markdown()), MARKER)
        except errors.PhoenixError as exc:
            log.warning("could not comment on %s #%d: %s", event.repo, event.number, exc)
        if review.head_sha:
            state = {"success": CommitState.success, "failure": CommitState.failure,
                     "error": CommitState.error}[review.state]
            self._status(forge, event, review.head_sha, state, review.description)

    def _status(self, forge: ForgeClient | None, event: PullRequestEvent, sha: str, state: CommitState,
                description: str) -> None:
        if forge is None:
            return
        status = CommitStatus(state, self.settings.status_context, self._clean(description), self._page_url(sha))
        try:
            forge.set_status(event.repo, sha, status)
        except errors.PhoenixError as exc:
            log.warning("could not set the %s status of %s: %s", state, sha[:12], exc)

    def _has_status(self, forge: ForgeClient | None, event: PullRequestEvent, sha: str) -> bool:
        """The commit has our status already (a review of it ran before): GitLab answers 400 to a second
        `pending` of one name, so it is posted only once; the review's result replaces it either way."""
        if forge is None:
            return False
        try:
            return forge.has_status(event.repo, sha, self.settings.status_context)
        except errors.PhoenixError as exc:
            log.warning("could not read the statuses of %s: %s", sha[:12], exc)
            return False

    def _clean(self, text: str) -> str:
        return scrub(text, self.secrets)
