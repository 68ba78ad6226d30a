"""ConfigRepo against real repositories over file://, git daemon and smart HTTP on loopback."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from gitops import errors
from gitops.settings import Settings
from gitops.source import ConfigRepo, access
from tests.source.conftest import git

LXC = "phoenix_lxc_configs.json"
VM = "phoenix_vm_configs.json"


def lxc(memory: int) -> str:
    return json.dumps({"lxc_configs": {"101": {"name": "dns", "memory_mb": memory}}})


@pytest.fixture(params=["file", "git-daemon", "smart-http"])
def url_for(request: pytest.FixtureRequest) -> Callable[[Any], str]:
    if request.param == "file":
        return lambda remote: str(remote.url)
    if request.param == "git-daemon":
        daemon = request.getfixturevalue("git_daemon")
        return lambda remote: str(daemon.url(remote))
    server = request.getfixturevalue("git_http")()
    return lambda remote: str(server.url(remote))


@pytest.fixture
def open_repo(tmp_path: Path) -> Iterator[Callable[..., ConfigRepo]]:
    opened: list[ConfigRepo] = []

    def make(url: str, **kwargs: Any) -> ConfigRepo:
        kwargs.setdefault("workdir", tmp_path / "data" / "repo")
        repo = ConfigRepo(url, **kwargs)
        opened.append(repo)
        return repo

    yield make
    for repo in opened:
        repo.close()


def test_first_fetch_clones_and_reports_the_head(git_remote: Any, url_for: Any, open_repo: Any) -> None:
    remote = git_remote()
    sha = remote.commit({LXC: lxc(2048)}, "add the DNS container\n\nwith 2 GB")
    remote.push()

    repo = open_repo(url_for(remote))
    fetched = repo.fetch()

    assert fetched.cloned
    assert fetched.changed
    assert not fetched.forced
    assert fetched.previous_sha is None
    assert fetched.head.sha == sha
    assert fetched.head.author == "Ann Operator <ann@example.org>"
    assert fetched.head.subject == "add the DNS container"
    assert fetched.head.committed_at.tzinfo is not None
    assert abs(time.time() - fetched.head.committed_at.timestamp()) < 120
    assert repo.head() == fetched.head


def test_later_fetches_are_incremental(git_remote: Any, url_for: Any, open_repo: Any, tmp_path: Path) -> None:
    remote = git_remote()
    first = remote.commit({LXC: lxc(2048)})
    remote.push()
    repo = open_repo(url_for(remote))
    repo.fetch()
    objects = repo.git_dir / "objects"
    inode = objects.stat().st_ino
    marker = repo.git_dir / "phoenix-test-marker"
    marker.write_text("the clone is kept")

    unchanged = repo.fetch()
    assert not unchanged.changed
    assert not unchanged.cloned

    second = remote.commit({LXC: lxc(4096)})
    remote.push()
    moved = repo.fetch()
    assert (moved.previous_sha, moved.head.sha) == (first, second)
    assert moved.changed and not moved.cloned and not moved.forced
    assert marker.read_text() == "the clone is kept"
    assert objects.stat().st_ino == inode

    # a restart (a new ConfigRepo on the same folder) reuses the clone as well
    repo.close()
    third = remote.commit({VM: "{}"})
    remote.push()
    restarted = open_repo(url_for(remote))
    after_restart = restarted.fetch()
    assert not after_restart.cloned
    assert (after_restart.previous_sha, after_restart.head.sha) == (second, third)
    assert marker.exists()
    assert objects.stat().st_ino == inode


def test_several_commits_at_once(git_remote: Any, url_for: Any, open_repo: Any) -> None:
    remote = git_remote()
    base = remote.commit({LXC: lxc(1024)}, "base")
    remote.push()
    repo = open_repo(url_for(remote))
    repo.fetch()

    shas = [remote.commit({LXC: lxc(1024 * n)}, f"step {n}") for n in (2, 3, 4)]
    remote.push()
    fetched = repo.fetch()

    between = repo.commits_between(base, fetched.head.sha)
    assert [c.sha for c in between] == shas
    assert [c.subject for c in between] == ["step 2", "step 3", "step 4"]
    assert repo.commits_between(shas[-1], shas[-1]) == []
    assert [c.sha for c in repo.commits_between(None, shas[-1])] == [base, *shas]
    assert [c.sha for c in repo.commits_between(None, shas[-1], limit=2)] == shas[1:]
    assert repo.is_ancestor(base, shas[-1])


def test_force_push_is_detected_and_old_commits_stay_readable(
    git_remote: Any, url_for: Any, open_repo: Any
) -> None:
    remote = git_remote()
    base = remote.commit({LXC: lxc(1024)}, "base")
    dropped = remote.commit({LXC: lxc(9999)}, "a mistake")
    remote.push()
    repo = open_repo(url_for(remote))
    repo.fetch()

    remote.reset(base)
    rewritten = remote.commit({LXC: lxc(2048)}, "the right change")
    remote.push(force=True)
    fetched = repo.fetch()

    assert fetched.forced
    assert (fetched.previous_sha, fetched.head.sha) == (dropped, rewritten)
    assert [c.sha for c in repo.commits_between(dropped, rewritten)] == [rewritten]
    assert not repo.is_ancestor(dropped, rewritten)
    # the commit the force-push removed can still be read, e.g. to roll back to it
    assert json.loads((repo.checkout(dropped) / LXC).read_text())["lxc_configs"]["101"]["memory_mb"] == 9999

    remote.commit({VM: "{}"}, "fast-forward again")
    remote.push()
    assert not repo.fetch().forced


def test_checkout_of_an_old_commit(git_remote: Any, url_for: Any, open_repo: Any) -> None:
    remote = git_remote()
    old = remote.commit({LXC: lxc(1024), "configs/nested/x.json": "{}"}, "old")
    new = remote.commit({LXC: lxc(4096), VM: "{}", "configs/nested/x.json": None}, "new")
    remote.push()
    repo = open_repo(url_for(remote))
    repo.fetch()

    old_dir, new_dir = repo.checkout(old[:10]), repo.checkout(new)
    assert old_dir != new_dir
    assert old_dir.name == old
    assert json.loads((old_dir / LXC).read_text())["lxc_configs"]["101"]["memory_mb"] == 1024
    assert not (old_dir / VM).exists()
    assert not (old_dir / "configs").exists()  # nothing names it: never read, never exported (issue 18)
    assert json.loads((new_dir / LXC).read_text())["lxc_configs"]["101"]["memory_mb"] == 4096
    assert not (new_dir / "configs").exists()
    assert not (new_dir / ".git").exists()

    # a second checkout reuses the folder; pruning keeps what is asked for
    mtime = (old_dir / LXC).stat().st_mtime_ns
    assert repo.checkout(old) == old_dir
    assert (old_dir / LXC).stat().st_mtime_ns == mtime
    repo.prune_checkouts(keep=[new])
    assert not old_dir.exists()
    assert new_dir.exists()


def test_checkout_of_a_folder_in_the_repo(git_remote: Any, open_repo: Any) -> None:
    remote = git_remote()
    sha = remote.commit({f"estate/prod/{LXC}": lxc(512), "README.md": "docs"})
    remote.push()
    repo = open_repo(remote.url, path_in_repo="./estate/prod/")
    repo.fetch()
    folder = repo.checkout(sha)
    assert sorted(p.name for p in folder.iterdir()) == [LXC]

    elsewhere = open_repo(remote.url, path_in_repo="estate/staging", workdir=repo.workdir.parent / "other")
    elsewhere.fetch()
    with pytest.raises(errors.SourceError, match="estate/staging"):
        elsewhere.checkout(sha)
    with pytest.raises(errors.SourceError, match="inside the repository"):
        ConfigRepo(remote.url, path_in_repo="../etc", workdir=repo.workdir)


def test_unknown_commits_are_not_found(git_remote: Any, open_repo: Any) -> None:
    remote = git_remote()
    remote.commit({LXC: lxc(512)})
    remote.push()
    repo = open_repo(remote.url)
    repo.fetch()
    for ref in ("f" * 40, "HEAD~1", "--upload-pack=touch /tmp/x", ""):
        with pytest.raises(errors.NotFoundError):
            repo.checkout(ref)
    with pytest.raises(errors.NotFoundError):
        repo.commits_between("f" * 40, repo.head().sha)


def test_concurrent_checkouts_and_fetches(git_remote: Any, open_repo: Any) -> None:
    remote = git_remote()
    shas = [remote.commit({LXC: lxc(n)}) for n in range(1, 6)]
    remote.push()
    repo = open_repo(remote.url)
    repo.fetch()
    failures: list[BaseException] = []

    def work(sha: str) -> None:
        try:
            for _ in range(3):
                repo.fetch()
                assert (repo.checkout(sha) / LXC).exists()
        except BaseException as exc:  # reported in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(sha,)) for sha in shas * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert not [p for p in repo.checkouts_dir.iterdir() if p.name.startswith(".tmp-")]


# -- errors ------------------------------------------------------------------------------------


def test_missing_branch(git_remote: Any, url_for: Any, open_repo: Any) -> None:
    remote = git_remote()
    remote.commit({LXC: lxc(1)})
    remote.push()
    repo = open_repo(url_for(remote), branch="production")
    with pytest.raises(errors.SourceError, match="branch 'production' not found in"):
        repo.fetch()


def test_missing_repository(git_root: Path, open_repo: Any) -> None:
    repo = open_repo((git_root / "nothing-here.git").as_uri())
    expected = r"^cannot fetch file://.*nothing-here\.git \(branch main\): "
    with pytest.raises(errors.SourceError, match=expected) as e:
        repo.fetch()
    assert "does not appear to be a git repository" in str(e.value)


@pytest.mark.parametrize("scheme", ["git", "http", "ssh"])
def test_unreachable_remote(scheme: str, free_port: int, open_repo: Any, tmp_path: Path) -> None:
    key = tmp_path / "deploy_key"
    key.write_text("not really a key")
    key.chmod(0o600)
    repo = open_repo(
        f"{scheme}://git@127.0.0.1:{free_port}/config.git", token="tok-SECRET-123", ssh_key=key, timeout_s=20
    )
    with pytest.raises(errors.SourceError) as caught:
        repo.fetch()
    message = str(caught.value)
    assert message.startswith(f"cannot fetch {scheme}://git@127.0.0.1:{free_port}/config.git (branch main): ")
    assert "tok-SECRET-123" not in message
    assert "\n" not in message


def test_a_silent_server_times_out(open_repo: Any) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        repo = open_repo(f"git://127.0.0.1:{port}/config.git", timeout_s=1)
        started = time.monotonic()
        with pytest.raises(errors.SourceError, match="no answer within 1s"):
            repo.fetch()
        assert time.monotonic() - started < 15


def test_no_url() -> None:
    with pytest.raises(errors.SourceError, match="PHOENIX_GIT_URL"):
        ConfigRepo("", workdir="x")


# -- credentials -------------------------------------------------------------------------------


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_https_token_is_sent_but_never_stored(git_remote: Any, git_http: Any, open_repo: Any) -> None:
    remote = git_remote()
    sha = remote.commit({LXC: lxc(1)})
    remote.push()
    server = git_http(token="tok-SECRET-123")

    repo = open_repo(server.url(remote), token=SecretStr("tok-SECRET-123"))
    assert repo.fetch().head.sha == sha
    assert any(a.startswith("Basic ") for a in server.seen_authorization)
    repo.checkout(sha)
    stored = _all_bytes(repo.workdir)
    assert b"tok-SECRET-123" not in stored
    assert b"Authorization" not in stored
    assert f"url = {server.url(remote)}".encode() in (repo.git_dir / "config").read_bytes()


def test_token_inside_the_url_is_moved_out_of_it(git_remote: Any, git_http: Any, open_repo: Any) -> None:
    remote = git_remote()
    sha = remote.commit({LXC: lxc(1)})
    remote.push()
    server = git_http(token="tok-SECRET-123")
    url = server.url(remote).replace("http://", "http://oauth2:tok-SECRET-123@")

    repo = open_repo(url)
    assert "tok-SECRET-123" not in repo.display_url
    assert repo.fetch().head.sha == sha
    assert b"tok-SECRET-123" not in _all_bytes(repo.workdir)


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_refused_token_is_a_clear_error(
    token: str | None, git_remote: Any, git_http: Any, open_repo: Any
) -> None:
    remote = git_remote()
    remote.commit({LXC: lxc(1)})
    remote.push()
    server = git_http(token="tok-SECRET-123")
    repo = open_repo(server.url(remote), token=token)
    expected = r"^cannot fetch http://127\.0\.0\.1:\d+/config\.git"
    with pytest.raises(errors.SourceError, match=expected) as caught:
        repo.fetch()
    assert ("token was refused" if token else "set a token") in str(caught.value)
    assert "wrong-token" not in str(caught.value)
    assert "tok-SECRET-123" not in str(caught.value)


def test_ssh_key_goes_into_the_ssh_command(tmp_path: Path) -> None:
    env = access.git_environment(
        "ssh://git@host/x.git", token=None, username=None, ssh_key=tmp_path / "my key",
        known_hosts=tmp_path / "known_hosts",
    )
    command = env["GIT_SSH_COMMAND"]
    assert f"-i '{tmp_path / 'my key'}'" in command
    assert "IdentitiesOnly=yes" in command
    assert "BatchMode=yes" in command
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert "GIT_CONFIG_COUNT" not in env


def test_ssh_key_given_as_content_is_written_private(tmp_path: Path) -> None:
    content = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----"
    path = access.materialise_ssh_key(content, tmp_path / "ssh")
    assert path is not None
    assert path.read_text() == content + "\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert access.materialise_ssh_key("~/.ssh/id_ed25519", tmp_path) == Path.home() / ".ssh" / "id_ed25519"
    assert access.materialise_ssh_key("", tmp_path) is None


def test_from_settings(tmp_path: Path, git_remote: Any) -> None:
    remote = git_remote()
    sha = remote.commit({f"cfg/{LXC}": lxc(1)})
    remote.push()
    settings = Settings(git_url=remote.url, git_branch="main", git_path="cfg", data_dir=tmp_path / "d")
    with ConfigRepo.from_settings(settings) as repo:
        assert repo.fetch().head.sha == sha
        assert repo.git_dir == tmp_path / "d" / "repo" / "mirror.git"
        assert (repo.checkout(sha) / LXC).exists()


def test_pull_request_heads_are_fetched_and_exported(git_remote: Any, url_for: Any, open_repo: Any,
                                                     tmp_path: Path) -> None:
    remote = git_remote()
    remote.commit({LXC: lxc(2048)}, "base")
    remote.push()
    pr_sha = remote.commit({LXC: lxc(4096)}, "more memory")
    remote.push(branch="more-memory")
    git("update-ref", "refs/pull/7/head", pr_sha, cwd=remote.bare)  # what GitHub and Gitea keep
    git("update-ref", "refs/merge-requests/7/head", pr_sha, cwd=remote.bare)  # what GitLab keeps

    repo = open_repo(url_for(remote))
    repo.fetch()
    for ref in ("refs/pull/7/head", "refs/merge-requests/7/head", "refs/heads/more-memory"):
        assert repo.fetch_ref(ref).sha == pr_sha
    folder = repo.export(pr_sha, tmp_path / "review")
    assert "4096" in (folder / LXC).read_text()
    assert not (repo.checkouts_dir / pr_sha).exists()  # a review's copy is its own


@pytest.mark.parametrize("ref", ["refs/pull/7/merge/../../heads/x", "--upload-pack=x", "refs/tags/v1",
                                 "refs/pull/x/head", "main"])
def test_only_pull_request_heads_are_fetched(git_remote: Any, open_repo: Any, ref: str) -> None:
    remote = git_remote()
    remote.commit({LXC: lxc(2048)}, "base")
    remote.push()
    with pytest.raises(errors.SourceError, match="not a pull-request head"):
        open_repo(remote.url).fetch_ref(ref)


def test_a_missing_pull_request_head_is_a_source_error(git_remote: Any, open_repo: Any) -> None:
    remote = git_remote()
    remote.commit({LXC: lxc(2048)}, "base")
    remote.push()
    with pytest.raises(errors.SourceError, match="refs/pull/9/head"):
        open_repo(remote.url).fetch_ref("refs/pull/9/head")
