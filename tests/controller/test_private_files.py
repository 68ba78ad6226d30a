"""Files the controller writes for itself (the ledger, token secrets, the config repo's SSH key, the demo's
secrets and API token, saved plans and exports) are owner-only whatever existed before (issue 18): 0600,
in a 0700 folder where the folder is the controller's own. Each case starts from what a careless earlier
run or `umask 022` leaves: folders 0755, files 0644, a symlink where a key goes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gitops import privatefiles
from gitops.source import access
from gitops.store import open_store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def loose(tmp_path: Path) -> Path:
    """A folder as `umask 022` leaves it, holding a world-readable file."""
    folder = tmp_path / "loose"
    folder.mkdir()
    folder.chmod(0o755)
    return folder


def test_the_sqlite_ledger(loose: Path) -> None:
    (loose / "phoenix.db").touch(mode=0o644)
    (loose / "phoenix.db").chmod(0o644)
    with open_store(f"sqlite:///{loose / 'phoenix.db'}") as store:
        store.add_event("note", "written")
    assert (mode(loose), mode(loose / "phoenix.db")) == (0o700, 0o600)
    assert all(mode(p) == 0o600 for p in loose.glob("phoenix.db*"))


def test_a_token_secret_in_the_state_folder(loose: Path) -> None:
    privatefiles.create_private(loose / "pve_token_ci_40pve_21deploy", b"a-secret\n")
    assert (mode(loose), mode(loose / "pve_token_ci_40pve_21deploy")) == (0o700, 0o600)


def test_the_config_repos_ssh_key(loose: Path, tmp_path: Path) -> None:
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----"
    (loose / "id_config_repo").write_text("an older key\n")
    (loose / "id_config_repo").chmod(0o644)
    path = access.materialise_ssh_key(key, loose)
    assert path is not None and path.read_text() == key + "\n"
    assert (mode(loose), mode(path)) == (0o700, 0o600)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("not the key's\n")
    path.unlink()
    path.symlink_to(elsewhere)  # a link where the key goes is replaced, never written through
    path = access.materialise_ssh_key(key, loose)
    assert path is not None and not path.is_symlink() and mode(path) == 0o600
    assert elsewhere.read_text() == "not the key's\n"


def test_the_demos_secrets_and_api_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gitops.demo import embedded

    monkeypatch.delenv("PHOENIX_API_TOKEN", raising=False)
    data = tmp_path / "demo"
    (data / "secrets").mkdir(parents=True)
    for folder in (data, data / "secrets"):
        folder.chmod(0o755)
    (data / "secrets" / "vm_default_password").write_text("from an earlier run\n")
    (data / "secrets" / "vm_default_password").chmod(0o644)
    secrets = embedded._secrets(data / "secrets")
    embedded._token(data / "api-token")
    assert mode(secrets) == 0o700
    assert {p.name: mode(p) for p in secrets.iterdir() if mode(p) != 0o600} == {}
    assert mode(data / "api-token") == 0o600


def test_a_saved_plan_and_an_export_replace_a_loose_file(loose: Path) -> None:
    target = loose / "lab.plan"
    target.write_text("old\n")
    target.chmod(0o644)
    with privatefiles.written(target) as out:
        out.write("{}\n")
    assert mode(target) == 0o600 and target.read_text() == "{}\n"
    assert mode(loose) == 0o755  # the operator's folder is theirs: left as it is
