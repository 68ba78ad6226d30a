"""`phoenix-gitops serve|demo|status|history|sync|rollback|suspend|resume`: run the controller, talk to it.

`serve` runs the reconcile loop and the HTTP API under uvicorn; `demo` does the same on the embedded
default (a simulated node, a local repo of the example estate). The other commands are HTTP clients of
a running controller (`--api`, token from PHOENIX_API_TOKEN). Heavy modules are imported lazily.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shlex
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import typer

from gitops.cli import timeline, waiting
from gitops.cli.output import EXIT_OK, fail, print_json, settings_path

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from gitops.settings import Settings

DEFAULT_API = "http://127.0.0.1:8080"
API_OPTION = typer.Option(DEFAULT_API, "--api", envvar="PHOENIX_API_URL", help="URL of the running controller")
JSON_OPTION = typer.Option(False, "--json", help="print the API's JSON answer")
SETTINGS_OPTION = typer.Option(None, "--settings", help="TOML file of settings (beneath PHOENIX_* variables)")

SERVE_HELP = """Run the controller: follow PHOENIX_GIT_URL, apply each valid revision, serve the HTTP API.

SIGTERM finishes the actions running, records the revision and exits.

Example: PHOENIX_GIT_URL=https://git.example.org/lab/config.git phoenix-gitops serve --port 8080
"""

DEMO_HELP = """Run the controller on the embedded default: a simulated Proxmox node on loopback, a local git
repo of the example estate, SQLite, all under PHOENIX_DATA_DIR (./phoenix-data). Needs the `demo` extra.
It writes `demo-settings.toml` there, for `phoenix-gitops --settings FILE plan|apply|diff|check` against
the simulated node. With PHOENIX_PROVISIONING=true the nodes' SSH is simulated too: the example's
scripts are pushed into the containers and VMs and recorded as run (nothing runs on this machine).
It polls the repo every 2 s and checks for drift every 30 s, unless PHOENIX_POLL_INTERVAL or
PHOENIX_DRIFT_INTERVAL says otherwise.

Example: phoenix-gitops demo --port 8080
"""


# -- running the controller ----------------------------------------------------------------


def serve(
    host: str | None = typer.Option(None, "--host", help="address to listen on (127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", help="port to listen on (8080)"),
    settings_file: Path | None = SETTINGS_OPTION,
) -> None:
    from gitops.errors import PhoenixError
    from gitops.settings import load_settings, unknown_variables

    try:
        settings = load_settings(settings_path(settings_file))
    except (PhoenixError, ValueError) as exc:
        fail(f"invalid settings: {exc}")
    if problem := settings.replicas_problem():
        fail(problem, 2)
    for warning in unknown_variables(os.environ):
        typer.echo(f"warning: {warning}", err=True)
    host, port = host or settings.api_host, port or settings.api_port
    _run(settings, host, port, _listen(host, port))


def demo(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8080, "--port", help="port to listen on"),
    nodes: int = typer.Option(1, "--nodes", min=1, max=64, envvar="PHOENIX_DEMO_NODES",
                              help="simulate a cluster of this many nodes (pve1..pveN)"),
) -> None:
    from gitops.demo.embedded import start_demo
    from gitops.errors import PhoenixError

    data_dir = Path(os.environ.get("PHOENIX_DATA_DIR", "./phoenix-data"))
    sock = _listen(host, port)  # before the simulators start: a port in use says so and nothing runs
    try:
        started = start_demo(data_dir, nodes)
    except PhoenixError as exc:
        sock.close()
        fail(str(exc))
    url = f"http://{host}:{port}"
    where = f"cluster (pve1..pve{nodes}; guests without a `node` on pve1)" if nodes > 1 else "node"
    token_line = (f"API token (shown once, kept in {started.token_file}):\n    {started.token}"
                  if started.token_created else f"API token: in {started.token_file}")
    cli = _this_command()
    repo = shlex.quote(str(started.repo_dir))
    api = f" --api {url}" if url != DEFAULT_API else ""
    settings = shlex.quote(str(started.settings_file))
    provisioning = ""
    if started.ssh is not None:
        shells = ", ".join(f"{n} ssh://{a}" for n, a in sorted(started.ssh.hosts.items()))
        provisioning = (f"\n  provisioning on: simulated SSH {shells} (pct push/exec recorded, nothing runs here);"
                        f"\n    steps: {cli} provisioning{api}")
    poll, drift = started.settings.poll_interval, started.settings.drift_interval
    typer.echo(
        f"""Phoenix GitOps demo
  simulated Proxmox {where}: https://{started.settings.pve_host} (fakepve)
  simulated Portainer:    {started.settings.portainer_url}
  API and dashboard:      {url}   (docs: {url}/docs)
  config repo:            {started.repo_dir}   (commit to branch main; polled every {poll:g} s)
  drift check:            every {drift:g} s
  {token_line}
  settings for the command line: {started.settings_file}{provisioning}

