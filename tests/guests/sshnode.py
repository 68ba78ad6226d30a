"""A Proxmox VE node's shell, served over real SSH (asyncssh) on loopback, for the guests driver's tests.

It implements what the driver sends, on a temporary folder: the node's files under `node/` (`mktemp -d`,
`cp /dev/stdin`, `rm -rf`, `mkdir -p`, `chown`, `stat -c %u:%g`, `cat`), each container's file system
under `ct/ID/`, and `pct push` / `pct exec` into it. `pct` asks the fakepve it is given whether the
container exists and runs, and answers as PVE does when it does not. `cat /etc/pve/lxc/ID.conf` shows the
container's config as fakepve holds it plus the raw `lxc.*` lines written to the file (PVE's API never
shows those), and `cp /dev/stdin /etc/pve/lxc/ID.conf` keeps what was written.

`pct exec ID -- env K=V... /bin/bash SCRIPT ARGS` really runs bash on the script (its path, and values
of the variables that are absolute paths, mapped into the container's folder, the folder as the working
directory and `$CT_ROOT`): the tests' scripts write under `$CT_ROOT`. The other commands in a container
(`mkdir`, `cat`, `rm`) are emulated. Test-only: not a sandbox. Ownership is recorded, not applied (tests
do not run as root). Every command is kept in `commands` (argv lists), in order.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import asyncssh

TIMEOUT = 30


class NodeShell:
    def __init__(self, root: Path, pve: Any, node: str = "pve1") -> None:
        self.root = root
        self.pve = pve  # the tests' PveHandle (fakepve)
        self.node = node
        self.commands: list[list[str]] = []
        self.owners: dict[str, str] = {}
        (root / "node").mkdir(parents=True, exist_ok=True)
        (root / "ct").mkdir(parents=True, exist_ok=True)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="ssh-node", daemon=True)
        self.thread.start()
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.key_file = root / "id_ed25519"
        self.key_file.write_bytes(self.client_key.export_private_key())
        self.key_file.chmod(0o600)
        self.server = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(TIMEOUT)
        self.port = self.server.sockets[0].getsockname()[1]
        self.known_hosts = root / "known_hosts"
        public = self.host_key.export_public_key().decode().strip()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {public}\n")

    async def _start(self) -> Any:
        return await asyncssh.create_server(
            asyncssh.SSHServer, "127.0.0.1", 0, server_host_keys=[self.host_key],
            authorized_client_keys=asyncssh.import_authorized_keys(
                self.client_key.export_public_key().decode()),
            process_factory=self._handle, encoding=None)

    async def _close(self) -> None:
        self.server.close()
        await self.server.wait_closed()

    def stop(self) -> None:
        # The server belongs to the loop's thread: closing it from this one races the loop
        # (asyncio's Server is not thread-safe), so it is closed inside the loop.
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(TIMEOUT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        self.loop.close()

    # -- paths ------------------------------------------------------------------------------------

    def node_path(self, path: str) -> Path:
        return self.root / "node" / path.lstrip("/")

    def ct_root(self, vmid: int) -> Path:
        path = self.root / "ct" / str(vmid)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def ct_path(self, vmid: int, path: str) -> Path:
        return self.ct_root(vmid) / path.lstrip("/")

    def conf_file(self, vmid: int) -> Path:
        return self.node_path(f"/etc/pve/lxc/{vmid}.conf")

    # -- commands ---------------------------------------------------------------------------------

    async def _handle(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        argv = shlex.split(process.command or "")
        stdin = await process.stdin.read()
        self.commands.append(argv)
        try:
            status, out, err = await self.run(argv, stdin)
        except Exception as exc:  # a broken command must answer, not hang the client
            status, out, err = 1, b"", f"test node: {type(exc).__name__}: {exc}\n".encode()
        process.stdout.write(out)
        process.stderr.write(err)
        process.exit(status)

    async def run(self, argv: list[str], stdin: bytes) -> tuple[int, bytes, bytes]:
        match argv:
            case ["mktemp", "-d", template]:
                parent = self.node_path(os.path.dirname(template))
                parent.mkdir(parents=True, exist_ok=True)
                made = tempfile.mkdtemp(prefix=os.path.basename(template).rstrip("X"), dir=parent)
                return 0, ("/" + str(Path(made).relative_to(self.root / "node")) + "\n").encode(), b""
            case ["cp", "/dev/stdin", path]:
                self.node_path(path).parent.mkdir(parents=True, exist_ok=True)
                self.node_path(path).write_bytes(stdin)
                return 0, b"", b""
            case ["rm", "-rf", "--", path]:
                shutil.rmtree(self.node_path(path), ignore_errors=True)
                return 0, b"", b""
            case ["mkdir", "-p", "--", path]:
                self.node_path(path).mkdir(parents=True, exist_ok=True)
                return 0, b"", b""
            case ["chown", "--", owner, path]:
                if not self.node_path(path).exists():
                    return 1, b"", f"chown: cannot access '{path}': No such file or directory\n".encode()
                self.owners[path] = owner
                return 0, b"", b""
            case ["stat", "-c", "%u:%g", "--", path]:
                if not self.node_path(path).exists():
                    return 1, b"", f"stat: cannot statx '{path}': No such file or directory\n".encode()
                return 0, (self.owners.get(path, "0:0") + "\n").encode(), b""
            case ["cat", path] if path.startswith("/etc/pve/lxc/"):
                return self._cat_conf(int(Path(path).stem))
            case ["cat", path]:
                if not self.node_path(path).is_file():
                    return 1, b"", f"cat: {path}: No such file or directory\n".encode()
                return 0, self.node_path(path).read_bytes(), b""
            case ["pct", "push", vmid, source, dest, "--perms", perms]:
                return self._push(int(vmid), source, dest, perms)
            case ["pct", "exec", vmid, "--", *inner]:
                return await self._exec(int(vmid), inner, stdin)
        return 127, b"", f"test node: command not implemented: {shlex.join(argv)}\n".encode()

    def _ct(self, vmid: int) -> tuple[Any, bytes]:
        ct = self.pve.fake.ct(vmid)
        if ct is None:
            return None, f"Configuration file 'nodes/{self.node}/lxc/{vmid}.conf' does not exist\n".encode()
        if ct.status != "running":
            return None, f"CT {vmid} not running\n".encode()
        return ct, b""

    def _cat_conf(self, vmid: int) -> tuple[int, bytes, bytes]:
        ct = self.pve.fake.ct(vmid)
        if ct is None:
            return 1, b"", f"cat: /etc/pve/lxc/{vmid}.conf: No such file or directory\n".encode()
        lines = [f"{k}: {v}" for k, v in sorted(ct.config.items())]
        stored = self.conf_file(vmid)
        if stored.exists():
            lines += [line for line in stored.read_text().splitlines() if line.startswith("lxc.")]
        return 0, ("\n".join(lines) + "\n").encode(), b""

    def _push(self, vmid: int, source: str, dest: str, perms: str) -> tuple[int, bytes, bytes]:
        ct, err = self._ct(vmid)
        if ct is None:
            return 255, b"", err
        target = self.ct_path(vmid, dest)
        if not target.parent.is_dir():
            return 255, b"", f"failed to open {dest}: No such file or directory\n".encode()
        shutil.copyfile(self.node_path(source), target)
        target.chmod(int(perms, 8))
        return 0, b"", b""

    async def _exec(self, vmid: int, inner: list[str], stdin: bytes) -> tuple[int, bytes, bytes]:
        ct, err = self._ct(vmid)
        if ct is None:
            return 255, b"", err
        match inner:
            case ["mkdir", "-p", "-m", _mode, *paths]:
                for path in paths:
                    self.ct_path(vmid, path).mkdir(parents=True, exist_ok=True)
                return 0, b"", b""
            case ["cat", path]:
                file = self.ct_path(vmid, path)
                if not file.is_file():
                    return 1, b"", f"cat: {path}: No such file or directory\n".encode()
                return 0, file.read_bytes(), b""
            case ["rm", "-f", "--", path]:
                self.ct_path(vmid, path).unlink(missing_ok=True)
                return 0, b"", b""
            case ["env", *rest]:
                return await self._bash(vmid, rest, stdin)
        return 127, b"", f"test node: not implemented in a container: {shlex.join(inner)}\n".encode()

    async def _bash(self, vmid: int, rest: list[str], stdin: bytes) -> tuple[int, bytes, bytes]:
        root = self.ct_root(vmid)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CT_ROOT": str(root), "HOME": str(root)}
        while rest and "=" in rest[0]:
            key, _, value = rest.pop(0).partition("=")
            env[key] = str(self.ct_path(vmid, value)) if value.startswith("/") else value
        if rest[:1] != ["/bin/bash"] or len(rest) < 2:
            return 127, b"", b"test node: only `env ... /bin/bash SCRIPT` runs\n"
        script = str(self.ct_path(vmid, rest[1]))
        proc = await asyncio.create_subprocess_exec(
            "/bin/bash", script, *rest[2:], cwd=root, env=env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate(stdin)
        return proc.returncode or 0, out, err
