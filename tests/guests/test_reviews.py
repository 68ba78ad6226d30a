"""A pull-request review plans through the controller's own port (`Convergence`): a changed provisioning
script shows the very `provision` action the controller then runs; a missing script fails the review."""

from __future__ import annotations

from typing import Any

from gitops.controller.reviewing import review_config
from gitops.controller.triggers import Trigger, coalesce
from tests.controller.conftest import Ctl
from tests.guests.test_ledger import SCRIPT, estate_with_script, pctl

__all__ = ["pctl"]


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