Plan, apply, diff and check against the simulated systems (the config repo, or any folder of the files):
  {cli} --settings {settings} plan {repo}
  {cli} --settings {settings} diff {repo}
  {cli} --settings {settings} apply {repo}
  {cli} --settings {settings} check

Try, in another shell:
  export PHOENIX_API_TOKEN=$(cat {shlex.quote(str(started.token_file))})
  cd {repo} && sed -i 's/"memory_mb": 512/"memory_mb": 768/' phoenix_lxc_configs.json \\
      && git commit -am "more memory"
  cd {repo} && sed -i 's/"value": "8001"/"value": "8002"/' phoenix_stacks_config.json \\
      && git commit -am "webapp staging on 8002"        # redeploys that one stack
  {cli} status{api}
  {cli} resources --kind stack{api}
  {cli} history{api}
  {cli} rollback $(git -C {repo} rev-list --max-parents=0 HEAD){api}   # then: {cli} resume{api}
""")
    try:
        _run(started.settings, host, port, sock)
    finally:
        started.close()


def _listen(host: str, port: int) -> socket.socket:
    """The API's socket, bound now; a clear error (exit 2) when it cannot be."""
    from gitops.api.serving import listening

    try:
        return listening(host, port)
    except OSError as exc:
        why = "in use (by another controller, demo or program)" if exc.errno == errno.EADDRINUSE else \
            exc.strerror or str(exc)
        fail(f"cannot listen on {host}:{port}: {why}; choose another with --port", 2)


def _this_command() -> str:
    """How a fresh shell runs this phoenix-gitops: the full path of the script beside this Python (the
    virtualenv's, which a fresh shell does not have on PATH), quoted for the shell."""
    script = Path(sys.executable).with_name("phoenix-gitops")
    return shlex.quote(str(script)) if script.is_file() else "phoenix-gitops"


def _run(settings: Settings, host: str, port: int, sock: socket.socket) -> None:
    """Serve the API and run the controller on `sock` until asked to stop; `sock` is closed on every way out
    (a ledger or repository that cannot be opened ends it before serving)."""
    with sock:
        _serve_on(settings, host, port, sock)


def _serve_on(settings: Settings, host: str, port: int, sock: socket.socket) -> None:
    import uvicorn

    from gitops import logs
    from gitops.api import serving
    from gitops.api.app import create_app
    from gitops.controller.service import Service
    from gitops.controller.systems import Convergence
    from gitops.errors import PhoenixError
    from gitops.source import ConfigRepo
    from gitops.store import open_store

    logs.configure()
    _register_secrets(settings)
    try:
        store = open_store(settings.sqlite_url(), instance=settings.instance)
        repo = ConfigRepo.from_settings(settings)
    except PhoenixError as exc:
        fail(str(exc))
    service = Service(settings, store, repo, Convergence(settings))
    _log_checks_in_background(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            import asyncio

            await asyncio.to_thread(service.stop)

    app = create_app(store, service, settings, lifespan=lifespan)
    server = uvicorn.Server(serving.server_config(app, settings, host, port, lifespan="on",
                                                  timeout_graceful_shutdown=5))
    # uvicorn re-raises SIGTERM once it has shut down (and the controller stopped, in the lifespan); a
    # no-op handler here makes that the end of a clean shutdown: exit 0, as a service manager expects.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: None)
    log.info("listening on http://%s:%d", host if ":" not in host else f"[{host}]", port)
    try:
        server.run(sockets=[sock])
    finally:
        repo.close()
        store.close()


def _log_checks_in_background(settings: Settings) -> None:
    """`phoenix-gitops check`'s lines, logged at start; in a thread, so a slow system does not delay serving."""
    import threading

    from gitops.controller import preflight

    threading.Thread(target=preflight.log_checks, args=(settings,), name="preflight", daemon=True).start()


def _register_secrets(settings: Settings) -> None:
    from gitops import secretvalues

    secretvalues.register_settings(settings)


# -- talking to a running controller -------------------------------------------------------


def _call(method: str, api: str, path: str, body: dict[str, Any] | None = None) -> Any:
    import httpx

    token = os.environ.get("PHOENIX_API_TOKEN", "").strip()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = api.rstrip("/") + path
    try:
        response = httpx.request(method, url, json=body, headers=headers, timeout=30.0)
    except httpx.HTTPError as exc:
        fail(f"cannot reach the controller at {api}: {exc}")
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        if isinstance(detail, list):  # a 422: FastAPI's list of validation errors
            detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg', '')}"
                               if isinstance(e, dict) else str(e) for e in detail)
        hint = " (set PHOENIX_API_TOKEN)" if response.status_code == 401 and not token else ""
        fail(f"{method} {path}: {response.status_code} {detail}{hint}")
    return response.json()


