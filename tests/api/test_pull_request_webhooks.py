"""Pull-request webhooks at the API: signed as pushes are, queued for a read-only review, never a sync."""
# ruff: noqa: F811 -- the fixtures of test_app are imported, then asked for by name as parameters

from __future__ import annotations

import pytest

from gitops.store import Store
from tests.api.test_app import SECRET, FakeController, client_for, controller, store  # noqa: F401
from tests.forges import payloads

SHA = "d" * 40


@pytest.mark.parametrize(("provider", "payload"), [
    ("github", payloads.github("opened", 5, SHA, "feature")),
    ("gitea", payloads.gitea("synchronized", 5, SHA, "feature")),
    ("gitlab", payloads.gitlab("update", 5, SHA, "feature")),
    ("bitbucket", payloads.bitbucket(5, SHA, "feature")),
])
def test_pull_requests_are_queued_for_review_not_for_sync(store: Store, controller: FakeController, client_for,
                                                          provider: str, payload: dict[str, object]) -> None:
    body = payloads.body_of(payload)
    headers = payloads.signed(provider, body, SECRET, payloads.EVENT[provider])
    with client_for(store, controller) as api:
        answer = api.post(f"/api/v1/webhooks/{provider}", content=body, headers=headers)
        assert answer.status_code == 202, answer.text
        assert answer.json()["queued"] == "review" and answer.json()["pull_request"] == 5
        forged = dict(headers)
        for name in ("X-Hub-Signature-256", "X-Gitea-Signature", "X-Hub-Signature"):
            if name in forged:
                forged[name] = ("sha256=" if name != "X-Gitea-Signature" else "") + "0" * 64
        if "X-Gitlab-Token" in forged:
            forged["X-Gitlab-Token"] = "wrong"
        assert api.post(f"/api/v1/webhooks/{provider}", content=body, headers=forged).status_code == 401
    [review] = controller.reviews
    assert (review.provider, review.number, review.wants_review) == (provider, 5, True)
    assert controller.triggers == []  # a pull request never wakes the apply loop


def test_closed_pull_requests_and_other_events_are_ignored(store: Store, controller: FakeController,
                                                           client_for) -> None:
    closed = payloads.body_of(payloads.github("closed", 5, SHA, "feature"))
    ping = b'{"zen": "Keep it logically awesome.", "hook_id": 1}'
    with client_for(store, controller) as api:
        answer = api.post("/api/v1/webhooks/github", content=closed,
                          headers=payloads.signed("github", closed, SECRET, "pull_request"))
        assert answer.status_code == 202 and "closed" in answer.json()["ignored"]
        answer = api.post("/api/v1/webhooks/github", content=ping, headers=payloads.signed("github", ping, SECRET,
                                                                                             "ping"))
        assert answer.status_code == 202 and "ignored" in answer.json()
        broken = b'{"action": "opened"}'
        assert api.post("/api/v1/webhooks/github", content=broken,
                        headers=payloads.signed("github", broken, SECRET, "pull_request")).status_code == 400
    assert controller.reviews == [] and controller.triggers == []


def test_a_review_is_readable_by_its_head(store: Store, controller: FakeController, client_for) -> None:
    store.add_event("pr-review", "ann/config #5 at dddddddddddd: success", data={
        "head_sha": SHA, "state": "success", "number": 5, "markdown": "## ok"})
    with client_for(store, controller) as api:
        assert api.get(f"/api/v1/reviews/{SHA[:12]}").json()["state"] == "success"
        assert api.get("/api/v1/reviews/eeeeeeeeeeee").status_code == 404
