"""Kernel of the min-max k Chinese / rural postman solver (arrays only, no geometry).

Route first, cluster second, then improve:

1. **Postman tours.** The required edges plus the depot are made connected (a minimum
   spanning tree over shortest-path distances between their components, Frederickson's rural
   postman construction) and even (a minimum-weight perfect matching of the odd nodes under
   shortest-path distances: exact with networkx's blossom algorithm up to ``_EXACT_MATCHING``
   odd nodes, greedy nearest pairs beyond). Random Euler tours of that multigraph (Hierholzer
   with shuffled adjacency) are many different optimal (or near-optimal) postman tours.
2. **Exact min-max split.** Each tour is cut into at most k consecutive pieces, each closed by
   shortest paths to and from the depot, minimising the longest piece. With ``d`` the distance
   to the depot and ``P`` the tour length up to a position, a piece from position a to b costs
   ``(d[a] - P[a]) + (P[b] + d[b])``; the first term never increases along the tour and the second
   never decreases (triangle inequality), so for a bound T the fewest pieces follow from k jumps
   to the earliest feasible start (``searchsorted``), and bisection on T gives the optimum split
   of that tour in O(k log n) per probe. This is at least as good as the Frederickson-Hecht-Kim
   k-split of the same tour, which is one particular split.
3. **Local search on routes** held as sequences of served edges with orientation and their
   deadheads (shortest paths between consecutive served edges, kept per route in ``_Route.G``):
   relocate an edge to the best position of any route, evaluated for all positions at once with
   numpy, accepted when it lowers the longer of the two routes (so the sorted route lengths fall
   lexicographically); re-insertion and 2-opt inside a route; swaps of an edge of the longest
   route with an edge of another route; an exact dynamic programme for the orientations after
   every move. An edge that another route already walks over (deadhead) is re-inserted there at
   zero cost, so no edge is walked twice for nothing. With many required edges (more than
   ``_GRANULAR``) the relocation is granular: an edge is only tried next to its nearest required
   edges, with distances from a near-pair table (bounded Dijkstra), so a move costs O(route size).
4. **Ruin and recreate** (iterated local search): remove a cluster of nearby edges, re-insert
   them greedily by least resulting maximum, improve, keep when better (record-to-record
   acceptance). Deterministic for a seed when there is no time limit.

Distances come from scipy's Dijkstra: a full matrix for networks up to ``_FULL_MATRIX`` nodes,
else single-source rows computed on demand and kept in a bounded cache, plus a table of the
pairs within a few edge lengths (Dijkstra with ``limit``); no all-pairs matrix.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csgraph

_FULL_MATRIX = 2500  # nodes: up to this, one all-pairs Dijkstra (<= 50 MB)
_ROW_CACHE_BYTES = 96 * 2**20  # else: at most this much in cached single-source rows
_EXACT_MATCHING = 400  # odd nodes: up to this, an exact minimum-weight perfect matching
_MATCH_UNIT = 1e-3  # the exact matching's distance unit (a millimetre for street networks in metres)
_TIE_RANGE = 1 << 20  # tie-breaks per unit (see _exact_matching)
_TIE_SEED = 20_240_617
_ASSIGNMENT_BOUND = 3000  # odd nodes: up to this, the assignment relaxation (an odd-by-odd table, <= 72 MB)
_LOCAL_RADIUS = 3.0  # near-pair distance table: pairs within this many median required edge lengths
_GRANULAR = 120  # required edges: beyond this, relocation only tries near positions (was 300: same gap, 1.4-4x faster)
_NEIGHBOURS = 12  # near required edges per edge in the granular relocation
_EPS = 1e-9
_TIE = 1e-6  # weight of a gain on the shorter route of a pair when the longer one stays the same


class _Distances:
    """Shortest-path distances and paths on an undirected graph with non-negative weights."""

    def __init__(self, n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> None:
        self.n = n
        keep = u != v  # self-loops never shorten a path
        a, b, c = np.minimum(u, v)[keep], np.maximum(u, v)[keep], w[keep]
        eid = np.flatnonzero(keep)
        # cheapest edge per node pair (for distances and for walking a path edge by edge)
        order = np.lexsort((eid, c, b, a))
        a, b, c, eid = a[order], b[order], c[order], eid[order]
        first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])] if len(a) else np.zeros(0, bool)
        a, b, c, eid = a[first], b[first], c[first], eid[first]
        self.pair_edge = {(int(x), int(y)): int(e) for x, y, e in zip(a, b, eid)}
        # csgraph drops stored zeros in some code paths: give zero-length edges a negligible weight
        cw = np.where(c > 0, c, 1e-12)
        self.csr = sparse.csr_matrix((np.r_[cw, cw], (np.r_[a, b], np.r_[b, a])), shape=(n, n))
        self.full = n <= _FULL_MATRIX
        if self.full:
            self.D, self.P = csgraph.dijkstra(self.csr, directed=False, return_predecessors=True)
        else:
            self._rows: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
            self._max_rows = max(64, _ROW_CACHE_BYTES // (12 * max(n, 1)))
        self._local: tuple[np.ndarray, ...] | None = None  # near pairs: key x * n + y, x, y, distance

    def row(self, s: int) -> np.ndarray:
        if self.full:
            return self.D[s]
        return self._row(s)[0]

    def _row(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        hit = self._rows.get(s)
        if hit is not None:
            self._rows.move_to_end(s)
            return hit
        d, p = csgraph.dijkstra(self.csr, directed=False, indices=s, return_predecessors=True)
        hit = (d.astype(np.float64), p.astype(np.int32))
        self._rows[s] = hit
        if len(self._rows) > self._max_rows:
            self._rows.popitem(last=False)
        return hit

    def local(self, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Node pairs (x, y) with d(x, y) <= ``radius`` and that distance, sorted by ``x * n + y``.

        Computed once (the first radius asked for wins): thresholding the matrix, or bounded
        Dijkstra (``limit``) from every node in chunks, so no all-pairs matrix is ever built.
        """
        if self._local is None:
            xs, ys, ds = [], [], []
            for start in range(0, self.n, 256):
                src = np.arange(start, min(self.n, start + 256))
                if self.full:
                    d = self.D[src]
                else:
                    d = csgraph.dijkstra(self.csr, directed=False, indices=src, limit=radius)
                i, j = np.nonzero(d <= radius)
                xs.append(src[i])
                ys.append(j)
                ds.append(d[i, j])
            x, y, dd = np.concatenate(xs), np.concatenate(ys), np.concatenate(ds)
            key = x.astype(np.int64) * self.n + y
            order = np.argsort(key, kind="stable")
            self._local = (key[order], x[order], y[order], dd[order])
        _, x, y, dd = self._local
        return x, y, dd

    def pairs(self, x: np.ndarray, y: np.ndarray, *, near_only: bool = False) -> np.ndarray:
        """Distances d(x[i], y[i]) (any broadcastable shapes).

        Without a full matrix, pairs in the near-pair table (see `local`, once built) are looked
        up there; with ``near_only`` the others come out as infinity instead of costing a
        single-source Dijkstra row each (the full matrix always gives exact values).
        """
        x = np.asarray(x, dtype=np.int64)
        y = np.asarray(y, dtype=np.int64)
        if self.full:
            return self.D[x, y]
        shape = np.broadcast_shapes(x.shape, y.shape)
        x, y = np.broadcast_to(x, shape).ravel(), np.broadcast_to(y, shape).ravel()
        out = np.zeros(len(x))
        todo = np.flatnonzero(x != y)
        if len(todo) and self._local is not None:  # near pairs from the bounded-Dijkstra table
            key, _, _, dd = self._local
            q = x[todo] * self.n + y[todo]
            at = np.minimum(np.searchsorted(key, q), max(len(key) - 1, 0))
            hit = key[at] == q if len(key) else np.zeros(len(q), bool)
            out[todo[hit]] = dd[at[hit]]
            todo = todo[~hit]
            if near_only:
                out[todo] = np.inf
                todo = todo[:0]
        if len(todo):  # the rest from single-source rows, grouped by source
            xs = x[todo]
            order = np.argsort(xs, kind="stable")
            xs, todo = xs[order], todo[order]
            cut = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1], True])
            for a, b in itertools.pairwise(cut):
                sel = todo[a:b]
                out[sel] = self.row(int(xs[a]))[y[sel]]
        return out.reshape(shape)

    def path(self, a: int, b: int) -> list[tuple[int, int, int]]:
        """Edges (edge id, from, to) of a shortest path from a to b."""
        if a == b:
            return []
        pred = self.P[b] if self.full else self._row(b)[1]  # predecessors towards b: walk from a
        out = []
        node = a
        while node != b:
            nxt = int(pred[node])
            if nxt < 0:
                raise RuntimeError(f"no path between nodes {a} and {b}")
            out.append((self.pair_edge[(min(node, nxt), max(node, nxt))], node, nxt))
            node = nxt
        return out


