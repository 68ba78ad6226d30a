"""Make `all-commits.tar.xz`: the four config files of every upstream commit that touched them.

Source: the public repository SirHeads/Testing-ideas (every branch), folder
`usr/local/phoenix_hypervisor/etc/`. The archive holds `index.json` ({commit: {file name: blob id}})
and `blobs/<blob id>` (each file's bytes, once). Run it with a clone of that repository:

    python tests/data/phoenix-upstream/make_all_commits.py PATH/TO/Testing-ideas
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

ETC = "usr/local/phoenix_hypervisor/etc"
FILES = ("phoenix_hypervisor_config.json", "phoenix_lxc_configs.json", "phoenix_vm_configs.json",
         "phoenix_stacks_config.json")


def git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)


def main(repo: Path, out: Path) -> None:
    commits = git(repo, "rev-list", "--all", "--", *(f"{ETC}/{f}" for f in FILES)).stdout.decode().split()
    index: dict[str, dict[str, str]] = {}
    blobs: dict[str, bytes] = {}
    for commit in commits:
        index[commit] = {}
        for name in FILES:
            found = git(repo, "rev-parse", "-q", "--verify", f"{commit}:{ETC}/{name}")
            if found.returncode == 0:
                blob = found.stdout.decode().strip()
                index[commit][name] = blob
                blobs.setdefault(blob, git(repo, "cat-file", "blob", blob).stdout)
    with tarfile.open(out, "w:xz") as tar:
        for name, data in [("index.json", json.dumps(index, indent=1, sort_keys=True).encode()),
                           *((f"blobs/{b}", data) for b, data in sorted(blobs.items()))]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    print(f"{out}: {len(index)} commits, {len(blobs)} files")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(__file__).with_name("all-commits.tar.xz"))
