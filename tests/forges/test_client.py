"""The forge client against the simulator: statuses, the one comment kept in place, errors and retries."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import SecretStr

from gitops import errors
from gitops.demo.forges import ForgeSimulator
from gitops.forges import FORGE_KINDS, CommitState, CommitStatus, ForgeClient, ForgeKind
from tests.forges.conftest import REPO

SHA = "3f786850e387550fdab836ed7e6dc881de23001b"
MARKER = "<!-- phoenix-gitops:plan -->"
MakeClient = Callable[..., ForgeClient]


@pytest.mark.parametrize("kind", FORGE_KINDS)
def test_status_arrives_in_each_forges_words(forge_sim: ForgeSimulator, forge_client: MakeClient,
                                             kind: ForgeKind) -> None:
    client = forge_client(kind)
    client.set_status(REPO, SHA, CommitStatus(CommitState.pending, "phoenix-gitops", "planning", "http://x/r/1"))
    client.set_status(REPO, SHA, CommitStatus(CommitState.failure, "phoenix-gitops", "1 error " + "x" * 300))
    [pending, failed] = forge_sim.statuses(kind, REPO, SHA)
    words = {"gitlab": ("pending", "failed"), "bitbucket": ("INPROGRESS", "FAILED")}.get(kind, ("pending", "failure"))
    assert (pending["state"], failed["state"]) == words
    assert pending["url" if kind == "bitbucket" else "target_url"] == "http://x/r/1"
    assert len(failed["description"]) <= 140
    label = {"gitlab": "name", "bitbucket": "key"}.get(kind, "context")
    assert failed[label] == "phoenix-gitops"


@pytest.mark.parametrize("kind", FORGE_KINDS)
def test_one_comment_is_created_then_edited_in_place(forge_sim: ForgeSimulator, forge_client: MakeClient,
                                                     kind: ForgeKind) -> None:
    client = forge_client(kind)
    first = client.upsert_comment(REPO, 2, "### plan\none change", MARKER)
    second = client.upsert_comment(REPO, 2, "### plan\ntwo changes", MARKER)
    assert first.created and not second.created and first.comment_id == second.comment_id
    [body] = forge_sim.bodies(kind, REPO, 2)
    assert body.startswith("### plan\ntwo changes") and MARKER in body


@pytest.mark.parametrize("kind", FORGE_KINDS)
def test_our_comment_is_found_beyond_the_first_page(forge_sim: ForgeSimulator, forge_client: MakeClient,
                                                    kind: ForgeKind) -> None:
    client = forge_client(kind)
    for i in range(130):  # more than one page of 100
        forge_sim.add_comment(kind, REPO, 1, f"looks good {i}")
    ours = forge_sim.add_comment(kind, REPO, 1, f"old plan\n{MARKER}", author="phoenix-gitops")
    result = client.upsert_comment(REPO, 1, "new plan", MARKER)
    assert result.comment_id == ours and not result.created
    assert len(forge_sim.comments(kind, REPO, 1)) == 131
    pages = [r.query.get("page", "1") for r in forge_sim.received if r.method == "GET"]
    assert pages == (["1"] if kind == "gitea" else ["1", "2"])


def test_gitlab_system_notes_are_not_ours(forge_sim: ForgeSimulator, forge_client: MakeClient) -> None:
    note = forge_sim.add_comment("gitlab", REPO, 3, f"mentioned {MARKER}")
    forge_sim.repos[("gitlab", REPO)].comments[3][0]["system"] = True
    result = forge_client("gitlab").upsert_comment(REPO, 3, "plan", MARKER)
    assert result.created and result.comment_id != note


@pytest.mark.parametrize("kind", FORGE_KINDS)
def test_a_wrong_token_is_an_authentication_error_and_never_shown(forge_client: MakeClient,
                                                                 kind: ForgeKind) -> None:
    client = forge_client(kind, token="SENTINEL-wrong-token")
    with pytest.raises(errors.AuthenticationError) as caught:
        client.set_status(REPO, SHA, CommitStatus(CommitState.success, "phoenix-gitops"))
    assert "SENTINEL" not in str(caught.value)


def test_unavailable_forge_is_retried_then_succeeds(forge_sim: ForgeSimulator, forge_client: MakeClient) -> None:
    client = forge_client("github")
    forge_sim.fail_next(2, status=502)
    client.set_status(REPO, SHA, CommitStatus(CommitState.success, "phoenix-gitops"))
    assert [s["state"] for s in forge_sim.statuses("github", REPO, SHA)] == ["success"]
    assert len(client.sleep.calls) == 2  # type: ignore[attr-defined]


def test_a_forge_that_stays_down_gives_up_with_a_transient_error(forge_sim: ForgeSimulator,
                                                                 forge_client: MakeClient) -> None:
    client = forge_client("gitea")
    forge_sim.down = True
    with pytest.raises(errors.TransientError):
        client.upsert_comment(REPO, 1, "plan", MARKER)
    assert len(forge_sim.received) == 4  # attempts of the default policy


def test_unknown_repository_is_permanent(forge_client: MakeClient) -> None:
    with pytest.raises(errors.PermanentError) as caught:
        forge_client("gitlab").set_status("ann/nothing", SHA, CommitStatus(CommitState.success, "c"))
    assert "404" in str(caught.value)


def test_nothing_listens_is_transient(forge_sim: ForgeSimulator) -> None:
    url = forge_sim.url
    forge_sim.stop()
    client = ForgeClient("github", url, None, sleep=lambda _s: None, timeout=2)
    with pytest.raises(errors.TransientError):
        client.set_status(REPO, SHA, CommitStatus(CommitState.success, "c"))
    client.close()


def test_github_enterprise_api_root_with_its_path() -> None:
    with ForgeSimulator(github_prefix="/api/v3") as sim:
        sim.add_repo("github", REPO, pulls=[1])
        for i in range(120):
            sim.add_comment("github", REPO, 1, f"chatter {i}")
        client = ForgeClient("github", sim.api_url("github"), SecretStr(sim.tokens["github"]), sleep=lambda s: None)
        client.set_status(REPO, SHA, CommitStatus(CommitState.success, "phoenix-gitops"))
        client.upsert_comment(REPO, 1, "plan", MARKER)
        client.close()
        assert {r.path.split("/repos/")[0] for r in sim.received} == {"/api/v3"}
        assert len(sim.comments("github", REPO, 1)) == 121 and sim.statuses("github", REPO, SHA)


def test_gitlab_refuses_a_second_pending_of_one_name_and_lists_statuses(forge_sim: ForgeSimulator,
                                                                        forge_client: MakeClient) -> None:
    """GitLab's commit status state machine: `pending` over `pending` is 400 (the simulator as GitLab)."""
    client = forge_client("gitlab")
    assert not client.has_status(REPO, SHA, "phoenix-gitops")
    client.set_status(REPO, SHA, CommitStatus(CommitState.pending, "phoenix-gitops", "planning"))
    assert client.has_status(REPO, SHA, "phoenix-gitops") and not client.has_status(REPO, SHA, "other")
    with pytest.raises(errors.PhoenixError, match="Cannot transition status via :enqueue from :pending"):
        client.set_status(REPO, SHA, CommitStatus(CommitState.pending, "phoenix-gitops", "planning"))
    client.set_status(REPO, SHA, CommitStatus(CommitState.success, "phoenix-gitops", "ok"))
    client.set_status(REPO, SHA, CommitStatus(CommitState.pending, "phoenix-gitops", "again"))  # after a result
    assert [s["status"] for s in forge_sim.statuses("gitlab", REPO, SHA)] == ["pending", "success", "pending"]
    assert not forge_client("github").has_status(REPO, SHA, "phoenix-gitops")  # GitHub replaces: no need to ask
