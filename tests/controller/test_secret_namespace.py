"""Secret names are a namespace (issue 18): a commit may name only the secrets meant for a config. The
controller's own credentials (by their reserved names, or by their values under any name) never travel
into a guest, and one registry of every held secret feeds the log scrubber and the outbox alike."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from gitops import logs, secretvalues
from gitops.config.validation import validate_directory
from gitops.settings import Settings
from tests.controller.conftest import Ctl
from tests.controller.support import changes_sent
from tests.controller.test_hostile_commits import with_web

LXC = "phoenix_lxc_configs.json"
SENTINEL = "Credential-Sentinel-5d1e-NeverSent"


def describing(text: str) -> dict[str, str]:
    return with_web({"description": text})


RESERVED = ["portainer_api_key", "ssh_key", "pve_token_root_pam_x", "PVE_PASSWORD", "github_token",
            "webhook.secret", "api-token", "known_hosts"]


@pytest.mark.parametrize("name", RESERVED)
def test_a_reference_to_a_controller_credential_is_rejected_and_nothing_reaches_proxmox(
        ctl: Ctl, pve: Any, name: str) -> None:
    bad = ctl.remote.commit(describing(f"key: ${{secret:{name}}}"), f"exfiltrate {name}")
    pve.requests.clear()
    assert ctl.run().action == "rejected"
    assert changes_sent(pve) == []
    record = ctl.store.get_revision(bad)
    assert [(e["code"], e["path"]) for e in record.validation.stored()["errors"]] == [
        ("secret-reserved", "lxc_configs.101.description")]


def test_a_stack_variable_naming_a_credential_is_rejected(tmp_path: Path) -> None:
    from tests.config.conftest import EXAMPLE, copy_estate

    estate = copy_estate(EXAMPLE, tmp_path / "estate")
    path = estate / "phoenix_stacks_config.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    stack = next(iter(data["docker_stacks"].values()))
    env = next(iter(stack["environments"].values()))
    env.setdefault("variables", []).append({"name": "LEAK", "value": "${secret:portainer_api_key}"})
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    _, report = validate_directory(estate)
    assert "secret-reserved" in [p.code for p in report.errors]


def test_the_upstream_portainer_block_may_still_name_the_portainer_key(tmp_path: Path) -> None:
    from tests.config.conftest import EXAMPLE, copy_estate

    # configs-example names ${secret:portainer_api_key} in `portainer_api` (read by upstream's scripts only)
    _, report = validate_directory(copy_estate(EXAMPLE, tmp_path / "estate"))
    assert report.valid, [p.to_dict() for p in report.errors]


def test_a_credential_under_another_name_is_never_resolved(ctl: Ctl, pve: Any, tmp_path: Path) -> None:
    key = tmp_path / "keys" / "deploy_key"
    key.parent.mkdir()
    key.write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SENTINEL}\n-----END OPENSSH PRIVATE KEY-----\n")
    assert ctl.settings.secrets_dir is not None
    (ctl.settings.secrets_dir / "deploy_key").write_text(key.read_text())  # the operator's copy, another name
    secretvalues.register_settings(ctl.settings.model_copy(update={"ssh_key": str(key)}))
    bad = ctl.remote.commit(describing("${secret:deploy_key}"), "exfiltrate the ssh key by another name")
    pve.requests.clear()
    assert ctl.run().action != "applied"
    assert ctl.status(bad) != "applied"
    assert SENTINEL not in json.dumps([list(map(str, r)) for r in pve.requests])
    assert all(SENTINEL not in e.message and SENTINEL not in json.dumps(e.data) for e in ctl.store.list_events(50))


def test_every_credential_setting_and_config_secret_is_masked_in_the_logs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOENIX_SECRET_DB_PASSWORD", "env-config-secret-9f2")
    settings = Settings(github_token=SecretStr("ghp_forge-token-sentinel"), gitea_token=SecretStr("gitea-sentinel"),
                        gitlab_token=SecretStr("glpat-sentinel-x"), bitbucket_token=SecretStr("bb-sentinel-y"),
                        portainer_password=SecretStr("portainer-pw-sentinel"))
    secretvalues.register_settings(settings)
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        logs.configure(stream=stream)
        logging.getLogger("gitops.test").warning(
            "tokens %s %s %s %s %s %s", "ghp_forge-token-sentinel", "gitea-sentinel", "glpat-sentinel-x",
            "bb-sentinel-y", "portainer-pw-sentinel", "env-config-secret-9f2")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    text = stream.getvalue()
    assert "sentinel" not in text and "9f2" not in text
    assert text.count("***") == 6


@pytest.mark.parametrize("field", ["api_token", "webhook_secret", "pve_password", "github_token"])
def test_a_secret_too_short_to_mask_is_refused_in_settings(field: str) -> None:
    with pytest.raises(ValidationError, match=f"shorter than 4 characters.*{field}") as refused:
        Settings(**{field: SecretStr("x!z")})
    assert "x!z" not in str(refused.value)  # the refusal does not print the secret it refuses
    assert Settings(**{field: SecretStr("abcd")})  # four is enough


def test_the_ledger_keeps_no_held_secret_whatever_wrote_it(ctl: Ctl) -> None:
    held = "Held-Sentinel-8c2b-in-the-ledger"
    secretvalues.register_settings(Settings(gitea_token=SecretStr(held)))
    event = ctl.store.add_event("note", f"a driver echoed {held}", data={"detail": f"auth {held} refused"})
    assert held not in event.message and held not in json.dumps(event.data)
    assert held not in json.dumps([(e.message, e.data) for e in ctl.store.list_events(5)])
    assert "(secret)" in event.message
