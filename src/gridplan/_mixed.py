"""Min-max k postman on a mixed network: one-way streets are arcs driven in their direction.

Used by :func:`gridplan.routes.balance_routes` with ``mode="drive"``. The mixed Chinese
postman problem is NP-hard (Papadimitriou 1976), so this is a heuristic with a certified
lower bound, not an exact method:

1. **Connect.** The required streets and the depot, taken as components of the undirected
   network, are joined by shortest *directed* paths along a minimum spanning tree of their
   directed distances (each connector is driven one way; the balancing below brings the car back).
2. **Balance** (Edmonds and Johnson's in/out-degree step, as in Frederickson's MIXED algorithms).
   The fixed arcs (required one-way streets, connectors) leave every node with an excess
   ``out - in``; a minimum-cost flow (networkx's network simplex, integer millimetres) adds
   copies of legal arcs (cost = length) until in = out, where a required two-way street may
   be used once in either direction for free (that use becomes its orientation).
3. **Orient the rest.** The required two-way streets the flow left unused form an undirected
   remainder; its odd nodes are paired by a minimum-weight perfect matching (exact, blossom)
   under the mean of the two directed distances, and every component is oriented along an
   Euler circuit. A matched pair oriented x -> y is driven along the shortest legal path
   x -> y. Every step keeps in = out at every node and only uses legal arcs, so the result is
   a balanced, connected multigraph of legal arcs: it has a directed Euler tour from the depot.
4. **Split.** Many random Euler tours are cut by the exact min-max split of
   :func:`gridplan._routing.split_tour` with the directed distances from and to the depot
   (the split's monotonicity holds for directed distances because every tour arc is legal).
   There is no local search on the routes in this mode.

Lower bound (per chief): the larger of the walk mode's bound (a legal drive is also a walk)
and the required length plus the flow of step 2 without connectors (a relaxation: it charges
nothing for the first use of a two-way street in each direction), divided by k; and the
longest single required street driven from and back to the depot.
"""

from __future__ import annotations

import time
from typing import Any

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from . import _routing

_UNIT = 1e-3  # flow costs in millimetres (network simplex wants integers)


class Unreachable(Exception):
    """Required streets that a drive from the depot cannot reach or leave (``edges``: their positions)."""

    def __init__(self, edges: np.ndarray) -> None:
        super().__init__(f"{len(edges)} required edges outside the depot's strongly connected part")
        self.edges = edges