def _short(sha: Any) -> str:
    return str(sha)[:12] if sha else "-"


def status(api: str = API_OPTION, as_json: bool = JSON_OPTION) -> None:
    data = _call("GET", api, "/api/v1/status")
    if as_json:
        print_json(data)
        raise typer.Exit(EXIT_OK)
    leader = data.get("leader") or {}
    lines = [
        f"applied   {_short(data.get('applied_revision'))}",
        f"target    {_short(data.get('target_revision'))}",
        f"head      {_short(data.get('head_revision'))}",
        f"phase     {data.get('phase')}",
        f"suspended {'yes' if data.get('suspended') else 'no'}",
        f"pinned    {_short(data.get('pinned_revision')) if data.get('pinned') else 'no'}",
        f"drift     {'yes' if data.get('drift') else 'no'} {_counts(data.get('drift_counts'))}".rstrip(),
        f"leader    {leader.get('id') or '-'}",
    ]
    if data.get("last_error"):
        lines.append(f"error     {data['last_error']}")
    typer.echo("\n".join(lines))
    raise typer.Exit(EXIT_OK)


def resources(api: str = API_OPTION, kind: str = typer.Option("", "--kind", help="only targets of this kind "
                                                                                  "(lxc, vm, stack, environment...)"),
              as_json: bool = JSON_OPTION) -> None:
    data = _call("GET", api, "/api/v1/resources")
    items = [r for r in data.get("resources", []) if not kind or str(r.get("target", "")).startswith(f"{kind}/")]
    if as_json:
        print_json({**data, "resources": items})
        raise typer.Exit(EXIT_OK)
    width = max((len(str(r.get("target", ""))) for r in items), default=6)
    for r in items:
        what = _what(r)
        typer.echo(f"{r.get('target', ''):<{width}}  {r.get('state', ''):<8}  {what}".rstrip())
    typer.echo(f"checked at {data.get('checked_at') or '-'} against {_short(data.get('revision'))}", err=True)
    raise typer.Exit(EXIT_OK)


def _what(resource: dict[str, Any]) -> str:
    """A resource's line after its state: why (pending, failed, orphan), or its actions, and why a drifted
    one is not corrected (its plan has errors)."""
    actions, reason = "; ".join(map(str, resource.get("actions") or [])), str(resource.get("reason") or "")
    if resource.get("state") in ("drifted", "missing") and actions and reason:
        return f"{actions} ({reason})"
    return reason or actions


def provisioning(api: str = API_OPTION,
                 target: str = typer.Option("", "--target", help="one guest: lxc/101, vm/1001"),
                 limit: int = typer.Option(50, "--limit", "-n", help="how many steps"),
                 as_json: bool = JSON_OPTION) -> None:
    query = {"limit": str(max(1, min(limit, 1000)))} | ({"target": target} if target else {})
    data = _call("GET", api, "/api/v1/provisioning?" + urlencode(query))
    if as_json:
        print_json(data)
        raise typer.Exit(EXIT_OK)
    steps = data.get("steps", [])
    width = max((len(str(s.get("target", ""))) for s in steps), default=6)
    for s in steps:
        typer.echo(f"{str(s.get('at') or '-')[:19]}  {s.get('target', ''):<{width}}  {s.get('status', ''):<6}  "
                   f"{s.get('step', '')}  {s.get('script', '')}  {_short(s.get('revision'))}".rstrip())
    if not steps:
        typer.echo("no scripts ran in guests (provisioning is off, or nothing needed to run)", err=True)
    raise typer.Exit(EXIT_OK)


def history(api: str = API_OPTION, limit: int = typer.Option(20, "--limit", "-n", help="how many revisions"),
            as_json: bool = JSON_OPTION) -> None:
    data = _call("GET", api, f"/api/v1/revisions?limit={max(1, limit)}")
    runs = _call("GET", api, f"/api/v1/runs?limit={max(1, limit) * 5}").get("runs", [])
    if as_json:
        heals = [r for r in runs if r.get("kind") == "self-heal"]
        print_json({**data, "runs": runs, "drift_corrections": heals})
        raise typer.Exit(EXIT_OK)
    for line in timeline.lines(data.get("revisions", []), runs):
        typer.echo(line)
    raise typer.Exit(EXIT_OK)


