"""Pull-request reviews end to end: a real config repo, the simulated node, the forge simulator.

The PR's head is fetched from `refs/pull/N/head`, validated, planned against the live node read-only,
and shown as one comment (edited in place on later pushes) and a commit status.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from gitops.controller.forging import Forges
from gitops.controller.pullrequests import PullRequestReviews
from gitops.controller.systems import Convergence
from gitops.demo.forges import ForgeSimulator
from gitops.drivers.proxmox.connection import connect
from gitops.errors import NotFoundError
from gitops.retrying import RetryPolicy
from gitops.source import parse_pull_request
from tests.controller.conftest import Ctl
from tests.controller.support import git, invalid_estate, small_estate, wait_for
from tests.forges import payloads

REPO = "ann/config"


@pytest.fixture
def forge() -> Iterator[ForgeSimulator]:
    with ForgeSimulator() as sim:
        sim.add_repo("github", REPO, pulls=[7])
        sim.add_repo("gitlab", REPO, pulls=[7])
        sim.add_repo("bitbucket", REPO, pulls=[7])
        yield sim


@pytest.fixture
def reviews(ctl: Ctl, forge: ForgeSimulator) -> Iterator[PullRequestReviews]:
    settings = ctl.settings.model_copy(update={
        "github_api_url": forge.url, "github_token": SecretStr(forge.tokens["github"]),
        "gitlab_url": forge.url, "gitlab_token": SecretStr(forge.tokens["gitlab"]),
        "bitbucket_api_url": forge.url, "bitbucket_token": SecretStr(forge.tokens["bitbucket"]),
        "public_url": "https://phoenix.example.org"})
    forges = Forges(settings, sleep=lambda s: None, policy=RetryPolicy(attempts=2))
    yield PullRequestReviews(settings, ctl.store, ctl.repo, Convergence(settings, sleep=lambda s: None), forges)
    forges.close()


def open_pr(ctl: Ctl, files: dict[str, str], ref: str = "refs/pull/7/head", message: str = "pr") -> str:
    sha = ctl.remote.commit(files, message, push=False)
    git("push", "--quiet", "--force", "origin", f"HEAD:{ref}", cwd=ctl.remote.work)
    return sha


def github_event(sha: str, action: str = "synchronize") -> Any:
    body = payloads.body_of(payloads.github(action, 7, sha, "more-memory"))
    return parse_pull_request("github", {"X-GitHub-Event": "pull_request"}, body)


def live_memory(ctl: Ctl) -> Any:
    with connect(ctl.settings) as client:
        return client.api.nodes(client.node).lxc(101).config.get()["memory"]


def test_one_memory_change_one_comment_success_and_nothing_applied(ctl: Ctl, reviews: PullRequestReviews,
                                                                    forge: ForgeSimulator) -> None:
    ctl.remote.commit(small_estate(memory=512), "base")
    assert ctl.run().action == "applied"
    sha = open_pr(ctl, small_estate(memory=1024))

    review = reviews.review(github_event(sha))

    assert review.state == "success"
    assert [(a.target, a.action, [(c.field, c.new) for c in a.changes]) for a in review.plan.actions] == [
        ("lxc/101", "update", [("memory", "1024")])]
    [comment] = forge.comments("github", REPO, 7)
    assert "| 1 | `lxc/101` | update | `memory`: `512` → `1024` |" in comment["body"]
    assert comment["body"].count("| 1 |") == 1 and "| 2 |" not in comment["body"]
    statuses = forge.statuses("github", REPO, sha)
    assert [s["state"] for s in statuses] == ["pending", "success"]
    assert statuses[-1]["target_url"] == f"https://phoenix.example.org/reviews/{sha}"
    assert statuses[-1]["context"] == "phoenix-gitops"
    # nothing in a PR is applied, and a PR head is no revision of the followed branch
    assert live_memory(ctl) == 512
    with pytest.raises(NotFoundError):
        ctl.store.get_revision(sha)
    assert f"where revision {ctl.store.get_state().applied_revision[:12]} is applied" in comment["body"]
    [event] = ctl.store.list_events(kind="pr-review")
    assert event.data["head_sha"] == sha and event.data["state"] == "success"


def test_pushing_again_edits_the_same_comment(ctl: Ctl, reviews: PullRequestReviews, forge: ForgeSimulator) -> None:
    ctl.remote.commit(small_estate(memory=512), "base")
    ctl.run()
    reviews.review(github_event(open_pr(ctl, small_estate(memory=1024)), action="opened"))
    second = open_pr(ctl, small_estate(memory=2048))
    reviews.review(github_event(second))
    [comment] = forge.comments("github", REPO, 7)
    assert "`512` → `2048`" in comment["body"] and "1024" not in comment["body"]
    assert second[:12] in comment["body"]


def test_an_invalid_file_fails_with_file_and_line(ctl: Ctl, reviews: PullRequestReviews,
                                                  forge: ForgeSimulator) -> None:
    ctl.remote.commit(small_estate(memory=512), "base")
    ctl.run()
    sha = open_pr(ctl, invalid_estate())
    review = reviews.review(github_event(sha))
    assert review.state == "failure" and review.plan is None
    [comment] = forge.comments("github", REPO, 7)
    assert "`phoenix_lxc_configs.json:" in comment["body"] and "clone_from_ctid" in comment["body"]
    final = forge.statuses("github", REPO, sha)[-1]
    assert final["state"] == "failure" and "phoenix_lxc_configs.json" in final["description"]


def test_gitlab_merge_request_heads(ctl: Ctl, reviews: PullRequestReviews, forge: ForgeSimulator) -> None:
    ctl.remote.commit(small_estate(memory=512), "base")
    ctl.run()
    sha = open_pr(ctl, small_estate(memory=768), ref="refs/merge-requests/7/head")
    body = payloads.body_of(payloads.gitlab("update", 7, sha, "more-memory"))
    reviews.review(parse_pull_request("gitlab", {"X-Gitlab-Event": "Merge Request Hook"}, body))
    [note] = forge.comments("gitlab", REPO, 7)
    assert "`512` → `768`" in note["body"]
    assert [s["status"] for s in forge.statuses("gitlab", REPO, sha)] == ["pending", "success"]


def test_bitbucket_pull_requests_by_their_source_branch(ctl: Ctl, reviews: PullRequestReviews,
                                                       forge: ForgeSimulator) -> None:
    ctl.remote.commit(small_estate(memory=512), "base")
    ctl.run()
    sha = open_pr(ctl, small_estate(memory=896), ref="refs/heads/more-memory")
    body = payloads.body_of(payloads.bitbucket(7, sha, "more-memory"))  # Bitbucket sends 12 hex digits
    review = reviews.review(parse_pull_request("bitbucket", {"X-Event-Key": "pullrequest:updated"}, body))
    assert review.head_sha == sha and review.state == "success"
    [text] = forge.bodies("bitbucket", REPO, 7)
    assert "`512` → `896`" in text
    [status] = forge.statuses("bitbucket", REPO, sha)  # the full sha; no pending for an abbreviation
    assert (status["state"], status["key"]) == ("SUCCESSFUL", "phoenix-gitops")


def test_a_forge_that_is_down_is_logged_not_raised(ctl: Ctl, reviews: PullRequestReviews,
                                                   forge: ForgeSimulator) -> None:
    ctl.remote.commit(small_estate(memory=512), "base")
    ctl.run()
    forge.down = True
    review = reviews.review(github_event(open_pr(ctl, small_estate(memory=1024))))
    assert review.state == "success"  # the review itself is done and recorded
    assert ctl.store.list_events(kind="pr-review")
    forge.down = False
    ctl.remote.commit(small_estate(memory=640), "next", push=False)
    git("push", "--quiet", "--force", "origin", "HEAD:refs/heads/main", cwd=ctl.remote.work)
    assert ctl.run().action == "applied"  # and the loop never noticed


def test_a_missing_head_is_an_error_status(ctl: Ctl, reviews: PullRequestReviews, forge: ForgeSimulator) -> None:
    ctl.remote.commit(small_estate(memory=512), "base")
    ctl.run()
    sha = "c" * 40
    review = reviews.review(github_event(sha))
    assert review.state == "error" and "refs/pull/7/head" in (review.error or "")
    assert [s["state"] for s in forge.statuses("github", REPO, sha)] == ["pending", "error"]
    assert json.dumps(forge.comments("github", REPO, 7)).count("could not be done") == 1


def test_nothing_in_a_pull_request_is_applied_whatever_it_holds(ctl: Ctl, reviews: PullRequestReviews,
                                                                forge: ForgeSimulator) -> None:
    ctl.remote.commit(small_estate(memory=512), "base")
    ctl.run()
    with connect(ctl.settings) as client:
        before = (client.get(f"nodes/{client.node}/lxc"), client.get(f"nodes/{client.node}/tasks"))
    # a PR that adds forty guests, resizes the one there is, and removes the template
    files = small_estate(memory=4096, cores=4, extra_guests=40)
    lxc = json.loads(files["phoenix_lxc_configs.json"])
    lxc["lxc_configs"]["101"]["storage_size_gb"] = 64
    files["phoenix_lxc_configs.json"] = json.dumps(lxc)
    review = reviews.review(github_event(open_pr(ctl, files)))
    assert review.plan is not None and len(review.plan.actions) > 40
    with connect(ctl.settings) as client:
        after = (client.get(f"nodes/{client.node}/lxc"), client.get(f"nodes/{client.node}/tasks"))
    assert sorted(g["vmid"] for g in after[0]) == sorted(g["vmid"] for g in before[0])
    assert len(after[1]) == len(before[1])  # not one task started
    assert live_memory(ctl) == 512


def test_queued_pushes_to_one_pr_are_one_review_of_the_newest(ctl: Ctl, reviews: PullRequestReviews,
                                                              forge: ForgeSimulator) -> None:
    ctl.remote.commit(small_estate(memory=512), "base")
    ctl.run()
    shas = [open_pr(ctl, small_estate(memory=600 + 8 * i), message=f"push {i}") for i in range(3)]
    seen: list[str] = []
    reviews.on_review = lambda event, review, took: seen.append(review.head_sha)
    for sha in shas:  # three pushes queued before the workers start
        reviews.submit(github_event(sha))
    reviews.start()
    try:
        wait_for(lambda: seen, 30, what="a review")
        time.sleep(0.3)
    finally:
        reviews.stop()
    assert seen == [shas[-1]]
    [comment] = forge.comments("github", REPO, 7)
    assert f"`512` → `{600 + 16}`" in comment["body"]


def test_a_webhook_overtaken_by_a_newer_push_leaves_no_pending_status(ctl: Ctl, reviews: PullRequestReviews,
                                                                      forge: ForgeSimulator) -> None:
    ctl.remote.commit(small_estate(memory=512), "base")
    ctl.run()
    old = open_pr(ctl, small_estate(memory=600))
    new = open_pr(ctl, small_estate(memory=700))  # pushed before the first webhook is handled
    reviews.review(github_event(old))
    assert [s["state"] for s in forge.statuses("github", REPO, old)] == ["pending", "error"]
    assert "superseded" in forge.statuses("github", REPO, old)[-1]["description"]
    assert [s["state"] for s in forge.statuses("github", REPO, new)] == ["success"]
