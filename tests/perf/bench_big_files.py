"""Benchmark: a 1 GB file in the config repo, on the branch and on a pull request's head, against the
controller as a process (run by hand, prints numbers; not collected by pytest):

    .venv/bin/python tests/perf/bench_big_files.py [--size-mib 1024]

1. the branch gets a commit with a `--size-mib` file nothing names: applied, the file never read;
2. the branch gets a commit whose config names a `--size-mib` script: rejected (`file-too-large`);
3. the next good commit applies;
4. a pull request's head carries both files: its review fails with `file-too-large`.
The service's peak resident memory (VmHWM, `/proc/PID/status`) is printed after each step; the goal
is under 150 MiB throughout. fakepve and a forge simulator run in this process on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from gitops.demo.forges import ForgeSimulator

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.controller.support import GIT_ENV, GitRemote, small_estate, wait_for
from tests.forges import payloads
from tests.perf.bench_controller import free_port, start_node_and_repo

SECRET = "bench-webhook-secret"
REPO = "ann/config"
LXC = "phoenix_lxc_configs.json"


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_big(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:  # a repeating pattern: git compresses it fast, the blob is still `size` bytes
        block = bytes(range(256)) * 4096
        for _ in range(size // len(block)):
            out.write(block)


def commit(remote: GitRemote, files: dict[str, str], message: str, ref: str = "refs/heads/main") -> str:
    """`GitRemote.commit` without its 60 s limit per git command, storing blobs uncompressed (a 1 GB add)."""
    for name, content in files.items():
        (remote.work / name).write_text(content)
    env = {**os.environ, **GIT_ENV}
    for args in (["add", "--all"], ["commit", "--quiet", "-m", message],
                 ["push", "--quiet", "--force", "origin", f"HEAD:{ref}"]):
        subprocess.run(["git", "-c", "core.compression=0", "-c", "pack.compression=0", *args], cwd=remote.work,
                       env=env, check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=remote.work, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def naming(script: str, memory: int = 512) -> dict[str, str]:
    files = small_estate(memory=memory)
    data = json.loads(files[LXC])
    data["lxc_configs"]["101"]["application_script"] = script
    files[LXC] = json.dumps(data, indent=2)
    return files


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024
    tmp = Path(tempfile.mkdtemp(prefix="phoenix-bench-big-"))
    forge = ForgeSimulator().start()
    forge.add_repo("github", REPO, pulls=[1])
    pve, loop, remote, env = start_node_and_repo(
        tmp, PHOENIX_WEBHOOK_SECRET=SECRET, PHOENIX_GITHUB_API_URL=forge.url,
        PHOENIX_GITHUB_TOKEN=forge.tokens["github"])
    port = free_port()
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    base = remote.commit(small_estate(memory=512), "base")
    log = (tmp / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "gitops", "serve", "--port", str(port)], env=env,
                               stdout=log, stderr=subprocess.STDOUT)

    def status(sha: str) -> str:
        try:
            answer = api.get(f"/api/v1/revisions/{sha}")
        except httpx.HTTPError:
            return "absent"
        return str(answer.json()["status"]) if answer.status_code == 200 else "absent"

    try:
        wait_for(lambda: status(base) == "applied", 120, 0.1, what="base applied")
        print(f"base applied: peak RSS {peak_mib(process.pid):.0f} MiB")

        write_big(remote.work / "images" / "disk.img", size)
        unnamed = commit(remote, small_estate(memory=520), f"a {args.size_mib} MiB file nothing names")
        wait_for(lambda: status(unnamed) in ("applied", "rejected", "failed"), 1200, 0.2, what="unnamed")
        print(f"{args.size_mib} MiB file nothing names: {status(unnamed)}; peak RSS {peak_mib(process.pid):.0f} MiB")

        (remote.work / "bin").mkdir(exist_ok=True)
        (remote.work / "images" / "disk.img").rename(remote.work / "bin" / "app.sh")
        named = commit(remote, naming("app.sh", 528), f"a {args.size_mib} MiB script the config names")
        wait_for(lambda: status(named) in ("applied", "rejected", "failed"), 1200, 0.2, what="named")
        codes = [e.get("code") for e in api.get(f"/api/v1/revisions/{named}").json()["validation"]["errors"]]
        print(f"{args.size_mib} MiB script the config names: {status(named)} {codes}; "
              f"peak RSS {peak_mib(process.pid):.0f} MiB")

        (remote.work / "bin" / "app.sh").write_text("#!/bin/sh\necho small\n")
        good = commit(remote, naming("app.sh", 536), "a small script again")
        wait_for(lambda: status(good) in ("applied", "rejected", "failed"), 300, 0.2, what="good")
        print(f"next good commit: {status(good)}; peak RSS {peak_mib(process.pid):.0f} MiB")

        write_big(remote.work / "bin" / "app.sh", size)
        write_big(remote.work / "images" / "disk.img", size)
        head = commit(remote, naming("app.sh", 544), "pr with both", "refs/pull/1/head")
        body = payloads.body_of(payloads.github("opened", 1, head, "big"))
        answer = api.post("/api/v1/webhooks/github", content=body,
                          headers=payloads.signed("github", body, SECRET, "pull_request"))
        assert answer.status_code == 202, answer.text
        comment = wait_for(lambda: [r for r in forge.received if r.method == "POST" and r.path.endswith(
            "/issues/1/comments")], 1200, 0.2, what="PR comment")
        said = "file-too-large" in json.dumps(comment[0].body)
        print(f"pull request head with both files: comment posted (file-too-large named: {said}); "
              f"peak RSS {peak_mib(process.pid):.0f} MiB")
    finally:
        process.kill()
        process.wait(10)
        log.close()
        api.close()
        forge.stop()
        asyncio.run_coroutine_threadsafe(pve.stop(), loop).result(30)
        print(f"(logs in {tmp / 'serve.log'})")


if __name__ == "__main__":
    main()
