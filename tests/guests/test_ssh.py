"""SSH to the nodes: argument lists arrive as the same arguments, whatever they hold; a host key that is
not pinned is refused; missing credentials are a settings error naming the setting."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest

from gitops import errors
from gitops.drivers.guests.ssh import NodeShells
from gitops.settings import Settings
from tests.guests.sshnode import NodeShell


def settings_for(shell: NodeShell, known_hosts: Path) -> Settings:
    return Settings(ssh_key=str(shell.key_file), ssh_known_hosts=str(known_hosts),
                    ssh_hosts={"pve1": f"127.0.0.1:{shell.port}"})


def test_arguments_stay_arguments(shell: NodeShell) -> None:
    shells = NodeShells(settings_for(shell, shell.known_hosts))
    try:
        hostile = "/mnt/a b/$(touch pwned); rm -rf / '\"`"
        done = shells.run("pve1", ["mkdir", "-p", "--", hostile])
        assert done.status == 0
        assert shell.commands[-1] == ["mkdir", "-p", "--", hostile]
        assert shell.node_path(hostile).is_dir()
    finally:
        shells.close()


def test_a_host_key_not_pinned_is_refused(shell: NodeShell, tmp_path: Path) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{shell.port} {other}\n")
    shells = NodeShells(settings_for(shell, known))
    try:
        with pytest.raises(errors.PermanentError):
            shells.run("pve1", ["cat", "/etc/hostname"])
        assert shell.commands == []
    finally:
        shells.close()


def test_missing_key_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(errors.SettingsError, match="PHOENIX_SSH_KEY"):
        NodeShells(Settings(secrets_dir=tmp_path))
