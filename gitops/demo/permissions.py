"""PVE 9's rule for `download-url`, which fakepve 0.5.0 checks as PVE 8 did.

fakepve's `download-url` asks for Sys.Audit and Sys.Modify on `/` (PVE 8). PVE 9, whose API schema
fakepve serves, also accepts Sys.AccessNetwork on the node: its rule is `['or', ['perm', '/',
['Sys.Audit', 'Sys.Modify']], ['perm', '/nodes/{node}', ['Sys.AccessNetwork']]]`. This mixin of
`gitops.demo.simulator.PhoenixFakePve` accepts that too, so the least-privilege role
(`gitops.drivers.proxmox.privileges`) is tested as PVE 9 checks it. It matters only once an ACL
exists (the tests' restricted tokens); everything else is fakepve's.
"""

from __future__ import annotations

import contextvars
from typing import Any

# set while a download-url request whose user holds Sys.AccessNetwork on the node is checked
_NODE_NETWORK_ACCESS = contextvars.ContextVar("node_network_access", default=False)


class Pve9DownloadPermission:
    """Mixed in before FakePve: `require` and `_download_url` are FakePve's, with PVE 9's alternative."""

    def require(self, user: str, path: str, priv: str) -> None:
        if path == "/" and priv in ("Sys.Audit", "Sys.Modify") and _NODE_NETWORK_ACCESS.get():
            return
        super().require(user, path, priv)  # type: ignore[misc]

    async def _download_url(self, request: Any) -> Any:
        from fakepve.server import USER

        node = request.match_info["node"]
        user = request[USER]
        held = bool(user) and self.allowed(user, f"/nodes/{node}", "Sys.AccessNetwork")  # type: ignore[attr-defined]
        token = _NODE_NETWORK_ACCESS.set(held)
        try:
            return await super()._download_url(request)  # type: ignore[misc]
        finally:
            _NODE_NETWORK_ACCESS.reset(token)
