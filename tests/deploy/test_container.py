"""The Dockerfile, the Compose file and the Kubernetes manifest, checked without pulling an image:
the Compose file against the Compose Specification's schema, the manifests against Kubernetes' schemas,
and the rules of each (non-root, no compilers, health checks, data in a volume, two replicas) read
from the files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_SCHEMA = ROOT / "tests" / "data" / "schemas" / "compose-spec.json"
KUBERNETES_VERSION = "1.30.0"
COMPILERS = re.compile(r"\b(gcc|g\+\+|clang|build-essential|make|[a-z0-9.+-]+-dev)\b")


# -- Dockerfile ----------------------------------------------------------------------------------


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile as stages of (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, args = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), args.strip()))
    return stages


def test_final_image_is_slim_python_without_compilers() -> None:
    stages = dockerfile_stages()
    final = stages[-1]
    base = final[0][1]
    assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", base), base
    for instruction, args in final:
        if instruction == "RUN":
            installs = " ".join(re.findall(r"apt-get install ([^&|;]+)", args))
            assert not COMPILERS.search(installs), f"a compiler in the final image: {installs}"
            if "pip install" in args:
                assert "--no-cache-dir" in args and "--only-binary=:all:" in args
        assert not (instruction == "COPY" and args.split()[0] in (".", "./")), "the whole tree copied into the image"
    assert any(i == "COPY" and args.startswith("--from=build") and ".whl" in args for i, args in final)


def test_runs_as_a_non_root_user() -> None:
    users = [args for instruction, args in dockerfile_stages()[-1] if instruction == "USER"]
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    if user.isdigit():
        assert int(user) >= 1000


def test_healthcheck_and_data_volume() -> None:
    final = dict((i, a) for i, a in dockerfile_stages()[-1] if i in ("HEALTHCHECK", "VOLUME", "ENV", "ENTRYPOINT"))
    assert "/healthz" in final["HEALTHCHECK"] and "8080" in final["HEALTHCHECK"]
    data_dir = re.search(r"PHOENIX_DATA_DIR=(\S+)", final["ENV"])
    assert data_dir is not None
    assert json.loads(final["VOLUME"]) == [data_dir.group(1)]
    assert json.loads(final["ENTRYPOINT"]) == ["phoenix-gitops"]


# -- Compose -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())  # type: ignore[no-any-return]


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_compose_runs_two_replicas_on_postgresql_behind_one_port(compose: dict[str, Any]) -> None:
    services = compose["services"]
    phoenix, db, proxy = services["phoenix"], services["db"], services["proxy"]
    assert phoenix["deploy"]["replicas"] == 2
    assert phoenix["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / phoenix["build"]["context"] / phoenix["build"]["dockerfile"]).is_file()
    assert phoenix["environment"]["PHOENIX_DATABASE_URL"].startswith("postgresql://")
    assert "@db:5432/" in phoenix["environment"]["PHOENIX_DATABASE_URL"]
    assert phoenix["depends_on"]["db"]["condition"] == "service_healthy" and "healthcheck" in db
    assert "/healthz" in " ".join(phoenix["healthcheck"]["test"])
    assert "ports" not in phoenix and "ports" not in db  # replicas cannot share a published port
    published = [p for s in services.values() for p in s.get("ports", [])]
    assert published == proxy["ports"] and len(published) == 1
    nginx = compose["configs"][proxy["configs"][0]["source"]]["content"]
    assert "server phoenix:8080 resolve" in nginx and "resolver 127.0.0.11" in nginx  # replicas re-resolved
    assert "proxy_next_upstream error timeout;" in nginx and "non_idempotent" not in nginx  # no POST replayed
    assert phoenix["environment"]["PHOENIX_SECRETS_DIR"] == "/run/secrets"
    assert "./secrets:/run/secrets:ro" in phoenix["volumes"]
    assert phoenix["environment"]["PHOENIX_REPLICAS"] == str(phoenix["deploy"]["replicas"])
    assert db["volumes"][0].split(":")[0] in compose["volumes"]  # PostgreSQL's data in a named volume


def test_compose_gives_the_controller_a_writable_state_folder_apart_from_its_secrets(compose: dict[str, Any]) -> None:
    phoenix = compose["services"]["phoenix"]
    state = phoenix["environment"]["PHOENIX_STATE_DIR"]
    (volume,) = [v for v in phoenix["volumes"] if v.split(":")[1] == state]
    assert volume.split(":")[0] in compose["volumes"] and not volume.endswith(":ro")  # named, shared, writable
    assert not state.startswith(phoenix["environment"]["PHOENIX_SECRETS_DIR"])
    final = dict((i, a) for i, a in dockerfile_stages()[-1] if i in ("RUN", "ENV"))
    assert f"PHOENIX_STATE_DIR={state}" in final["ENV"]
    assert any(state in args and "-o phoenix" in args for i, args in dockerfile_stages()[-1] if i == "RUN")


def test_compose_healthcheck_keeps_the_images_start_period(compose: dict[str, Any]) -> None:
    image = dict((i, a) for i, a in dockerfile_stages()[-1])["HEALTHCHECK"]
    start = re.search(r"--start-period=(\w+)", image)
    assert start is not None and compose["services"]["phoenix"]["healthcheck"]["start_period"] == start.group(1)


def test_deploy_comments_say_what_followers_do_with_writes() -> None:
    for name in ("compose.yaml", "kubernetes.yaml"):
        text = (DEPLOY / name).read_text()
        assert "503" not in text and "hand" in text, name


def test_compose_env_example_sets_every_required_variable(compose: dict[str, Any]) -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    example = dict(line.split("=", 1) for line in (DEPLOY / "compose.env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert required == set(example)


# -- Kubernetes ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()) if d]


def test_manifests_match_the_kubernetes_schemas(manifests: list[dict[str, Any]]) -> None:
    for document in manifests:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_manifests_deploy_two_limited_probed_non_root_replicas(manifests: list[dict[str, Any]]) -> None:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for document in manifests:
        by_kind.setdefault(document["kind"], []).append(document)
    assert set(by_kind) == {"Secret", "Deployment", "Service", "PersistentVolumeClaim", "PodDisruptionBudget"}
    (deployment,) = by_kind["Deployment"]
    (service,) = by_kind["Service"]
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"  # 503 when the loop is wedged
    assert container["livenessProbe"]["failureThreshold"] >= 2  # one slow answer restarts nothing
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    secrets = {s["metadata"]["name"]: s for s in by_kind["Secret"]}
    (env_from,) = container["envFrom"]
    assert "PHOENIX_DATABASE_URL" in secrets[env_from["secretRef"]["name"]]["stringData"]
    assert service["spec"]["selector"] == spec["selector"]["matchLabels"] == spec["template"]["metadata"]["labels"]
    assert service["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert {env["PHOENIX_DATA_DIR"], env["PHOENIX_SECRETS_DIR"], "/tmp"} <= mounts  # read-only root needs these
    # several replicas: the controller is told, and refuses to start on SQLite (tests/e2e/test_startup_checks.py)
    assert env["PHOENIX_REPLICAS"] == str(spec["replicas"])
    # what it writes goes to a claim both replicas mount, apart from the read-only Secret volume
    (state,) = [m for m in container["volumeMounts"] if m["mountPath"] == env["PHOENIX_STATE_DIR"]]
    assert not state.get("readOnly")
    (volume,) = [v for v in pod["volumes"] if v["name"] == state["name"]]
    (claim,) = by_kind["PersistentVolumeClaim"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    (budget,) = by_kind["PodDisruptionBudget"]
    assert budget["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
    assert budget["spec"]["maxUnavailable"] == 1
