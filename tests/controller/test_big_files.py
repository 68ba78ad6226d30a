"""Git input within bounds (issue 18): a commit's files are exported only when the controller reads them,
each blob's size is checked before it is read, and each is streamed to disk. A big file nothing names is
never read; a big file the config names rejects the revision (`file-too-large`) and the next good commit
applies; a pull request's head is held to the same bound. (`tests/perf/bench_big_files.py` measures the
controller's peak memory with a 1 GB file.)"""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from gitops.controller.forging import Forges
from gitops.controller.pullrequests import PullRequestReviews
from gitops.controller.systems import Convergence
from gitops.demo.forges import ForgeSimulator
from gitops.retrying import RetryPolicy
from gitops.source import parse_pull_request
from gitops.source.exporting import DEFAULT_MAX_FILE_BYTES
from tests.controller.conftest import Ctl
from tests.controller.support import changes_sent, git, small_estate
from tests.controller.test_hostile_commits import with_web
from tests.forges import payloads

LXC = "phoenix_lxc_configs.json"
BIG = 48 * 1024 * 1024  # big enough that reading it whole would show; git compresses the zeros fast


def write_big(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.truncate(size)  # zeros: a blob of `size` bytes, cheap to make


def naming(script: str) -> dict[str, str]:
    return with_web({"application_script": script})


def test_a_big_file_nothing_names_is_never_read(ctl: Ctl) -> None:
    write_big(ctl.remote.work / "images" / "disk.iso", BIG)
    sha = ctl.remote.commit(small_estate(), "an ISO beside the config")
    tracemalloc.start()
    try:
        assert ctl.run().action == "applied"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < BIG // 4, f"{peak} bytes allocated at the peak"
    checkout = ctl.repo.checkout(sha)
    assert not (checkout / "images").exists()  # not exported
    assert sorted(p.name for p in checkout.iterdir()) == sorted(small_estate())


def test_a_big_file_the_config_names_rejects_the_revision_and_the_next_good_commit_applies(
        ctl: Ctl, pve: Any) -> None:
    ctl.remote.commit(small_estate(), "base")
    assert ctl.run().action == "applied"
    write_big(ctl.remote.work / "bin" / "app.sh", DEFAULT_MAX_FILE_BYTES + 1)
    bad = ctl.remote.commit(naming("app.sh"), "an 8 MiB application script")
    pve.requests.clear()
    tracemalloc.start()
    try:
        assert ctl.run().action == "rejected"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < DEFAULT_MAX_FILE_BYTES // 2
    assert changes_sent(pve) == []
    record = ctl.store.get_revision(bad)
    assert record.status == "rejected"
    assert [e["code"] for e in record.validation.stored()["errors"]] == ["file-too-large"]
    assert "bin/app.sh" in record.validation.stored()["errors"][0]["message"]
    assert ctl.run().action == "none"  # not tried again
    (ctl.remote.work / "bin" / "app.sh").write_text("#!/bin/sh\necho small\n")
    good = ctl.remote.commit(naming("app.sh"), "a small script")
    assert ctl.run().action == "applied"
    assert ctl.status(good) == "applied"
    assert (ctl.repo.checkout(good) / "bin" / "app.sh").read_text().endswith("echo small\n")


def test_a_pull_request_head_with_a_big_named_file_is_refused_by_its_review(ctl: Ctl) -> None:
    ctl.remote.commit(small_estate(), "base")
    assert ctl.run().action == "applied"
    write_big(ctl.remote.work / "bin" / "app.sh", DEFAULT_MAX_FILE_BYTES + 1)
    write_big(ctl.remote.work / "unnamed.bin", BIG)
    sha = ctl.remote.commit(naming("app.sh"), "pr", push=False)
    git("push", "--quiet", "--force", "origin", "HEAD:refs/pull/7/head", cwd=ctl.remote.work)
    with ForgeSimulator() as forge:
        forge.add_repo("github", "ann/config", pulls=[7])
        settings = ctl.settings.model_copy(update={"github_api_url": forge.url,
                                                   "github_token": SecretStr(forge.tokens["github"])})
        forges = Forges(settings, sleep=lambda s: None, policy=RetryPolicy(attempts=2))
        reviews = PullRequestReviews(settings, ctl.store, ctl.repo, Convergence(settings, sleep=lambda s: None),
                                     forges)
        body = payloads.body_of(payloads.github("synchronize", 7, sha, "big"))
        tracemalloc.start()
        try:
            review = reviews.review(parse_pull_request("github", {"X-GitHub-Event": "pull_request"}, body))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            forges.close()
        assert review.error is not None and "file-too-large" in review.error and "bin/app.sh" in review.error
        assert peak < DEFAULT_MAX_FILE_BYTES // 2
        [comment] = forge.comments("github", "ann/config", 7)
        assert "file-too-large" in comment["body"]
