"""What a commit changed in the config folder, against its parent: unified diffs of text files, files
added and deleted, a folder that appears, binary and oversized files named without their content, and
the files outside the config folder left out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitops.source import ConfigRepo

LXC = "phoenix_lxc_configs.json"
VM = "phoenix_vm_configs.json"


def lxc(memory: int, description: str = "dns") -> str:
    return json.dumps({"lxc_configs": {"101": {"name": "dns", "memory_mb": memory, "description": description}}},
                      indent=2) + "\n"


def test_a_commit_against_its_parent(git_remote: Any, tmp_path: Path) -> None:
    remote = git_remote()
    first = remote.commit({LXC: lxc(512), VM: "{}\n", "README.md": "outside\n"}, "first")
    second = remote.commit({LXC: lxc(600, "<b>dns</b>"), VM: None, "bin/setup.sh": "#!/bin/sh\necho hi\n",
                            "blob.bin": "\0\1\2"}, "second")
    remote.push()
    with ConfigRepo(remote.url, workdir=tmp_path / "data" / "repo", max_file_bytes=10_000) as repo:
        repo.fetch()
        root = {c.path: c.status for c in repo.changes(first)}
        assert root == {LXC: "added", VM: "added", "README.md": "added"}  # a root commit: all added
        changes = {c.path: c for c in repo.changes(second[:12])}
    assert set(changes) == {LXC, VM, "bin/setup.sh", "blob.bin"}
    diff = changes[LXC].diff.splitlines()
    assert changes[LXC].status == "modified"
    assert diff[:2] == [f"--- a/{LXC}", f"+++ b/{LXC}"]
    assert '-      "memory_mb": 512,' in diff and '+      "memory_mb": 600,' in diff
    assert '+      "description": "<b>dns</b>"' in diff  # raw here; the page escapes it
    assert changes[VM].status == "deleted" and changes[VM].diff.splitlines()[:2] == [f"--- a/{VM}", "+++ /dev/null"]
    assert changes["bin/setup.sh"].status == "added" and "+echo hi" in changes["bin/setup.sh"].diff
    assert (changes["blob.bin"].diff, changes["blob.bin"].note) == ("", "not text: not shown")


def test_only_the_config_folder_and_the_size_limit(git_remote: Any, tmp_path: Path) -> None:
    remote = git_remote()
    remote.commit({"README.md": "no config yet\n"}, "first")
    second = remote.commit({f"configs/{LXC}": lxc(512), "README.md": "changed\n",
                            f"configs/{VM}": "x" * 300}, "the folder appears")
    remote.push()
    with ConfigRepo(remote.url, path_in_repo="configs", workdir=tmp_path / "data" / "repo",
                    max_file_bytes=200) as repo:
        repo.fetch()
        changes = {c.path: c for c in repo.changes(second)}
    assert set(changes) == {LXC, VM}  # README.md is outside the config folder
    assert changes[LXC].status == "added" and "+++ b/" + LXC in changes[LXC].diff
    assert changes[VM].note == "over 200 bytes: not shown" and changes[VM].diff == ""
