"""Streets of every grid: the network cut at the grid lines, and who owns a street on a grid line.

Per-grid patrols need every street edge owned by exactly one grid. Two things make that
harder on real streets than it looks:

1. **Grid lines follow streets.** Grids are unions of street blocks, so most grid lines
   run along a street, and the polygons' edges agree with the street lines only up to
   floating-point noise. Cutting a street by polygon intersection then gives a dash
   pattern of centimetre-to-metre bits that alternate between the two grids (seen on the
   real Chang'an streets: grids in 45-390 pieces). Here a street is cut only where it
   really crosses a grid line: every interval between consecutive crossings is labelled by
   the grids within ``ON_GRID_LINE`` metres of its middle, consecutive intervals with the
   same label are merged, and intervals shorter than ``ON_GRID_LINE`` take a neighbour's
   label. An interval near two grids or more runs *along* their shared line.
2. **A street along a grid line belongs to one of the grids it bounds.** Giving it to the
   first code splits the other grid's streets into pieces its chiefs must walk between. Here
   the streets on grid lines are grouped into runs between junctions and handed out
   greedily, a run at a time, to the grid it joins most pieces of (a grid without streets yet
   counts as joined); a run that joins none goes to the grid it touches, else to the grid
   whose streets are nearest along the network (the least added deadhead); remaining ties
   go to the grid where it leaves fewer odd junctions (each costs deadhead to pair up),
   then to the grid listed first. A last pass moves a run to another of its grids wherever
   that leaves fewer pieces in the two grids together, or as many but spread more evenly
   (the greedy's order can strand a run; a grid is never left without streets).
   Every choice is deterministic.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from shapely import ops

from .network import StreetNetwork

if TYPE_CHECKING:  # pragma: no cover
    from .grids import GridPlan

ON_GRID_LINE = 1.0
"""Metres: a piece of street whose middle is this close to two grids runs along their shared line."""

OUTSIDE = -1  # owner of a piece outside every grid (travel only)
SHARED = -2  # owner of a piece on a grid line until it is settled

_NEAR_LIMIT = 3000.0  # metres: how far the network is searched for the nearest streets of a grid


def split_at_grids(network: StreetNetwork, plan: GridPlan) -> tuple[StreetNetwork, np.ndarray, list[tuple[int, ...]]]:
    """The network cut where its streets cross grid lines.

    Returns the cut network, per edge its grid position (``OUTSIDE`` outside every grid,
    ``SHARED`` along a grid line) and per edge the grids it may belong to (positions, sorted).
    """
    grids = plan.grids if pyproj.CRS(plan.grids.crs).equals(network.crs) else plan.grids.to_crs(network.crs)
    polys = np.asarray(grids.geometry.values)
    e = network.edges
    lines = np.asarray(e.geometry.values)
    lengths = shapely.length(lines)
    tree = shapely.STRtree(polys)
    cuts = _crossings(lines, polys, tree)
    edge_of, start, end = _intervals(lengths, cuts)
    mid = shapely.line_interpolate_point(lines[edge_of], (start + end) / 2)
    at, grid = tree.query(mid, predicate="dwithin", distance=ON_GRID_LINE)
    labels: list[tuple[int, ...]] = [()] * len(mid)
    order = np.lexsort((grid, at))
    at, grid = at[order], grid[order]
    bounds = np.flatnonzero(np.r_[True, at[1:] != at[:-1], True]) if len(at) else np.array([0])
    for a, b in zip(bounds[:-1], bounds[1:]):
        labels[int(at[a])] = tuple(int(g) for g in grid[a:b])
    rows_geom, rows_label, rows_edge = [], [], []
    for edge, pieces in _merge_intervals(edge_of, start, end, labels):
        line = lines[edge]
        for a, b, label in pieces:
            geom = line if (a <= 0 and b >= lengths[edge]) else ops.substring(line, a, b)
            if geom.geom_type == "LineString" and geom.length > 0:
                rows_geom.append(geom)
                rows_label.append(label)
                rows_edge.append(edge)
    frame = gpd.GeoDataFrame({"piece": np.arange(len(rows_geom)), "source_edge": rows_edge}, geometry=rows_geom, crs=network.crs)
    if network.noding_report.get("grade_separated"):
        # the pieces meet only at their ends: re-noding would join a bridge to the street under it
        split = StreetNetwork._from_noded_pieces(frame)
    else:
        split = StreetNetwork.from_lines(frame, snap_tolerance=1e-3)
    se = split.edges
    piece = se.pop("piece").to_numpy(np.int64)
    src = se["source_edge"].to_numpy(np.int64)
    se["street"] = e["street"].to_numpy(object)[src] if "street" in e.columns else e.index.to_numpy(object)[src]
    se["source_edge"] = e.index.to_numpy()[src]
    for col in e.columns:  # the street's attributes (name, oneway/dir, road class...): pieces keep the drawing direction
        if col not in se.columns and col not in ("u", "v", "key", "length", "geometry"):
            se[col] = e[col].to_numpy()[src]
    se = se[[c for c in se.columns if c != "geometry"] + ["geometry"]]
    out = StreetNetwork(se, split.nodes[["x", "y"]].to_numpy(float), crs=network.crs, noding_report=split.noding_report)
    cand = [rows_label[p] for p in piece]
    owner = np.array([c[0] if len(c) == 1 else (OUTSIDE if not c else SHARED) for c in cand], dtype=np.int64)
    return out, owner, cand


def _crossings(lines: np.ndarray, polys: np.ndarray, tree: shapely.STRtree) -> tuple[np.ndarray, np.ndarray]:
    """(edge, position along it) of every point where a line meets a grid outline."""
    ei, gi = tree.query(lines, predicate="dwithin", distance=ON_GRID_LINE)
    if not len(ei):
        return np.zeros(0, np.int64), np.zeros(0)
    hit = shapely.intersection(lines[ei], shapely.boundary(polys[gi]))
    pts, which = shapely.get_coordinates(hit, return_index=True)
    edge = ei[which]
    pos = shapely.line_locate_point(lines[edge], shapely.points(pts))
    return edge, pos


def _intervals(lengths: np.ndarray, cuts: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every edge split at its crossings: (edge, start, end) of the intervals, in order along each edge.

    A crossing closer than ``ON_GRID_LINE`` to an end of the edge or to the previous crossing
    kept does not cut.
    """
    edge_c, pos_c = cuts
    n = len(lengths)
    inner = (pos_c >= ON_GRID_LINE) & (pos_c <= lengths[edge_c] - ON_GRID_LINE)
    edge = np.r_[np.arange(n), edge_c[inner], np.arange(n)]
    pos = np.r_[np.zeros(n), pos_c[inner], lengths]
    end = np.r_[np.zeros(n + int(inner.sum()), bool), np.ones(n, bool)]
    order = np.lexsort((end, pos, edge))
    edge, pos, end = edge[order], pos[order], end[order]
    keep = np.ones(len(pos), bool)
    last = 0.0
    for i in range(len(pos)):
        if i and edge[i] == edge[i - 1] and not end[i] and pos[i] - last < ON_GRID_LINE:
            keep[i] = False
        elif keep[i]:
            last = float(pos[i])
    edge, pos = edge[keep], pos[keep]
    nxt = np.r_[edge[1:] == edge[:-1], False]
    return edge[nxt], pos[nxt], pos[np.r_[False, nxt[:-1]]]