# --------------------------------------------------------------------------- postman tours
def _components(n: int, u: np.ndarray, v: np.ndarray, nodes: np.ndarray) -> list[np.ndarray]:
    adj = sparse.coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
    _, lab = csgraph.connected_components(adj, directed=False)
    lab = lab[nodes]
    return [nodes[lab == c] for c in np.unique(lab)]


def _connectors(dist: _Distances, comps: list[np.ndarray]) -> tuple[list[tuple[int, int]], float]:
    """Node pairs whose shortest paths join the components (an MST over component distances), and its length."""
    c = len(comps)
    if c <= 1:
        return [], 0.0
    cost = np.full((c, c), np.inf)
    arg = {}
    for i, ci in enumerate(comps):
        d, _, src = csgraph.dijkstra(dist.csr, directed=False, indices=ci, min_only=True, return_predecessors=True)
        for j, cj in enumerate(comps):
            if j != i:
                t = cj[np.argmin(d[cj])]
                if d[t] < cost[i, j]:
                    cost[i, j] = cost[j, i] = d[t]
                    arg[(min(i, j), max(i, j))] = (int(src[t]), int(t))
    if not np.isfinite(cost[~np.eye(c, dtype=bool)]).all():
        raise RuntimeError("required edges in different components of the network")
    mst = csgraph.minimum_spanning_tree(sparse.csr_matrix(cost + 1e-12)).tocoo()  # inf-free here
    pairs = [arg[(min(i, j), max(i, j))] for i, j in zip(mst.row, mst.col)]
    return pairs, float(sum(cost[i, j] for i, j in zip(mst.row, mst.col)))


