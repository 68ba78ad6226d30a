"""SSH to Proxmox VE nodes (asyncssh): run one command, given as an argument list, with bytes on stdin.

Commands are argument lists joined with `shlex.join`, never strings built from config values, so a
value is always one argument, whatever it holds. The host key must be in the pinned known_hosts file
(an unknown or changed key is refused, never learnt); the client key is a file (`PHOENIX_SSH_KEY`, else
`ssh_key` in the secrets dir). asyncssh runs on one event loop in a thread of its own, with one connection
per node, reused by every action (channels are multiplexed). Library errors become `gitops.errors` here.
Used by `gitops.drivers.guests.containers`.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from gitops import errors
from gitops.settings import Settings


@dataclass(frozen=True)
class Completed:
    """A command's exit status and its output (bytes: scripts may print anything)."""

    status: int
    stdout: bytes
    stderr: bytes


@dataclass(frozen=True)
class SshTarget:
    host: str
    port: int


def ssh_target(settings: Settings, node: str) -> SshTarget:
    """Where node `node` listens for SSH: `PHOENIX_SSH_HOSTS` (`{"pve": "10.0.0.2:22"}`), else its name."""
    address = settings.ssh_hosts.get(node, node)
    host, _, port = address.rpartition(":") if address.count(":") == 1 else (address, "", "")
    return SshTarget(host or address, int(port) if port else 22)


def credential_paths(settings: Settings) -> tuple[Path, Path]:
    """The client key and the pinned known_hosts file; a missing one is a settings error."""
    base = settings.secrets_dir
    key = Path(settings.ssh_key) if settings.ssh_key else (base / "ssh_key" if base else None)
    known = Path(settings.ssh_known_hosts) if settings.ssh_known_hosts else (base / "known_hosts" if base else None)
    if key is None or not key.is_file():
        raise errors.SettingsError("provisioning needs an SSH key for the nodes: set PHOENIX_SSH_KEY to a private "
                                   "key file, or put `ssh_key` in the secrets dir")
    if known is None or not known.is_file():
        raise errors.SettingsError("provisioning needs the nodes' host keys pinned: set PHOENIX_SSH_KNOWN_HOSTS to a "
                                   "known_hosts file, or put `known_hosts` in the secrets dir")
    return key, known


class NodeShells:
    """Connections to the nodes, made on first use, on the loop of this object's thread."""

    def __init__(self, settings: Settings, *, timeout: float | None = None) -> None:
        self.settings = settings
        self.key, self.known_hosts = credential_paths(settings)
        self.timeout = timeout or settings.ssh_timeout
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="ssh-nodes", daemon=True)
        self.thread.start()
        self.connections: dict[str, asyncssh.SSHClientConnection] = {}
        self.lock = asyncio.Lock()

    def run(self, node: str, argv: list[str], stdin: bytes = b"", *, target: str | None = None) -> Completed:
        """Run `argv` on `node`; its exit status is the caller's to judge (a failing script is not an
        SSH error). Raises TransientError when the node cannot be reached, PermanentError when it refuses us."""
        done: Completed = self._wait(self._run(node, argv, stdin), target=target, what=f"{argv[0]} on {node}")
        return done

    def close(self) -> None:
        if not self.thread.is_alive():
            return
        with contextlib.suppress(errors.PhoenixError):
            self._wait(self._close_all(), target=None, what="closing SSH connections")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()

    def _wait(self, coro: Coroutine[Any, Any, Any], *, target: str | None, what: str) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(self.timeout + 30)
        except TimeoutError:
            future.cancel()
            raise errors.TransientError(f"{what}: no answer within {self.timeout:.0f} s", target=target) from None
        except (asyncssh.HostKeyNotVerifiable, asyncssh.PermissionDenied) as exc:
            raise errors.PermanentError(f"{what}: {exc.reason}", target=target) from None
        except asyncssh.Error as exc:
            raise errors.TransientError(f"{what}: {exc.reason}", target=target) from None
        except OSError as exc:
            raise errors.TransientError(f"{what}: {exc.strerror or exc}", target=target) from None

    async def _connection(self, node: str) -> asyncssh.SSHClientConnection:
        async with self.lock:
            conn = self.connections.get(node)
            if conn is not None and not conn.is_closed():
                return conn
            where = ssh_target(self.settings, node)
            conn = await asyncio.wait_for(asyncssh.connect(
                where.host, where.port, username=self.settings.ssh_user, client_keys=[str(self.key)],
                known_hosts=str(self.known_hosts), agent_path=None, config=[]), 30)
            self.connections[node] = conn
            return conn

    async def _run(self, node: str, argv: list[str], stdin: bytes) -> Completed:
        conn = await self._connection(node)
        # With no input, stdin is closed at once: a command reading it must see EOF, not wait for it.
        feed: dict[str, Any] = {"input": stdin} if stdin else {"stdin": asyncssh.DEVNULL}
        result = await asyncio.wait_for(conn.run(shlex.join(argv), encoding=None, check=False, **feed), self.timeout)
        status = result.exit_status if result.exit_status is not None else 255
        return Completed(status, _bytes(result.stdout), _bytes(result.stderr))

    async def _close_all(self) -> None:
        for conn in self.connections.values():
            conn.close()
            await conn.wait_closed()
        self.connections.clear()


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else str(value).encode()
