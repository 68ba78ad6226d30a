"""Live state of Portainer for the planner: `read_live(client)`.

Called by the controller and the CLI before planning. Reads the environments and the stacks (two
requests), then the stack file of every stack the controller made (`PHOENIX_GITOPS_STACK` set, file
based), in parallel (`PHOENIX_PORTAINER_READ_CONCURRENCY`): one request per managed stack is the
floor of comparing content. Stacks made by hand are listed (so names they hold are known) but their
files are not read.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from gitops.drivers.portainer.connection import PortainerClient
from gitops.drivers.portainer.environments import list_environments
from gitops.drivers.portainer.stacks import list_stacks, stack_file
from gitops.planner.portainer.desired import MARKER
from gitops.planner.portainer.live import LiveStack, LiveStacks


def read_live(client: PortainerClient) -> LiveStacks:
    environments = {e.name: e for e in list_environments(client)}
    stacks = list_stacks(client)
    ours = [s for s in stacks if s.owner(MARKER) and s.git is None]

    def read(stack: LiveStack) -> None:
        stack.file = stack_file(client, stack.id)

    if ours:
        with ThreadPoolExecutor(max_workers=min(client.read_concurrency, len(ours)),
                                thread_name_prefix="portainer-read") as pool:
            list(pool.map(read, ours))
    gone = {s.id for s in ours if s.file is None}  # deleted between the list and the read
    return LiveStacks(environments=environments, stacks=[s for s in stacks if s.id not in gone])