def _odd_matching(dist: _Distances, odd: np.ndarray) -> tuple[list[tuple[int, int]], float, bool]:
    """Pairs matching the odd nodes, a lower bound on the minimum matching cost, and whether exact."""
    if len(odd) == 0:
        return [], 0.0, True
    if len(odd) <= _EXACT_MATCHING:
        d = np.array([dist.row(int(s))[odd] for s in odd])
        m = _exact_matching(d)
        pairs = [(int(odd[i]), int(odd[j])) for i, j in m]
        total = float(sum(d[i, j] for i, j in m))
        # optimal for the distances rounded to _MATCH_UNIT: within half a unit per pair of the optimum
        return pairs, max(0.0, total - len(m) * _MATCH_UNIT), True
    # large: chunked Dijkstra rows between odd nodes. With the whole odd-by-odd table (up to
    # _ASSIGNMENT_BOUND odd nodes) the assignment relaxation (every odd node picks a partner, a
    # permutation without fixed points; a perfect matching is one, counted twice) gives both a
    # lower bound (half the optimal assignment) and a matching (its 2-cycles, the cheaper half of
    # its even cycles, odd cycles paired greedily); beyond that, greedy nearest pairs.
    k_near = 12
    keep = len(odd) <= _ASSIGNMENT_BOUND
    rows = []
    cand_i, cand_j, cand_d = [], [], []
    nearest = np.empty(len(odd))
    for start in range(0, len(odd), 256):
        src = odd[start : start + 256]
        d = csgraph.dijkstra(dist.csr, directed=False, indices=src)[:, odd]
        d[np.arange(len(src)), np.arange(start, start + len(src))] = np.inf
        if keep:
            rows.append(d)
        near = np.argsort(d, axis=1)[:, :k_near]
        for r in range(len(src)):
            nearest[start + r] = d[r, near[r, 0]]
            cand_i.extend([start + r] * k_near)
            cand_j.extend(near[r].tolist())
            cand_d.extend(d[r, near[r]].tolist())
    order = np.lexsort((np.array(cand_j), np.array(cand_i), np.array(cand_d)))
    used = np.zeros(len(odd), bool)
    greedy: list[tuple[int, int]] = []
    ci, cj = np.array(cand_i), np.array(cand_j)
    for t in order:
        i, j = ci[t], cj[t]
        if not used[i] and not used[j] and np.isfinite(cand_d[t]):
            used[i] = used[j] = True
            greedy.append((int(i), int(j)))
    greedy += _pair_nearest([int(i) for i in np.flatnonzero(~used)], lambda a, rest: dist.row(int(odd[a]))[odd[rest]])
    # valid lower bound: every matched pair costs at least half of each end's nearest-odd distance
    bound = float(nearest.sum() / 2.0)
    pairs = greedy
    if keep:
        D = np.vstack(rows)
        finite = np.isfinite(D)
        big = (D[finite].max() if finite.any() else 1.0) * (len(odd) + 1) + 1.0
        r, c = linear_sum_assignment(np.where(finite, D, big))
        if np.isfinite(D[r, c]).all():
            bound = max(bound, float(D[r, c].sum() / 2.0))
            cyc_pairs = _pairs_from_cycles(c, D)
            if sum(D[i, j] for i, j in cyc_pairs) < sum(D[i, j] for i, j in greedy):
                pairs = cyc_pairs
    return [(int(odd[i]), int(odd[j])) for i, j in pairs], bound, False


def _exact_matching(d: np.ndarray) -> list[tuple[int, int]]:
    """A minimum-weight perfect matching of the complete graph with distances ``d`` (even order).

    Blossom algorithm on integer weights: the distances in units of ``_MATCH_UNIT`` times
    ``_TIE_RANGE`` plus a fixed pseudo-random tie-break per pair, so that the optimum is (almost
    surely) unique and rustworkx (Rust, the ``[fast]`` extra, ~50x faster) and networkx (pure
    Python, the fallback) return the same matching. Returns sorted pairs of positions.
    """
    n = len(d)
    iu, ju = np.triu_indices(n, 1)
    finite = np.isfinite(d[iu, ju])
    top = float(d[iu, ju][finite].max()) if finite.any() else 1.0
    units = np.round(np.where(finite, d[iu, ju], top * (n + 1)) / _MATCH_UNIT).astype(np.int64)
    tie = np.random.default_rng(_TIE_SEED).integers(0, _TIE_RANGE, len(iu))
    cost = units * _TIE_RANGE + tie
    weight = (int(cost.max()) + 1 - cost).tolist()  # maximum weight, maximum cardinality = minimum cost, perfect
    edges = list(zip(iu.tolist(), ju.tolist(), weight))
    try:
        import rustworkx as rx
    except ImportError:  # pragma: no cover - exercised where the [fast] extra is missing
        g = nx.Graph()
        g.add_weighted_edges_from(edges)
        found = nx.max_weight_matching(g, maxcardinality=True)
    else:
        rg = rx.PyGraph()
        rg.add_nodes_from(range(n))
        rg.add_edges_from(edges)
        found = rx.max_weight_matching(rg, max_cardinality=True, weight_fn=lambda w: w)
    return sorted((min(a, b), max(a, b)) for a, b in found)


def _pair_nearest(left: list[int], dist_from: Any) -> list[tuple[int, int]]:
    """Pair the positions in ``left`` greedily: each with its nearest remaining one."""
    out = []
    left = list(left)
    while left:
        a = left.pop(0)
        j = int(np.argmin(dist_from(a, left)))
        out.append((a, left.pop(j)))
    return out


def _pairs_from_cycles(perm: np.ndarray, D: np.ndarray) -> list[tuple[int, int]]:
    """A perfect matching from an assignment's cycles (see :func:`_odd_matching`)."""
    n = len(perm)
    seen = np.zeros(n, bool)
    pairs, left = [], []
    for s in range(n):
        if seen[s]:
            continue
        cyc = [s]
        seen[s] = True
        x = int(perm[s])
        while x != s:
            cyc.append(x)
            seen[x] = True
            x = int(perm[x])
        if len(cyc) % 2:
            left.extend(cyc)
            continue
        a = [(cyc[i], cyc[i + 1]) for i in range(0, len(cyc), 2)]
        b = [(cyc[i], cyc[(i + 1) % len(cyc)]) for i in range(1, len(cyc), 2)]
        pairs += a if sum(D[i, j] for i, j in a) <= sum(D[i, j] for i, j in b) else b
    pairs += _pair_nearest(left, lambda x, rest: D[x, rest])
    return pairs


@dataclass
class _Augmented:
    edges: list[tuple[int, int, int]]  # (edge id, a, b) of the connected, even multigraph
    cpp_bound: float  # lower bound on the optimal (rural) postman tour
    cpp_exact: bool
    deadhead: float  # added length of the augmentation
    pieces: int = 1  # components of the required edges and the depot
    connect: float = 0.0  # length of the shortest connections joining them (an MST over their distances)


