"""The simulated nodes' shells over real SSH (asyncssh on loopback), for the demo with provisioning on.

PVE nodes are reached by SSH for what the API cannot do in a container (`gitops.drivers.guests.containers`):
`pct push` and `pct exec`, and the container config files under `/etc/pve/lxc/`. One server per node of the
simulator answers exactly the commands that driver sends, against the simulator's state, and runs nothing
on this machine:
- the node's own files (`mktemp -d`, `cp /dev/stdin`, `rm -rf`, `mkdir -p`, `chown`, `stat -c %u:%g`,
  `cat`) live in memory, per node; `/etc/pve/lxc/ID.conf` shows the container's config as the simulator
  holds it plus the raw `lxc.*` lines written to the file (PVE's API never shows those);
- `pct push` / `pct exec` need the container on that node (`Configuration file ... does not exist`) and
  running (`CT ID not running`), as pct says; each container's files live in memory with it (a container
  destroyed and made again starts empty; assumed, not PVE's: a clone does not carry its template's files,
  so it runs its own steps, and the template's record stays on the node, where the driver keeps a copy);
- `pct exec ID -- env K=V... /bin/bash SCRIPT ARGS` runs nothing: the script must have been pushed
  (`/bin/bash: SCRIPT: No such file or directory`, status 127, otherwise), and the run is recorded
  (`runs`: node, container, step, script, its sha256) and answers status 0 with one line saying so.
Every command is kept in `commands` (node, argv), in order. VMs need no SSH: their scripts go through the
guest agent (`gitops.demo.guest_agent`), whose `guest_exec` is `agent_exec` here: a script is recorded in
`runs` the same way, nothing runs. Used by `gitops.demo.embedded`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import posixpath
import shlex
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from gitops import privatefiles

log = logging.getLogger(__name__)
TIMEOUT = 30
Answer = tuple[int, bytes, bytes]
_NODE_DIRS = ("/", "/tmp", "/etc", "/etc/pve", "/etc/pve/lxc", "/var", "/var/lib", "/root")
_GUEST_DIRS = ("/", "/tmp", "/etc", "/var", "/var/lib", "/var/log", "/root", "/usr", "/usr/local", "/opt")


@dataclass
class Files:
    """A file system in memory: folders, files and the owners `chown` set (recorded, never applied)."""

    dirs: set[str]
    files: dict[str, bytes] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)

    def exists(self, path: str) -> bool:
        return path in self.dirs or path in self.files

    def makedirs(self, path: str) -> None:
        while path not in self.dirs:
            self.dirs.add(path)
            path = posixpath.dirname(path)

    def write(self, path: str, data: bytes) -> bool:
        """False when the folder it goes in does not exist."""
        if posixpath.dirname(path) not in self.dirs or path in self.dirs:
            return False
        self.files[path] = data
        return True

    def remove_tree(self, path: str) -> None:
        inside = path.rstrip("/") + "/"
        self.dirs = {d for d in self.dirs if d != path and not d.startswith(inside)} | {"/"}
        self.files = {f: v for f, v in self.files.items() if f != path and not f.startswith(inside)}


@dataclass(frozen=True)
class ScriptRun:
    """A script `pct exec` was asked to run (and did not: nothing runs on this machine)."""

    node: str
    vmid: int
    step: str
    script: str
    sha256: str


class SimulatedSshNodes:
    """One SSH server per node of `fake` (a `PhoenixFakePve`), served on `loop` (the simulator's), with the
    client key, the pinned host keys and the `PHOENIX_SSH_HOSTS` map written for the controller."""

    def __init__(self, fake: Any, loop: asyncio.AbstractEventLoop, folder: Path, host: str = "127.0.0.1") -> None:
        self.fake = fake
        self.loop = loop
        self.host = host
        self.commands: list[tuple[str, list[str]]] = []
        self.runs: list[ScriptRun] = []
        self._node_files: dict[str, Files] = {}
        self._guest_files: dict[int, tuple[Any, Files]] = {}
        self._temp = itertools.count(1)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.key_file = folder / "id_ed25519"
        privatefiles.replace_private(self.key_file, client_key.export_private_key())
        self._authorized = client_key.export_public_key().decode()
        self.servers: dict[str, Any] = {}
        self.ports: dict[str, int] = {}
        for node in sorted(fake.nodes):
            server = self._run(self._serve(node))
            self.servers[node] = server
            self.ports[node] = server.sockets[0].getsockname()[1]
        public = self.host_key.export_public_key().decode().strip()
        self.known_hosts = folder / "known_hosts"
        self.known_hosts.write_text("".join(f"[{host}]:{port} {public}\n" for port in self.ports.values()))

    @property
    def hosts(self) -> dict[str, str]:
        """node -> `host:port`, as PHOENIX_SSH_HOSTS takes it."""
        return {node: f"{self.host}:{port}" for node, port in self.ports.items()}

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(TIMEOUT)

    async def _serve(self, node: str) -> Any:
        async def handle(process: asyncssh.SSHServerProcess[bytes]) -> None:
            await self._handle(node, process)

        return await asyncssh.create_server(
            asyncssh.SSHServer, self.host, 0, server_host_keys=[self.host_key],
            authorized_client_keys=asyncssh.import_authorized_keys(self._authorized),
            process_factory=handle, encoding=None)

    async def _close(self) -> None:
        for server in self.servers.values():
            server.close()
            await server.wait_closed()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(self._close())

    # -- commands -----------------------------------------------------------------------------------

    async def _handle(self, node: str, process: asyncssh.SSHServerProcess[bytes]) -> None:
        try:
            argv = shlex.split(process.command or "")
        except ValueError:
            argv = []
        stdin = await process.stdin.read()
        self.commands.append((node, argv))
        try:
            status, out, err = self.answer(node, argv, stdin)
        except Exception as exc:  # a broken command must answer, not hang the client
            log.exception("simulated node %s: %s", node, argv)
            status, out, err = 1, b"", f"simulated node: {type(exc).__name__}\n".encode()
        process.stdout.write(out)
        process.stderr.write(err)
        process.exit(status)

    def answer(self, node: str, argv: list[str], stdin: bytes) -> Answer:
        """What the node answers to `argv`: exit status, stdout, stderr."""
        files = self._node_files.setdefault(node, Files(set(_NODE_DIRS)))
        match argv:
            case ["mktemp", "-d", template] if template.endswith("XXXXXXXX"):
                made = f"{template[:-8]}{next(self._temp):08d}"
                files.makedirs(made)
                return 0, f"{made}\n".encode(), b""
            case ["cp", "/dev/stdin", path] if path.startswith("/etc/pve/lxc/") and path.endswith(".conf"):
                return self._write_conf(node, path, stdin)
            case ["cp", "/dev/stdin", path]:
                if not files.write(path, stdin):
                    return 1, b"", f"cp: cannot create regular file '{path}': No such file or directory\n".encode()
                return 0, b"", b""
            case ["rm", "-rf", "--", path]:
                files.remove_tree(path)
                return 0, b"", b""
            case ["mkdir", "-p", "--", path]:
                files.makedirs(path)
                return 0, b"", b""
            case ["chown", "--", owner, path]:
                if not files.exists(path):
                    return 1, b"", f"chown: cannot access '{path}': No such file or directory\n".encode()
                files.owners[path] = owner
                return 0, b"", b""
            case ["stat", "-c", "%u:%g", "--", path]:
                if not files.exists(path):
                    return 1, b"", f"stat: cannot statx '{path}': No such file or directory\n".encode()
                return 0, (files.owners.get(path, "0:0") + "\n").encode(), b""
            case ["cat", path] if path.startswith("/etc/pve/lxc/") and path.endswith(".conf"):
                return self._cat_conf(node, path)
            case ["cat", path]:
                if path not in files.files:
                    return 1, b"", f"cat: {path}: No such file or directory\n".encode()
                return 0, files.files[path], b""
            case ["pct", "push", vmid, source, dest, "--perms", _perms] if vmid.isdigit():
                return self._push(node, int(vmid), files, source, dest)
            case ["pct", "exec", vmid, "--", *inner] if vmid.isdigit():
                return self._exec(node, int(vmid), inner, stdin)
        return 127, b"", f"simulated node: command not implemented: {shlex.join(argv)}\n".encode()

    def _container(self, node: str, vmid: int) -> tuple[Files | None, bytes]:
        ct = self.fake.ct(vmid)
        if ct is None or ct.node != node:
            return None, f"Configuration file 'nodes/{node}/lxc/{vmid}.conf' does not exist\n".encode()
        if ct.status != "running":
            return None, f"CT {vmid} not running\n".encode()
        held = self._guest_files.get(vmid)
        if held is None or held[0] is not ct:
            held = (ct, Files(set(_GUEST_DIRS)))
            self._guest_files[vmid] = held
        return held[1], b""

    def _push(self, node: str, vmid: int, files: Files, source: str, dest: str) -> Answer:
        guest, err = self._container(node, vmid)
        if guest is None:
            return 255, b"", err
        if source not in files.files:
            return 255, b"", f"failed to open {source}: No such file or directory\n".encode()
        if not guest.write(dest, files.files[source]):
            return 255, b"", f"failed to open {dest}: No such file or directory\n".encode()
        return 0, b"", b""

    def _exec(self, node: str, vmid: int, inner: list[str], stdin: bytes) -> Answer:
        guest, err = self._container(node, vmid)
        if guest is None:
            return 255, b"", err
        match inner:
            case ["mkdir", "-p", "-m", _mode, *paths]:
                for path in paths:
                    guest.makedirs(path)
                return 0, b"", b""
            case ["cat", path]:
                if path not in guest.files:
                    return 1, b"", f"cat: {path}: No such file or directory\n".encode()
                return 0, guest.files[path], b""
            case ["rm", "-f", "--", path]:
                guest.files.pop(path, None)
                return 0, b"", b""
            case ["env", *rest]:
                return self._script(node, vmid, guest, rest)
        return 127, b"", f"simulated node: not implemented in a container: {shlex.join(inner)}\n".encode()

    def _script(self, node: str, vmid: int, guest: Files, rest: list[str]) -> Answer:
        env = dict(a.split("=", 1) for a in itertools.takewhile(lambda a: "=" in a, rest))
        command = rest[len(env):]
        if command[:1] != ["/bin/bash"] or len(command) < 2:
            return 127, b"", f"simulated node: only `env ... /bin/bash SCRIPT` runs: {shlex.join(rest)}\n".encode()
        script = command[1]
        if script not in guest.files:
            return 127, b"", f"/bin/bash: {script}: No such file or directory\n".encode()
        digest = hashlib.sha256(guest.files[script]).hexdigest()
        self.runs.append(ScriptRun(node, vmid, env.get("PHOENIX_STEP", ""), script, digest))
        return 0, f"simulated node {node}: CT {vmid}: {script} recorded, not run (sha256 {digest[:12]})\n".encode(), b""

    def agent_exec(self, vm: Any, argv: list[str], input_data: str) -> dict[str, Any]:
        """What a command the guest agent runs in a VM does (`PhoenixFakePve.guest_exec`): a provisioning
        script is recorded, not run; every command exits 0."""
        env = dict(a.split("=", 1) for a in argv if "=" in a and a.startswith("PHOENIX_"))
        if "PHOENIX_STEP" not in env or "/bin/bash" not in argv[:-1]:
            return {"exited": True, "exitcode": 0, "out-data": "", "err-data": ""}
        script = argv[argv.index("/bin/bash") + 1]
        text = str((vm.agent or {}).get("files", {}).get(script, ""))
        digest = hashlib.sha256(text.encode()).hexdigest()
        self.runs.append(ScriptRun(vm.node, vm.vmid, env["PHOENIX_STEP"], script, digest))
        line = f"simulated VM {vm.vmid}: {script} recorded, not run (sha256 {digest[:12]})\n"
        return {"exited": True, "exitcode": 0, "out-data": line, "err-data": ""}

    def _cat_conf(self, node: str, path: str) -> Answer:
        name = posixpath.basename(path)[: -len(".conf")]
        ct = self.fake.ct(int(name)) if name.isdigit() else None
        if ct is None or ct.node != node:
            return 1, b"", f"cat: {path}: No such file or directory\n".encode()
        lines = [f"{k}: {v}" for k, v in sorted(ct.config.items())]
        written = self._node_files.setdefault(node, Files(set(_NODE_DIRS))).files.get(path, b"")
        lines += [line for line in written.decode(errors="replace").splitlines() if line.startswith("lxc.")]
        return 0, ("\n".join(lines) + "\n").encode(), b""

    def _write_conf(self, node: str, path: str, stdin: bytes) -> Answer:
        name = posixpath.basename(path)[: -len(".conf")]
        ct = self.fake.ct(int(name)) if name.isdigit() else None
        if ct is None or ct.node != node:  # /etc/pve is pmxcfs: a file for a guest elsewhere is refused
            return 1, b"", f"cp: cannot create regular file '{path}': Permission denied\n".encode()
        self._node_files.setdefault(node, Files(set(_NODE_DIRS))).files[path] = stdin
        return 0, b"", b""
