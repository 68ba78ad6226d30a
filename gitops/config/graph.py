"""The guest graph: edges from each guest to the guests it needs first (`clone_from_*` and `dependencies`).

Both kinds form one graph. Used by the checks (cycles), the queries (dependency and clone chains)
and the planner (ordering).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

from gitops.config.estate import LXC_FILE, VM_FILE, Estate
from gitops.config.memo import Last


def guest_graph(estate: Estate) -> Mapping[int, list[int]]:
    """guest id -> ids it needs first (only ids that exist in the estate). Made once per estate
    (`Estate.derived`: validation, the plan and the verify ask for it), and taken from the last estate's
    when what it is made of is the same (`_needs`: a commit that changes a guest's memory among 10,000
    keeps the graph); never changed by its readers."""
    return estate.derive(("guest_graph", id(estate.lxc), id(estate.vms)), lambda: _kept_graph(estate))


def guest_order(estate: Estate) -> list[int]:
    """`topological_order` of the guest graph, made once per graph (a new list each call)."""
    global _ORDER
    edges = guest_graph(estate)
    last = _ORDER
    if last is None or last[0] is not edges:
        last = _ORDER = (edges, topological_order(edges))
    return list(last[1])


def _kept_graph(estate: Estate) -> Mapping[int, list[int]]:
    return _LAST.get(_needs(estate) if estate.reuse else None, lambda: _guest_graph(estate))


def _needs(estate: Estate) -> Hashable:
    """What the graph is made of: each guest's path and id, its clone source and its dependencies."""
    return (estate.reads(LXC_FILE, lambda ct: (ct.clone_from_ctid, tuple(ct.dependencies)), "graph-needs"),
            estate.reads(VM_FILE, lambda vm: (vm.vmid, vm.clone_from_vmid, tuple(vm.dependencies)), "graph-needs"))


# The last graph made, with what it was made of; the last order, with its graph (`guest_graph`, `guest_order`).
_LAST: Last[dict[int, list[int]]] = Last()
_ORDER: tuple[Mapping[int, list[int]], list[int]] | None = None


def _guest_graph(estate: Estate) -> dict[int, list[int]]:
    ids = estate.guest_ids()
    edges: dict[int, list[int]] = {gid: [] for gid in ids}
    for key, ct in estate.lxc.lxc_configs.items():
        if not (key.isascii() and key.isdigit()):
            continue
        needs: list[str | int] = [ct.clone_from_ctid] if ct.clone_from_ctid else []
        needs += ct.dependencies
        edges[int(key)] = _existing(needs, ids)
    for vm in estate.vms.vms:
        vneeds: list[str | int] = [vm.clone_from_vmid] if vm.clone_from_vmid is not None else []
        vneeds += vm.dependencies
        edges[vm.vmid] = _existing(vneeds, ids)
    return edges


def _existing(needs: list[str | int], ids: Mapping[int, object]) -> list[int]:
    out: list[int] = []
    for n in needs:
        try:
            gid = int(n)
        except (TypeError, ValueError):
            continue
        if gid in ids and gid not in out:
            out.append(gid)
    return out


def find_cycles(edges: Mapping[int, list[int]]) -> list[list[int]]:
    """Each cycle once, as the list of its guests starting from the smallest id."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(edges, white)
    cycles: list[list[int]] = []
    seen: set[tuple[int, ...]] = set()
    for start in sorted(edges):
        if color[start] != white:
            continue
        stack: list[tuple[int, int]] = [(start, 0)]
        path: list[int] = [start]
        color[start] = grey
        while stack:
            node, i = stack[-1]
            nexts = edges.get(node, [])
            if i < len(nexts):
                stack[-1] = (node, i + 1)
                nxt = nexts[i]
                if color.get(nxt, black) == grey:
                    cyc = path[path.index(nxt):]
                    k = cyc.index(min(cyc))
                    norm = tuple(cyc[k:] + cyc[:k])
                    if norm not in seen:
                        seen.add(norm)
                        cycles.append(list(norm))
                elif color.get(nxt) == white:
                    color[nxt] = grey
                    stack.append((nxt, 0))
                    path.append(nxt)
            else:
                color[node] = black
                stack.pop()
                path.pop()
    return cycles


def topological_order(edges: Mapping[int, list[int]]) -> list[int]:
    """Ids with every guest after the ones it needs; ties by id. Guests on a cycle come last."""
    indegree = {n: 0 for n in edges}
    users: dict[int, list[int]] = {n: [] for n in edges}
    for n, needs in edges.items():
        for m in needs:
            if m in indegree:
                indegree[n] += 1
                users[m].append(n)
    import heapq

    ready = [n for n, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        n = heapq.heappop(ready)
        order.append(n)
        for u in users[n]:
            indegree[u] -= 1
            if indegree[u] == 0:
                heapq.heappush(ready, u)
    placed = set(order)
    rest = sorted(n for n in edges if n not in placed)
    return order + rest


def chain(edges: Mapping[int, list[int]], start: int) -> list[int]:
    """Everything `start` needs, transitively, in the order to bring it up (start last)."""
    needed: set[int] = set()
    todo = [start]
    while todo:
        n = todo.pop()
        for m in edges.get(n, []):
            if m not in needed and m != start:
                needed.add(m)
                todo.append(m)
    sub = {n: [m for m in edges.get(n, []) if m in needed] for n in needed}
    return [*topological_order(sub), start]
