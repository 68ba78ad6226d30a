"""A pull-request review plans through the controller's own port (`Convergence`): a changed provisioning
script shows the very `provision` action the controller then runs; a missing script fails the review."""

from __future__ import annotations

import json
from typing import Any

from pydantic import SecretStr

from gitops.controller.forging import Forges
from gitops.controller.pullrequests import PullRequestReviews
from gitops.controller.reviewing import review_config
from gitops.controller.systems import Convergence
from gitops.controller.triggers import Trigger, coalesce
from gitops.demo.forges import ForgeSimulator
from gitops.retrying import RetryPolicy
from tests.controller.conftest import Ctl
from tests.controller.test_pullrequests import REPO, forge, github_event, open_pr
from tests.guests.test_ledger import SCRIPT, estate_with_script, pctl

__all__ = ["forge", "pctl"]


def _review(pctl: Ctl, sha: str) -> Any:
    pctl.repo.fetch()
    return review_config(pctl.repo.checkout(sha), sha, pctl.reconciler.convergence, live=True,
                         policy=pctl.settings.policy)


def test_a_changed_script_is_the_provision_action_the_controller_runs(pctl: Ctl) -> None:
    (pctl.remote.work / SCRIPT).parent.mkdir(parents=True)
    pctl.remote.commit(estate_with_script("#!/bin/bash\necho one\n"), "scripts")
    assert pctl.reconciler.reconcile(coalesce((Trigger("poll"),))).action == "applied"

    sha = pctl.remote.commit(estate_with_script("#!/bin/bash\necho two\n"), "base_setup says two")
    review = _review(pctl, sha)
    assert review.state == "success", review.markdown()
    reviewed = review.plan.to_dict()["actions"]
    assert reviewed and {a["action"] for a in reviewed} == {"provision"}
    assert all(a["system"] == "guests" for a in reviewed)
    assert "provision" in review.markdown()

    assert pctl.reconciler.reconcile(coalesce((Trigger("poll"),))).action == "applied"
    applied = pctl.store.get_revision(sha).plan.stored()["actions"]
    assert [(a["target"], a["action"], a["calls"]) for a in applied] == \
        [(a["target"], a["action"], a["calls"]) for a in reviewed]


def test_a_missing_script_fails_the_review(pctl: Ctl) -> None:
    (pctl.remote.work / SCRIPT).parent.mkdir(parents=True)
    pctl.remote.commit(estate_with_script("#!/bin/bash\necho one\n"), "scripts")
    (pctl.remote.work / SCRIPT).unlink()
    sha = pctl.remote.commit({}, "the script is gone")
    review = _review(pctl, sha)
    assert review.state == "failure", review.markdown()
    assert review.plan is not None and {e.code for e in review.plan.errors} == {"script-missing"}
    assert "script-missing" in review.markdown()


def test_a_changed_script_is_a_diff_from_the_one_that_ran_in_the_pr_comment_and_the_ledger(
        pctl: Ctl, forge: ForgeSimulator) -> None:
    (pctl.remote.work / SCRIPT).parent.mkdir(parents=True)
    pctl.remote.commit(estate_with_script("#!/bin/bash\necho one\n"), "scripts")
    assert pctl.reconciler.reconcile(coalesce((Trigger("poll"),))).action == "applied"
    settings = pctl.settings.model_copy(update={"github_api_url": forge.url,
                                                "github_token": SecretStr(forge.tokens["github"])})
    forges = Forges(settings, sleep=lambda s: None, policy=RetryPolicy(attempts=2))
    reviews = PullRequestReviews(settings, pctl.store, pctl.repo, Convergence(settings, sleep=lambda s: None), forges)
    try:
        head = open_pr(pctl, estate_with_script("#!/bin/bash\necho two\n"))
        assert reviews.review(github_event(head)).state == "success"
    finally:
        forges.close()
    [comment] = forge.comments("github", REPO, 7)
    lines = comment["body"].splitlines()
    assert "<summary><code>lxc/101 feature:base_setup (diff)</code></summary>" in lines
    assert "-echo one" in lines and "+echo two" in lines

    sha = pctl.remote.commit(estate_with_script("#!/bin/bash\necho two\n"), "base_setup says two")
    assert pctl.reconciler.reconcile(coalesce((Trigger("poll"),))).action == "applied"
    [action] = pctl.store.get_revision(sha).plan.actions  # what the API, the dashboard and history show
    [change] = action.changes
    assert {"-echo one", "+echo two"} <= set(change.diff.splitlines())


def test_a_commit_changing_a_guest_and_its_script_shows_the_script_diff(pctl: Ctl) -> None:
    """The applied revision's own inputs say what ran: the diff shows though the guest's input changed too."""
    (pctl.remote.work / SCRIPT).parent.mkdir(parents=True)
    pctl.remote.commit(estate_with_script("#!/bin/bash\necho one\n"), "scripts")
    assert pctl.reconciler.reconcile(coalesce((Trigger("poll"),))).action == "applied"
    files = estate_with_script("#!/bin/bash\necho two\n")
    lxc = json.loads(files["phoenix_lxc_configs.json"])
    lxc["lxc_configs"]["101"]["memory_mb"] = 768
    sha = pctl.remote.commit({**files, "phoenix_lxc_configs.json": json.dumps(lxc, indent=2)}, "more memory, two")
    assert pctl.reconciler.reconcile(coalesce((Trigger("poll"),))).action == "applied"
    plan = pctl.store.get_revision(sha).plan
    assert [(a.target, a.action) for a in plan.actions] == [("lxc/101", "update"), ("lxc/101", "provision")]
    [change] = plan.actions[1].changes
    assert {"-echo one", "+echo two"} <= set(change.diff.splitlines())
