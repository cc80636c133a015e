"""The rural cost raster of a given boundary.

Free cells of rural land become graph nodes with a terrain-like cost (:func:`_terrain`,
:func:`_build_raster`); bridges and level crossings join the pieces the river and the
railway cut apart (:func:`_add_crossings`), and roads leaving the district mark its exits
(:func:`_exits`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from .barriers import _Barriers
from .constants import _BRIDGE, _MAX_RASTER_CELLS, _MIN_CELL


@dataclass
class _Raster:
    """Free cells of rural land as graph nodes (jittered cell centres) with 8-neighbour edges."""

    cell: float
    xy: np.ndarray  # node coordinates
    terrain: np.ndarray  # smooth noise at the nodes (valleys < 0 < ridges)
    eu: np.ndarray  # edge ends (node ids)
    ev: np.ndarray
    ew: np.ndarray  # edge costs
    special: list[list[tuple[Any, int, str]]]  # per edge: [] or the pieces of a crossing/link

    @property
    def n(self) -> int:
        return len(self.xy)

    def add_edge(self, a: int, b: int, cost: float, pieces: list[tuple[Any, int, str]]) -> None:
        self.eu = np.r_[self.eu, a]
        self.ev = np.r_[self.ev, b]
        self.ew = np.r_[self.ew, cost]
        self.special.append(pieces)

    def graph(self, factor: np.ndarray | None = None) -> sparse.csr_matrix:
        w = self.ew if factor is None else self.ew * factor
        return sparse.coo_matrix((w, (self.eu, self.ev)), shape=(self.n, self.n)).tocsr()


def _terrain(rng: np.random.Generator) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A smooth random field of unit variance with features of 3-15 km (hills and valleys)."""
    waves = [(rng.uniform(3000.0, 15000.0), rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi)) for _ in range(10)]

    def field(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        f = np.zeros_like(x, dtype=float)
        for wave, beta, phase in waves:
            f += np.cos(2 * np.pi * (math.cos(beta) * x + math.sin(beta) * y) / wave + phase)
        return f / math.sqrt(len(waves) / 2.0)

    return field


def _build_raster(rng: np.random.Generator, land: Any, terrain: Callable[..., np.ndarray]) -> _Raster:
    minx, miny, maxx, maxy = land.bounds
    cell = max(_MIN_CELL, math.sqrt((maxx - minx) * (maxy - miny) / _MAX_RASTER_CELLS))
    nx, ny = max(1, math.ceil((maxx - minx) / cell)), max(1, math.ceil((maxy - miny) / cell))
    ii, jj = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    cx = (minx + (jj.ravel() + 0.5) * cell).astype(float)
    cy = (miny + (ii.ravel() + 0.5) * cell).astype(float)
    shapely.prepare(land)
    free = shapely.contains_xy(land, cx, cy)
    pre = np.flatnonzero(free)
    m = 0.65 * cell  # the cell plus a margin: smoothed roads stay within it
    free[pre] = shapely.covered_by(shapely.box(cx[pre] - m, cy[pre] - m, cx[pre] + m, cy[pre] + m), land)
    node_of = np.full(nx * ny, -1, dtype=np.int64)
    node_of[free] = np.arange(int(free.sum()))
    xy = np.column_stack([cx[free], cy[free]]) + rng.uniform(-0.2 * cell, 0.2 * cell, (int(free.sum()), 2))
    f = terrain(xy[:, 0], xy[:, 1]) if len(xy) else np.zeros(0)
    cost = np.exp(0.6 * f)
    grid = free.reshape(ny, nx)
    ids = node_of.reshape(ny, nx)
    us, vs = [], []
    both = grid[:, :-1] & grid[:, 1:]
    us.append(ids[:, :-1][both])
    vs.append(ids[:, 1:][both])
    both = grid[:-1, :] & grid[1:, :]
    us.append(ids[:-1, :][both])
    vs.append(ids[1:, :][both])
    square = grid[:-1, :-1] & grid[1:, 1:] & grid[1:, :-1] & grid[:-1, 1:]  # diagonals only inside free squares
    us.append(ids[:-1, :-1][square])
    vs.append(ids[1:, 1:][square])
    us.append(ids[:-1, 1:][square])
    vs.append(ids[1:, :-1][square])
    eu, ev = np.concatenate(us), np.concatenate(vs)
    length = np.hypot(*(xy[eu] - xy[ev]).T) if len(eu) else np.zeros(0)
    ew = length * 0.5 * (cost[eu] + cost[ev])
    return _Raster(cell, xy, f, eu, ev, ew, [[] for _ in range(len(eu))])


def _segment_ok(seg: Any, poly: Any, blocked: Any) -> bool:
    return bool(poly.covers(seg) and not seg.intersects(blocked))


def _add_crossings(
    rng: np.random.Generator, raster: _Raster, poly: Any, core: Any, barriers: _Barriers, names: list[str]
) -> None:
    """Bridges and level crossings where the river and railway run through rural land.

    Places are tried every 250 m along each rural stretch; valid ones (straight across, both
    approaches on free land) are kept at least 3 km (river) / 4 km (railway) apart, so even a
    short stretch gets one. Unused crossings are never built.
    """
    from scipy.spatial import cKDTree

    if raster.n == 0:
        return
    tree = cKDTree(raster.xy)
    rural = shapely.difference(poly, core.buffer(300.0))
    for label, bar, other, step in (
        ("river", barriers.river, barriers.rail, 3000.0),
        ("rail", barriers.rail, barriers.river, 4000.0),
    ):
        blocked = shapely.union_all([core, barriers.zones])
        for piece in shapely.get_parts(shapely.intersection(bar.line, rural)):
            if shapely.get_type_id(piece) != 1:
                continue
            taken: list[float] = []
            for s in np.arange(rng.uniform(0.0, 250.0), piece.length, 250.0):
                if any(abs(s - t) < step for t in taken):
                    continue
                p = piece.interpolate(s)
                at = bar.line.line_locate_point(p)
                a, b = bar.line.interpolate(at - 5.0), bar.line.interpolate(at + 5.0)
                d = np.array([b.x - a.x, b.y - a.y])
                d /= max(np.hypot(*d), 1e-9)
                n = np.array([-d[1], d[0]]) * (bar.half + 3.0)
                ea, eb = np.array([p.x, p.y]) - n, np.array([p.x, p.y]) + n
                span = shapely.LineString([ea, eb])
                if not poly.covers(span) or span.intersects(other.zone) or span.intersects(core):
                    continue
                if len(shapely.get_parts(shapely.intersection(span, bar.zone))) != 1:
                    continue
                (da, na), (db, nb) = tree.query(ea, k=1), tree.query(eb, k=1)
                if max(da, db) > 1.5 * raster.cell:
                    continue
                app_a = shapely.LineString([raster.xy[na], ea])
                app_b = shapely.LineString([eb, raster.xy[nb]])
                if not (_segment_ok(app_a, poly, blocked) and _segment_ok(app_b, poly, blocked)):
                    continue
                kind = _BRIDGE if label == "river" else -1  # -1: takes the road's own kind
                name = names[len(raster.special) % len(names)] if label == "river" else "铁路道口"
                cost = 3.0 * (app_a.length + span.length + app_b.length) + 2.0 * raster.cell
                raster.add_edge(int(na), int(nb), cost, [(app_a, -1, ""), (span, kind, name), (app_b, -1, "")])
                taken.append(float(s))


def _link_raster_components(raster: _Raster, poly: Any, blocked: Any) -> None:
    """Join raster pieces split by a narrow neck with a straight link where one fits."""
    from scipy.spatial import cKDTree

    if raster.n == 0:
        return
    for _ in range(60):
        n_comp, label = csgraph.connected_components(raster.graph(), directed=False)
        if n_comp == 1:
            return
        sizes = np.bincount(label)
        linked = False
        for c in np.argsort(sizes, kind="stable"):
            if sizes[c] == sizes.max() and (sizes == sizes.max()).sum() == 1:
                continue
            mine = np.flatnonzero(label == c)
            others = np.flatnonzero(label != c)
            dist, j = cKDTree(raster.xy[others]).query(raster.xy[mine], k=1)
            for k in np.argsort(dist, kind="stable")[:8]:
                if dist[k] > 6.0 * raster.cell:
                    break
                a, b = int(mine[k]), int(others[j[k]])
                seg = shapely.LineString([raster.xy[a], raster.xy[b]])
                if _segment_ok(seg, poly, blocked):
                    raster.add_edge(a, b, 1.5 * seg.length, [(seg, -1, "")])
                    linked = True
                    break
            if linked:
                break
        if not linked:
            return


def _exits(poly: Any, core: Any, barriers: _Barriers, raster: _Raster, tree: Any, step: float = 2500.0) -> list[tuple[int, Any]]:
    """Roads leaving the district every ~2.5 km of rural boundary (county roads go on next door).

    Without them the land between the outermost loop of roads and the boundary would be one
    block wrapping round the whole district.
    """
    out: list[tuple[int, Any]] = []
    reach = shapely.buffer(poly, 0.01)
    blocked = shapely.union(core, barriers.zones)
    for ring in shapely.get_parts(poly.boundary):
        for s in np.arange(0.5 * step, ring.length, step):
            p = ring.interpolate(s)
            if core.distance(p) < 200.0:
                continue
            dist, node = tree.query([p.x, p.y], k=1)
            if dist > 4.0 * raster.cell:
                continue
            seg = shapely.LineString([raster.xy[node], (p.x, p.y)])
            if reach.covers(seg) and not seg.intersects(blocked):
                out.append((int(node), seg))
    return out


def _path(pred: np.ndarray, node: int) -> list[int]:
    out = [int(node)]
    while pred[out[-1]] >= 0:
        out.append(int(pred[out[-1]]))
    return out
