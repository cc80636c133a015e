"""Rural land of a given boundary.

A terrain-like cost raster, villages and township seats, and county, township and village roads
grown as shortest paths on it (:func:`_rural_network`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy.sparse import csgraph

from .barriers import _Barriers
from .constants import _ART, _BRIDGE, _LOC, _PEOPLE_PER_POINT, _SEC, _UNNAMED
from .lines import _concat, _Lines, _topology
from .names import _BRIDGE_NAMES, _VILLAGE_PREFIXES, _NamePool
from .raster import _add_crossings, _build_raster, _exits, _link_raster_components, _path, _Raster, _terrain

# How the rural roads are grown (see _rural_network).
_VILLAGE_SPACING = 0.75  # villages at least this x sqrt(rural land per village) apart
_VALLEY_PREFERENCE = 0.6  # villages are drawn with weight exp(-this x terrain height)
_GATE_ON_CORE = 0.05  # m: a street end this close to the core's edge is a gate ...
_GATE_OFF_BOUNDARY = 0.5  # m: ... unless it is this close to the district boundary
_GATE_REACH = 2.0  # raster cells: longest connector from a gate to its nearest rural node
_FALLBACK_REACH = 3.0  # raster cells: longest connector for land the nearest-node gates miss
_FALLBACK_TRIES = 5  # nearest gates (or ring road points) tried for such land
_CONNECTOR_IN_CORE = 0.05  # m: a connector may run this far inside the core
_TOWNSHIP_REUSE = 0.5  # cost factor of raster edges already used, for township roads
_VILLAGE_REUSE = 0.3  # ... and for village roads (they join the roads built so far)
_VILLAGE_ROUNDS = 4  # village roads are built in this many rounds, nearest villages first
_UNNAMED_VILLAGE_ROAD = 0.7  # share of village roads without a name; the rest are 村道 of a village
_FIRST_COUNTY_ROAD = 101  # county roads are numbered 县道X101, X102, ...
_NEAREST_TOWNS = 2  # every township seat is joined to this many nearest seats
_NO_ROAD = 9  # road class of a raster node no road uses
_COUNTY, _TOWNSHIP, _VILLAGE = 0, 1, 2  # road classes, in order of priority
_ROAD_KIND = {_COUNTY: _ART, _TOWNSHIP: _SEC, _VILLAGE: _LOC}
_SETTLEMENT_SIZE_SIGMA = 0.45  # log-normal spread of settlement sizes
_TOWN_WEIGHT = 4.0  # a township seat holds this many times the people of a village
_TOWN_SPREAD = 200.0  # m: spread of a seat's address points
_VILLAGE_SPREAD = (60.0, 140.0)  # m: range of a village's spread


@dataclass
class _Rural:
    lines: _Lines
    settlements: np.ndarray  # (k, 2)
    weight: np.ndarray  # relative residents
    sigma: np.ndarray  # spread of address points (m)
    n_villages: int = 0
    n_towns: int = 0
    unreached: int = 0  # settlements no road reaches


def _poisson_disc(rng: np.random.Generator, xy: np.ndarray, p: np.ndarray, k: int, spacing: float) -> np.ndarray:
    """Up to ``k`` of the points (drawn by weight ``p``), no two closer than ``spacing``."""
    if len(xy) == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64)
    m = min(len(xy), 8 * k)
    cand = rng.choice(len(xy), size=m, replace=False, p=p / p.sum())
    taken: dict[tuple[int, int], list[int]] = {}
    out: list[int] = []
    for i in cand:
        gx, gy = int(xy[i, 0] // spacing), int(xy[i, 1] // spacing)
        near = [j for dx in (-1, 0, 1) for dy in (-1, 0, 1) for j in taken.get((gx + dx, gy + dy), [])]
        if near and np.hypot(*(xy[near] - xy[i]).T).min() < spacing:
            continue
        taken.setdefault((gx, gy), []).append(int(i))
        out.append(int(i))
        if len(out) == k:
            break
    return np.asarray(out, dtype=np.int64)


def _town_seats(vxy: np.ndarray, villages: np.ndarray, k: int, core: Any) -> list[int]:
    """Township seats: the villages nearest the centres of k clusters of villages (Lloyd's k-means)."""
    k = min(k, len(villages))
    if k <= 0:
        return []
    d = shapely.distance(core, shapely.points(vxy))
    picks: list[int] = []
    for _ in range(k):  # farthest-point start, away from the city
        picks.append(int(np.argmax(d)))
        d = np.minimum(d, np.hypot(*(vxy - vxy[picks[-1]]).T))
    centres = vxy[picks].copy()
    for _ in range(10):
        label = np.argmin(((vxy[:, None, :] - centres[None, :, :]) ** 2).sum(-1), axis=1)
        for j in range(k):
            if (label == j).any():
                centres[j] = vxy[label == j].mean(axis=0)
    out: list[int] = []
    for c in centres:
        dist = np.hypot(*(vxy - c).T)
        dist[out] = np.inf
        out.append(int(np.argmin(dist)))
    return [int(villages[i]) for i in out]


def _chaikin(c: np.ndarray, rounds: int = 2) -> np.ndarray:
    """Corner cutting that keeps both ends (every new point lies on the old polyline)."""
    for _ in range(rounds):
        if len(c) < 3:
            break
        q = 0.75 * c[:-1] + 0.25 * c[1:]
        r = 0.25 * c[:-1] + 0.75 * c[1:]
        mid = np.empty((2 * len(q), 2))
        mid[0::2], mid[1::2] = q, r
        c = np.vstack([c[:1], mid[1:-1], c[-1:]])
    return c


def _rural_network(
    rng: np.random.Generator,
    poly: Any,
    core: Any,
    urban: _Lines,
    ring: np.ndarray,
    barriers: _Barriers,
    names: _NamePool,
    n_villages: int,
    n_towns: int,
) -> _Rural:
    """Villages and township seats on rural land, joined to the urban core and each other by winding roads.

    Roads start at the ends of the city's streets on the edge of the core (gates), or, for
    land no such end reaches, at the nearest point of the ring road ``ring``. The steps: a
    cost raster over the rural land (:func:`_build_raster`), settlements in its valleys,
    gates and exits, then county roads (seat to city), township roads (seat to seat),
    village roads and loops, all shortest paths on the raster that prefer roads built so far.
    """
    from scipy.spatial import cKDTree

    empty = _Rural(_Lines.of([], _LOC, _UNNAMED), np.zeros((0, 2)), np.zeros(0), np.zeros(0))
    blocked = shapely.union_all([core, barriers.zones])
    land = shapely.difference(poly, blocked)
    if land.is_empty or n_villages <= 0:
        return empty
    terrain = _terrain(rng)
    raster = _build_raster(rng, land, terrain)
    if raster.n < 2:
        return empty
    _add_crossings(rng, raster, poly, core, barriers, list(rng.permutation(_BRIDGE_NAMES)))
    _link_raster_components(raster, poly, blocked)
    tree = cKDTree(raster.xy)

    # settlements: villages in the valleys, a few of them township seats spread far apart
    spacing = _VILLAGE_SPACING * math.sqrt(land.area / n_villages)
    villages = _poisson_disc(rng, raster.xy, np.exp(-_VALLEY_PREFERENCE * raster.terrain), n_villages, spacing)
    towns = _town_seats(raster.xy[villages], villages, n_towns, core)

    gate_xy = _gate_points(urban, poly, core)
    exits = _exits(poly, core, barriers, raster, tree)
    graph = raster.graph()
    _, comp = csgraph.connected_components(graph, directed=False)
    wanted_parts = {int(comp[n]) for n in villages.tolist() + [x for x, _ in exits]}
    gates = _gates(gate_xy, raster, tree, comp, wanted_parts, poly, core, barriers, ring)
    settlement_nodes = list(dict.fromkeys(towns + villages.tolist()))
    sources = _road_sources(gates, settlement_nodes, comp)
    roads = _RoadMarks(raster)
    if not sources:
        return empty
    _county_roads(roads, graph, sources, towns)
    _township_roads(roads, towns, comp)
    wanted = list(dict.fromkeys(settlement_nodes + [x for x, _ in exits]))
    remaining = _village_roads(rng, roads, sources, np.array([s for s in wanted if s not in sources], dtype=np.int64))
    unreached = int(np.isin(remaining, settlement_nodes).sum())
    _village_loops(rng, raster, settlement_nodes, comp, spacing, roads.used, roads.edges_of, roads.mark)
    lines = _road_lines(rng, roads, gates + exits, towns, land, names)
    weight, sigma = _settlement_sizes(rng, settlement_nodes, towns)
    sxy = raster.xy[settlement_nodes] if settlement_nodes else np.zeros((0, 2))
    return _Rural(lines, sxy, weight, sigma, len(settlement_nodes) - len(towns), len(towns), unreached)


def _gate_points(urban: _Lines, poly: Any, core: Any) -> np.ndarray:
    """Dead ends of the urban streets on the edge of the core (not on the district boundary)."""
    _, _, deg, nxy = _topology(urban.geom)
    ends = shapely.points(nxy)
    gate = (
        (deg == 1)
        & shapely.dwithin(ends, core.boundary, _GATE_ON_CORE)
        & ~shapely.dwithin(ends, poly.boundary, _GATE_OFF_BOUNDARY)
    )
    return nxy[gate]


def _connector(start: np.ndarray, node: int, reach: float, raster: _Raster, poly: Any, core: Any, barriers: _Barriers) -> Any:
    """A straight road from ``start`` to raster ``node``, or None if it is too long, leaves
    the district, enters the river or railway zone or runs inside the core."""
    seg = shapely.LineString([start, raster.xy[node]])
    if seg.length <= reach and poly.covers(seg) and not seg.intersects(barriers.zones):
        if shapely.intersection(seg, core).length < _CONNECTOR_IN_CORE:
            return seg
    return None


def _gates(
    gate_xy: np.ndarray,
    raster: _Raster,
    tree: Any,
    comp: np.ndarray,
    wanted_parts: set[int],
    poly: Any,
    core: Any,
    barriers: _Barriers,
    ring: np.ndarray,
) -> list[tuple[int, Any]]:
    """Connectors ``(raster node, segment)`` from the city to the rural raster.

    Every gate joins its nearest rural node; a piece of rural land the nearest-node gates
    miss (cut off by the river or the railway) takes the nearest gate on its side, or else
    the nearest point of the ring road.
    """
    from scipy.spatial import cKDTree

    gates: list[tuple[int, Any]] = []
    if not len(gate_xy):
        return gates
    _, near = tree.query(gate_xy, k=1)
    for g, nn in zip(gate_xy, near):
        seg = _connector(g, int(nn), _GATE_REACH * raster.cell, raster, poly, core, barriers)
        if seg is not None:
            gates.append((int(nn), seg))
    reached = {int(comp[n]) for n, _ in gates}
    for c in sorted(wanted_parts - reached):
        members = np.flatnonzero(comp == c)
        found = _gate_from_street_ends(gate_xy, members, cKDTree(raster.xy[members]), raster, poly, core, barriers)
        if found is None and len(ring):
            found = _gate_from_ring(ring, members, raster, poly, core, barriers)
        if found is not None:
            gates.append(found)
    return gates


def _gate_from_street_ends(
    gate_xy: np.ndarray,
    members: np.ndarray,
    member_tree: Any,
    raster: _Raster,
    poly: Any,
    core: Any,
    barriers: _Barriers,
) -> tuple[int, Any] | None:
    """The nearest gate that can reach a piece of land (its raster nodes ``members``)."""
    dist, k = member_tree.query(gate_xy, k=1)
    for gi in np.argsort(dist, kind="stable")[:_FALLBACK_TRIES]:
        node = int(members[k[gi]])
        seg = _connector(gate_xy[gi], node, _FALLBACK_REACH * raster.cell, raster, poly, core, barriers)
        if seg is not None:
            return node, seg
    return None


def _gate_from_ring(
    ring: np.ndarray,
    members: np.ndarray,
    raster: _Raster,
    poly: Any,
    core: Any,
    barriers: _Barriers,
) -> tuple[int, Any] | None:
    """A connector from the nearest point of the ring road to a piece of land."""
    pts = shapely.points(raster.xy[members])
    reach = _FALLBACK_REACH * raster.cell
    qi, ri = shapely.STRtree(ring).query_nearest(pts, max_distance=reach, all_matches=False)
    if not len(qi):
        return None
    d2 = shapely.distance(pts[qi], ring[ri])
    for t in np.argsort(d2, kind="stable")[:_FALLBACK_TRIES]:
        node = int(members[qi[t]])
        road = ring[ri[t]]
        a = shapely.line_interpolate_point(road, shapely.line_locate_point(road, pts[qi[t]]))
        seg = _connector(shapely.get_coordinates(a)[0], node, reach, raster, poly, core, barriers)
        if seg is not None:
            return node, seg
    return None


def _road_sources(gates: list[tuple[int, Any]], settlement_nodes: list[int], comp: np.ndarray) -> list[int]:
    """Raster nodes roads grow from: the gates, plus one settlement per piece of land no gate serves."""
    sources = sorted({g for g, _ in gates})
    served = set(comp[sources].tolist()) if sources else set()
    for s in settlement_nodes:  # a piece of land the core does not reach gets its own root
        if comp[s] not in served:
            sources.append(s)
            served.add(comp[s])
    return sources


class _RoadMarks:
    """Road class and name of every raster edge (-1: no road yet)."""

    def __init__(self, raster: _Raster) -> None:
        self.raster = raster
        self.used = np.full(len(raster.eu), -1, dtype=np.int64)
        self.used_name = np.full(len(raster.eu), "", dtype=object)
        lo, hi = np.minimum(raster.eu, raster.ev), np.maximum(raster.eu, raster.ev)
        key = lo * raster.n + hi
        self._order = np.lexsort((raster.ew, key))
        self._sorted_key = key[self._order]

    def edges_of(self, path: list[int]) -> np.ndarray:
        """The cheapest raster edge between each two consecutive nodes of ``path``."""
        n = self.raster.n
        a, b = np.asarray(path[:-1], dtype=np.int64), np.asarray(path[1:], dtype=np.int64)
        k = np.minimum(a, b) * n + np.maximum(a, b)
        return self._order[np.searchsorted(self._sorted_key, k)]

    def mark(self, path: list[int], cls: int, name: str) -> None:
        """Make ``path`` a road of class ``cls`` where no road runs yet."""
        if len(path) < 2:
            return
        e = self.edges_of(path)
        new = self.used[e] < 0
        self.used[e[new]] = cls
        self.used_name[e[new]] = name

    def cost_factor(self, reuse: float) -> np.ndarray:
        """Cost factor per edge: ``reuse`` on roads built so far, 1 elsewhere."""
        return np.where(self.used >= 0, reuse, 1.0)


def _county_roads(roads: _RoadMarks, graph: Any, sources: list[int], towns: list[int]) -> None:
    """County roads: every township seat to the city (or its own piece of land's root)."""
    _, pred, _ = csgraph.dijkstra(graph, directed=False, indices=sources, min_only=True, return_predecessors=True)
    for i, t in enumerate(towns):
        roads.mark(_path(pred, t), _COUNTY, f"县道X{_FIRST_COUNTY_ROAD + i}")


def _township_roads(roads: _RoadMarks, towns: list[int], comp: np.ndarray) -> None:
    """Township roads: each seat to its nearest seats on the same piece of land."""
    if len(towns) < 2:
        return
    raster = roads.raster
    txy = raster.xy[towns]
    pairs = set()
    for i in range(len(towns)):
        dd = np.hypot(*(txy - txy[i]).T)
        for j in np.argsort(dd, kind="stable")[1 : 1 + _NEAREST_TOWNS]:
            pairs.add((min(i, int(j)), max(i, int(j))))
    for number, (i, j) in enumerate(sorted(pairs), start=1):
        if comp[towns[i]] != comp[towns[j]]:
            continue
        _, pred = csgraph.dijkstra(
            raster.graph(roads.cost_factor(_TOWNSHIP_REUSE)), directed=False, indices=towns[i], return_predecessors=True
        )
        roads.mark(_path(pred, towns[j]), _TOWNSHIP, f"乡道Y{number:03d}")


def _village_roads(rng: np.random.Generator, roads: _RoadMarks, sources: list[int], remaining: np.ndarray) -> np.ndarray:
    """Village roads, nearest villages first, each round joining the roads built so far;
    returns the nodes no road reaches."""
    raster, used = roads.raster, roads.used
    for rnd in range(_VILLAGE_ROUNDS):
        if len(remaining) == 0:
            break
        touched = np.unique(np.r_[raster.eu[used >= 0], raster.ev[used >= 0], sources]).astype(np.int64)
        dist, pred, _ = csgraph.dijkstra(
            raster.graph(roads.cost_factor(_VILLAGE_REUSE)),
            directed=False,
            indices=touched,
            min_only=True,
            return_predecessors=True,
        )
        reach = remaining[np.isfinite(dist[remaining])]
        if len(reach) == 0:
            break
        reach = reach[np.argsort(dist[reach], kind="stable")]
        take = reach[: max(1, math.ceil(len(reach) / (_VILLAGE_ROUNDS - rnd)))]
        for s in take:
            name = _UNNAMED if rng.random() < _UNNAMED_VILLAGE_ROAD else f"{rng.choice(_VILLAGE_PREFIXES)}村道"
            roads.mark(_path(pred, int(s)), _VILLAGE, name)
        remaining = np.setdiff1d(remaining, take)
    return remaining


def _road_lines(
    rng: np.random.Generator,
    roads: _RoadMarks,
    connectors: list[tuple[int, Any]],
    towns: list[int],
    land: Any,
    names: _NamePool,
) -> _Lines:
    """The rural roads as lines: raster roads, the streets of the township seats, and the
    connectors (gates and exits) with the class and name of the road they join."""
    raster, used, used_name = roads.raster, roads.used, roads.used_name
    pinned = np.array([g for g, _ in connectors] + towns, dtype=np.int64)  # connectors end there
    lines = _raster_lines(raster, used, used_name, pinned)
    node_cls = np.full(raster.n, _NO_ROAD, dtype=np.int64)
    node_name = np.full(raster.n, "", dtype=object)
    for e in np.flatnonzero(used >= 0)[np.argsort(-used[used >= 0], kind="stable")]:
        for node in (raster.eu[e], raster.ev[e]):
            node_cls[node], node_name[node] = used[e], used_name[e]
    gate_lines = [(seg, _ROAD_KIND[int(node_cls[g])], str(node_name[g])) for g, seg in connectors if node_cls[g] < _NO_ROAD]
    town_lines = _town_streets(rng, raster.xy[[t for t in towns if node_cls[t] < _NO_ROAD]], land, names)
    parts = [lines, town_lines]
    if gate_lines:
        parts.append(
            _Lines.of(
                [g for g, _, _ in gate_lines],
                np.array([k for _, k, _ in gate_lines]),
                np.array([n for _, _, n in gate_lines], dtype=object),
            )
        )
    return _concat(*parts)


def _settlement_sizes(rng: np.random.Generator, settlement_nodes: list[int], towns: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Relative size and spread (m) of the address points of every settlement."""
    is_town = np.isin(settlement_nodes, towns)
    weight = np.exp(rng.normal(0.0, _SETTLEMENT_SIZE_SIGMA, len(settlement_nodes))) * np.where(is_town, _TOWN_WEIGHT, 1.0)
    sigma = np.where(is_town, _TOWN_SPREAD, rng.uniform(*_VILLAGE_SPREAD, len(settlement_nodes)))
    return weight, sigma


def _village_loops(
    rng: np.random.Generator,
    raster: _Raster,
    nodes: list[int],
    comp: np.ndarray,
    spacing: float,
    used: np.ndarray,
    edges_of: Callable[[list[int]], np.ndarray],
    mark: Callable[[list[int], int, str], None],
) -> None:
    """Close the tree of village roads into loops: roads between neighbouring settlements.

    About half of the short Delaunay pairs of settlements get their shortest raster path,
    kept only when most of it is new road (not a detour along roads already built).
    """
    from scipy.spatial import Delaunay

    if len(nodes) < 4:
        return
    sxy = raster.xy[nodes]
    try:
        tri = Delaunay(sxy)
    except Exception:  # pragma: no cover - collinear settlements
        return
    s = tri.simplices
    pairs = np.unique(np.sort(np.r_[s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]], axis=1), axis=0)
    gap = np.hypot(*(sxy[pairs[:, 0]] - sxy[pairs[:, 1]]).T)
    node_arr = np.asarray(nodes)
    pairs = pairs[(gap < 2.5 * spacing / 0.75) & (comp[node_arr[pairs[:, 0]]] == comp[node_arr[pairs[:, 1]]])]
    pairs = pairs[rng.random(len(pairs)) < 0.85]
    pairs = pairs[rng.permutation(len(pairs))]
    if len(pairs) == 0:
        return
    graph = raster.graph()
    limit = 6.0 * spacing / 0.75 * float(np.exp(0.6 * raster.terrain).mean())
    starts = np.unique(pairs[:, 0])
    for b0 in range(0, len(starts), 32):
        batch = starts[b0 : b0 + 32]
        _, pred = csgraph.dijkstra(graph, directed=False, indices=node_arr[batch], limit=limit, return_predecessors=True)
        row = {int(v): i for i, v in enumerate(batch)}
        for a, b in pairs[np.isin(pairs[:, 0], batch)]:
            p = pred[row[int(a)]]
            target = int(node_arr[b])
            if p[target] < 0:
                continue
            path = _path(p, target)
            if len(path) >= 2 and (used[edges_of(path)] >= 0).mean() <= 0.4:
                mark(path, 2, _UNNAMED)


def _raster_lines(raster: _Raster, used: np.ndarray, used_name: np.ndarray, pinned: np.ndarray) -> _Lines:
    """The used raster edges as smoothed polylines between junctions (crossings and links kept straight).

    ``pinned`` nodes (where connectors and township streets attach) end chains, so smoothing
    never moves a road off them.
    """
    kinds = {0: _ART, 1: _SEC, 2: _LOC}
    edges = np.flatnonzero(used >= 0)
    special = np.array([bool(raster.special[e]) for e in edges], dtype=bool)
    plain = edges[~special]
    deg = np.bincount(np.r_[raster.eu[edges], raster.ev[edges]], minlength=raster.n)
    brk = deg != 2
    brk[pinned] = True
    brk[raster.eu[edges[special]]] = True
    brk[raster.ev[edges[special]]] = True
    inc: dict[int, list[int]] = {}
    for e in plain:
        inc.setdefault(int(raster.eu[e]), []).append(int(e))
        inc.setdefault(int(raster.ev[e]), []).append(int(e))
    for node, es in inc.items():  # a change of road class or name is a chain end too
        if len(es) == 2 and (used[es[0]], used_name[es[0]]) != (used[es[1]], used_name[es[1]]):
            brk[node] = True
    geoms: list[Any] = []
    kind: list[int] = []
    name: list[str] = []
    seen: set[int] = set()

    def walk(start: int, e: int) -> None:
        e0 = e
        nodes = [start]
        at = start
        while True:
            seen.add(e)
            at = int(raster.ev[e] if raster.eu[e] == at else raster.eu[e])
            nodes.append(at)
            if brk[at] or at == start:
                break
            nxt = [x for x in inc[at] if x not in seen]
            if not nxt:
                break
            e = nxt[0]
        geoms.append(shapely.LineString(_chaikin(raster.xy[nodes])))
        kind.append(kinds[int(used[e0])])
        name.append(str(used_name[e0]))

    for node in sorted(inc):
        if brk[node]:
            for e in inc[node]:
                if e not in seen:
                    walk(node, e)
    for e in plain:  # closed loops without a junction
        if int(e) not in seen:
            walk(int(raster.eu[e]), int(e))
    for e in edges[special]:
        road = kinds[int(used[e])]
        for geom, k, nm in raster.special[e]:
            geoms.append(geom)
            kind.append(road if k < 0 else k)
            name.append(nm or str(used_name[e]))
    if not geoms:
        return _Lines.of([], _LOC, _UNNAMED)
    return _Lines.of(geoms, np.asarray(kind), np.array(name, dtype=object))


def _town_streets(rng: np.random.Generator, centres: np.ndarray, land: Any, names: _NamePool) -> _Lines:
    """A small street grid (3 × 3 streets, ~1 km²) around each township seat."""
    geoms: list[Any] = []
    kinds: list[int] = []
    labels: list[str] = []
    for c in centres:
        ang = rng.uniform(0, np.pi)
        d = np.array([math.cos(ang), math.sin(ang)])
        n = np.array([-d[1], d[0]])
        reach = rng.uniform(350.0, 500.0)
        step = rng.uniform(160.0, 220.0)
        disc = shapely.Point(c).buffer(reach + 30.0)
        area = shapely.intersection(land, disc).buffer(-5.0)
        for axis, other in ((d, n), (n, d)):
            for k, off in enumerate((-step, 0.0, step)):
                line = shapely.LineString([c + off * other - reach * axis, c + off * other + reach * axis])
                for piece in shapely.get_parts(shapely.intersection(line, area)):
                    if shapely.get_type_id(piece) == 1 and piece.length > 60.0:
                        geoms.append(piece)
                        kinds.append(_SEC if k == 1 else _LOC)
                        labels.append(names.next_local())
    if not geoms:
        return _Lines.of([], _LOC, _UNNAMED)
    return _Lines.of(geoms, np.asarray(kinds), np.array(labels, dtype=object))


def _rural_population(
    rng: np.random.Generator,
    poly: Any,
    core: Any,
    streets: _Lines,
    barriers: _Barriers,
    rural: _Rural,
    total: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Address points clustered around villages and township seats, set back from the roads."""
    k = len(rural.settlements)
    if k == 0 or total <= 0:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    share = rural.weight / rural.weight.sum() * total
    n_pts = np.maximum(1, np.round(share / _PEOPLE_PER_POINT)).astype(np.int64)
    if n_pts.sum() > 25_000:
        n_pts = np.maximum(1, np.round(n_pts * 25_000 / n_pts.sum())).astype(np.int64)
    all_tree = shapely.STRtree(streets.geom)
    art_tree = shapely.STRtree(streets.geom[np.isin(streets.kind, (_ART, _BRIDGE))])
    shapely.prepare(core)
    got = np.zeros(k, dtype=np.int64)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    owner: list[np.ndarray] = []
    for _ in range(12):
        need = n_pts - got
        if (need <= 0).all():
            break
        draw = np.repeat(np.arange(k), np.maximum(need, 0) * 2)
        x = rural.settlements[draw, 0] + rng.normal(0.0, 1.0, len(draw)) * rural.sigma[draw]
        y = rural.settlements[draw, 1] + rng.normal(0.0, 1.0, len(draw)) * rural.sigma[draw]
        ok = shapely.contains_xy(poly, x, y) & ~shapely.contains_xy(core, x, y) & ~barriers.contains_xy(x, y)
        pts = shapely.points(x, y)
        ok[all_tree.query(pts, predicate="dwithin", distance=11.0)[0]] = False
        ok[art_tree.query(pts, predicate="dwithin", distance=20.0)[0]] = False
        draw, x, y = draw[ok], x[ok], y[ok]
        rank = np.arange(len(draw)) - np.searchsorted(draw, draw)  # position within its settlement
        take = rank < need[draw]
        xs.append(x[take])
        ys.append(y[take])
        owner.append(draw[take])
        got += np.bincount(draw[take], minlength=k)
    x, y, who = np.concatenate(xs), np.concatenate(ys), np.concatenate(owner)
    if len(who) == 0:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    # residents: each settlement's share (settlements without any point pass theirs on)
    share = np.where(got > 0, share, 0.0)
    share *= total / share.sum()
    w = np.exp(rng.normal(0.0, 0.5, len(who)))
    per_point = share[who] * w / np.bincount(who, weights=w, minlength=k)[who]
    people = np.maximum(1, np.round(per_point)).astype(np.int64)
    return shapely.points(x, y), people


def _exact_total(people: np.ndarray, target: int) -> np.ndarray:
    """Adjust rounded residents per point (each ≥ 1) so that they sum to ``target`` exactly."""
    people = people.copy()
    diff = int(target - people.sum())
    order = np.argsort(-people, kind="stable")
    if diff > 0:
        add = np.full(len(people), diff // len(people))
        add[order[: diff % len(people)]] += 1
        people += add
    while diff < 0:
        room = people[order] - 1
        cut = np.minimum(room, -diff)
        cut = np.minimum(cut, np.maximum(1, room // 2))
        cut[np.cumsum(cut) > -diff] = 0
        if cut.sum() == 0:
            break
        people[order] -= cut
        diff += int(cut.sum())
    return people
