"""The stack file as deployed: labels and files merged into the compose file from the config repo."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gitops.config.stacks import StackEnvironment
from gitops.drivers.portainer.compose import ComposeError, read_repo_file, render


def env(**services: list[str]) -> StackEnvironment:
    return StackEnvironment.model_validate({"services": {k: {"traefik_labels": v} for k, v in services.items()}})


def test_without_labels_or_files_the_file_is_deployed_byte_for_byte() -> None:
    text = "# a comment\nservices:\n  a:\n    image: a\n"
    assert render(text, StackEnvironment(), []) == text


def test_labels_are_added_to_a_list_and_a_label_the_config_sets_wins() -> None:
    text = "services:\n  web:\n    image: w\n    labels:\n      - owner=me\n      - traefik.enable=false\n"
    out = yaml.safe_load(render(text, env(web=["traefik.enable=true", "traefik.http.routers.w.rule=Host(`w`)"]), []))
    assert out["services"]["web"]["labels"] == ["owner=me", "traefik.enable=true",
                                                "traefik.http.routers.w.rule=Host(`w`)"]


def test_labels_are_merged_into_a_mapping() -> None:
    text = "services:\n  web:\n    image: w\n    labels:\n      owner: me\n"
    out = yaml.safe_load(render(text, env(web=["traefik.enable=true"]), []))
    assert out["services"]["web"]["labels"] == {"owner": "me", "traefik.enable": "true"}


def test_labels_for_a_service_the_file_does_not_have_are_an_error() -> None:
    with pytest.raises(ComposeError, match="service 'api', which the compose file does not have"):
        render("services:\n  web:\n    image: w\n", env(api=["x=y"]), [])


def test_files_become_configs_with_their_content_and_dollars_escaped() -> None:
    out = yaml.safe_load(render("services:\n  a:\n    image: a\n  b:\n    image: b\n", StackEnvironment(),
                                [("stacks/app/prod.env", "KEY=$HOME\n", "/app/.env")]))
    assert out["configs"] == {"phx-stacks-app-prod-env": {"content": "KEY=$$HOME\n"}}
    assert out["services"]["a"]["configs"] == [{"source": "phx-stacks-app-prod-env", "target": "/app/.env"}]
    assert out["services"]["b"]["configs"] == out["services"]["a"]["configs"]


def test_broken_yaml_is_an_error_naming_it() -> None:
    with pytest.raises(ComposeError, match="not YAML"):
        render("services: [\n", env(web=["x=y"]), [])


@pytest.mark.parametrize("path", ["../secret.txt", "/etc/passwd", "stacks/../../x"])
def test_files_outside_the_config_directory_are_refused(tmp_path: Path, path: str) -> None:
    (tmp_path / "config").mkdir()
    with pytest.raises(ComposeError, match="outside the config directory"):
        read_repo_file(tmp_path / "config", path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ComposeError, match=r"stacks/x\.yml does not exist in the config repository"):
        read_repo_file(tmp_path, "stacks/x.yml")
