"""One logged-in session with the Proxmox VE API: `connect(settings)` and the `ProxmoxClient` it returns.

Called by the controller and the CLI (which pass the client to `reading` and `applying`) and by tests
through the fakepve fixtures. This and `errors` are the only modules that touch proxmoxer objects;
every request goes through `ProxmoxClient.request`, which translates library exceptions at one place.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import requests
from proxmoxer import AuthenticationError as ProxmoxerAuthError
from proxmoxer import ProxmoxAPI

from gitops import errors
from gitops.drivers.proxmox import errors as pve_errors
from gitops.settings import Settings

# proxmoxer logs every request body at INFO, which would put resolved secrets into the logs.
logging.getLogger("proxmoxer.core").setLevel(logging.WARNING)

_METHODS = ("GET", "POST", "PUT", "DELETE")


class ProxmoxClient:
    """A proxmoxer session plus what every caller needs with it: the node, the concurrency, the sleep.

    `request(method, path, params)` is the narrow interface the rest of the driver uses; `path` is
    relative to `/api2/json` (`nodes/pve/lxc/101/config`).
    """

    def __init__(
        self,
        api: Any,
        *,
        host: str,
        user: str,
        node: str,
        nodes: list[str],
        concurrency: int = 8,
        read_concurrency: int = 32,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.host = host
        self.user = user
        self.node = node
        self.nodes = nodes
        self.concurrency = concurrency
        self.read_concurrency = read_concurrency
        self.sleep = sleep
        self.clock = clock
        self.pace: Callable[[], None] | None = None  # called before each GET (`paced`)

    def paced(self, pace: Callable[[], None]) -> ProxmoxClient:
        """This session, with `pace()` called before each GET (the drift check's sweep: `gitops.pacing`)."""
        view = copy.copy(self)
        view.pace = pace
        return view

    def __repr__(self) -> str:
        return f"ProxmoxClient({self.user} at {self.host}, node {self.node})"

    def request(self, method: str, path: str, params: dict[str, Any] | None = None,
                *, target: str | None = None) -> Any:
        """One API call, its answer's `data`; library errors come out as `gitops.errors` types."""
        method = method.upper()
        if method not in _METHODS:
            raise errors.PermanentError(f"unsupported HTTP method {method!r}", target=target)
        path = path.strip("/")
        resource = self.api(path) if path else self.api
        values = dict(params or {})
        if method == "GET" and self.pace is not None:
            self.pace()
        try:
            if method == "GET":
                return resource.get(**values)
            if method == "POST":
                return resource.post(**values)
            if method == "PUT":
                return resource.put(**values)
            return resource.delete(**values)
        except Exception as exc:
            raise pve_errors.translate(exc, what=f"{method} {path}", host=self.host, target=target) from None

    def get(self, path: str, **params: Any) -> Any:
        """`request("GET", path, params)`."""
        return self.request("GET", path, params)

    def close(self) -> None:
        """Close the session's connections."""
        session = getattr(self.api, "_store", {}).get("session")
        if isinstance(session, requests.Session):
            session.close()

    def __enter__(self) -> ProxmoxClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def connect(
    settings: Settings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ProxmoxClient:
    """Log in to the PVE API named by `settings`, find the node to work on, and return the client.

    Ticket login with `pve_user`/`pve_password`, or an API token (`pve_token_name` as
    `user@realm!name`, `pve_token_value`). Raises AuthenticationError (one line naming host and user,
    never the secret), TransientError for an unreachable host, SettingsError for missing settings.
    """
    host = settings.pve_host.strip()
    if not host:
        raise errors.SettingsError("PHOENIX_PVE_HOST is not set")
    verify = settings.verify
    if verify is True:  # what requests does on each call while it reads the environment (see _settle_environment)
        verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    kwargs: dict[str, Any] = {
        "backend": "https",
        "verify_ssl": verify,
        "timeout": settings.pve_timeout,
    }
    if settings.pve_token_name:
        user, sep, token_name = settings.pve_token_name.partition("!")
        if not sep or not user or not token_name:
            raise errors.SettingsError(
                f"PHOENIX_PVE_TOKEN_NAME must look like user@realm!name, not {settings.pve_token_name!r}")
        if settings.pve_token_value is None:
            raise errors.SettingsError("PHOENIX_PVE_TOKEN_VALUE is not set")
        kwargs.update(user=user, token_name=token_name,
                      token_value=settings.pve_token_value.get_secret_value())
        who = settings.pve_token_name
    else:
        if settings.pve_password is None:
            raise errors.SettingsError("set PHOENIX_PVE_PASSWORD or PHOENIX_PVE_TOKEN_NAME/_VALUE")
        kwargs.update(user=settings.pve_user, password=settings.pve_password.get_secret_value())
        who = settings.pve_user
    what = f"connecting to {host} as {who}"
    try:
        api = ProxmoxAPI(host, **kwargs)
    except ProxmoxerAuthError:
        raise errors.AuthenticationError(f"Proxmox at {host} refused the credentials of {who}") from None
    except Exception as exc:
        raise pve_errors.translate(exc, what=what, host=host) from None
    _widen_pool(api, max(settings.pve_concurrency, settings.pve_read_concurrency))
    _settle_environment(api)
    client = ProxmoxClient(api, host=host, user=who, node="", nodes=[],
                           concurrency=settings.pve_concurrency,
                           read_concurrency=settings.pve_read_concurrency, sleep=sleep, clock=clock)
    try:
        listed = client.get("nodes")
        client.nodes = sorted(str(n["node"]) for n in listed or [])
        client.node = _pick_node(settings.pve_node, client.nodes, host)
    except errors.AuthenticationError:
        client.close()
        # A token is only checked on its first use.
        raise errors.AuthenticationError(f"Proxmox at {host} refused the credentials of {who}") from None
    except BaseException:
        client.close()
        raise
    return client


def _pick_node(wanted: str, nodes: list[str], host: str) -> str:
    if wanted:
        if wanted not in nodes:
            known = ", ".join(nodes)
            raise errors.PermanentError(f"Proxmox at {host} has no node {wanted!r} (nodes: {known})")
        return wanted
    # A cluster without a default node: each guest names its `node` (or the hypervisor file does), and
    # the plan says so for a guest that does not (`gitops.planner.proxmox.placement`).
    return nodes[0] if len(nodes) == 1 else ""


def _widen_pool(api: Any, concurrency: int) -> None:
    """Let `concurrency` threads share the session without urllib3 discarding connections."""
    session = getattr(api, "_store", {}).get("session")
    if isinstance(session, requests.Session):
        size = max(10, concurrency)
        adapter = requests.adapters.HTTPAdapter(pool_connections=size, pool_maxsize=size)
        session.mount("https://", adapter)


def _settle_environment(api: Any) -> None:
    """Take the proxy settings from the environment once, instead of on every request.

    With `trust_env`, requests scans the whole environment for proxies (twice) on each call, about 15%
    of a call's client time against a fast server. The environment does not change under a running
    client: resolve the proxies for our base URL now (none when NO_PROXY exempts it), pin them on the
    session, and stop the per-call lookups. The CA bundle variables are read in `connect`; netrc is
    never consulted, since proxmoxer always sets the session's auth.
    """
    store = getattr(api, "_store", {})
    session = store.get("session")
    if not isinstance(session, requests.Session) or not session.trust_env:
        return
    base_url = str(store.get("base_url") or "")
    if not base_url:
        return
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    session.trust_env = False
