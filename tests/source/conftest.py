"""Fixtures of the source tests: real git repositories, served over file://, git daemon and smart HTTP.

    git_root        folder holding every bare repository of the test (what the servers export)
    git_remote      factory: git_remote(name="config", branch="main") -> GitRemote (bare repo + work clone)
    git_daemon      a `git daemon` on 127.0.0.1:<free port> exporting git_root; `.url(remote)`
    git_http        factory: git_http(token=None) -> smart HTTP (`git http-backend` behind http.server)
                    on 127.0.0.1, requiring that token as the Basic password when given; `.url(remote)`
    free_port       a TCP port nobody listens on

Git is isolated from the machine's configuration (no global or system config, fixed identity).
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig-global"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_COUNT", raising=False)
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Ann Operator")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "ann@example.org")


def git(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", *map(str, args)], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(map(str, args))} failed: {done.stderr}")
    return done.stdout.strip()


class GitRemote:
    """A bare repository (the "provider") and a work clone the test commits and pushes from."""

    def __init__(self, root: Path, name: str, branch: str) -> None:
        self.name = f"{name}.git"
        self.bare = root / self.name
        self.work = root.parent / "work" / name
        self.branch = branch
        git("init", "--quiet", "--bare", "--initial-branch", branch, self.bare)
        git("init", "--quiet", "--initial-branch", branch, self.work)
        git("remote", "add", "origin", self.bare, cwd=self.work)

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        """Write (or, for None, delete) files in the work clone and commit them; returns the sha."""
        for relative, content in files.items():
            path = self.work / relative
            if content is None:
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def push(self, *, force: bool = False, branch: str | None = None) -> None:
        target = branch or self.branch
        git("push", "--quiet", *(["--force"] if force else []), "origin", f"HEAD:refs/heads/{target}",
            cwd=self.work)

    def reset(self, sha: str) -> None:
        git("reset", "--quiet", "--hard", sha, cwd=self.work)

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.work)


@pytest.fixture
def git_root(tmp_path: Path) -> Path:
    root = tmp_path / "remotes"
    root.mkdir()
    return root


@pytest.fixture
def git_remote(git_root: Path) -> Callable[..., GitRemote]:
    def make(name: str = "config", branch: str = "main") -> GitRemote:
        return GitRemote(git_root, name, branch)

    return make


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def free_port() -> int:
    return _free_port()


def _wait_listening(port: int, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


class GitDaemon:
    def __init__(self, port: int) -> None:
        self.port = port

    def url(self, remote: GitRemote) -> str:
        return f"git://127.0.0.1:{self.port}/{remote.name}"


@pytest.fixture
def git_daemon(git_root: Path) -> Iterator[GitDaemon]:
    port = _free_port()
    process = subprocess.Popen(
        ["git", "daemon", "--export-all", "--reuseaddr", "--informative-errors", f"--base-path={git_root}",
         "--listen=127.0.0.1", f"--port={port}", str(git_root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port, process)
        yield GitDaemon(port)
    finally:
        process.terminate()
        process.wait(timeout=10)


class _SmartHttpHandler(BaseHTTPRequestHandler):
    """Runs `git http-backend` as a CGI for each request."""

    server: _SmartHttpServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def _serve(self) -> None:
        auth = self.headers.get("Authorization", "")
        self.server.seen_authorization.append(auth)
        if self.server.token is not None and not self._authorized(auth):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _authorized(self, auth: str) -> bool:
        if not auth.startswith("Basic "):
            return False
        _user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        return password == self.server.token


class _SmartHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, token: str | None) -> None:
        super().__init__(("127.0.0.1", 0), _SmartHttpHandler)
        self.root = root
        self.token = token
        self.seen_authorization: list[str] = []

    def url(self, remote: GitRemote) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{remote.name}"


@pytest.fixture
def git_http(git_root: Path) -> Iterator[Callable[..., _SmartHttpServer]]:
    servers: list[tuple[_SmartHttpServer, threading.Thread]] = []

    def start(token: str | None = None) -> _SmartHttpServer:
        server = _SmartHttpServer(git_root, token)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return server

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
