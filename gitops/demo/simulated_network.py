"""A node's network configuration for the simulator: interfaces, pending changes and the network reload.

fakepve 0.5.0 answers `/nodes/{node}/network` from the schema and stores nothing. This mixin keeps what
PVE keeps (PVE/API2/Network.pm): each node starts with a physical port `eno1` and the bridge `vmbr0` on
it carrying the node's address (the `ip` of `cluster/status`, as a /24, gateway .1); a create or update
is written to the pending configuration (`/etc/network/interfaces.new`) and shown by `GET` (an interface
that is not live yet has `active` 0, as PVE lists the new file), `PUT /nodes/{node}/network` applies
it (ifreload, a task of type `srvreload`), `DELETE /nodes/{node}/network` drops it. An interface name
that exists cannot be created again ("interface already exists"). Assumed: the addresses are not
checked for overlaps, and a bridge's ports are not checked to exist.
"""

from __future__ import annotations

import copy
from typing import Any

from fakepve.routing import die, param_error

KEYS = ("type", "cidr", "gateway", "bridge_ports", "bridge_vlan_aware", "bridge_vids", "autostart", "comments",
        "vlan-id", "vlan-raw-device", "mtu")


class NodeNetwork:
    """Mixin of PhoenixFakePve (before FakePve in the MRO): the stateful network routes."""

    nodes: dict[str, dict[str, Any]]

    def _network(self, node: str) -> dict[str, Any]:
        state: dict[str, Any] = self.__dict__.setdefault("_network_state", {})
        if node not in state:
            number = sorted(self.nodes).index(node) + 1 if node in self.nodes else 1
            address = f"192.0.2.{10 + number}"
            live = {"eno1": {"type": "eth", "autostart": 1},
                    "vmbr0": {"type": "bridge", "cidr": f"{address}/24", "address": address, "netmask": "24",
                              "gateway": "192.0.2.1", "bridge_ports": "eno1", "autostart": 1}}
            state[node] = {"live": live, "pending": None}
        return state[node]  # type: ignore[no-any-return]

    def _routes_phoenix_network(self) -> list[tuple[str, str, Any]]:
        base = "/nodes/{node}/network"
        return [("GET", base, self._net_list), ("POST", base, self._net_create), ("PUT", base, self._net_reload),
                ("DELETE", base, self._net_revert), ("GET", base + "/{iface}", self._net_read),
                ("PUT", base + "/{iface}", self._net_update), ("DELETE", base + "/{iface}", self._net_delete)]

    def _staged(self, node: str) -> dict[str, dict[str, Any]]:
        net = self._network(node)
        if net["pending"] is None:
            net["pending"] = copy.deepcopy(net["live"])
        return net["pending"]  # type: ignore[no-any-return]

    async def _net_list(self, v: dict[str, Any], user: str) -> Any:
        net = self._network(v["node"])
        shown = net["pending"] if net["pending"] is not None else net["live"]
        return [dict(cfg, iface=name, active=1 if name in net["live"] else 0, exists=1 if cfg["type"] == "eth" else 0,
                     families=["inet"], method="static" if cfg.get("cidr") else "manual", priority=i)
                for i, (name, cfg) in enumerate(sorted(shown.items())) if not v.get("type") or cfg["type"] == v["type"]]

    async def _net_read(self, v: dict[str, Any], user: str) -> Any:
        for item in await self._net_list({"node": v["node"]}, user):
            if item["iface"] == v["iface"]:
                return item
        raise die("interface does not exist")

    @staticmethod
    def _config(v: dict[str, Any]) -> dict[str, Any]:
        cfg = {k: v[k] for k in KEYS if v.get(k) is not None}
        if cfg.get("cidr"):
            cfg["address"], _, cfg["netmask"] = str(cfg["cidr"]).partition("/")
        if cfg.get("type") == "vlan" and not cfg.get("vlan-id"):
            raise param_error(**{"vlan-id": "no vlan-id given"})
        return cfg

    async def _net_create(self, v: dict[str, Any], user: str) -> Any:
        staged = self._staged(v["node"])
        if v["iface"] in staged:
            raise param_error(iface="interface already exists")
        staged[v["iface"]] = self._config(v)
        return None

    async def _net_update(self, v: dict[str, Any], user: str) -> Any:
        staged = self._staged(v["node"])
        current = staged.get(v["iface"])
        if current is None:
            raise param_error(iface="interface does not exist")
        if current["type"] != v["type"]:
            raise param_error(type=f"interface type mismatch ({current['type']} != {v['type']})")
        for key in [k for k in str(v.get("delete") or "").split(",") if k]:
            current.pop(key, None)
        current.update(self._config(v))
        return None

    async def _net_delete(self, v: dict[str, Any], user: str) -> Any:
        staged = self._staged(v["node"])
        if staged.pop(v["iface"], None) is None:
            raise param_error(iface="interface does not exist")
        return None

    async def _net_revert(self, v: dict[str, Any], user: str) -> Any:
        self._network(v["node"])["pending"] = None
        return None

    async def _net_reload(self, v: dict[str, Any], user: str) -> Any:
        net = self._network(v["node"])

        async def body() -> str:
            if net["pending"] is not None:
                net["live"], net["pending"] = net["pending"], None
            return "reloading network config"
        return await self.task(v["node"], "srvreload", "networking", user, body)  # type: ignore[attr-defined]