def _merge_intervals(
    edge_of: np.ndarray, start: np.ndarray, end: np.ndarray, labels: list[tuple[int, ...]]
) -> Iterator[tuple[int, list[tuple[float, float, tuple[int, ...]]]]]:
    """Per edge, its pieces (start, end, grids nearby): equal neighbours merged, short ones absorbed."""
    bounds = np.flatnonzero(np.r_[True, edge_of[1:] != edge_of[:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:]):
        pieces: list[list[Any]] = [[float(start[i]), float(end[i]), labels[i]] for i in range(a, b)]
        changed = True
        while changed and len(pieces) > 1:
            changed = False
            for i, p in enumerate(pieces):
                if p[1] - p[0] < ON_GRID_LINE:
                    j = (
                        i - 1
                        if i > 0
                        and (i == len(pieces) - 1 or pieces[i - 1][1] - pieces[i - 1][0] >= pieces[i + 1][1] - pieces[i + 1][0])
                        else i + 1
                    )
                    p[2] = pieces[j][2]
            merged = [pieces[0]]
            for p in pieces[1:]:
                if p[2] == merged[-1][2]:
                    merged[-1][1] = p[1]
                    changed = True
                else:
                    merged.append(p)
            pieces = merged
        yield int(edge_of[a]), [(p[0], p[1], p[2]) for p in pieces]


# --------------------------------------------------------------------------- streets on grid lines
class _Pieces:
    """Union-find over (grid, node): which nodes a grid's own streets already join."""

    def __init__(self) -> None:
        self.parent: dict[tuple[int, int], tuple[int, int]] = {}

    def find(self, x: tuple[int, int]) -> tuple[int, int]:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def add_edge(self, g: int, a: int, b: int) -> None:
        for x in ((g, a), (g, b)):
            self.parent.setdefault(x, x)
        ra, rb = self.find((g, a)), self.find((g, b))
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def touched(self, g: int, nodes: np.ndarray) -> set[tuple[int, int]]:
        return {self.find((g, int(x))) for x in nodes if (g, int(x)) in self.parent}


class _Degrees:
    """Degree of every node in every grid's own streets (odd nodes cost deadhead to pair up)."""

    def __init__(self) -> None:
        self.deg: dict[tuple[int, int], int] = {}

    def add_edge(self, g: int, a: int, b: int) -> None:
        for x in (a, b):
            self.deg[(g, x)] = self.deg.get((g, x), 0) + 1

    def evened(self, g: int, ends: np.ndarray) -> int:
        """Odd nodes of g made even minus even nodes made odd, were a run with these ends g's."""
        return sum(1 if self.deg.get((g, int(x)), 0) % 2 else -1 for x in ends)


def settle_grid_lines(
    n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, owner: np.ndarray, cand: list[tuple[int, ...]]
) -> np.ndarray:
    """Owner (grid position) of every edge: the ``SHARED`` ones given to one of their grids.

    Runs of shared edges between junctions go, one run at a time and best first, to the grid
    whose pieces they join most; a run joining none goes to a grid it touches, else to the
    grid whose streets are nearest along the network. See the module docstring.
    """
    owner = owner.copy()
    shared = np.flatnonzero(owner == SHARED)
    if not len(shared):
        return owner
    runs = _runs(n, u, v, owner, cand, shared)
    pieces, degrees = _Pieces(), _Degrees()
    for e in np.flatnonzero(owner >= 0):
        pieces.add_edge(int(owner[e]), int(u[e]), int(v[e]))
        degrees.add_edge(int(owner[e]), int(u[e]), int(v[e]))
    has_streets = set(owner[owner >= 0].tolist())
    nodes_of = [np.unique(np.r_[u[run], v[run]]) for run in runs]
    ends_of = []
    for run in runs:
        x, c = np.unique(np.r_[u[run], v[run]], return_counts=True)
        ends_of.append(x[c % 2 == 1])
    near = _NearestStreets(n, u, v, w, owner)
    heap: list[tuple[tuple[int, float, int], int, int]] = []

    def key(r: int, g: int) -> tuple[int, float, int]:
        """Smaller is better: pieces joined (a new piece: -1; a grid's first street: 0), distance, odd ends evened."""
        t = len(pieces.touched(g, nodes_of[r]))
        gain = t - 1 if (t or g in has_streets) else 0
        dist = 0.0 if t or g not in has_streets else near.distance(g, nodes_of[r])
        return -gain, dist, -degrees.evened(g, ends_of[r])

    for r, run in enumerate(runs):
        for g in cand[int(run[0])]:
            heapq.heappush(heap, (key(r, g), g, r))
    done = np.zeros(len(runs), bool)
    while heap:
        queued, g, r = heapq.heappop(heap)
        if done[r]:
            continue
        now = key(r, g)
        if now > queued:  # worse than when queued: queue again with its current value
            heapq.heappush(heap, (now, g, r))
            continue
        done[r] = True
        for e in runs[r]:
            owner[e] = g
            pieces.add_edge(g, int(u[e]), int(v[e]))
            degrees.add_edge(g, int(u[e]), int(v[e]))
        has_streets.add(g)
        near.add(g)
    return _improve_runs(u, v, owner, cand, runs)


def _count_pieces(u: np.ndarray, v: np.ndarray) -> int:
    """Parts of the edges (u, v) that do not touch."""
    if not len(u):
        return 0
    nodes, inv = np.unique(np.r_[u, v], return_inverse=True)
    m = len(u)
    adj = sparse.coo_matrix((np.ones(m), (inv[:m], inv[m:])), shape=(len(nodes), len(nodes)))
    return int(csgraph.connected_components(adj, directed=False)[0])


def _improve_runs(
    u: np.ndarray, v: np.ndarray, owner: np.ndarray, cand: list[tuple[int, ...]], runs: list[np.ndarray], passes: int = 2
) -> np.ndarray:
    """Move a run to another of its grids when that leaves fewer pieces in the two grids together.

    The greedy hands runs out one at a time; this pass undoes choices that a later run made
    worse (up to ``passes`` sweeps, in run order, so it is deterministic).
    """
    edges_of = {g: set(np.flatnonzero(owner == g).tolist()) for g in np.unique(owner[owner >= 0]).tolist()}

    def pieces(g: int) -> int:  # a grid left without streets counts as one piece: never empty a grid to win
        e = np.fromiter(edges_of.get(g, ()), dtype=np.int64)
        return max(1, _count_pieces(u[e], v[e]))

    for _ in range(passes):
        moved = False
        for run in runs:
            g = int(owner[run[0]])
            others = [h for h in cand[int(run[0])] if h != g]
            if not others:
                continue
            mine = set(run.tolist())
            before_g = pieces(g)
            edges_of[g] -= mine
            after_g = pieces(g)
            best, best_delta = g, (0, 0)
            for h in others:
                before_h = pieces(h)
                edges_of.setdefault(h, set()).update(mine)
                after_h = pieces(h)
                edges_of[h] -= mine
                # fewer pieces in all; at equal count, pieces spread more evenly (the worst grid first)
                delta = ((after_g + after_h) - (before_g + before_h), (after_g**2 + after_h**2) - (before_g**2 + before_h**2))
                if delta < best_delta:
                    best, best_delta = h, delta
            edges_of.setdefault(best, set()).update(mine)
            if best != g:
                owner[run] = best
                moved = True
        if not moved:
            break
    return owner


def _runs(
    n: int, u: np.ndarray, v: np.ndarray, owner: np.ndarray, cand: list[tuple[int, ...]], shared: np.ndarray
) -> list[np.ndarray]:
    """Shared edges grouped into runs: joined at nodes of degree 2 where both edges are shared alike."""
    deg = np.bincount(u, minlength=n) + np.bincount(v, minlength=n)
    ends = np.r_[u[shared], v[shared]]
    eids = np.r_[shared, shared]
    order = np.argsort(ends, kind="stable")
    ends, eids = ends[order], eids[order]
    same_node = np.flatnonzero(ends[1:] == ends[:-1])
    a, b = eids[same_node], eids[same_node + 1]
    ok = (deg[ends[same_node]] == 2) & np.array([cand[int(x)] == cand[int(y)] for x, y in zip(a, b)], dtype=bool)
    pos = np.full(len(owner), -1)
    pos[shared] = np.arange(len(shared))
    m = len(shared)
    adj = sparse.coo_matrix((np.ones(int(ok.sum())), (pos[a[ok]], pos[b[ok]])), shape=(m, m))
    _, lab = csgraph.connected_components(adj, directed=False)
    order = np.lexsort((shared, lab))
    cut = np.flatnonzero(np.r_[True, lab[order][1:] != lab[order][:-1], True])
    return [shared[order[i:j]] for i, j in zip(cut[:-1], cut[1:])]


class _NearestStreets:
    """Network distance from every node to the streets a grid owns (computed when first asked)."""

    def __init__(self, n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, owner: np.ndarray) -> None:
        cw = np.where(w > 0, w, 1e-12)
        self.csr = sparse.csr_matrix((np.r_[cw, cw], (np.r_[u, v], np.r_[v, u])), shape=(n, n))
        self.u, self.v, self.owner = u, v, owner
        self.cache: dict[int, np.ndarray] = {}

    def distance(self, g: int, nodes: np.ndarray) -> float:
        d = self.cache.get(g)
        if d is None:
            mine = self.owner == g
            src = np.unique(np.r_[self.u[mine], self.v[mine]])
            d = (
                csgraph.dijkstra(self.csr, directed=False, indices=src, min_only=True, limit=_NEAR_LIMIT)
                if len(src)
                else np.full(self.csr.shape[0], np.inf)
            )
            self.cache[g] = d
        return float(np.min(d[nodes]))

    def add(self, g: int) -> None:
        self.cache.pop(g, None)