def _augment(dist: _Distances, u: np.ndarray, v: np.ndarray, w: np.ndarray, req: np.ndarray, depot: int) -> _Augmented:
    edges = [(int(e), int(u[e]), int(v[e])) for e in req]
    nodes = np.unique(np.r_[u[req], v[req], depot])
    comps = _components(dist.n, u[req], v[req], nodes)
    added = 0.0
    connectors, connect = _connectors(dist, comps)
    for a, b in connectors:
        for e, x, y in dist.path(a, b):
            edges.append((e, x, y))
            added += w[e]
    deg = np.zeros(dist.n, dtype=np.int64)
    for _, a, b in edges:
        deg[a] += 1
        deg[b] += 1
    pairs, match_bound, exact = _odd_matching(dist, np.flatnonzero(deg % 2))
    for a, b in pairs:
        for e, x, y in dist.path(a, b):
            edges.append((e, x, y))
            added += w[e]
    # a lower bound on any closed walk covering the required edges: their length plus the larger
    # of (a) a minimum T-join of their odd nodes and (b) the MST joining their components and the
    # depot. (a) is the optimal postman tour when they and the depot are connected. (b): the
    # walk's deadhead, with every component shrunk to a point, is a closed walk through all of
    # them, so it is at least a travelling-salesman tour of them, hence at least their minimum
    # spanning tree (distances between components; passing through a third one never shortens
    # an MST). The rural case is NP-hard, so neither is exact when there are several components.
    if len(comps) > 1:
        req_deg = np.bincount(u[req], minlength=dist.n) + np.bincount(v[req], minlength=dist.n)
        _, match_bound, _ = _odd_matching(dist, np.flatnonzero(req_deg % 2))
    bound = float(w[req].sum()) + max(match_bound, connect)
    return _Augmented(edges, bound, exact and len(comps) == 1, added, len(comps), connect)


def _euler_tour(aug: list[tuple[int, int, int]], n: int, depot: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """A random Euler tour from the depot: list of traversals (edge id, from, to)."""
    adj: list[list[int]] = [[] for _ in range(n)]
    for i, (_, a, b) in enumerate(aug):
        adj[a].append(i)
        if b != a:
            adj[b].append(i)
    for lst in adj:
        if len(lst) > 1:
            rng.shuffle(lst)
    used = np.zeros(len(aug), bool)
    stack: list[tuple[int, int]] = [(depot, -1)]
    out: list[tuple[int, int]] = []
    while stack:
        node, via = stack[-1]
        lst = adj[node]
        while lst and used[lst[-1]]:
            lst.pop()
        if lst:
            i = lst.pop()
            used[i] = True
            _, a, b = aug[i]
            stack.append((b if a == node else a, i))
        else:
            stack.pop()
            if via >= 0:
                out.append((node, via))
    out.reverse()
    tour = []
    prev = depot
    for node, i in out:
        tour.append((aug[i][0], prev, node))
        prev = node
    return tour


def split_tour(
    nodes: np.ndarray, prefix: np.ndarray, d0: np.ndarray, k: int, d_to: np.ndarray | None = None
) -> tuple[list[int], float]:
    """Optimal min-max split of a closed tour (node positions 0..N) into at most k closed pieces.

    ``d0``: distance from the depot to each node; ``d_to``: from each node back to the depot when
    the two differ (one-way streets, ``mode="drive"``), else ``d0`` both ways.
    """
    d_from, back = d0, (d0 if d_to is None else d_to)
    a_key = -(d_from[nodes] - prefix)  # non-decreasing: d_from(next) <= d_from(this) + arc
    b_val = prefix + back[nodes]  # non-decreasing: back(this) <= arc + back(next)
    N = len(nodes) - 1

    def cuts_for(T: float) -> list[int] | None:
        b = N
        cuts = [N]
        while b > 0:
            a = int(np.searchsorted(a_key, -(T - b_val[b]) - 1e-12 * max(1.0, T), side="left"))
            if a >= b or len(cuts) > k:
                return None
            cuts.append(a)
            b = a
        return cuts[::-1]

    hi = float(prefix[-1])
    if d_to is not None:
        hi += float(d_from[nodes].max()) + float(back[nodes].max())
    lo, best = 0.0, cuts_for(hi) or [0, N]
    for _ in range(100):
        if hi - lo <= 1e-9 * max(1.0, hi):
            break
        mid = (lo + hi) / 2
        c = cuts_for(mid)
        if c is None:
            lo = mid
        else:
            hi, best = mid, c
    cost = max(d_from[nodes[a]] + prefix[b] - prefix[a] + back[nodes[b]] for a, b in itertools.pairwise(best))
    return best, float(cost)


# --------------------------------------------------------------------------- routes
@dataclass
class _Route:
    E: np.ndarray  # served edge ids in order
    F: np.ndarray  # node each is entered at
    T: np.ndarray  # node each is left at
    cost: float = 0.0
    G: np.ndarray | None = None  # deadheads: G[i] lies before item i, G[-1] back to the depot
    two_opted: bool = False  # no 2-opt move helps (routes are rebuilt, never edited, after a move)

    def copy(self) -> _Route:
        G = None if self.G is None else self.G.copy()
        return _Route(self.E.copy(), self.F.copy(), self.T.copy(), self.cost, G, self.two_opted)


def _insert(a: np.ndarray, i: int, x: int) -> np.ndarray:
    """``a`` with ``x`` inserted before position i (np.insert without its overhead)."""
    return np.concatenate((a[:i], np.array([x], dtype=a.dtype), a[i:]))


def _empty_route() -> _Route:
    return _Route(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), 0.0, np.zeros(1))


