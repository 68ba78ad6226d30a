"""The sentinel sweep (issue 18, a must-hold): a distinct sentinel in every credential setting, found by
walking `gitops.settings` (so a new `SecretStr` setting is covered without touching this test), then the
demo's pipeline (validate, plan, apply against the simulated PVE and Portainer, a pull-request review
on the forge simulator, the outbox's notifications and deploy statuses, the API) fed hostile commits
that try to reach them: `${secret:...}` of every reserved name, environment-style references, secret
files holding a credential under another name, in descriptions, cloud-init, stack variables and
compose files. No sentinel may appear where a commit can make it travel."""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import logging
import threading
import time
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import BaseModel, SecretStr

from gitops import logs, secretvalues
from gitops.api.app import create_app
from gitops.controller.reconciling import Reconciler
from gitops.controller.service import Service
from gitops.controller.systems import Convergence
from gitops.controller.triggers import Trigger, coalesce
from gitops.demo.forges import ForgeSimulator
from gitops.demo.portainer import ADMIN, PortainerModel, SimulatedPortainer
from gitops.drivers.portainer import driver as portainer_driver
from gitops.drivers.portainer.connection import connect as portainer_connect
from gitops.drivers.proxmox.connection import connect
from gitops.settings import NotifyTarget, Settings
from gitops.source import ConfigRepo, parse_pull_request
from gitops.store import open_store
from tests.conftest import TOKEN_ID, PveHandle
from tests.controller.conftest import NoDial
from tests.controller.support import EXAMPLE, GitRemote, git, write_secrets
from tests.forges import payloads
from tests.notify.receiver import Receiver

MARK = "NeverSend"  # in every sentinel, and in nothing a commit says
REPO = "ann/config"
LXC, VM, STACKS = "phoenix_lxc_configs.json", "phoenix_vm_configs.json", "phoenix_stacks_config.json"
# Credentials a setting holds inside a plain string or a file: each named here with how to give it one.
NOT_SECRETSTR = ("database_url", "ssh_key")
# Settings whose name sounds like a credential but that hold a name or a path (the value is elsewhere).
NAMES_NOT_VALUES = {"pve_token_name", "git_ssh_key", "ssh_key", "ssh_known_hosts", "database_url",
                    "api_docs_need_read_token", "secrets_dir"}
CREDENTIAL_WORDS = ("password", "token", "secret", "api_key", "passphrase", "_key")


def _types(annotation: Any) -> Iterator[Any]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            yield from _types(arg)
    else:
        yield annotation


def credential_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every `SecretStr` setting of `model`, nested models and lists of them included (`notify.url`)."""
    found: list[str] = []
    for name, field in model.model_fields.items():
        for kind in _types(field.annotation):
            if kind is SecretStr:
                found.append(prefix + name)
            elif inspect.isclass(kind) and issubclass(kind, BaseModel):
                found += credential_paths(kind, f"{prefix}{name}.")
    return found


def held_paths(model: BaseModel, prefix: str = "") -> dict[str, str]:
    """The `SecretStr` values an instance holds, by the same paths (list items share their field's path)."""
    found: dict[str, str] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, SecretStr):
                found[prefix + name] = item.get_secret_value()
            elif isinstance(item, BaseModel):
                found.update(held_paths(item, f"{prefix}{name}."))
    return found


def sentinel(path: str) -> str:
    return f"Snt-{path.replace('.', '-').replace('_', '-')}-{MARK}-7c41"


def test_every_credential_looking_setting_is_a_secret_or_named_here() -> None:
    """A new credential kept in a plain `str` would escape the registry and this sweep: it fails here."""
    plain = [name for name, field in Settings.model_fields.items()
             if any(word in name for word in CREDENTIAL_WORDS) and SecretStr not in set(_types(field.annotation))
             and name not in NAMES_NOT_VALUES]
    assert plain == []
    assert {"pve_password", "pve_token_value", "portainer_api_key", "github_token", "webhook_secret",
            "api_read_token", "notify.url", "notify.secret"} <= set(credential_paths(Settings))


