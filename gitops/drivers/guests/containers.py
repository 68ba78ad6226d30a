"""Containers, from their node over SSH: `pct push` / `pct exec` scripts, the record of what ran, and the
host-side config file `/etc/pve/lxc/ID.conf` with the bind-mount folders.

Every command is an argument list (`ssh.NodeShells.run`). A script and the JSON it reads go to a fresh
`mktemp -d` folder on the node, are pushed into the container's `/tmp/phoenix_run` (upstream's folder),
and the node folder is removed at once; the JSON (it may hold secrets) is removed from the container
after the run. Used by `gitops.drivers.guests.driver`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from gitops import errors
from gitops.drivers.guests.ssh import Completed, NodeShells

RUN_DIR = "/tmp/phoenix_run"
INPUT_FILE = f"{RUN_DIR}/guest.json"
RECORD_DIR = "/var/lib/phoenix-gitops"
RECORD_FILE = f"{RECORD_DIR}/provisioned.json"
# A copy of each container's record on its node: a template cannot run `pct exec`, but its record says
# whether its scripts changed since it was made.
NODE_RECORDS = "/var/lib/phoenix-gitops/guests"


def conf_path(vmid: int) -> str:
    return f"/etc/pve/lxc/{vmid}.conf"


@dataclass
class Containers:
    shells: NodeShells

    # -- what ran -----------------------------------------------------------------------------

    def read_record(self, node: str, vmid: int) -> dict[str, str]:
        """Step -> identity of what ran in the (running) container; {} when nothing did."""
        done = self.shells.run(node, ["pct", "exec", str(vmid), "--", "cat", RECORD_FILE], target=f"lxc/{vmid}")
        if done.status != 0:
            if b"No such file" in done.stderr:
                return {}
            raise errors.TransientError(f"reading {RECORD_FILE} in CT {vmid}: {_text(done.stderr)}",
                                        target=f"lxc/{vmid}")
        return parse_record(done.stdout)

    # -- running scripts -------------------------------------------------------------------------

    def begin(self, node: str, vmid: int, guest_input: bytes) -> str:
        """A node folder for this action's files, the container's run folder, the input pushed."""
        target = f"lxc/{vmid}"
        made = self._ok(node, ["mktemp", "-d", "/tmp/phoenix-gitops.XXXXXXXX"], target)
        folder = made.stdout.decode().strip()
        self._ok(node, ["pct", "exec", str(vmid), "--", "mkdir", "-p", "-m", "0700", RUN_DIR, RECORD_DIR], target)
        self._push(node, vmid, folder, "guest.json", guest_input, INPUT_FILE, "0600")
        return folder

    def run_script(self, node: str, vmid: int, folder: str, step: str, script: bytes,
                   guest_input: bytes) -> Completed:
        """Push the script and run it as root in the container: the guest's JSON on stdin and in
        `$PHOENIX_GUEST_CONFIG`, the CTID as `$1` (as upstream's feature scripts take it)."""
        name = step.replace(":", "_").replace("/", "_")
        inside = f"{RUN_DIR}/{name}"
        self._push(node, vmid, folder, name, script, inside, "0700")
        argv = ["pct", "exec", str(vmid), "--", "env", f"PHOENIX_GUEST_CONFIG={INPUT_FILE}",
                f"PHOENIX_GUEST_ID={vmid}", f"PHOENIX_STEP={step}", "/bin/bash", inside, str(vmid)]
        return self.shells.run(node, argv, guest_input, target=f"lxc/{vmid}")

    def write_record(self, node: str, vmid: int, folder: str, record: dict[str, str]) -> None:
        data = json.dumps(record, sort_keys=True).encode()
        self._push(node, vmid, folder, "provisioned.json", data, RECORD_FILE, "0600")
        target = f"lxc/{vmid}"
        self._ok(node, ["mkdir", "-p", "--", NODE_RECORDS], target)
        self._ok(node, ["cp", "/dev/stdin", f"{NODE_RECORDS}/{vmid}.json"], target, data)

    def read_node_record(self, node: str, vmid: int) -> dict[str, str] | None:
        """The node's copy of a container's record (for templates); None when there is none."""
        done = self.shells.run(node, ["cat", f"{NODE_RECORDS}/{vmid}.json"], target=f"lxc/{vmid}")
        return parse_record(done.stdout) if done.status == 0 else None

    def end(self, node: str, vmid: int, folder: str) -> None:
        """Remove the node folder and the input in the container (both may hold secrets)."""
        target = f"lxc/{vmid}"
        try:
            self.shells.run(node, ["pct", "exec", str(vmid), "--", "rm", "-f", "--", INPUT_FILE], target=target)
        finally:
            self.shells.run(node, ["rm", "-rf", "--", folder], target=target)

    def _push(self, node: str, vmid: int, folder: str, name: str, data: bytes, inside: str, perms: str) -> None:
        target = f"lxc/{vmid}"
        staged = f"{folder}/{name}"
        self._ok(node, ["cp", "/dev/stdin", staged], target, data)
        self._ok(node, ["pct", "push", str(vmid), staged, inside, "--perms", perms], target)

    # -- host-side settings ------------------------------------------------------------------------

    def read_conf(self, node: str, vmid: int) -> str:
        return self._ok(node, ["cat", conf_path(vmid)], f"lxc/{vmid}").stdout.decode()

    def write_lxc_lines(self, node: str, vmid: int, lines: list[str]) -> None:
        """Replace the raw `lxc.*` lines of the file's main section by `lines` (snapshot sections and
        every PVE key are kept as they are)."""
        text = replace_lxc_lines(self.read_conf(node, vmid), lines)
        self._ok(node, ["cp", "/dev/stdin", conf_path(vmid)], f"lxc/{vmid}", text.encode())

    def bind_dir_owner(self, node: str, path: str, target: str) -> str:
        """`uid:gid` of a folder on the node, "" when it does not exist."""
        done = self.shells.run(node, ["stat", "-c", "%u:%g", "--", path], target=target)
        return done.stdout.decode().strip() if done.status == 0 else ""

    def make_bind_dir(self, node: str, path: str, uid: str, gid: str, target: str) -> None:
        self._ok(node, ["mkdir", "-p", "--", path], target)
        if uid or gid:
            self._ok(node, ["chown", "--", f"{uid}:{gid}", path], target)

    def _ok(self, node: str, argv: list[str], target: str, stdin: bytes = b"") -> Completed:
        done = self.shells.run(node, argv, stdin, target=target)
        if done.status != 0:
            raise errors.PermanentError(f"{argv[0]} {argv[1] if len(argv) > 1 else ''} on {node} exited "
                                        f"{done.status}: {_text(done.stderr)}", target=target)
        return done


def parse_record(data: bytes) -> dict[str, str]:
    try:
        loaded = json.loads(data.decode() or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}  # unreadable: as if nothing ran, so every step runs again
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def lxc_lines(conf: str) -> list[str]:
    """The raw `lxc.*` lines of a container config file's main section, as PVE writes them."""
    out: list[str] = []
    for line in conf.splitlines():
        if line.startswith("["):
            break
        if line.startswith("lxc."):
            out.append(line.strip())
    return out


def replace_lxc_lines(conf: str, lines: list[str]) -> str:
    main, sep, rest = conf.partition("\n[")
    kept = [line for line in main.splitlines() if not line.startswith("lxc.")]
    while kept and not kept[-1].strip():
        kept.pop()
    text = "\n".join([*kept, *lines]) + "\n"
    return text + (f"\n[{rest}" if sep else "")


def _text(data: bytes) -> str:
    return data.decode(errors="replace").strip()[-500:]