@dataclass
class _Problem:
    n: int
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    req: np.ndarray
    depot: int
    k: int
    dist: _Distances
    d0: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.d0 = np.asarray(self.dist.row(self.depot), dtype=float).copy()

    def local_radius(self) -> float:
        """Radius of the near-pair distance table: a few typical required edge lengths."""
        return float(_LOCAL_RADIUS * np.median(self.w[self.req])) if len(self.req) else 0.0

    def neighbours(self, K: int) -> np.ndarray:
        """For every edge id, up to K nearest other required edges (distance between closest ends), -1 padded.

        Only pairs within ``local_radius`` are considered (from the bounded-Dijkstra table).
        """
        x, y, d = self.dist.local(self.local_radius())
        req = self.req
        en = np.r_[self.u[req], self.v[req]]
        ee = np.r_[req, req]
        order = np.argsort(en, kind="stable")
        en, ee = en[order], ee[order]
        nodes = np.arange(self.n)
        first = np.searchsorted(en, nodes)
        cnt = np.searchsorted(en, nodes, side="right") - first
        keep = (cnt[x] > 0) & (cnt[y] > 0)
        x, y, d = x[keep], y[keep], d[keep]

        def expand(at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """(index into ``at``, required edge) for every required edge incident to at[i]."""
            c = cnt[at]
            rep = np.repeat(np.arange(len(at)), c)
            off = np.arange(len(rep)) - np.repeat(np.cumsum(c) - c, c)
            return rep, ee[first[at][rep] + off]

        r1, e = expand(x)
        r2, f = expand(y[r1])
        e, dd = e[r2], d[r1][r2]
        ok = e != f
        e, f, dd = e[ok], f[ok], dd[ok]
        o = np.lexsort((f, dd, e))  # by edge, then distance
        e, f, dd = e[o], f[o], dd[o]
        o = np.lexsort((np.arange(len(e)), f, e))  # drop repeated (e, f), keeping the nearest
        uniq = np.r_[True, (e[o][1:] != e[o][:-1]) | (f[o][1:] != f[o][:-1])] if len(e) else np.zeros(0, bool)
        sel = np.sort(o[uniq])
        e, f = e[sel], f[sel]
        start = np.searchsorted(e, e)
        rank = np.arange(len(e)) - start
        take = rank < K
        out = np.full((len(self.u), K), -1, dtype=np.int64)
        out[e[take], rank[take]] = f[take]
        return out

    def orient(self, r: _Route) -> None:
        """Best orientation of every served edge for the fixed order (exact DP), deadheads and cost."""
        m = len(r.E)
        if m == 0:
            r.cost, r.G = 0.0, np.zeros(1)
            return
        a, b = self.u[r.E], self.v[r.E]  # state 0 walks an edge a -> b, state 1 b -> a
        wl = self.w[r.E].tolist()
        # tr[2 s + t, i]: from the end of item i in state s to the start of item i + 1 in state t
        x, y = np.concatenate((b[:-1], b[:-1], a[:-1], a[:-1])), np.concatenate((a[1:], b[1:], a[1:], b[1:]))
        tr = self.dist.pairs(x, y).reshape(4, m - 1)
        t00, t01, t10, t11 = tr.tolist()
        d0 = self.d0
        c0 = float(d0[a[0]]) + wl[0]
        c1 = float(d0[b[0]]) + wl[0]
        back0 = [False] * m  # item i + 1 in state 0 came from item i in state 1
        back1 = [False] * m
        for i in range(m - 1):
            p0, q0 = c0 + t00[i], c1 + t10[i]
            p1, q1 = c0 + t01[i], c1 + t11[i]
            wi = wl[i + 1]
            if q0 < p0:
                n0, back0[i + 1] = q0 + wi, True
            else:
                n0 = p0 + wi
            if q1 < p1:
                n1, back1[i + 1] = q1 + wi, True
            else:
                n1 = p1 + wi
            c0, c1 = n0, n1
        end0, end1 = c0 + float(d0[b[-1]]), c1 + float(d0[a[-1]])
        s = 1 if end1 < end0 else 0
        r.cost = min(end0, end1)
        state = np.empty(m, dtype=np.int64)
        for i in range(m - 1, -1, -1):
            state[i] = s
            s = int(back1[i] if s else back0[i])
        r.F = np.where(state == 0, a, b)
        r.T = np.where(state == 0, b, a)
        r.G = np.concatenate(([d0[r.F[0]]], tr[2 * state[:-1] + state[1:], np.arange(m - 1)], [d0[r.T[-1]]]))

    def walk(self, r: _Route) -> list[tuple[int, int, int]]:
        """The closed walk of a route as traversals (edge id, from, to)."""
        out: list[tuple[int, int, int]] = []
        at = self.depot
        for e, a, b in zip(r.E.tolist(), r.F.tolist(), r.T.tolist()):
            out.extend(self.dist.path(at, a))
            out.append((e, a, b))
            at = b
        out.extend(self.dist.path(at, self.depot))
        return out

    # construction -----------------------------------------------------------
    def from_tour(self, tour: list[tuple[int, int, int]], cuts: list[int], required: np.ndarray) -> list[_Route]:
        served = np.zeros(len(self.u), bool)
        served[~required] = True
        routes = []
        for a, b in itertools.pairwise(cuts):
            E, F, T = [], [], []
            for e, x, y in tour[a:b]:
                if not served[e]:
                    served[e] = True
                    E.append(e)
                    F.append(x)
                    T.append(y)
            r = _Route(np.array(E, dtype=np.int64), np.array(F, dtype=np.int64), np.array(T, dtype=np.int64))
            self.orient(r)
            routes.append(r)
        while len(routes) < self.k:
            routes.append(_empty_route())
        return routes


def _objective(routes: list[_Route]) -> tuple[float, float]:
    c = np.array([r.cost for r in routes])
    return float(c.max()), float(np.sort(c)[::-1].dot(np.linspace(1.0, 0.5, len(c))))


@dataclass
class _Table:
    """Every gap of every route (a place to insert an edge) as flat arrays."""

    X: np.ndarray  # node before the gap (the depot, or the end of the previous served edge)
    Y: np.ndarray  # node after it
    G: np.ndarray  # its deadhead d(X, Y)
    R: np.ndarray  # route
    P: np.ndarray  # position in the route (insert before item P)
    E: np.ndarray  # served edge after the gap (-1 after the last one of a route)
    before: np.ndarray  # per edge id: index of the gap before it (-1 when not served)


class _Search:
    """Local search and ruin-and-recreate on a set of routes.

    With more than ``_GRANULAR`` required edges the relocation is granular: an edge is only
    tried next to its ``_NEIGHBOURS`` nearest required edges, and only where both ends of the
    gap are within the near-pair radius of it (so every distance comes from the near table).
    """

    _BLOCK = 2_000_000  # entries per (items x gaps) evaluation block

    def __init__(self, prob: _Problem, rng: np.random.Generator, deadline: float) -> None:
        self.p = prob
        self.rng = rng
        self.deadline = deadline
        self.nb = prob.neighbours(_NEIGHBOURS) if len(prob.req) > _GRANULAR else None

    def out_of_time(self) -> bool:
        return time.perf_counter() > self.deadline

    def _table(self, routes: list[_Route]) -> _Table:
        p = self.p
        dep = np.array([p.depot], dtype=np.int64)
        X = np.concatenate([x for r in routes for x in (dep, r.T)])
        Y = np.concatenate([y for r in routes for y in (r.F, dep)])
        G = np.concatenate([r.G for r in routes])
        sizes = np.array([len(r.E) + 1 for r in routes])
        R = np.repeat(np.arange(len(routes)), sizes)
        off = np.cumsum(sizes) - sizes
        P = np.arange(len(X)) - off[R]
        stop = np.array([-1], dtype=np.int64)
        E = np.concatenate([e for r in routes for e in (r.E, stop)])
        before = np.full(len(p.u), -1, dtype=np.int64)
        at = np.flatnonzero(E >= 0)
        before[E[at]] = at
        return _Table(X, Y, G, R, P, E, before)

    def _moves(self, routes: list[_Route], tab: _Table, at: np.ndarray) -> tuple[np.ndarray, ...]:
        """Best relocation of each served edge whose gap before it is ``at`` (any routes).

        Returns per edge: the gain (lexicographic on the longer and the shorter route of the
        pair, or the saving within its route), the target route, the position there and whether
        the edge is walked in reverse (v -> u).
        """
        p = self.p
        costs = np.array([q.cost for q in routes])
        ri, pos = tab.R[at], tab.P[at]
        E = tab.E[at]
        W = p.w[E]
        cost = costs[ri][:, None]
        # cost of its route without the edge
        rem = (costs[ri] - (tab.G[at] + tab.G[at + 1] + W) + p.dist.pairs(tab.X[at], tab.Y[at + 1]))[:, None]
        if self.nb is None:  # every gap (one row, broadcast over the items)
            X, Y, G, R, P = tab.X[None], tab.Y[None], tab.G[None], tab.R[None], tab.P[None]
        else:  # granular: the gaps on both sides of each near edge, ends farther than the radius excluded
            nb = self.nb[E]
            g = tab.before[np.where(nb >= 0, nb, E[:, None])]
            J = np.concatenate([g, g + 1], axis=1)
            X, Y, G, R, P = tab.X[J], tab.Y[J], tab.G[J], tab.R[J], tab.P[J]
        # uses of the undirected edge: the cheaper way round at every gap
        ea, eb = p.u[E][:, None], p.v[E][:, None]
        near = self.nb is not None
        fwd = p.dist.pairs(ea, X, near_only=near) + p.dist.pairs(eb, Y, near_only=near)
        rev = p.dist.pairs(eb, X, near_only=near) + p.dist.pairs(ea, Y, near_only=near)
        delta = np.minimum(fwd, rev) + W[:, None] - G
        new_q = costs[R] + delta
        # lexicographic on the pair (longer, shorter): lower the longer, or keep it and lower the other
        old_hi, old_lo = np.maximum(costs[R], cost), np.minimum(costs[R], cost)
        new_hi, new_lo = np.maximum(new_q, rem), np.minimum(new_q, rem)
        tol = _EPS * np.maximum(1.0, cost)
        primary = old_hi - new_hi
        gain = np.where(np.abs(primary) <= tol, _TIE * np.maximum(old_lo - new_lo, 0.0), primary)
        # within the route: cost without the item plus the insertion elsewhere; the two gaps next
        # to the item change when it leaves, so only the others are exact
        same = R == ri[:, None]
        self_ok = same & (P != pos[:, None]) & (P != pos[:, None] + 1)
        gain = np.where(same, np.where(self_ok, cost - (rem + delta), -np.inf), gain)
        gain = np.where(gain > tol, gain, 0.0)
        best = np.argmax(gain, axis=1)
        rows = np.arange(len(at))
        R, P = np.broadcast_to(R, gain.shape), np.broadcast_to(P, gain.shape)
        flip = rev[rows, best] < fwd[rows, best]
        return gain[rows, best], R[rows, best], P[rows, best], flip

    def _apply(self, routes: list[_Route], ri: int, move: tuple[int, int, int, bool]) -> None:
        p = self.p
        i, qi, pos, flip = move
        r = routes[ri]
        e = int(r.E[i])
        a, b = (int(p.v[e]), int(p.u[e])) if flip else (int(p.u[e]), int(p.v[e]))
        if qi == ri:
            E, F, T = np.delete(r.E, i), np.delete(r.F, i), np.delete(r.T, i)
            at = pos if pos < i else pos - 1
            routes[ri] = _Route(_insert(E, at, e), _insert(F, at, a), _insert(T, at, b))
        else:
            q = routes[qi]
            routes[ri] = _Route(np.delete(r.E, i), np.delete(r.F, i), np.delete(r.T, i))
            routes[qi] = _Route(_insert(q.E, pos, e), _insert(q.F, pos, a), _insert(q.T, pos, b))
            p.orient(routes[qi])
        p.orient(routes[ri])

    def relocate(self, routes: list[_Route]) -> bool:
        """Best-improvement relocations until none helps; True if any.

        The move applied is the best one of the longest route that has an improving move. All
        routes are evaluated at once; in granular mode route by route, longest first.
        """
        moved = False
        for _ in range(100 * len(self.p.req) + 100):
            if self.out_of_time():
                break
            tab = self._table(routes)
            order = np.argsort([-r.cost for r in routes], kind="stable")
            rank = np.empty(len(routes), dtype=np.int64)
            rank[order] = np.arange(len(routes))
            items = np.flatnonzero(tab.E >= 0)
            groups = [items] if self.nb is None else [items[tab.R[items] == ri] for ri in order.tolist()]
            cols = len(tab.X) if self.nb is None else 2 * _NEIGHBOURS
            block = max(1, self._BLOCK // max(cols, 1))
            done = False
            for grp in groups:
                parts = [self._moves(routes, tab, grp[s : s + block]) for s in range(0, len(grp), block)]
                if not parts:
                    continue
                gain, R, P, flip = (np.concatenate(x) for x in zip(*parts))
                ok = np.flatnonzero(gain > 0)
                if len(ok):
                    j = ok[np.lexsort((-gain[ok], rank[tab.R[grp[ok]]]))[0]]
                    ri = int(tab.R[grp[j]])
                    self._apply(routes, ri, (int(tab.P[grp[j]]), int(R[j]), int(P[j]), bool(flip[j])))
                    moved = done = True
                    break
            if not done:
                break
        return moved

    def two_opt(self, r: _Route) -> bool:
        """Reverse segments of one route while that shortens it."""
        p = self.p
        n = len(r.E)
        if n < 2 or r.two_opted or (not p.dist.full and n > 400):
            return False
        improved = False
        for _ in range(50):
            assert r.G is not None  # every route in the search is oriented (orient sets G)
            X = np.concatenate(([p.depot], r.T[:-1]))  # end before item i
            Y = np.concatenate((r.F[1:], [p.depot]))  # start after item j
            old = r.G[:n, None] + r.G[None, 1:]
            new = p.dist.pairs(X[:, None], r.T[None, :]) + p.dist.pairs(r.F[:, None], Y[None, :])
            gain = np.triu(old - new, 1)
            i, j = np.unravel_index(int(np.argmax(gain)), gain.shape)
            if gain[i, j] <= _EPS * max(1.0, r.cost):
                r.two_opted = True
                break
            sl = slice(i, j + 1)
            r.E[sl], r.F[sl], r.T[sl] = r.E[sl][::-1].copy(), r.T[sl][::-1].copy(), r.F[sl][::-1].copy()
            p.orient(r)
            improved = True
        return improved

    def swap(self, routes: list[_Route]) -> bool:
        """Best exchange of an edge of the longest route with an edge of another route; True if any.

        Each edge takes the other's place (best orientation); accepted when the longer of the two
        routes gets shorter, or stays and the other does (as in `relocate`).
        """
        p = self.p
        ri = int(np.argmax([r.cost for r in routes]))
        r = routes[ri]
        if len(r.E) == 0:
            return False
        tab = self._table(routes)
        costs = np.array([q.cost for q in routes])
        other = np.flatnonzero((tab.R != ri) & (tab.P < np.bincount(tab.R)[tab.R] - 1))  # gaps before an item
        if len(other) == 0:
            return False
        dep = np.array([p.depot], dtype=np.int64)
        assert r.G is not None  # every route in the search is oriented (orient sets G)
        Xi, Yi = np.concatenate((dep, r.T[:-1]))[:, None], np.concatenate((r.F[1:], dep))[:, None]
        out_i = (r.G[:-1] + r.G[1:] + p.w[r.E])[:, None]
        ej = np.concatenate([q.E for qi, q in enumerate(routes) if qi != ri])
        Xj, Yj, Rj = tab.X[other][None, :], tab.Y[other + 1][None, :], tab.R[other][None, :]
        out_j = (tab.G[other] + tab.G[other + 1] + p.w[ej])[None, :]
        ai, bi = p.u[r.E][:, None], p.v[r.E][:, None]
        aj, bj = p.u[ej][None, :], p.v[ej][None, :]
        d = p.dist.pairs
        new_r = r.cost - out_i + p.w[ej][None, :] + np.minimum(d(Xi, aj) + d(bj, Yi), d(Xi, bj) + d(aj, Yi))
        new_q = costs[Rj] - out_j + p.w[r.E][:, None] + np.minimum(d(Xj, ai) + d(bi, Yj), d(Xj, bi) + d(ai, Yj))
        old_hi, old_lo = np.maximum(costs[Rj], r.cost), np.minimum(costs[Rj], r.cost)
        new_hi, new_lo = np.maximum(new_r, new_q), np.minimum(new_r, new_q)
        tol = _EPS * max(1.0, r.cost)
        primary = old_hi - new_hi
        gain = np.where(np.abs(primary) <= tol, _TIE * np.maximum(old_lo - new_lo, 0.0), primary)
        i, j = np.unravel_index(int(np.argmax(gain)), gain.shape)
        if gain[i, j] <= tol:
            return False
        qi, pos, e, f = int(Rj[0, j]), int(tab.P[other[j]]), int(r.E[i]), int(ej[j])
        q = routes[qi]
        E, F, T = r.E.copy(), r.F.copy(), r.T.copy()
        E[i], F[i], T[i] = f, p.u[f], p.v[f]
        routes[ri] = _Route(E, F, T)
        E, F, T = q.E.copy(), q.F.copy(), q.T.copy()
        E[pos], F[pos], T[pos] = e, p.u[e], p.v[e]
        routes[qi] = _Route(E, F, T)
        p.orient(routes[ri])
        p.orient(routes[qi])
        return True

    def improve(self, routes: list[_Route]) -> list[_Route]:
        """Two-opt, relocations and (below ``_GRANULAR`` required edges) swaps until none helps."""
        for _ in range(100):
            changed = False
            for r in routes:
                changed |= self.two_opt(r)
            changed |= self.relocate(routes)
            if not changed and self.nb is None:
                changed = self.swap(routes)
            if not changed or self.out_of_time():
                break
        return routes

    # ruin and recreate -------------------------------------------------------
    def ruin_recreate(self, routes: list[_Route], *, size: int) -> list[_Route]:
        p = self.p
        routes = [r.copy() for r in routes]
        seed_edge = int(p.req[self.rng.integers(len(p.req))])
        row = p.dist.row(int(p.u[seed_edge]))
        near = p.req[np.argsort(np.minimum(row[p.u[p.req]], row[p.v[p.req]]), kind="stable")[:size]]
        for ri in range(len(routes)):
            r = routes[ri]
            keep = ~np.isin(r.E, near)
            if not keep.all():
                routes[ri] = _Route(r.E[keep], r.F[keep], r.T[keep])
                p.orient(routes[ri])
        greedy_max = self.rng.random() < 0.5
        touched = set()
        for e in self.rng.permutation(near).tolist():
            tab = self._table(routes)
            a, b = int(p.u[e]), int(p.v[e])
            ra, rb = p.dist.row(a), p.dist.row(b)
            fwd, rev = ra[tab.X] + rb[tab.Y], rb[tab.X] + ra[tab.Y]
            delta = np.minimum(fwd, rev) + p.w[e] - tab.G
            costs = np.array([q.cost for q in routes])
            new_q = costs[tab.R] + delta
            j = int(np.lexsort((delta, new_q))[0]) if greedy_max else int(np.lexsort((new_q, delta))[0])
            if rev[j] < fwd[j]:
                a, b, ra, rb = b, a, rb, ra
            qi, at = int(tab.R[j]), int(tab.P[j])
            q = routes[qi]
            assert q.G is not None  # copied or re-oriented above, or built here with its G
            G = np.concatenate((q.G[:at], [ra[tab.X[j]], rb[tab.Y[j]]], q.G[at + 1 :]))
            routes[qi] = _Route(_insert(q.E, at, e), _insert(q.F, at, a), _insert(q.T, at, b), float(new_q[j]), G)
            touched.add(qi)
        for qi in sorted(touched):  # orientations were kept fixed while inserting
            p.orient(routes[qi])
        return self.improve(routes)


@dataclass
class Solution:
    walks: list[list[tuple[int, int, int]]]
    lengths: np.ndarray
    served: list[np.ndarray]
    lower_bound: float
    cpp_bound: float
    cpp_exact: bool
    far_cycle: float
    split_max: float
    starts: int
    iterations: int
    stopped_by: str
    seconds: float
    pieces: int = 1  # parts of the required edges (and the depot) that do not touch
    connect: float = 0.0  # shortest connections joining them (walked as deadhead at least once)
    trace: list[tuple[int, float, float]] = field(default_factory=list)  # (round, seconds, longest) at every new best


def solve(
    n: int,
    u: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    required: np.ndarray,
    depot: int,
    k: int,
    *,
    seed: int = 0,
    time_limit: float | None = None,
    starts: int | None = None,
    iterations: int | None = None,
    dist: _Distances | None = None,
    target_gap: float = 0.0,
    patience: int | None = None,
) -> Solution:
    """Min-max k rural postman: k closed walks from ``depot`` covering every required edge.

    The ruin-and-recreate rounds stop after ``iterations``, or once the longest walk is within
    ``target_gap`` of the lower bound, or after ``patience`` rounds without a new best.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    w = np.asarray(w, dtype=float)
    req = np.flatnonzero(required)
    dist = dist or _Distances(n, u, v, w)
    prob = _Problem(n, u, v, w, req, depot, k, dist)
    d0 = prob.d0
    far = float(np.max(np.minimum(d0[u[req]] + w[req] + d0[v[req]], np.inf))) if len(req) else 0.0
    if len(req) == 0:
        empty = [np.zeros(0, np.int64) for _ in range(k)]
        return Solution([[] for _ in range(k)], np.zeros(k), empty, 0.0, 0.0, True, 0.0, 0.0, 0, 0, "done", 0.0, 0, 0.0)
    aug = _augment(dist, u, v, w, req, depot)
    lb = max(aug.cpp_bound / k, far)
    m = len(req)
    if starts is None:  # the defaults of routes.py (effort 1)
        starts = int(np.clip(20000 // max(m, 1), 8, 400))
    if iterations is None:
        iterations = int(np.clip(60000 // max(m, 1), 20, 1000))
    deadline = t0 + time_limit if time_limit is not None else np.inf
    search = _Search(prob, rng, deadline)
    # route first, cluster second: exact split of many random postman tours
    cands = []
    for s in range(starts):
        if s and search.out_of_time():  # time_limit: at least one tour, then stop splitting
            break
        tour = _euler_tour(aug.edges, n, depot, rng)
        nodes = np.array([depot] + [t for _, _, t in tour])
        prefix = np.r_[0.0, np.cumsum(w[[e for e, _, _ in tour]])]
        cuts, val = split_tour(nodes, prefix, d0, k)
        cands.append((val, s, tour, cuts))
    cands.sort(key=lambda c: (c[0], c[1]))
    split_max = cands[0][0]
    required_mask = np.zeros(len(u), bool)
    required_mask[req] = True
    best: list[_Route] | None = None
    seen: set[float] = set()
    for val, _, tour, cuts in cands[: max(1, min(4, len(cands)))]:
        if round(val, 6) in seen:
            continue
        seen.add(round(val, 6))
        routes = search.improve(prob.from_tour(tour, cuts, required_mask))
        if best is None or _objective(routes) < _objective(best):
            best = routes
        if search.out_of_time():
            break
    assert best is not None
    # iterated ruin and recreate, record-to-record: a candidate replaces the current solution
    # when its longest route is within a shrinking threshold of the best found
    integral = bool(np.all(w[req] == np.round(w[req])))
    target = np.ceil(lb - 1e-9) if integral else lb
    it = 0
    stopped = "iterations"
    max_size = max(2, min(m // 2, int(np.ceil(2.5 * m / k)), 60))
    current = best
    trace = [(0, time.perf_counter() - t0, _objective(best)[0])]
    while it < iterations:
        if search.out_of_time():
            stopped = "time_limit"
            break
        if _objective(best)[0] <= target * (1 + max(target_gap, 1e-9)):
            stopped = "lower_bound" if target_gap <= 0 else "target_gap"
            break
        if patience is not None and it - trace[-1][0] >= patience:
            stopped = "patience"
            break
        it += 1
        size = int(rng.integers(2, max_size + 1))
        cand = search.ruin_recreate(current, size=size)
        threshold = 0.02 * (1 - it / iterations)
        if _objective(cand) < _objective(best):
            best = current = cand
            trace.append((it, time.perf_counter() - t0, _objective(best)[0]))
        elif _objective(cand)[0] <= _objective(best)[0] * (1 + threshold):
            current = cand
    walks = [prob.walk(r) for r in best]
    lengths = np.array([sum(w[e] for e, _, _ in wk) for wk in walks])
    order = np.lexsort((np.arange(k), -lengths))
    return Solution(
        walks=[walks[i] for i in order],
        lengths=lengths[order],
        served=[best[i].E.copy() for i in order],
        lower_bound=float(target),
        cpp_bound=float(aug.cpp_bound),
        cpp_exact=aug.cpp_exact,
        far_cycle=far,
        split_max=float(split_max),
        starts=len(cands),
        iterations=it,
        stopped_by=stopped,
        seconds=time.perf_counter() - t0,
        pieces=aug.pieces,
        connect=aug.connect,
        trace=trace,
    )
