"""The shipped proxy, for real: Debian's nginx runs the nginx config of deploy/compose.yaml (adapted to
loopback: its listen port and the two replicas' ports instead of Docker's DNS name, which Debian's
nginx could not re-resolve anyway) in front of two `serve` processes sharing one PostgreSQL ledger.

- A write through nginx reaches the leader once: retried with its `Idempotency-Key`, whichever replica
  nginx picks, it keeps one request id and the leader ends it once (one `request-done` event).
- A follower's death loses nothing: writes the follower accepted are in the ledger and the leader does
  them; writes sent after it died go to the leader (nginx tries the other replica only when one could
  not be reached: nothing was received, so nothing is queued twice).

Skips without nginx or PostgreSQL (`.ci/services` provides both in CI, where a skip fails).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.controller.support import GitRemote, small_estate, wait_for
from tests.e2e.conftest import TOKEN, Controller, free_port

pytestmark = pytest.mark.slow
COMPOSE = Path(__file__).parents[2] / "deploy" / "compose.yaml"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        pytest.skip("no nginx here: `.ci/services` installs Debian's (apt-get install nginx)")
    return found


def loopback_config(listen: int, replicas: list[int], root: Path) -> str:
    """The compose file's nginx config with Docker's names swapped for loopback ports, in a main config
    that keeps every file nginx writes under `root`."""
    shipped = yaml.safe_load(COMPOSE.read_text())["configs"]["nginx"]["content"].replace("$$", "$")
    out: list[str] = []
    swapped = {"resolver": 0, "server": 0, "listen": 0}
    for line in shipped.splitlines():
        text = line.strip()
        if text.startswith("resolver "):  # Docker's DNS: the replicas are fixed ports here
            swapped["resolver"] += 1
            continue
        if text.startswith("server phoenix:8080 resolve"):
            options = text.removeprefix("server phoenix:8080 resolve").strip()
            out += [f"        server 127.0.0.1:{port} {options}" for port in replicas]
            swapped["server"] += 1
            continue
        if text == "listen 8080;":
            line = line.replace("listen 8080;", f"listen 127.0.0.1:{listen};")
            swapped["listen"] += 1
        out.append(line)
    assert swapped == {"resolver": 1, "server": 1, "listen": 1}, f"the shipped config changed shape: {swapped}"
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "\n".join(f"    {kind}_temp_path {root / kind};" for kind in kinds)
    return (f"daemon off;\nworker_processes 1;\npid {root / 'nginx.pid'};\nerror_log {root / 'error.log'} info;\n"
            "events { worker_connections 64; }\nhttp {\n"
            "    log_format upstream '$request_method $uri $status $upstream_addr';\n"
            f"    access_log {root / 'access.log'} upstream;\n{temp}\n"
            + "\n".join(out) + "\n}\n")


@pytest.fixture
def nginx_in_front(tmp_path: Path) -> Iterator[Callable[[list[int]], tuple[httpx.Client, Path]]]:
    binary = nginx_binary()
    started: list[tuple[subprocess.Popen[bytes], httpx.Client]] = []

    def start(replicas: list[int]) -> tuple[httpx.Client, Path]:
        root = tmp_path / "nginx"
        root.mkdir()
        port = free_port()
        conf = root / "nginx.conf"
        conf.write_text(loopback_config(port, replicas, root))
        checked = subprocess.run([binary, "-t", "-p", str(root), "-c", str(conf)], capture_output=True, text=True,
                                 check=False, timeout=30)
        assert checked.returncode == 0, checked.stderr
        process = subprocess.Popen([binary, "-p", str(root), "-c", str(conf)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                              headers={"Authorization": f"Bearer {TOKEN}"})
        started.append((process, client))
        wait_for(lambda: _answers(client), 15, what="nginx")
        return client, root / "access.log"

    yield start
    for process, client in started:
        client.close()
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/readyz").status_code == 200
    except httpx.HTTPError:
        return False


def done_events(ctl: Controller, request: str) -> list[dict[str, Any]]:
    events = ctl.api.get("/api/v1/events", params={"limit": 1000}).json()["events"]
    return [e for e in events if e["kind"] == "request-done" and (e["data"] or {}).get("request") == request]


def post_until_done(proxy: httpx.Client, leader: Controller, path: str, key: str, tries: int) -> str:
    """POST `tries` times with one key through the proxy; the one request id, once done by the leader."""
    answers = [proxy.post(path, headers={"Idempotency-Key": key}) for _ in range(tries)]
    assert {a.status_code for a in answers} == {202}, [a.text for a in answers]
    requests = {a.json()["request"] for a in answers}
    assert len(requests) == 1, requests
    assert sum(1 for a in answers if a.json().get("replayed")) == tries - 1
    (request,) = requests
    wait_for(lambda: proxy.get(f"/api/v1/requests/{request}").json()["done"], 30, 0.2, what=f"{path} done")
    wait_for(lambda: done_events(leader, request), 10, 0.2, what="its request-done event")
    return request


def test_writes_through_nginx_reach_the_leader_once_and_survive_a_follower(
        controller: Callable[..., Controller], remote: GitRemote, pg_url: str,
        nginx_in_front: Callable[[list[int]], tuple[httpx.Client, Path]]) -> None:
    first = remote.commit(small_estate(), "first")
    replicas = [controller(remote, name, PHOENIX_DATABASE_URL=pg_url, PHOENIX_REPLICAS="2").start()
                for name in ("one", "two")]
    replicas[0].wait_status(first, "applied")
    (leader,) = [c for c in replicas if c.status()["leader"]["this_replica"]]
    (follower,) = [c for c in replicas if c is not leader]
    proxy, access_log = nginx_in_front([c.port for c in replicas])

    # retried through nginx (round robin: both replicas get it), queued and done once
    suspend = post_until_done(proxy, leader, "/api/v1/suspend", "suspend-8f14e45f", tries=4)
    reached = {line.split()[-1] for line in access_log.read_text().splitlines() if line.startswith("POST")}
    assert reached == {f"127.0.0.1:{c.port}" for c in replicas}, reached
    assert len(done_events(leader, suspend)) == 1
    assert len([e for e in leader.api.get("/api/v1/events?limit=1000").json()["events"]
                if e["kind"] == "suspend"]) == 1
    assert leader.status()["suspended"] is True

    # the follower takes writes and dies at once: the ledger has them, the leader does them
    handed = [follower.api.post("/api/v1/sync", json={}, headers={"Idempotency-Key": f"handed-{i}"}).json()["request"]
              for i in range(2)]
    follower.kill()
    wait_for(lambda: all(done_events(leader, r) for r in handed), 30, 0.2, what="the writes the dead follower took")
    assert [len(done_events(leader, r)) for r in handed] == [1, 1]

    # writes sent after its death: nginx finds the follower unreachable, sends them to the leader, once
    resume = post_until_done(proxy, leader, "/api/v1/resume", "resume-c9f0f895", tries=4)
    assert len(done_events(leader, resume)) == 1
    wait_for(lambda: leader.status()["suspended"] is False, 30, 0.2, what="resumed")
    plain = proxy.post("/api/v1/sync", json={})  # no key: still accepted, by the leader
    assert plain.status_code == 202 and plain.json()["via"] == "this replica"
