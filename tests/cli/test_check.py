"""`phoenix-gitops check`: one line per system, against real parts (the simulated node over HTTPS, a Git
repository over file://, SQLite and PostgreSQL), saying what failed and how to fix it."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Header, HTTPException
from typer.testing import CliRunner

from gitops.cli.main import app
from gitops.config.estate import CONFIG_FILES
from gitops.drivers.proxmox import privileges
from gitops.settings import read_environment_file
from gitops.store import open_store
from tests.controller.support import GitRemote
from tests.e2e_apply.support import EXAMPLE
from tests.e2e_apply.test_least_privilege import without_root_only_settings
from tests.store.test_upgrades import stamp

USER, TOKEN, SECRET = "phoenix@pve", "phoenix@pve!gitops", "check-token-secret"


def estate_files(tmp_path: Path, *, root_only: bool) -> dict[str, str]:
    folder = tmp_path / ("example" if root_only else "example-for-a-token")
    shutil.copytree(EXAMPLE, folder)
    if not root_only:
        without_root_only_settings(folder)
    return {name: (folder / name).read_text() for name in CONFIG_FILES}


@pytest.fixture
def remote(tmp_path: Path) -> GitRemote:
    made = GitRemote(tmp_path)
    made.commit(estate_files(tmp_path, root_only=False), "the estate")
    return made


@pytest.fixture
def env(pve: Any, pve_cafile: str, tmp_path: Path, remote: GitRemote) -> dict[str, str]:
    pve.apitokens[TOKEN] = SECRET
    pve.acl = {USER: [("/", set(privileges.PRIVILEGES))]}
    return {
        "PHOENIX_PVE_HOST": pve.address, "PHOENIX_PVE_TOKEN_NAME": TOKEN, "PHOENIX_PVE_TOKEN_VALUE": SECRET,
        "PHOENIX_PVE_VERIFY_SSL": pve_cafile, "PHOENIX_GIT_URL": remote.url, "PHOENIX_DATA_DIR": str(tmp_path / "data"),
        "PHOENIX_API_TOKEN": "api-token", "PHOENIX_WEBHOOK_SECRET": "hook-secret", "PHOENIX_DATABASE_URL": "",
    }


def check(env: dict[str, str], *args: str) -> tuple[int, dict[str, str]]:
    result = CliRunner().invoke(app, ["check", *args], env=env)
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    return result.exit_code, lines


def test_everything_reachable_is_one_ok_line_per_system(env: dict[str, str], tmp_path: Path) -> None:
    code, lines = check(env)
    assert code == 0, lines
    assert list(lines) == ["settings", "database", "proxmox", "git", "config", "portainer"]
    assert lines["settings"].split()[1] == "ok", lines["settings"]
    assert "no ledger yet" in lines["database"] and not (tmp_path / "data" / "phoenix.db").exists()
    assert lines["proxmox"].split()[1] == "ok" and "node pve1, as phoenix@pve!gitops" in lines["proxmox"]
    assert lines["git"].split()[1] == "ok" and "branch main at" in lines["git"] and "the estate" in lines["git"]
    assert lines["config"].split()[1] == "ok" and ": valid, 9 guests" in lines["config"]
    assert lines["portainer"].split()[1] == "skipped"
    assert not (tmp_path / "data" / "repo").exists()  # the controller's clone is not touched


def test_a_token_without_the_role_names_what_it_lacks(env: dict[str, str], pve: Any) -> None:
    pve.acl = {USER: [("/", set(privileges.PRIVILEGES) - {"VM.Snapshot", "SDN.Use"})]}
    code, lines = check(env)
    assert code == 1
    assert "FAILED" in lines["proxmox"] and "lacks SDN.Use, VM.Snapshot on /" in lines["proxmox"]
    assert "-> give it the PhoenixGitOps role on /" in lines["proxmox"]


def test_failures_say_what_and_how_to_fix(env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "PHOENIX_PVE_TOKEN_VALUE": "wrong", "PHOENIX_GIT_URL": (tmp_path / "nope.git").as_uri(),
           "PHOENIX_DATABASE_URL": "postgresql://phoenix:sekret@127.0.0.1:1/phoenix",
           "PHOENIX_PORTAINER_URL": "http://127.0.0.1:1", "PHOENIX_PORTAINER_API_KEY": "ptr_key",
           "PHOENIX_WEBHOOK_SECRET": ""}
    code, lines = check(env)
    assert code == 1
    assert lines["settings"].split()[1] == "warning" and "PHOENIX_WEBHOOK_SECRET" in lines["settings"]
    assert "FAILED" in lines["proxmox"] and "refused the credentials of phoenix@pve!gitops" in lines["proxmox"]
    assert "-> check PHOENIX_PVE_TOKEN_NAME" in lines["proxmox"]
    assert "FAILED" in lines["git"] and "nope.git" in lines["git"] and "-> check PHOENIX_GIT_URL" in lines["git"]
    assert lines["config"].split()[1] == "skipped"
    assert "FAILED" in lines["database"] and "-> check PHOENIX_DATABASE_URL" in lines["database"]
    assert "FAILED" in lines["portainer"] and "cannot reach Portainer" in lines["portainer"]
    output = "\n".join(lines.values())
    assert "sekret" not in output and "wrong" not in output and "ptr_key" not in output


def test_settings_no_token_may_set_are_found_in_the_config(env: dict[str, str], remote: GitRemote,
                                                          tmp_path: Path, pve: Any) -> None:
    remote.commit(estate_files(tmp_path, root_only=True), "bind mounts and GPUs")
    code, lines = check(env)
    assert code == 1 and "FAILED" in lines["config"]
    assert "no API token may set: lxc/101 bind mount mp0 (/mnt/pve/tank/gateway-certs)" in lines["config"]
    assert "lxc/110 device passthrough (dev0, dev1, dev2, dev3)" in lines["config"]
    assert "-> log in as root@pam with its password" in lines["config"]
    password_login = {k: v for k, v in env.items() if not k.startswith("PHOENIX_PVE_TOKEN")}
    code, lines = check({**password_login, "PHOENIX_PVE_USER": "root@pam", "PHOENIX_PVE_PASSWORD": pve.password})
    assert code == 0 and lines["config"].split()[1] == "ok"


def test_an_invalid_head_is_a_warning(env: dict[str, str], remote: GitRemote) -> None:
    remote.commit({"phoenix_lxc_configs.json": "{not json"}, "broken")
    code, lines = check(env)
    assert code == 0 and lines["config"].split()[1] == "warning" and "invalid (" in lines["config"]


def test_a_newer_ledger_fails_the_database_check(env: dict[str, str], pg_url: str) -> None:
    open_store(pg_url).close()
    stamp(pg_url, "9999_from_the_future")
    code, lines = check({**env, "PHOENIX_DATABASE_URL": pg_url})
    assert code == 1 and "FAILED" in lines["database"] and "newer than this phoenix-gitops" in lines["database"]


def test_an_existing_ledger_reports_its_schema(env: dict[str, str], pg_url: str) -> None:
    open_store(pg_url).close()
    result = CliRunner().invoke(app, ["check", "--format", "json"], env={**env, "PHOENIX_DATABASE_URL": pg_url})
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["ok"] is True
    database = next(c for c in report["checks"] if c["system"] == "database")
    assert database["outcome"] == "ok" and "(current)" in database["detail"]


def test_unreadable_settings_are_one_failed_line(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["check"], env={**env, "PHOENIX_PVE_CONCURRENCY": "0"})
    assert result.exit_code == 2
    assert result.stdout.startswith("settings   FAILED") and "pve_concurrency" in result.stdout


PORTAINER_KEY = "ptr_check_key"


@pytest.fixture
def portainer() -> Iterator[str]:
    """The two routes of Portainer's API (swagger: /system/status public, /endpoints behind X-API-KEY)
    that the check calls, over real HTTP on loopback."""
    fake = FastAPI()

    @fake.get("/api/system/status")
    def status() -> dict[str, Any]:
        return {"Version": "2.21.0", "InstanceID": "fake"}

    @fake.get("/api/endpoints")
    def endpoints(x_api_key: str = Header("", alias="X-API-KEY")) -> list[dict[str, Any]]:
        if x_api_key != PORTAINER_KEY:
            raise HTTPException(401, "Unauthorized")
        return [{"Id": 1, "Name": "local"}, {"Id": 2, "Name": "docker-agent"}]

    server = uvicorn.Server(uvicorn.Config(fake, host="127.0.0.1", port=0, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


def test_portainer_is_reached_and_its_key_checked(env: dict[str, str], portainer: str) -> None:
    code, lines = check({**env, "PHOENIX_PORTAINER_URL": portainer, "PHOENIX_PORTAINER_API_KEY": PORTAINER_KEY})
    assert code == 0 and lines["portainer"].split()[1] == "ok"
    assert "(Portainer 2.21.0), 2 environment(s)" in lines["portainer"]
    code, lines = check({**env, "PHOENIX_PORTAINER_URL": portainer, "PHOENIX_PORTAINER_API_KEY": "ptr_wrong"})
    assert code == 1 and "refused the API key (401)" in lines["portainer"]
    assert "-> make an access token in Portainer" in lines["portainer"] and "ptr_wrong" not in lines["portainer"]


def test_a_misspelled_variable_is_named_with_the_closest_setting(env: dict[str, str]) -> None:
    typo = {k: v for k, v in env.items() if k != "PHOENIX_PVE_HOST"} | {"PHOENIX_PVE_HOTS": env["PHOENIX_PVE_HOST"]}
    code, lines = check(typo)
    assert code == 1
    assert "PHOENIX_PVE_HOST is not set; PHOENIX_PVE_HOTS is not a setting (did you mean PHOENIX_PVE_HOST?)" \
        in lines["settings"]
    code, lines = check({**env, "PHOENIX_POLCY__ALLOW_PRIVILEGED": "true", "PHOENIX_SECRET_DB": "not a setting"})
    assert code == 0
    assert lines["settings"].split()[1] == "warning"
    assert "PHOENIX_POLCY__ALLOW_PRIVILEGED is not a setting (did you mean PHOENIX_POLICY__ALLOW_PRIVILEGED?)" \
        in lines["settings"]
    assert "PHOENIX_SECRET_DB" not in lines["settings"]  # a secret's variable: a family of names, never a typo


def test_several_replicas_on_sqlite_fail_the_settings_check(env: dict[str, str], pg_url: str) -> None:
    code, lines = check({**env, "PHOENIX_REPLICAS": "2"})
    assert code == 1
    assert "PHOENIX_REPLICAS=2 needs PostgreSQL (PHOENIX_DATABASE_URL)" in lines["settings"]
    code, lines = check({**env, "PHOENIX_REPLICAS": "2", "PHOENIX_DATABASE_URL": pg_url})
    assert lines["settings"].split()[1] == "ok", lines["settings"]


def test_env_file_is_read_as_systemd_reads_it(env: dict[str, str], tmp_path: Path) -> None:
    """`check --env-file` takes the service's EnvironmentFile: a JSON value that a shell's `.` would break
    arrives whole, and the shell's own PHOENIX_* variables do not count."""
    windows = '[{"kind": "allow", "weekdays": [0,1,2,3,4], "start": "06:00", "end": "20:00"}]'
    lines = [f"{key}={value}" for key, value in env.items()]
    file = tmp_path / "env"
    file.write_text("# the service's settings\n" + "\n".join(lines) + f"\nPHOENIX_SYNC_WINDOWS={windows}\n"
                    "PHOENIX_PVE_HOTS=typo\n")
    shell = {"PHOENIX_PVE_HOST": "nowhere.invalid:1", "PHOENIX_GIT_URL": "file:///nowhere"}
    code, found = check(shell, "--env-file", str(file))
    assert code == 0, found
    assert found["proxmox"].split()[1] == "ok" and found["git"].split()[1] == "ok"
    assert "PHOENIX_PVE_HOTS is not a setting (did you mean PHOENIX_PVE_HOST?)" in found["settings"]
    sourced = subprocess.run(["sh", "-c", f"set -a; . {file}; env"], capture_output=True, text=True)
    assert f"PHOENIX_SYNC_WINDOWS={windows}" not in sourced.stdout  # what a shell makes of the same line


def test_the_deploy_env_example_is_one_file_for_systemd_and_check(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "deploy" / "phoenix-gitops.env.example"
    variables = read_environment_file(example)
    assert variables["PHOENIX_PVE_TOKEN_NAME"] == "phoenix@pve!gitops"
    uncommented = tmp_path / "env"
    uncommented.write_text(example.read_text().replace("# PHOENIX_SYNC_WINDOWS=", "PHOENIX_SYNC_WINDOWS="))
    windows = read_environment_file(uncommented)["PHOENIX_SYNC_WINDOWS"]
    assert json.loads(windows)[0]["start"] == "06:00"


def test_an_unreadable_env_file_is_a_settings_failure(tmp_path: Path) -> None:
    bad = tmp_path / "env"
    bad.write_text("export PHOENIX_PVE_HOST=x\nnot a line\n")
    code, found = check({}, "--env-file", str(bad))
    assert code == 2 and "not KEY=VALUE" in found["settings"]