def arcs(u: np.ndarray, v: np.ndarray, oneway: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Legal arcs (edge, from, to): two per two-way street, one per one-way street.

    ``oneway``: 0 two-way, 1 one way u -> v, -1 one way v -> u.
    """
    e = np.arange(len(u))
    fw = oneway >= 0
    bw = oneway <= 0
    return (np.r_[e[fw], e[bw]], np.r_[u[fw], v[bw]], np.r_[v[fw], u[bw]])


class DiDistances:
    """Shortest directed distances and paths over the legal arcs."""

    def __init__(self, n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, oneway: np.ndarray) -> None:
        self.n = n
        ae, a, b = arcs(u, v, oneway)
        c = w[ae]
        keep = a != b
        ae, a, b, c = ae[keep], a[keep], b[keep], c[keep]
        order = np.lexsort((ae, c, b, a))
        ae, a, b, c = ae[order], a[order], b[order], c[order]
        first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])] if len(a) else np.zeros(0, bool)
        ae, a, b, c = ae[first], a[first], b[first], c[first]
        self.arc_edge = {(int(x), int(y)): int(e) for x, y, e in zip(a, b, ae)}
        self.csr = sparse.csr_matrix((np.where(c > 0, c, 1e-12), (a, b)), shape=(n, n))
        self._rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def row(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        """Distances and predecessors from s."""
        hit = self._rows.get(s)
        if hit is None:
            d, p = csgraph.dijkstra(self.csr, directed=True, indices=s, return_predecessors=True)
            hit = self._rows[s] = (d, p)
        return hit

    def to(self, t: int) -> np.ndarray:
        """Distances from every node to t."""
        return csgraph.dijkstra(self.csr.T.tocsr(), directed=True, indices=t)

    def path(self, a: int, b: int) -> list[tuple[int, int, int]]:
        """Arcs (edge, from, to) of a shortest legal path a -> b."""
        if a == b:
            return []
        pred = self.row(a)[1]
        out = []
        node = b
        while node != a:
            prev = int(pred[node])
            if prev < 0:
                raise RuntimeError(f"no legal path from node {a} to node {b}")
            out.append((self.arc_edge[(prev, node)], prev, node))
            node = prev
        return out[::-1]


def _strong_part(dd: DiDistances, u: np.ndarray, v: np.ndarray, req: np.ndarray, depot: int) -> None:
    _, lab = csgraph.connected_components(dd.csr, directed=True, connection="strong")
    bad = req[(lab[u[req]] != lab[depot]) | (lab[v[req]] != lab[depot])]
    if len(bad):
        raise Unreachable(bad)


def _connectors(dd: DiDistances, u: np.ndarray, v: np.ndarray, req: np.ndarray, depot: int) -> list[tuple[int, int, int]]:
    """Directed shortest paths joining the components of the required edges and the depot (an MST)."""
    nodes = np.unique(np.r_[u[req], v[req], depot])
    comps = _routing._components(dd.n, u[req], v[req], nodes)
    c = len(comps)
    if c <= 1:
        return []
    cost = np.full((c, c), np.inf)
    ends: dict[tuple[int, int], tuple[int, int]] = {}
    for i, ci in enumerate(comps):
        d, _, src = csgraph.dijkstra(dd.csr, directed=True, indices=ci, min_only=True, return_predecessors=True)
        for j, cj in enumerate(comps):
            if j != i:
                t = int(cj[np.argmin(d[cj])])
                cost[i, j] = d[t]
                ends[(i, j)] = (int(src[t]), t)
    sym = np.minimum(cost, cost.T)
    mst = csgraph.minimum_spanning_tree(sparse.csr_matrix(sym + 1e-12)).tocoo()
    out: list[tuple[int, int, int]] = []
    for i, j in zip(mst.row, mst.col):
        i, j = (int(i), int(j)) if cost[i, j] <= cost[j, i] else (int(j), int(i))
        out += dd.path(*ends[(i, j)])
    return out


def _balance_flow(
    n: int,
    u: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    oneway: np.ndarray,
    two_way_req: np.ndarray,
    fixed: list[tuple[int, int, int]],
) -> tuple[list[tuple[int, int, int]], np.ndarray, float]:
    """Minimum-cost copies of legal arcs (plus free first uses of required two-way streets) balancing ``fixed``.

    Returns the added arcs (copies and oriented two-way streets), a flag per required two-way
    street saying whether the flow oriented it, and the cost of the copies.
    """
    excess = np.zeros(n, dtype=np.int64)
    for _, x0, y0 in fixed:
        excess[x0] += 1
        excess[y0] -= 1
    if not excess.any():
        return [], np.zeros(len(two_way_req), bool), 0.0
    g = nx.MultiDiGraph()
    g.add_nodes_from((i, {"demand": int(excess[i])}) for i in range(n))
    ae, a, b = arcs(u, v, oneway)
    for e, x, y in zip(ae.tolist(), a.tolist(), b.tolist()):
        if x != y:
            g.add_edge(x, y, key=("copy", e), weight=int(round(w[e] / _UNIT)))
    for e in two_way_req.tolist():
        x, y = int(u[e]), int(v[e])
        if x != y:
            g.add_edge(x, y, key=("free", e), weight=0, capacity=1)
            g.add_edge(y, x, key=("free", e), weight=0, capacity=1)
    flow = nx.min_cost_flow(g)
    added: list[tuple[int, int, int]] = []
    used: dict[int, list[tuple[int, int]]] = {}
    cost = 0.0
    for x, nbrs in flow.items():
        for y, keys in nbrs.items():
            for (kind, e), f in keys.items():
                if f <= 0:
                    continue
                if kind == "free":
                    used.setdefault(e, []).append((x, y))
                else:
                    added += [(e, x, y)] * f
                    cost += f * w[e]
    oriented = np.zeros(len(two_way_req), bool)
    for i, e in enumerate(two_way_req.tolist()):
        dirs = used.get(e, [])
        if len(dirs) == 1:  # both ways at once is a zero-cost cycle: leave the street to step 3
            added.append((e, *dirs[0]))
            oriented[i] = True
    return added, oriented, cost


def _orient_rest(dd: DiDistances, rest: list[tuple[int, int, int]], rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """Orient undirected required streets (plus matched pairs of their odd nodes) along Euler circuits."""
    if not rest:
        return []
    deg = np.zeros(dd.n, dtype=np.int64)
    for _, a, b in rest:
        deg[a] += 1
        deg[b] += 1
    odd = np.flatnonzero(deg % 2)
    items = list(rest)
    if len(odd):
        D = np.array([dd.row(int(s))[0][odd] for s in odd])
        pairs = _routing._exact_matching((D + D.T) / 2)
        items += [(-1, int(odd[i]), int(odd[j])) for i, j in pairs]
    out: list[tuple[int, int, int]] = []
    nodes = np.unique([x for _, a, b in items for x in (a, b)])
    comps = _routing._components(dd.n, np.array([a for _, a, _ in items]), np.array([b for _, _, b in items]), nodes)
    for comp in comps:
        inside = set(comp.tolist())
        sub = [it for it in items if it[1] in inside]
        for e, a, b in _routing._euler_tour(sub, dd.n, int(comp[0]), rng):
            out += dd.path(a, b) if e < 0 else [(e, a, b)]
    return out


def _directed_euler(
    arc_list: list[tuple[int, int, int]], n: int, depot: int, rng: np.random.Generator
) -> list[tuple[int, int, int]]:
    """A random directed Euler tour from the depot (Hierholzer with shuffled out-lists)."""
    out_of: list[list[int]] = [[] for _ in range(n)]
    for i, (_, a, _) in enumerate(arc_list):
        out_of[a].append(i)
    for lst in out_of:
        if len(lst) > 1:
            rng.shuffle(lst)
    stack: list[tuple[int, int]] = [(depot, -1)]
    done: list[int] = []
    while stack:
        node, via = stack[-1]
        if out_of[node]:
            i = out_of[node].pop()
            stack.append((arc_list[i][2], i))
        else:
            stack.pop()
            if via >= 0:
                done.append(via)
    return [arc_list[i] for i in reversed(done)]


def solve(
    n: int,
    u: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    required: np.ndarray,
    depot: int,
    k: int,
    oneway: np.ndarray,
    *,
    seed: int = 0,
    starts: int = 64,
    **_options: Any,
) -> _routing.Solution:
    """Min-max k postman on a mixed network (see the module docstring). Raises :class:`Unreachable`."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    u, v = np.asarray(u, np.int64), np.asarray(v, np.int64)
    w, oneway = np.asarray(w, float), np.asarray(oneway, np.int64)
    req = np.flatnonzero(required)
    if len(req) == 0:
        empty = [np.zeros(0, np.int64) for _ in range(k)]
        return _routing.Solution([[] for _ in range(k)], np.zeros(k), empty, 0.0, 0.0, False, 0.0, 0.0, 0, 0, "done", 0.0)
    dd = DiDistances(n, u, v, w, oneway)
    _strong_part(dd, u, v, req, depot)
    d_from = dd.row(depot)[0]
    d_to = dd.to(depot)
    fixed = [(int(e), int(u[e]), int(v[e])) if oneway[e] >= 0 else (int(e), int(v[e]), int(u[e])) for e in req[oneway[req] != 0]]
    two_way = req[oneway[req] == 0]
    # lower bound: the relaxed balancing flow (no connectors), and the walk mode's bound
    _, _, relaxed = _balance_flow(n, u, v, w, oneway, two_way, fixed)
    walk_aug = _routing._augment(_routing._Distances(n, u, v, w), u, v, w, req, depot)
    total_bound = max(float(w[req].sum()) + relaxed, walk_aug.cpp_bound)
    connect = _connectors(dd, u, v, req, depot)
    fixed_all = fixed + connect
    added, oriented, _ = (
        _balance_flow(n, u, v, w, oneway, two_way, fixed_all) if connect else _balance_flow(n, u, v, w, oneway, two_way, fixed)
    )
    rest = [(int(e), int(u[e]), int(v[e])) for e in two_way[~oriented]]
    graph = fixed_all + added + _orient_rest(dd, rest, rng)
    # far cycle: the longest required street driven from and back to the depot
    fw = d_from[u[req]] + w[req] + d_to[v[req]]
    bw = d_from[v[req]] + w[req] + d_to[u[req]]
    far = float(np.max(np.where(oneway[req] > 0, fw, np.where(oneway[req] < 0, bw, np.minimum(fw, bw)))))
    lb = max(total_bound / k, far)
    best: tuple[float, list[tuple[int, int, int]], list[int]] | None = None
    for _s in range(max(1, starts)):
        tour = _directed_euler(graph, n, depot, rng)
        nodes = np.array([depot] + [b for _, _, b in tour])
        prefix = np.r_[0.0, np.cumsum(w[[e for e, _, _ in tour]])]
        cuts, val = split_tour_directed(nodes, prefix, d_from, d_to, k)
        if best is None or val < best[0] - 1e-9:
            best = (val, tour, cuts)
    assert best is not None
    val, tour, cuts = best
    walks, served = [], []
    is_req = np.zeros(len(u), bool)
    is_req[req] = True
    seen = np.zeros(len(u), bool)
    for a, b in zip(cuts[:-1], cuts[1:]):
        piece = tour[a:b]
        start = piece[0][1] if piece else depot
        end = piece[-1][2] if piece else depot
        walks.append(dd.path(depot, start) + piece + dd.path(end, depot))
        mine = [e for e, _, _ in piece if is_req[e] and not seen[e]]
        seen[mine] = True
        served.append(np.array(sorted(set(mine)), dtype=np.int64))
    while len(walks) < k:
        walks.append([])
        served.append(np.zeros(0, np.int64))
    lengths = np.array([sum(w[e] for e, _, _ in wk) for wk in walks])
    order = np.lexsort((np.arange(k), -lengths))
    nodes_req = np.unique(np.r_[u[req], v[req], depot])
    pieces = len(_routing._components(n, u[req], v[req], nodes_req))
    return _routing.Solution(
        walks=[walks[i] for i in order],
        lengths=lengths[order],
        served=[served[i] for i in order],
        lower_bound=float(lb),
        cpp_bound=float(total_bound),
        cpp_exact=False,
        far_cycle=far,
        split_max=float(val),
        starts=max(1, starts),
        iterations=0,
        stopped_by="split",
        seconds=time.perf_counter() - t0,
        pieces=pieces,
        connect=float(sum(w[e] for e, _, _ in connect)),
    )


def split_tour_directed(
    nodes: np.ndarray, prefix: np.ndarray, d_from: np.ndarray, d_to: np.ndarray, k: int
) -> tuple[list[int], float]:
    """Optimal min-max split of a closed legal tour with directed depot distances (``_routing.split_tour``)."""
    return _routing.split_tour(nodes, prefix, d_from, k, d_to=d_to)
