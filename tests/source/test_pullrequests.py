"""Pull-request webhooks of each provider: which events they are, and what they say."""

from __future__ import annotations

import pytest

from gitops import errors
from gitops.source import event_type, parse_pull_request, verify_webhook
from tests.forges import payloads

SHA = "ab" * 20
SECRET = "hook-secret"


@pytest.mark.parametrize(("provider", "headers", "expected"), [
    ("github", {"X-GitHub-Event": "pull_request"}, "pull_request"),
    ("github", {"X-GitHub-Event": "push"}, "push"),
    ("github", {"X-GitHub-Event": "ping"}, "ignored"),
    ("github", {}, "push"),
    ("gitea", {"X-Gitea-Event": "pull_request"}, "pull_request"),
    ("gitea", {"X-Forgejo-Event": "pull_request"}, "pull_request"),
    ("gitea", {"X-Gitea-Event": "issues"}, "ignored"),
    ("gitlab", {"X-Gitlab-Event": "Merge Request Hook"}, "pull_request"),
    ("gitlab", {"X-Gitlab-Event": "Push Hook"}, "push"),
    ("gitlab", {"X-Gitlab-Event": "Note Hook"}, "ignored"),
    ("bitbucket", {"X-Event-Key": "pullrequest:created"}, "pull_request"),
    ("bitbucket", {"X-Event-Key": "repo:push"}, "push"),
    ("bitbucket", {"X-Event-Key": "issue:created"}, "ignored"),
    ("generic", {"X-Event": "whatever"}, "push"),
])
def test_event_type(provider: str, headers: dict[str, str], expected: str) -> None:
    assert event_type(provider, headers) == expected


@pytest.mark.parametrize(("provider", "payload", "event", "action", "ref"), [
    ("github", payloads.github("synchronize", 7, SHA, "more-memory"), "pull_request", "updated", "refs/pull/7/head"),
    ("github", payloads.github("opened", 7, SHA, "more-memory"), "pull_request", "opened", "refs/pull/7/head"),
    ("gitea", payloads.gitea("synchronized", 7, SHA, "more-memory"), "pull_request", "updated", "refs/pull/7/head"),
    ("gitea", payloads.gitea("closed", 7, SHA, "more-memory"), "pull_request", "closed", "refs/pull/7/head"),
    ("gitlab", payloads.gitlab("update", 7, SHA, "more-memory"), "Merge Request Hook", "updated",
     "refs/merge-requests/7/head"),
    ("gitlab", payloads.gitlab("open", 7, SHA, "more-memory"), "Merge Request Hook", "opened",
     "refs/merge-requests/7/head"),
    ("bitbucket", payloads.bitbucket(7, SHA, "more-memory"), "pullrequest:created", "opened",
     "refs/heads/more-memory"),
    ("bitbucket", payloads.bitbucket(7, SHA, "more-memory"), "pullrequest:fulfilled", "closed",
     "refs/heads/more-memory"),
])
def test_pull_request_events_signed_as_pushes(provider: str, payload: dict[str, object], event: str,
                                              action: str, ref: str) -> None:
    body = payloads.body_of(payload)
    headers = payloads.signed(provider, body, SECRET, event)
    assert verify_webhook(provider, headers, body, SECRET)
    assert event_type(provider, headers) == "pull_request"
    pr = parse_pull_request(provider, headers, body)
    assert (pr.number, pr.action, pr.head_ref, pr.repo) == (7, action, ref, "ann/config")
    assert (pr.head_branch, pr.base_branch) == ("more-memory", "main")
    assert pr.head_sha == (SHA[:12] if provider == "bitbucket" else SHA)
    assert pr.wants_review == (action != "closed")


def test_a_gitlab_update_without_new_commits_is_not_reviewed() -> None:
    payload = payloads.gitlab("update", 7, SHA, "more-memory")
    del payload["object_attributes"]["oldrev"]  # a title edit
    pr = parse_pull_request("gitlab", {}, payloads.body_of(payload))
    assert pr.action == "other" and not pr.wants_review


def test_a_pull_request_without_its_number_is_a_clear_error() -> None:
    with pytest.raises(errors.SourceError, match="pull_request"):
        parse_pull_request("github", {}, b'{"action": "opened"}')
    with pytest.raises(errors.SourceError, match="not JSON"):
        parse_pull_request("gitlab", {}, b"<html>")
    with pytest.raises(errors.SourceError, match="no pull-request"):
        parse_pull_request("generic", {}, b"{}")


@pytest.mark.parametrize(("event_repo", "git_url", "forge_repo", "same"), [
    ("ann/config", "https://github.com/ann/config.git", "", True),
    ("Ann/Config", "https://github.com/ann/config", "", True),
    ("ann/config", "git@github.com:ann/config.git", "", True),
    ("ann/config", "ssh://git@gitea.example.org:2222/ann/config.git", "", True),
    ("group/sub/config", "https://gitlab.example.org/group/sub/config.git", "", True),
    ("mallory/config", "https://github.com/ann/config.git", "", False),
    ("ann/other", "git@github.com:ann/config.git", "", False),
    ("ann/config", "file:///srv/git/config.git", "", True),
    ("ann/config", "/srv/git/config.git", "", True),
    ("ann/config", "file:///srv/git/config.git", "ann/config", True),
    ("mallory/config", "file:///srv/git/config.git", "ann/config", False),
])
def test_events_of_other_repositories_are_told_apart(event_repo: str, git_url: str, forge_repo: str,
                                                     same: bool) -> None:
    from gitops.source import same_repository

    assert same_repository(event_repo, git_url, forge_repo) is same
