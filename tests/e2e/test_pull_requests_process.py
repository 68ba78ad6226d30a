"""The controller as a process with a forge and a notification receiver: a PR webhook gets one comment
and a status within seconds, the followed branch gets deploy statuses and notifications, and a secret
sentinel placed in every secret setting and secret file never comes out anywhere."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from gitops.demo.forges import ForgeSimulator
from tests.controller.support import SECRETS, GitRemote, git, invalid_estate, small_estate, wait_for
from tests.e2e.conftest import Controller
from tests.forges import payloads
from tests.notify.receiver import Receiver

pytestmark = pytest.mark.slow
SENTINEL = "SENTINEL-5e9b1f"
REPO = "ann/config"


@pytest.fixture
def forge() -> Iterator[ForgeSimulator]:
    with ForgeSimulator(tokens={"github": f"{SENTINEL}-github", "gitea": "x", "gitlab": "y"}) as sim:
        sim.add_repo("github", REPO, pulls=[7])
        yield sim


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_pull_request_review_deploy_statuses_notifications_and_no_secret_anywhere(
        controller: Callable[..., Controller], remote: GitRemote, forge: ForgeSimulator, receiver: Receiver,
        tmp_path: Path) -> None:
    secrets = tmp_path / "sentinel-secrets"
    secrets.mkdir()
    for name in SECRETS:
        (secrets / name).write_text(f"{SENTINEL}-{name}\n")
    notify = [{"kind": "webhook", "url": receiver.url(f"/phoenix?key={SENTINEL}-url"), "secret": f"{SENTINEL}-hmac",
               "events": ["applied", "failed", "rejected"]}]
    api_token = f"{SENTINEL}-api"
    base = remote.commit(small_estate(memory=512), "base")
    ctl = controller(remote, PHOENIX_SECRETS_DIR=str(secrets), PHOENIX_API_TOKEN=api_token,
                     PHOENIX_WEBHOOK_SECRET=f"{SENTINEL}-webhook", PHOENIX_GIT_TOKEN=f"{SENTINEL}-git",
                     PHOENIX_GITHUB_TOKEN=f"{SENTINEL}-github", PHOENIX_GITHUB_API_URL=forge.url,
                     PHOENIX_GITLAB_TOKEN=f"{SENTINEL}-gitlab", PHOENIX_GITEA_TOKEN=f"{SENTINEL}-gitea",
                     PHOENIX_PORTAINER_API_KEY=f"{SENTINEL}-portainer",
                     PHOENIX_BITBUCKET_TOKEN=f"{SENTINEL}-bitbucket", PHOENIX_API_READ_TOKEN=f"{SENTINEL}-read",
                     PHOENIX_FORGE="github", PHOENIX_FORGE_REPO=REPO, PHOENIX_PUBLIC_URL="https://phoenix.example.org",
                     PHOENIX_NOTIFY=json.dumps(notify)).start()
    ctl.api.headers["Authorization"] = f"Bearer {api_token}"
    ctl.wait_status(base, "applied")

    # the followed branch: a deploy status and a notification for each revision
    wait_for(lambda: forge.statuses("github", REPO, base), 30, what="deploy status of the base")
    [deployed] = forge.statuses("github", REPO, base)
    assert (deployed["state"], deployed["context"]) == ("success", "phoenix-gitops/deploy")
    assert deployed["target_url"] == f"https://phoenix.example.org/revisions/{base}"
    wait_for(lambda: receiver.deliveries, 30, what="the applied notification")
    assert receiver.deliveries[0].json["kind"] == "applied"

    # a pull request: one comment, a success status, nothing applied
    pr_sha = remote.commit(small_estate(memory=1024), "more memory", push=False)
    git("push", "--quiet", "origin", "HEAD:refs/pull/7/head", cwd=remote.work)
    body = payloads.body_of(payloads.github("opened", 7, pr_sha, "more-memory"))
    sent = time.monotonic()
    answer = httpx.post(f"{ctl.url}/api/v1/webhooks/github", content=body,
                        headers=payloads.signed("github", body, f"{SENTINEL}-webhook", "pull_request"))
    assert answer.status_code == 202, answer.text
    wait_for(lambda: [s for s in forge.statuses("github", REPO, pr_sha) if s["state"] == "success"], 30,
             what="the PR's success status")
    assert time.monotonic() - sent < 10
    [comment] = forge.comments("github", REPO, 7)
    assert "| 1 | `lxc/101` | update | `memory`: `512` → `1024` |" in comment["body"]
    assert "| 2 |" not in comment["body"]
    assert ctl.status()["applied_revision"] == base
    assert ctl.api.get(f"/api/v1/reviews/{pr_sha}").json()["state"] == "success"

    # an invalid commit on the branch: rejected, a failure status, a notification
    bad = remote.commit(invalid_estate(), "broken", push=False)
    git("push", "--quiet", "--force", "origin", "HEAD:refs/heads/main", cwd=remote.work)
    ctl.wait_status(bad, "rejected")
    wait_for(lambda: forge.statuses("github", REPO, bad), 30, what="the rejected deploy status")
    assert forge.statuses("github", REPO, bad)[-1]["state"] == "failure"
    wait_for(lambda: any(d.json["kind"] == "rejected" for d in receiver.deliveries), 30, what="rejected notice")

    # the sentinel: never in comments, statuses, notifications, the API, the dashboard or the logs
    seen = [forge.everything_sent(), *(d.body.decode() + json.dumps(d.headers) for d in receiver.deliveries)]
    for path in ("/", "/api/v1/status", "/api/v1/revisions", f"/api/v1/revisions/{base}",
                 f"/api/v1/revisions/{bad}", "/api/v1/events?limit=1000", f"/api/v1/reviews/{pr_sha}",
                 "/api/v1/resources", "/metrics", "/openapi.json"):
        seen.append(ctl.api.get(path).text)
    logs = "\n".join(p.read_text(errors="replace") for p in sorted(ctl.root.glob("serve-*.log")))
    assert "reviewed ann/config #7" in logs  # the log is there, and complete
    seen.append(logs)
    leaks = [text[max(0, text.find(SENTINEL) - 80): text.find(SENTINEL) + 40] for text in seen if SENTINEL in text]
    assert leaks == []
