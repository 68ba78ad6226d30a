"""`PortainerDriver`: Portainer behind the driver seam (`gitops.drivers.seam.Driver`), system `portainer`.

Registered by `gitops.controller.systems` (`from_settings`, when `PHOENIX_PORTAINER_URL` is set). Before
planning, `read_live` fills `LiveState.stacks`: Portainer's environments and stacks (`reading`), the
stack files as this revision would deploy them (`compose`, from the config checkout), and the
fingerprints of the secrets the stacks' variables name (never the values). The executor calls `run` for
each action whose `system` is `portainer`; each of its calls is sent by `applying.send`, with its
secrets resolved by the executor's context at that moment. Lanes are Portainer environments.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from gitops import errors
from gitops.config.estate import Estate
from gitops.config.secretrefs import SecretResolver
from gitops.drivers.portainer import applying, compose, reading
from gitops.drivers.portainer.connection import PortainerClient, connect
from gitops.drivers.seam import ActionContext
from gitops.planner.live import LiveState
from gitops.planner.options import PlanOptions
from gitops.planner.plan import PORTAINER, Action, Plan, System
from gitops.planner.portainer.desired import desired_stacks
from gitops.planner.portainer.live import LiveStacks
from gitops.settings import Settings

log = logging.getLogger(__name__)


class PortainerDriver:
    """The Portainer system: agent environments and standalone compose stacks, through one client."""

    system: System = PORTAINER

    def __init__(self, client: PortainerClient, *, secrets: SecretResolver | None = None,
                 concurrency: int = 4) -> None:
        self.client = client
        self.secrets = secrets or SecretResolver(None)
        self.concurrency = max(1, concurrency)

    def __repr__(self) -> str:
        return f"PortainerDriver({self.client!r})"

    def read_live(self, estate: Estate, options: PlanOptions, live: LiveState, *, full: bool = False) -> None:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stack-render") as pool:
            rendering = pool.submit(compose.render_stacks, estate)  # while the reads wait for Portainer
            try:
                stacks_live = reading.read_live(self.client)
            except errors.DriverError as exc:
                # Portainer down must not keep the guests from converging: the stack rules plan every stack
                # as "deploy or redeploy" (which fails, named, if Portainer is still down when it runs).
                log.warning("Portainer cannot be read: %s", exc)
                stacks_live = LiveStacks(unreadable=str(exc))
            stacks_live.sources, stacks_live.source_problems = rendering.result()
        desired, _ = desired_stacks(estate, stacks_live.sources)
        stacks_live.secret_digests = self.secrets.digests([t for s in desired for t in s.secret_templates])
        live.stacks = stacks_live

    def read_details(self, plan: Plan, options: PlanOptions, live: LiveState) -> bool:
        return False

    def lane(self, action: Action) -> str:
        for call in action.calls:
            if call.params.get("endpoint"):
                return str(call.params["endpoint"])
        return action.target

    def run(self, action: Action, context: ActionContext) -> None:
        for call in action.calls:
            what = f"{call.method} {call.path}"
            params = context.params(call.params, what=what)
            context.calling(what)
            applying.send(self.client, call.method, call.path, params, target=action.target)

    def close(self) -> None:
        self.client.close()


def from_settings(settings: Settings) -> PortainerDriver | None:
    """The driver for `PHOENIX_PORTAINER_*`, or None when no Portainer URL is set (stacks then wait)."""
    if not settings.portainer_url:
        return None
    return PortainerDriver(connect(settings), secrets=SecretResolver(settings.secrets_dir),
                           concurrency=settings.portainer_concurrency)