def test_the_database_password_and_the_ssh_key_are_held_credentials(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{sentinel('ssh_key')}\n-----END OPENSSH PRIVATE KEY-----\n")
    password = sentinel("database_url")
    settings = Settings(database_url=f"postgresql+psycopg://phoenix:{password}@127.0.0.1:5432/test",
                        ssh_key=str(key))
    held = secretvalues.register_settings(settings)
    assert password in held and password in secretvalues.REGISTRY.credentials()
    assert any(sentinel("ssh_key") in value for value in held)
    assert secretvalues.scrub_held(f"cannot connect to {settings.database_url}", "***").count(password) == 0


# -- the pipeline ------------------------------------------------------------------------------------------


class Sweep:
    """The controller's parts wired as `serve` wires them, every credential a sentinel."""

    def __init__(self, tmp_path: Path, pve: PveHandle, pve_cafile: str) -> None:
        self.remote = GitRemote(tmp_path)
        self.receiver = Receiver()
        paths = credential_paths(Settings)
        self.forge = ForgeSimulator(tokens={kind: sentinel(f"{kind}_token")
                                            for kind in ("github", "gitea", "gitlab", "bitbucket")}).start()
        self.forge.add_repo("github", REPO, pulls=[7])
        pve.fake.apitokens[TOKEN_ID] = sentinel("pve_token_value")
        pve.fake.password = sentinel("pve_password")  # a ticket login: device passthrough needs root@pam's
        self.portainer = SimulatedPortainer(PortainerModel(
            api_keys={sentinel("portainer_api_key"): ADMIN}, admin_password=sentinel("portainer_password")))
        key = tmp_path / "keys" / "id_ed25519"
        key.parent.mkdir()
        key.write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{sentinel('ssh_key')}\n"
                       "-----END OPENSSH PRIVATE KEY-----\n")
        secrets = write_secrets(tmp_path / "secrets")
        # upstream's layout keeps the Portainer key in the secrets folder; an operator copied the webhook
        # secret there too, under a name a commit may use
        (secrets / "portainer_api_key").write_text(sentinel("portainer_api_key") + "\n")
        (secrets / "hook_copy").write_text(sentinel("webhook_secret") + "\n")
        top = {name: SecretStr(sentinel(name)) for name in paths if "." not in name}
        notify = NotifyTarget(**{  # type: ignore[arg-type]
            **{path.split(".", 1)[1]: SecretStr(sentinel(path)) for path in paths if path.startswith("notify.")},
            "kind": "webhook", "url": SecretStr(self.receiver.url(f"/hook/{sentinel('notify.url')}"))})
        self.settings = Settings(
            **top, pve_host=pve.address, pve_user="root@pam", pve_verify_ssl=pve_cafile, pve_timeout=10.0,
            portainer_url=self.portainer.url, git_url=self.remote.url, data_dir=tmp_path / "data",
            secrets_dir=secrets, ssh_key=str(key), boot_delays=False, notify=[notify],
            database_url=f"postgresql+psycopg://phoenix:{sentinel('database_url')}@127.0.0.1:5432/test",
            github_api_url=self.forge.url, forge="github", forge_repo=REPO, public_url="https://phoenix.example.org")
        held = held_paths(self.settings)
        assert set(held) == set(paths), "a credential setting the sweep does not fill"
        self.values = {*held.values(), sentinel("database_url"), sentinel("ssh_key")}
        assert len(self.values) == len(paths) + len(NOT_SECRETSTR) and all(MARK in v for v in self.values)
        self.store = open_store(f"sqlite:///{tmp_path / 'data' / 'phoenix.db'}")
        self.repo = ConfigRepo.from_settings(self.settings)
        convergence = Convergence(self.settings, sleep=lambda s: None)
        self.reconciler = Reconciler(self.settings, self.store, self.repo, convergence, sleep=lambda s: None,
                                     dial=NoDial())
        self.service = Service(self.settings, self.store, self.repo, convergence, reconciler=self.reconciler)
        self.service.leader = True

    def run(self, trigger: Trigger) -> Any:
        return self.reconciler.reconcile(coalesce((trigger,)))

    def close(self) -> None:
        self.service.stop(timeout=10)
        self.repo.close()
        self.store.close()
        self.portainer.stop()
        self.forge.stop()
        self.receiver.close()

    def commit_example(self, change: Any = None, message: str = "the example", *, push: bool = True) -> str:
        work = self.remote.work
        for path in EXAMPLE.rglob("*"):
            if path.is_file() and "schemas" not in path.parts:
                target = work / path.relative_to(EXAMPLE)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(path.read_bytes())
        if change is not None:
            change(work)
        return self.remote.commit({}, message, push=push)


def _edit(work: Path, name: str, change: Any) -> None:
    data = json.loads((work / name).read_text())
    change(data)
    (work / name).write_text(json.dumps(data, indent=2))


