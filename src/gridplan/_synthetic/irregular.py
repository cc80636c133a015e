"""Irregularity and clean-up of the urban network.

Removed and truncated local streets, lanes, short dangles, the largest component, merged
chains.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from shapely.ops import substring

from .barriers import _Barriers
from .constants import _LANE, _LOC, _SEC, _UNNAMED
from .density import _Density
from .lines import _components, _concat, _Lines, _node, _topology
from .names import _NamePool


def _edit_locals(
    rng: np.random.Generator, poly: Any, density: _Density, lines: _Lines, barriers: _Barriers, names: _NamePool
) -> _Lines:
    """Remove and truncate local segments, add lanes; return the final noded, connected network."""
    net = _node(lines)
    n = len(net)
    length = shapely.length(net.geom)
    mids = shapely.line_interpolate_point(net.geom, 0.5, normalized=True)
    rho = density.at(mids)
    is_local = net.editable & (net.kind == _LOC)
    remove = is_local & (rng.random(n) < 0.07 + 0.16 * (1.0 - rho))
    keep = ~remove
    u, v, deg, _ = _topology(net.geom)
    deg = np.bincount(np.concatenate([u[keep], v[keep]]), minlength=len(deg))
    trunc = np.flatnonzero(is_local & keep & (length > 60.0) & (rng.random(n) < 0.08))
    geoms = net.geom.copy()
    kinds = net.kind.copy()
    fracs = rng.uniform(0.35, 0.65, len(trunc))
    coin = rng.random(len(trunc))
    for j, e in enumerate(trunc):
        a_ok, b_ok = deg[u[e]] >= 3, deg[v[e]] >= 3
        if not (a_ok or b_ok):
            continue
        from_start = a_ok if a_ok != b_ok else coin[j] < 0.5
        cut = fracs[j] * length[e]
        geoms[e] = substring(geoms[e], 0.0, cut) if from_start else substring(geoms[e], length[e] - cut, length[e])
    net = _Lines(geoms, kinds, net.name, net.editable).take(keep)

    # lanes: short perpendicular stubs into blocks
    length = shapely.length(net.geom)
    hosts = np.flatnonzero(net.editable & np.isin(net.kind, (_LOC, _SEC)) & (length > 70.0))
    hosts = hosts[rng.random(len(hosts)) < 0.10]
    t = rng.uniform(0.3, 0.7, len(hosts)) * length[hosts]
    root = shapely.get_coordinates(shapely.line_interpolate_point(net.geom[hosts], t))
    ahead = shapely.get_coordinates(shapely.line_interpolate_point(net.geom[hosts], t + 1.0))
    behind = shapely.get_coordinates(shapely.line_interpolate_point(net.geom[hosts], t - 1.0))
    tangent = ahead - behind
    tangent /= np.maximum(np.hypot(tangent[:, 0], tangent[:, 1]), 1e-9)[:, None]
    side = rng.choice([-1.0, 1.0], len(hosts))[:, None]
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]]) * side
    reach = rng.uniform(30.0, 80.0, len(hosts))[:, None]
    stubs = shapely.linestrings(np.stack([root, root + normal * reach], axis=1))
    probes = shapely.linestrings(np.stack([root + normal * 4.0, root + normal * reach], axis=1))
    ok = np.ones(len(hosts), dtype=bool)
    qi, gi = shapely.STRtree(net.geom).query(probes, predicate="dwithin", distance=10.0)
    bad = qi[gi != hosts[qi]]
    ok[bad] = False
    inner = poly.buffer(-10.0)
    ok &= shapely.covered_by(stubs, inner) & ~shapely.intersects(stubs, barriers.zones)
    idx = np.flatnonzero(ok)
    if len(idx):
        qi, gi = shapely.STRtree(stubs[idx]).query(stubs[idx], predicate="dwithin", distance=12.0)
        later = gi[gi > qi]
        ok[idx[np.unique(later)]] = False
    idx = np.flatnonzero(ok)
    lane_names = np.array([_UNNAMED if rng.random() < 0.7 else names.next_lane() for _ in range(len(idx))], dtype=object)
    lanes = _Lines.of(stubs[idx], _LANE, lane_names, True)
    net = _node(_concat(net, lanes))
    net = _prune_short_dangles(net, 5.0)
    net = _node(_contract_short(net, poly, 8.0))  # re-node: moved ends may touch anew
    net = _prune_short_dangles(net, 5.0)
    net = _largest_components(net, poly)
    return _merge_chains(net)


def _prune_short_dangles(lines: _Lines, min_length: float) -> _Lines:
    for _ in range(4):
        u, v, deg, _ = _topology(lines.geom)
        drop = ((deg[u] == 1) | (deg[v] == 1)) & (shapely.length(lines.geom) < min_length)
        if not drop.any():
            break
        lines = lines.take(~drop)
    return lines


def _contract_short(lines: _Lines, poly: Any, min_length: float) -> _Lines:
    """Collapse segments shorter than ``min_length`` between two junctions into one node.

    Two side streets meeting a main road a metre apart are an artefact of filling
    neighbouring superblocks independently; real junctions that close are one junction.
    """
    rings = poly.boundary
    for _ in range(6):
        u, v, deg, xy = _topology(lines.geom)
        length = shapely.length(lines.geom)
        on_edge = shapely.dwithin(shapely.points(xy), rings, 0.05)
        cand = (length < min_length) & (deg[u] >= 2) & (deg[v] >= 2) & ~on_edge[u] & ~on_edge[v] & (u != v)
        if not cand.any():
            break
        used = np.zeros(len(xy), dtype=bool)
        target = np.arange(len(xy))
        drop = np.zeros(len(lines), dtype=bool)
        idx = np.flatnonzero(cand)
        for e in idx[np.argsort(length[idx], kind="stable")]:
            a, b = int(u[e]), int(v[e])
            if used[a] or used[b]:
                continue
            keep_node, move_node = (a, b) if (deg[a], -a) >= (deg[b], -b) else (b, a)
            target[move_node] = keep_node
            used[a] = used[b] = True
            drop[e] = True
        moved = target != np.arange(len(xy))
        geoms = lines.geom.copy()
        for e in np.flatnonzero((moved[u] | moved[v]) & ~drop):
            c = shapely.get_coordinates(geoms[e]).copy()
            c[0] = xy[target[u[e]]]
            c[-1] = xy[target[v[e]]]
            geoms[e] = shapely.LineString(c)
        lines = _Lines(geoms, lines.kind, lines.name, lines.editable).take(~drop)
        lines = lines.take(shapely.length(lines.geom) > 0)
    return lines


def _largest_components(lines: _Lines, poly: Any) -> _Lines:
    """Keep, in each part of the boundary, the connected component with the most street length."""
    u, v, _, xy = _topology(lines.geom)
    comp = _components(u, v, len(xy))[u]
    parts = shapely.get_parts(poly)
    mids = shapely.line_interpolate_point(lines.geom, 0.5, normalized=True)
    part = np.zeros(len(lines), dtype=np.int64)
    if len(parts) > 1:
        part = shapely.STRtree(parts).query_nearest(mids, return_distance=False, all_matches=False)[1]
    length = shapely.length(lines.geom)
    keep = np.zeros(len(lines), dtype=bool)
    for p in range(len(parts)):
        sel = part == p
        if not sel.any():
            continue
        totals = np.bincount(comp[sel], weights=length[sel])
        keep |= sel & (comp == int(np.argmax(totals)))
    return lines.take(keep)


def _merge_chains(lines: _Lines) -> _Lines:
    """Merge segments meeting at degree-2 nodes when they carry the same name and kind."""
    u, v, deg, _ = _topology(lines.geom)
    n = len(lines)
    ends = np.concatenate([u, v])
    edge_of = np.concatenate([np.arange(n), np.arange(n)])
    order = np.argsort(ends, kind="stable")
    ends, edge_of = ends[order], edge_of[order]
    start = np.searchsorted(ends, np.arange(len(deg)))
    mergeable = np.zeros(len(deg), dtype=bool)
    pair = np.full((len(deg), 2), -1, dtype=np.int64)
    for node in np.flatnonzero(deg == 2):
        a, b = edge_of[start[node]], edge_of[start[node] + 1]
        if a != b and lines.kind[a] == lines.kind[b] and lines.name[a] == lines.name[b]:
            mergeable[node] = True
            pair[node] = (a, b)
    if not mergeable.any():
        return lines
    join = sparse.coo_matrix((np.ones(int(mergeable.sum())), (pair[mergeable, 0], pair[mergeable, 1])), shape=(n, n))
    _, group = csgraph.connected_components(join, directed=False)
    members = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.r_[True, group[members][1:] != group[members][:-1], True])
    coords = [shapely.get_coordinates(g) for g in lines.geom]
    new_geom = lines.geom.copy()
    keep = np.ones(n, dtype=bool)
    for gs, ge in zip(bounds[:-1], bounds[1:]):
        edges = members[gs:ge]
        if len(edges) < 2:
            continue
        chain = _walk_chain(edges, u, v, mergeable, pair, coords)
        if chain is None:
            continue
        first = int(edges.min())
        new_geom[first] = shapely.LineString(chain)
        keep[edges] = False
        keep[first] = True
    out = _Lines(new_geom, lines.kind, lines.name, lines.editable)
    return out.take(keep)


def _walk_chain(
    edges: np.ndarray, u: np.ndarray, v: np.ndarray, mergeable: np.ndarray, pair: np.ndarray, coords: list[np.ndarray]
) -> np.ndarray | None:
    """Concatenate a chain of edges joined at mergeable nodes, starting from a true end."""
    start_edge, start_node = -1, -1
    for e in sorted(int(x) for x in edges):
        if not mergeable[u[e]]:
            start_edge, start_node = e, u[e]
            break
        if not mergeable[v[e]]:
            start_edge, start_node = e, v[e]
            break
    if start_edge < 0:  # an isolated loop of one street: leave it as it is
        return None
    out: list[np.ndarray] = []
    e, at = start_edge, start_node
    for _ in range(len(edges)):
        c = coords[e] if u[e] == at else coords[e][::-1]
        out.append(c if not out else c[1:])
        at = v[e] if u[e] == at else u[e]
        if not mergeable[at]:
            break
        a, b = pair[at]
        e = int(b if a == e else a)
    return np.concatenate(out)
