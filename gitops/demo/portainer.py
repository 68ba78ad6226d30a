"""A simulated Portainer server over real HTTP on loopback: the routes the Portainer driver uses, as the spec has them.

Used by `phoenix-gitops demo` (beside the simulated Proxmox node) and by the tests. `SimulatedPortainer`
serves a FastAPI app with uvicorn in a background thread on 127.0.0.1; `PortainerModel` holds the state
(environments, stacks with their env and file, users, API keys) and records every request it receives
(`received`), so tests can check what was deployed.

Faithful to `tests/data/portainer-api/swagger.yaml` (Portainer EE 2.31.2; the CE routes are the same)
for: `POST /api/auth`, `GET/POST /api/endpoints`, `GET /api/endpoints/{id}`, `GET /api/stacks`,
`GET/PUT/DELETE /api/stacks/{id}`, `GET /api/stacks/{id}/file`, `POST /api/stacks/{id}/start|stop`,
`POST /api/stacks/create/standalone/string|repository`, `PUT /api/stacks/{id}/git/redeploy`,
`GET /api/system/status`. Errors are `{"message", "details"}` with the spec's status codes.

Where the spec is silent, this is what was assumed (from Portainer's server sources and upstream use):
- Field casing of answers: Go field names (`Id`, `Name`, `EndpointId`, `Env`, `Status`, `GitConfig` with
  `URL`, `ReferenceName`, `ConfigFilePath`, `ConfigHash`); env pairs are `{"name", "value"}`.
  Request bodies are matched case-insensitively, as Go's JSON decoder does.
- Messages: wrong credentials answer 422 `Invalid credentials`; a missing or bad key or JWT answers 401
  `Unauthorized`; a non-administrator creating an environment answers 403 `Access denied to resource`;
  a taken stack name answers 409 `A stack with the normalized name '<name>' already exists` (names are
  normalised first: lower case, only `[a-z0-9_-]`); a taken environment name 409 `Name is not unique`.
- Stack names are unique per environment. A deploy fails (500 `Failed to deploy a stack`) when the
  stack file is not YAML with a `services` mapping (docker compose's own check, simplified).
- A fresh Portainer has its own environment `local` (Id 1, the Docker socket), as after install.
- An agent environment answers 500 `Unable to initiate communications with environment` when
  `agent_reachable(url)` is false (the real server connects to the agent when it is created).
- Git stacks are cloned for real (`git clone` of the URL at the reference), so tests use file:// repos.
- Starting an active stack answers 400 `Stack is already active`; updating a Git stack's file answers
  400 (Portainer detaches it from Git; the controller never does that, it redeploys from Git).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

LOOPBACK = "127.0.0.1"
JWT_TTL_S = 8 * 3600.0  # Portainer's default session length
ADMIN = "admin"
STANDARD = "standard"


class ApiError(Exception):
    """An error answer: status and Portainer's `{"message", "details"}`."""

    def __init__(self, status: int, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or message


@dataclass
class Environment:
    id: int
    name: str
    type: int
    url: str
    group_id: int = 1
    tls: bool = False
    status: int = 1  # 1 up, 2 down (Portainer's last check of the agent)

    def as_json(self) -> dict[str, Any]:
        return {"Id": self.id, "Name": self.name, "Type": self.type, "URL": self.url, "GroupId": self.group_id,
                "Status": self.status, "PublicURL": "", "TagIds": [],
                "TLSConfig": {"TLS": self.tls, "TLSSkipVerify": self.tls}}


@dataclass
class Stack:
    id: int
    name: str
    endpoint_id: int
    env: list[dict[str, str]]
    file: str
    created_by: str
    status: int = 1
    git: dict[str, Any] | None = None
    created: int = field(default_factory=lambda: int(time.time()))
    updated: int = 0
    deploys: int = 1

    def as_json(self) -> dict[str, Any]:
        return {
            "Id": self.id, "Name": self.name, "Type": 2, "EndpointId": self.endpoint_id, "SwarmId": "",
            "EntryPoint": (self.git or {}).get("ConfigFilePath", "docker-compose.yml"),
            "Env": [dict(p) for p in self.env], "Status": self.status,
            "ProjectPath": f"/data/compose/{self.id}", "CreationDate": self.created, "CreatedBy": self.created_by,
            "UpdateDate": self.updated, "UpdatedBy": self.created_by if self.updated else "",
            "GitConfig": dict(self.git) if self.git else None, "AutoUpdate": None, "AdditionalFiles": [],
            "FromAppTemplate": False, "IsComposeFormat": False, "ResourceControl": None,
        }


@dataclass
class Received:
    """One request as it arrived (bodies as sent: this is Portainer, secrets included)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    times: int  # -1: until cleared
    details: str = "injected by the test"


class PortainerModel:
    """The state of the simulated Portainer and its rules; no HTTP here."""

    def __init__(self, *, admin_password: str = "", api_keys: dict[str, str] | None = None,
                 users: dict[str, tuple[str, str]] | None = None, local_environment: str | None = "local",
                 clock: Callable[[], float] = time.time, jwt_ttl: float = JWT_TTL_S) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.jwt_ttl = jwt_ttl
        self.users: dict[str, tuple[str, str]] = dict(users or {})  # name -> (password, role)
        if admin_password:
            self.users["admin"] = (admin_password, ADMIN)
        self.api_keys: dict[str, str] = dict(api_keys or {})  # key -> role
        self.environments: dict[int, Environment] = {}
        self.stacks: dict[int, Stack] = {}
        self.received: list[Received] = []
        self.faults: list[Fault] = []
        self.agent_reachable: Callable[[str], bool] = lambda url: True
        self._signing_key = secrets.token_bytes(32)
        self._next_env = 1
        self._next_stack = 1
        if local_environment:
            self.add_environment(local_environment, 1, "unix:///var/run/docker.sock")

    # -- test and demo hooks -------------------------------------------------------------------------

    def add_environment(self, name: str, type_: int, url: str) -> Environment:
        with self.lock:
            env = Environment(self._next_env, name, type_, url, tls=type_ == 2)
            self.environments[env.id] = env
            self._next_env += 1
            return env

    def add_stack_by_hand(self, endpoint_id: int, name: str, file: str,
                          env: list[dict[str, str]] | None = None) -> Stack:
        """A stack someone made in Portainer's UI."""
        return self.create_stack(endpoint_id, name, file, env or [], user="someone", git=None)

    def fail(self, method: str, path: str, status: int = 500, times: int = -1,
             details: str = "injected by the test") -> None:
        """Answer `status` to requests matching `method` and the `path` regex (`times` times, -1: always)."""
        with self.lock:
            self.faults.append(Fault(method.upper(), re.compile(path), status, times, details))

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def stack_named(self, name: str, endpoint_id: int | None = None) -> Stack | None:
        with self.lock:
            for s in self.stacks.values():
                if s.name == name and (endpoint_id is None or s.endpoint_id == endpoint_id):
                    return s
            return None

    def environment_named(self, name: str) -> Environment | None:
        with self.lock:
            return next((e for e in self.environments.values() if e.name == name), None)

    def writes(self) -> list[Received]:
        """The requests that changed something (not GETs, not logins)."""
        with self.lock:
            return [r for r in self.received if r.method != "GET" and r.path != "/api/auth"]

    # -- authentication ------------------------------------------------------------------------------

    def login(self, body: Any) -> dict[str, str]:
        username, password = str(_field(body, "username") or ""), str(_field(body, "password") or "")
        if not username or not password:
            raise ApiError(400, "Invalid request payload", "Invalid username or password")
        with self.lock:
            known = self.users.get(username)
        if known is None or not hmac.compare_digest(known[0], password):
            raise ApiError(422, "Invalid credentials", "Unauthorized")
        return {"jwt": self._jwt(username)}

    def role_of(self, headers: dict[str, str]) -> str:
        key = headers.get("x-api-key", "")
        if key:
            with self.lock:
                role = self.api_keys.get(key)
            if role is None:
                raise ApiError(401, "Unauthorized", "Invalid API key")
            return role
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            raise ApiError(401, "Unauthorized", "Unauthorized")
        claims = self._verify(auth[7:].strip())
        with self.lock:
            known = self.users.get(str(claims.get("username", "")))
        if known is None:
            raise ApiError(401, "Unauthorized", "Invalid JWT token")
        return known[1]

    def _jwt(self, username: str) -> str:
        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = b64(json.dumps({"username": username, "exp": int(self.clock() + self.jwt_ttl)}).encode())
        signature = b64(hmac.new(self._signing_key, f"{header}.{claims}".encode(), hashlib.sha256).digest())
        return f"{header}.{claims}.{signature}"

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            header, claims, signature = token.split(".")
            expected = base64.urlsafe_b64encode(
                hmac.new(self._signing_key, f"{header}.{claims}".encode(), hashlib.sha256).digest()).rstrip(b"=")
            if not hmac.compare_digest(expected.decode(), signature):
                raise ValueError("signature")
            data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
        except ValueError:
            raise ApiError(401, "Unauthorized", "Invalid JWT token") from None
        if float(data.get("exp", 0)) <= self.clock():
            raise ApiError(401, "Unauthorized", "Invalid JWT token")
        return data

    # -- environments --------------------------------------------------------------------------------

    def create_environment(self, form: dict[str, str], role: str) -> Environment:
        if role != ADMIN:
            raise ApiError(403, "Access denied to resource", "Permission denied")
        name = form.get("Name", "").strip()
        if not name:
            raise ApiError(400, "Invalid request payload", "Invalid environment name")
        try:
            kind = int(form.get("EndpointCreationType", ""))
        except ValueError:
            raise ApiError(400, "Invalid request payload", "Invalid environment type value") from None
        if kind not in (1, 2, 3, 4, 5):
            raise ApiError(400, "Invalid request payload", "Invalid environment type value")
        url = form.get("URL", "").strip()
        if kind == 2:
            if not url:
                raise ApiError(400, "Invalid request payload", "Invalid environment URL")
            if form.get("TLS", "").lower() != "true":
                raise ApiError(400, "Invalid request payload", "TLS must be true for an agent environment")
        with self.lock:
            if self.environment_named(name) is not None:
                raise ApiError(409, "Name is not unique", "Name is not unique")
            if kind == 2 and not self.agent_reachable(url):
                raise ApiError(500, "Unable to initiate communications with environment",
                               f"dial tcp {url.removeprefix('tcp://')}: connect: connection refused")
            return self.add_environment(name, kind, url)

    def environment(self, endpoint_id: Any) -> Environment:
        try:
            wanted = int(endpoint_id)
        except (TypeError, ValueError):
            raise ApiError(400, "Invalid query parameter: endpointId", "Invalid query parameter: endpointId") from None
        with self.lock:
            env = self.environments.get(wanted)
        if env is None:
            raise ApiError(404, "Unable to find an environment with the specified identifier inside the database",
                           "Object not found inside the database")
        return env

    # -- stacks --------------------------------------------------------------------------------------

    def stack(self, stack_id: int) -> Stack:
        with self.lock:
            found = self.stacks.get(stack_id)
        if found is None:
            raise ApiError(404, "Unable to find a stack with the specified identifier inside the database",
                           "Object not found inside the database")
        return found

    def create_stack(self, endpoint_id: int, name: str, file: str, env: list[dict[str, str]], *, user: str,
                     git: dict[str, Any] | None) -> Stack:
        normalized = normalize_name(name)
        if not normalized:
            raise ApiError(400, "Invalid request payload", "Invalid stack name")
        with self.lock:
            if self.stack_named(normalized, endpoint_id) is not None:
                raise ApiError(409, f"A stack with the normalized name '{normalized}' already exists",
                               "A stack already exists with this name")
            _check_compose(file)
            stack = Stack(self._next_stack, normalized, endpoint_id, env, file, user, git=git)
            self.stacks[stack.id] = stack
            self._next_stack += 1
            return stack

    def update_stack(self, stack: Stack, body: Any, user: str) -> Stack:
        if stack.git is not None:
            raise ApiError(400, "Invalid request payload", "Use the git redeploy route to update a Git stack")
        content = _field(body, "stackFileContent")
        if not isinstance(content, str) or not content.strip():
            raise ApiError(400, "Invalid request payload", "Invalid stack file content")
        _check_compose(content)
        with self.lock:
            stack.file = content
            stack.env = _pairs(_field(body, "env"))
            stack.updated = int(self.clock())
            stack.deploys += 1
            stack.status = 1
        return stack

    def redeploy_git(self, stack: Stack, body: Any) -> Stack:
        if stack.git is None:
            raise ApiError(400, "Invalid request payload", "Stack is not created from git")
        reference = str(_field(body, "repositoryReferenceName") or stack.git["ReferenceName"])
        file, commit = clone_file(stack.git["URL"], reference, stack.git["ConfigFilePath"])
        with self.lock:
            stack.git = {**stack.git, "ReferenceName": reference, "ConfigHash": commit}
            stack.file = file
            if _field(body, "env") is not None:
                stack.env = _pairs(_field(body, "env"))
            stack.updated = int(self.clock())
            stack.deploys += 1
            stack.status = 1
        return stack


def normalize_name(name: str) -> str:
    """What Portainer does to a stack name before using it (docker compose project names)."""
    return re.sub(r"[^a-z0-9_-]", "", name.lower()).lstrip("_-")


def clone_file(url: str, reference: str, path: str) -> tuple[str, str]:
    """The file at `path` in the repository at `reference`, and the commit: a real clone, as Portainer does
    (a whole one: git's dumb http, which the tests serve, has no shallow clones)."""
    git = shutil.which("git") or "git"
    branch = reference.removeprefix("refs/heads/").removeprefix("refs/tags/")
    with tempfile.TemporaryDirectory(prefix="portainer-git-") as tmp:
        try:
            subprocess.run([git, "clone", "--quiet", "--branch", branch, url, tmp],
                           check=True, capture_output=True, timeout=60)
            commit = subprocess.run([git, "-C", tmp, "rev-parse", "HEAD"], check=True, capture_output=True,
                                    text=True, timeout=30).stdout.strip()
        except subprocess.CalledProcessError as exc:
            raise ApiError(500, "Unable to clone git repository",
                           exc.stderr.decode(errors="replace").strip() or "git clone failed") from None
        except (OSError, subprocess.SubprocessError) as exc:
            raise ApiError(500, "Unable to clone git repository", str(exc)) from None
        target = Path(tmp) / path
        if not target.is_file():
            raise ApiError(500, "Failed to deploy a stack", f"open {path}: no such file or directory")
        return target.read_text(encoding="utf-8"), commit


def _check_compose(text: str) -> None:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ApiError(500, "Failed to deploy a stack", f"yaml: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        raise ApiError(500, "Failed to deploy a stack", "no service defined in the compose file")


def _field(body: Any, name: str) -> Any:
    """A body field, matched case-insensitively as Go's JSON decoder does."""
    if not isinstance(body, dict):
        return None
    for key, value in body.items():
        if key.lower() == name.lower():
            return value
    return None


def _pairs(raw: Any) -> list[dict[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApiError(400, "Invalid request payload", "Invalid env: an array of {name, value} is expected")
    pairs = []
    for item in raw:
        name = _field(item, "name")
        if not isinstance(name, str) or not name:
            raise ApiError(400, "Invalid request payload", "Invalid env: each pair needs a name")
        pairs.append({"name": name, "value": str(_field(item, "value") or "")})
    return pairs


def _int(value: str | None, name: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise ApiError(400, f"Invalid query parameter: {name}", f"Invalid query parameter: {name}") from None


def build_app(model: PortainerModel) -> FastAPI:
    """The HTTP face of `model` under `/api`."""
    app = FastAPI(title="Simulated Portainer", openapi_url=None, docs_url=None, redoc_url=None)

    async def handle(request: Request, work: Callable[[str, Any], Any], *, public: bool = False,
                     form: bool = False) -> Response:
        body: Any = None
        if form:
            body = {k: str(v) for k, v in (await request.form()).items()}
        elif request.method in ("POST", "PUT"):
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
        seen = Received(request.method, request.url.path, dict(request.query_params), body)
        with model.lock:
            model.received.append(seen)
        try:
            _injected_fault(model, request.method, request.url.path)
            role = "" if public else model.role_of({k.lower(): v for k, v in request.headers.items()})
            if request.method in ("POST", "PUT") and body is None and not public and not form:
                if request.url.path.endswith(("/start", "/stop")):
                    body = {}
                else:
                    raise ApiError(400, "Invalid request payload", "Invalid JSON body")
            result = work(role, body)
        except ApiError as exc:
            seen.status = exc.status
            return JSONResponse({"message": exc.message, "details": exc.details}, status_code=exc.status)
        if result is None:
            seen.status = 204
            return Response(status_code=204)
        seen.status = 200
        return JSONResponse(result)

    @app.get("/api/system/status")
    async def system_status(request: Request) -> Response:
        return await handle(request, lambda role, body: {"Version": "2.31.2", "InstanceID": "simulated"}, public=True)

    @app.post("/api/auth")
    async def auth(request: Request) -> Response:
        return await handle(request, lambda role, body: model.login(body), public=True)

    @app.get("/api/endpoints")
    async def endpoints(request: Request) -> Response:
        name = request.query_params.get("name")

        def work(role: str, body: Any) -> Any:
            with model.lock:
                found = [e.as_json() for e in model.environments.values() if name is None or e.name == name]
            return found
        return await handle(request, work)

    @app.post("/api/endpoints")
    async def endpoint_create(request: Request) -> Response:
        return await handle(request, lambda role, body: model.create_environment(body, role).as_json(), form=True)

    @app.get("/api/endpoints/{endpoint_id}")
    async def endpoint(request: Request, endpoint_id: str) -> Response:
        return await handle(request, lambda role, body: model.environment(endpoint_id).as_json())

    @app.get("/api/stacks")
    async def stacks(request: Request) -> Response:
        raw = request.query_params.get("filters")

        def work(role: str, body: Any) -> Any:
            wanted: int | None = None
            if raw:
                try:
                    filters = json.loads(raw)
                    wanted = int(filters["EndpointID"]) if "EndpointID" in filters else None
                except (ValueError, TypeError, KeyError):
                    raise ApiError(400, "Invalid query parameter: filters", "Invalid filters") from None
            with model.lock:
                return [s.as_json() for s in model.stacks.values() if wanted is None or s.endpoint_id == wanted]
        return await handle(request, work)

    @app.get("/api/stacks/{stack_id}")
    async def stack(request: Request, stack_id: int) -> Response:
        return await handle(request, lambda role, body: model.stack(stack_id).as_json())

    @app.get("/api/stacks/{stack_id}/file")
    async def stack_file(request: Request, stack_id: int) -> Response:
        return await handle(request, lambda role, body: {"StackFileContent": model.stack(stack_id).file})

    @app.post("/api/stacks/create/standalone/string")
    async def create_string(request: Request) -> Response:
        def work(role: str, body: Any) -> Any:
            env = model.environment(_int(request.query_params.get("endpointId"), "endpointId"))
            content = _field(body, "stackFileContent")
            if not isinstance(content, str) or not content.strip():
                raise ApiError(400, "Invalid request payload", "Invalid stack file content")
            return model.create_stack(env.id, str(_field(body, "name") or ""), content, _pairs(_field(body, "env")),
                                      user="admin", git=None).as_json()
        return await handle(request, work)

    @app.post("/api/stacks/create/standalone/repository")
    async def create_repository(request: Request) -> Response:
        def work(role: str, body: Any) -> Any:
            env = model.environment(_int(request.query_params.get("endpointId"), "endpointId"))
            url = str(_field(body, "repositoryURL") or "")
            if not url:
                raise ApiError(400, "Invalid request payload",
                               "Invalid repository URL. Must correspond to a valid URL format")
            reference = str(_field(body, "repositoryReferenceName") or "refs/heads/main")
            path = str(_field(body, "composeFile") or "docker-compose.yml")
            name = str(_field(body, "name") or "")
            if not normalize_name(name):
                raise ApiError(400, "Invalid request payload", "Invalid stack name")
            if model.stack_named(normalize_name(name), env.id) is not None:
                raise ApiError(409, f"A stack with the normalized name '{normalize_name(name)}' already exists",
                               "A stack already exists with this name")
            file, commit = clone_file(url, reference, path)
            git = {"URL": url, "ReferenceName": reference, "ConfigFilePath": path, "ConfigHash": commit,
                   "Authentication": None, "TLSSkipVerify": False}
            return model.create_stack(env.id, name, file, _pairs(_field(body, "env")), user="admin", git=git).as_json()
        return await handle(request, work)

    @app.put("/api/stacks/{stack_id}")
    async def update(request: Request, stack_id: int) -> Response:
        def work(role: str, body: Any) -> Any:
            found = _on_endpoint(model, stack_id, request)
            return model.update_stack(found, body, "admin").as_json()
        return await handle(request, work)

    @app.put("/api/stacks/{stack_id}/git/redeploy")
    async def redeploy(request: Request, stack_id: int) -> Response:
        return await handle(request, lambda role, body: model.redeploy_git(model.stack(stack_id), body).as_json())

    def set_status(request: Request, stack_id: int, status: int) -> Any:
        found = _on_endpoint(model, stack_id, request)
        if found.status == status:
            word = "active" if status == 1 else "inactive"
            raise ApiError(400, f"Stack is already {word}", f"Stack is already {word}")
        found.status = status
        return found.as_json()

    @app.post("/api/stacks/{stack_id}/start")
    async def start(request: Request, stack_id: int) -> Response:
        return await handle(request, lambda role, body: set_status(request, stack_id, 1))

    @app.post("/api/stacks/{stack_id}/stop")
    async def stop(request: Request, stack_id: int) -> Response:
        return await handle(request, lambda role, body: set_status(request, stack_id, 2))

    @app.delete("/api/stacks/{stack_id}")
    async def delete(request: Request, stack_id: int) -> Response:
        def work(role: str, body: Any) -> Any:
            found = _on_endpoint(model, stack_id, request)
            with model.lock:
                model.stacks.pop(found.id, None)
            return None
        return await handle(request, work)

    return app


def _on_endpoint(model: PortainerModel, stack_id: int, request: Request) -> Stack:
    endpoint_id = _int(request.query_params.get("endpointId"), "endpointId")
    model.environment(endpoint_id)
    found = model.stack(stack_id)
    if found.endpoint_id != endpoint_id:
        raise ApiError(404, "Unable to find a stack with the specified identifier inside the database",
                       "Object not found inside the database")
    return found


def _injected_fault(model: PortainerModel, method: str, path: str) -> None:
    with model.lock:
        for fault in model.faults:
            if fault.times != 0 and fault.method in (method, "*") and fault.path.search(path):
                if fault.times > 0:
                    fault.times -= 1
                raise ApiError(fault.status, "Internal server error" if fault.status >= 500 else "Injected error",
                               fault.details)


class SimulatedPortainer:
    """The simulated Portainer served on `http://127.0.0.1:PORT`; `stop()` and `start()` take it down and
    bring it back on the same port (a Portainer outage, as a client sees it: connection refused)."""

    def __init__(self, model: PortainerModel | None = None, *, host: str = LOOPBACK, port: int = 0) -> None:
        self.model = model or PortainerModel(admin_password=secrets.token_urlsafe(12))
        self.host = host
        self.port = port or _free_port(host)
        self.app = build_app(self.model)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        if self._server is not None:
            return
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning", access_log=False,
                                lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="simulated-portainer", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the simulated Portainer did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        self._server, self._thread = server, thread

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
