"""Benchmark of pull-request reviews (run by hand, prints numbers; not collected by pytest):

    .venv/bin/python tests/perf/bench_pull_requests.py [--prs 50]

The controller runs as a process (`python -m gitops serve`) on the small estate, applied to fakepve
(in this process, time_scale 0); the forge simulator stands in for GitHub. For each of `--prs` pull
requests a memory change is pushed to `refs/pull/N/head` and a signed `pull_request` webhook is sent;
the latency is from sending the webhook to the PR comment arriving at the forge (its final status
follows right after). First one PR at a time, then all of them in one burst.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from gitops.demo.forges import ForgeSimulator

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.controller.support import git, small_estate, wait_for
from tests.forges import payloads
from tests.perf.bench_controller import free_port, start_node_and_repo

SECRET = "bench-webhook-secret"
REPO = "ann/config"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prs", type=int, default=50)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="phoenix-bench-pr-"))
    forge = ForgeSimulator().start()
    forge.add_repo("github", REPO, pulls=range(1, 2 * args.prs + 1))
    pve, loop, remote, env = start_node_and_repo(
        tmp, PHOENIX_WEBHOOK_SECRET=SECRET, PHOENIX_POLL_INTERVAL="3600",
        PHOENIX_GITHUB_API_URL=forge.url, PHOENIX_GITHUB_TOKEN=forge.tokens["github"])
    port = free_port()
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    base = remote.commit(small_estate(memory=512), "base")
    log = (tmp / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "gitops", "serve", "--port", str(port)], env=env,
                               stdout=log, stderr=subprocess.STDOUT)

    def applied() -> bool:
        try:
            return bool(api.get(f"/api/v1/revisions/{base}").json().get("status") == "applied")
        except (httpx.HTTPError, ValueError):
            return False

    def comment_at(number: int) -> float | None:
        posts = [r.at for r in forge.received if r.method == "POST" and r.path.endswith(f"/issues/{number}/comments")]
        return posts[0] if posts else None

    def open_pr(number: int) -> bytes:
        sha = remote.commit(small_estate(memory=512 + 8 * number), f"pr {number}", push=False)
        git("push", "--quiet", "--force", "origin", f"HEAD:refs/pull/{number}/head", cwd=remote.work)
        return payloads.body_of(payloads.github("opened", number, sha, f"pr-{number}"))

    def send(number: int, body: bytes) -> float:
        started = time.monotonic()
        answer = api.post("/api/v1/webhooks/github", content=body,
                          headers=payloads.signed("github", body, SECRET, "pull_request"))
        assert answer.status_code == 202, answer.text
        return started

    try:
        wait_for(applied, 120, 0.05, what="base applied")
        one_by_one = []
        for number in range(1, args.prs + 1):
            body = open_pr(number)
            started = send(number, body)
            posted = wait_for(lambda n=number: comment_at(n), 60, 0.002, what=f"comment on #{number}")  # type: ignore[misc]
            one_by_one.append(posted - started)
        print(f"webhook -> PR comment posted, {args.prs} PRs one at a time: "
              f"p50 {percentile(one_by_one, 50) * 1000:.0f} ms, p99 {percentile(one_by_one, 99) * 1000:.0f} ms, "
              f"max {max(one_by_one) * 1000:.0f} ms")
        bodies = {n: open_pr(n) for n in range(args.prs + 1, 2 * args.prs + 1)}
        sent = {n: send(n, body) for n, body in bodies.items()}
        burst = [wait_for(lambda n=n: comment_at(n), 300, 0.005, what=f"comment on #{n}") - sent[n]  # type: ignore[misc]
                 for n in bodies]
        print(f"webhook -> PR comment posted, {args.prs} PRs in one burst: "
              f"p50 {percentile(burst, 50) * 1000:.0f} ms, p99 {percentile(burst, 99) * 1000:.0f} ms "
              "(PHOENIX_REVIEW_CONCURRENCY=2 reviews at a time, oldest first)")
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