def hostile(texts: list[str], compose_line: str = "") -> Any:
    """A change putting each of `texts` where a commit's words reach a system: descriptions, cloud-init,
    a stack variable, a compose file."""
    joined = " ".join(texts)

    def change(work: Path) -> None:
        def lxc(data: Any) -> None:
            for ct in data["lxc_configs"].values():
                ct["description"] = f"hostile: {joined}"

        def vm(data: Any) -> None:
            for item in data["vms"]:
                item["description"] = f"hostile: {joined}"
                if "user_config" in item and texts[0].startswith("${secret:"):  # cloud-init's password
                    item["user_config"]["password"] = texts[0]

        def stacks(data: Any) -> None:
            env = data["docker_stacks"]["webapp"]["environments"]["staging"]
            env["variables"] += [{"name": f"LEAK_{i}", "value": text} for i, text in enumerate(texts)]

        _edit(work, LXC, lxc)
        _edit(work, VM, vm)
        _edit(work, STACKS, stacks)
        if compose_line:
            compose = work / "stacks" / "webapp" / "docker-compose.yml"
            compose.write_text(compose.read_text().replace("services:", f"# {compose_line}\nservices:", 1))
    return change


RESERVED_REFERENCES = [f"${{secret:{name}}}" for name in sorted(secretvalues.RESERVED_NAMES)] + [
    "${secret:pve_token_root_pam_x}", "${secret:PVE_TOKEN_VALUE}", "${secret:webhook-secret}",
    "${secret:../secrets/portainer_api_key}", "${secret:../state/pve_token_root_40pam_21x}"]
ENV_STYLE = ["$PHOENIX_PVE_TOKEN_VALUE", "${PHOENIX_PORTAINER_API_KEY}", "${env:PHOENIX_GITHUB_TOKEN}",
             "%PHOENIX_WEBHOOK_SECRET%", "{{ env.PHOENIX_API_TOKEN }}", "$(cat /proc/self/environ)",
             "${PHOENIX_DATABASE_URL}", "`printenv PHOENIX_GITEA_TOKEN`"]


@pytest.fixture
def sweep(tmp_path: Path, pve: PveHandle, pve_cafile: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sweep]:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig-global"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setattr(portainer_driver, "connect", lambda s: portainer_connect(s, sleep=lambda _: None))
    made = Sweep(tmp_path, pve, pve_cafile)
    # the controller's environment holds them too, as a deployment's would: an expansion would leak them
    for name in credential_paths(Settings):
        if "." not in name:
            monkeypatch.setenv(f"PHOENIX_{name.upper()}", sentinel(name))
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    logs.configure(stream=stream, json_lines=True)
    root.setLevel(logging.DEBUG)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def api_answers(sweep: Sweep, shas: list[str]) -> dict[str, str]:
    app = create_app(sweep.store, sweep.service, sweep.settings)  # type: ignore[arg-type]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    paths = sorted({route.path for route in app.routes if "GET" in getattr(route, "methods", set())
                    and "{" not in route.path and "stream" not in route.path and "live" not in route.path})
    paths += [f"/api/v1/revisions/{sha}" for sha in shas] + [f"/revisions/{sha}" for sha in shas]
    paths += [f"/reviews/{sha}" for sha in shas] + ["/api/v1/events?limit=1000"]
    seen: dict[str, str] = {}
    headers = {"Authorization": f"Bearer {sentinel('api_token')}"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20, headers=headers) as api:
            for path in paths:
                seen[path] = api.get(path).text
    finally:
        server.should_exit = True
        thread.join(10)
    return seen