def sync(api: str = API_OPTION,
         revision: str | None = typer.Option(None, "--revision", help="sync this commit (lifts a pin)"),
         wait: bool = waiting.wait_option(), timeout: float = waiting.timeout_option()) -> None:
    data = _call("POST", api, "/api/v1/sync", {"revision": revision})
    typer.echo(f"sync queued{' of ' + _short(data.get('revision')) if data.get('revision') else ''}")
    _maybe_wait(api, data, wait, timeout)


def rollback(
    revision: str = typer.Argument(..., help="sha (or unique prefix) of an earlier revision"),
    api: str = API_OPTION,
    restore_data: bool = typer.Option(False, "--restore-data",
                                      help="also restore the guests' pre-apply snapshots: DATA WRITTEN SINCE IS LOST"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask before a data rollback"),
    wait: bool = waiting.wait_option(), timeout: float = waiting.timeout_option(),
) -> None:
    if restore_data and not yes:
        typer.echo("DATA ROLLBACK: the guests' disks go back to their pre-apply snapshots; "
                   "everything written since is lost.", err=True)
        if not typer.confirm("Continue?", default=False):
            fail("cancelled")
    data = _call("POST", api, "/api/v1/rollback", {"revision": revision, "restore_data": restore_data})
    typer.echo(f"rollback to {_short(data.get('revision'))} queued; it stays pinned until `phoenix-gitops resume`")
    _maybe_wait(api, data, wait, timeout)


def suspend(api: str = API_OPTION) -> None:
    _call("POST", api, "/api/v1/suspend")
    typer.echo("suspend queued: new revisions are recorded, not applied")
    raise typer.Exit(EXIT_OK)


def resume(api: str = API_OPTION, wait: bool = waiting.wait_option(),
           timeout: float = waiting.timeout_option()) -> None:
    data = _call("POST", api, "/api/v1/resume")
    typer.echo("resume queued: the newest revision is applied, any pin lifted")
    _maybe_wait(api, data, wait, timeout)


def _maybe_wait(api: str, answer: dict[str, Any], wait: bool, timeout: float) -> None:
    if not wait:
        raise typer.Exit(EXIT_OK)
    request = answer.get("request")
    if not request:
        fail("this controller does not report on requests (it predates --wait): see `phoenix-gitops status`")
    raise typer.Exit(waiting.follow(_call, api, str(request), timeout))


def register(app: typer.Typer) -> None:
    app.command("serve", help=SERVE_HELP)(serve)
    app.command("demo", help=DEMO_HELP)(demo)
    app.command("status", help="Show the controller's status: applied and target revision, phase, pin, drift.\n\n"
                "Example: phoenix-gitops status --api http://127.0.0.1:8080")(status)
    app.command("resources", help="List every managed resource (guests, stacks, storages...) with its sync state: "
                "in_sync, drifted, missing, pending, failed or orphan (with why).\n\n"
                "Example: phoenix-gitops resources --kind stack")(resources)
    app.command("provisioning", help="List the scripts runs ran in guests (PHOENIX_PROVISIONING), newest first: "
                "when, guest, ok or failed, step, script, revision.\n\n"
                "Example: phoenix-gitops provisioning --target lxc/101")(provisioning)
    app.command("history", help="One timeline of revisions and their runs (applies, retries, rollbacks, "
                "auto-rollbacks, drift corrections), the most recent activity first.\n\n"
                "Example: phoenix-gitops history -n 10")(history)
    app.command("sync", help="Reconcile now (and correct drift).\n\nExample: phoenix-gitops sync")(sync)
    app.command("rollback", help="Converge to an earlier revision and pin it until `resume`.\n\n"
                "Example: phoenix-gitops rollback 020483dfdc9b")(rollback)
    app.command("suspend", help="Stop automatic applies (revisions are still recorded).\n\n"
                "Example: phoenix-gitops suspend")(suspend)
    app.command("resume", help="Restart automatic applies and lift a rollback's pin.\n\n"
                "Example: phoenix-gitops resume")(resume)


def _counts(counts: object) -> str:
    """`{"in_sync": 13, "pending": 3}` -> `(13 in_sync, 3 pending)`."""
    if not isinstance(counts, dict) or not counts:
        return ""
    return "(" + ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) + ")"