def test_no_credential_travels_where_a_commit_can_send_it(sweep: Sweep, pve: PveHandle, tmp_path: Path,
                                                          captured_logs: io.StringIO) -> None:
    raw: list[str] = []  # every request PVE receives, bodies unredacted (fakepve's own list masks passwords)
    recorded = tmp_path / "pve-record"
    pve.fake.record_to(recorded)  # PHOENIX_PVE_RECORD's log (gitops.demo.request_log)
    original = pve.fake._record

    def record(request: Any, body: bytes) -> None:
        if request.path.endswith("/access/ticket"):
            return original(request, body)  # the controller's own login: the one place its password goes
        raw.append(f"{request.method} {request.path_qs} {body.decode('utf-8', 'replace')}")
        original(request, body)
    pve.fake._record = record

    sweep.service.outbox.prime()  # as `serve` does at start: the outbox sends what happens from now on
    good = sweep.commit_example(message="the example")
    assert sweep.run(Trigger("poll")).action == "applied"
    writes_before = len([r for r in raw if not r.startswith("GET")])

    # 1. every reserved name, everywhere: rejected, nothing sent
    reserved = sweep.commit_example(hostile(RESERVED_REFERENCES), "exfiltrate the credentials by name")
    assert sweep.run(Trigger("poll")).action == "rejected"
    record_of = sweep.store.get_revision(reserved)
    assert record_of.validation is not None
    assert {e.code for e in record_of.validation.errors} == {"secret-reserved", "secret-ref-invalid"}
    assert len([r for r in raw if not r.startswith("GET")]) == writes_before

    # 2. environment-style references: valid text, sent as written, never expanded
    expanded = sweep.commit_example(hostile(ENV_STYLE, "${PHOENIX_PORTAINER_API_KEY} $PHOENIX_PVE_PASSWORD"),
                                    "environment-style references")
    sweep.run(Trigger("poll"))
    record = sweep.store.get_revision(expanded)
    assert record.status == "applied", record.validation
    assert any("PHOENIX_PVE_TOKEN_VALUE" in r for r in raw)  # they did reach PVE, as text

    # 3. a credential under a name a commit may use: never resolved
    copied = sweep.commit_example(hostile(["${secret:hook_copy}"]), "the webhook secret by another name")
    sweep.run(Trigger("poll"))
    assert sweep.store.get_revision(copied).status != "applied"

    # 4. drift and a rollback to the good revision, then a hostile pull request reviewed
    sweep.run(Trigger("drift"))
    sweep.run(Trigger("rollback", revision=good))
    for n, texts in enumerate((RESERVED_REFERENCES, ENV_STYLE, ["${secret:hook_copy}"])):
        head = sweep.commit_example(hostile(texts, " ".join(texts)), f"pr {n}", push=False)
        git("push", "--quiet", "--force", "origin", "HEAD:refs/pull/7/head", cwd=sweep.remote.work)
        body = payloads.body_of(payloads.github("synchronize", 7, head, "hostile"))
        assert sweep.service.reviews is not None
        sweep.service.reviews.review(parse_pull_request("github", {"X-GitHub-Event": "pull_request"}, body))
    assert sweep.forge.comments("github", REPO, 7)

    # 5. the outbox: notifications and deploy statuses of everything above
    for _ in range(3):
        sweep.service.outbox.run_once()
    assert sweep.receiver.deliveries
    assert [s for s in sweep.forge.received if "/statuses/" in s.path]

    # where a commit can make a value travel
    places: dict[str, str] = {
        "PVE requests": "\n".join(raw),
        "PVE request log": "\n".join(p.read_text() for p in recorded.glob("*.jsonl")),
        "Portainer requests": json.dumps([[r.method, r.path, r.query, r.body] for r in sweep.portainer.model.received]),
        "Portainer stacks": json.dumps([[s.name, s.env, s.file] for s in sweep.portainer.model.stacks.values()],
                                       default=str),
        "forge": sweep.forge.everything_sent(),
        "notifications": "\n".join(d.body.decode("utf-8", "replace") for d in sweep.receiver.deliveries),
        "logs": captured_logs.getvalue(),
    }
    with connect(sweep.settings) as client:
        guests = [(g["type"], g["vmid"]) for g in client.get("cluster/resources", type="vm")]
        for kind, vmid in guests:
            base = f"nodes/{client.node}/{kind}/{vmid}"
            places[f"{kind}/{vmid} config"] = json.dumps(client.get(f"{base}/config"))
            if kind == "qemu":
                for part in ("user", "network", "meta"):  # what cloud-init hands the guest
                    with contextlib.suppress(Exception):
                        places[f"{vmid} cloud-init {part}"] = json.dumps(client.get(f"{base}/cloudinit/dump",
                                                                                    type=part))
    shas = [good, reserved, expanded, copied]
    places.update({f"API {path}": text for path, text in api_answers(sweep, shas).items()})
    for file in (tmp_path / "data").rglob("*"):
        if file.is_file() and "state" not in file.relative_to(tmp_path / "data").parts:
            places[f"file {file.name}"] = file.read_bytes().decode("utf-8", "replace")

    assert len([k for k in places if k.endswith("config")]) >= 6 and any("cloud-init" in k for k in places)
    leaks = {place: sorted(v for v in sweep.values if v in text) or [MARK]
             for place, text in places.items() if MARK in text}
    assert leaks == {}
