"""Final tidying of a given boundary's street network.

Snapped dangles, absorbed specks, dropped near-duplicate lines.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from .irregular import _contract_short, _merge_chains, _prune_short_dangles
from .lines import _components, _Lines, _node, _topology


def _finish_network(lines: _Lines, poly: Any) -> tuple[_Lines, list[float]]:
    """Node urban and rural streets together; keep every piece of network longer than 1 km.

    Returns the streets and the street length (m) of each connected component kept, largest first.
    """
    net = _node(_snap_dangles(_node(lines), 1.0))
    net = _prune_short_dangles(net, 5.0)
    net = _node(_contract_short(net, poly, 8.0))
    net = _prune_short_dangles(_drop_near_duplicates(net), 5.0)
    u, v, _, xy = _topology(net.geom)
    comp = _components(u, v, len(xy))[u]
    length = shapely.length(net.geom)
    totals = np.bincount(comp, weights=length)
    keep_comp = totals >= min(1000.0, totals.max())
    net = net.take(keep_comp[comp])
    return _merge_chains(net), sorted(totals[keep_comp].tolist(), reverse=True)


def _snap_dangles(lines: _Lines, tol: float) -> _Lines:
    """Move street ends that stop within ``tol`` m of another street onto it.

    The city's clean-up moves street ends by a few centimetres after the rural roads were
    anchored to them; without this the two would miss each other by that much.
    """
    u, v, deg, xy = _topology(lines.geom)
    free = np.flatnonzero(deg == 1)
    if len(free) == 0:
        return lines
    pts = shapely.points(xy[free])
    qi, si = shapely.STRtree(lines.geom).query(pts, predicate="dwithin", distance=tol)
    own = (u[si] == free[qi]) | (v[si] == free[qi])
    qi, si = qi[~own], si[~own]
    if len(qi) == 0:
        return lines
    dist = shapely.distance(pts[qi], lines.geom[si])
    order = np.lexsort((dist, qi))
    first = np.r_[True, qi[order][1:] != qi[order][:-1]]
    qi, si = qi[order][first], si[order][first]
    target = shapely.get_coordinates(
        shapely.line_interpolate_point(lines.geom[si], shapely.line_locate_point(lines.geom[si], pts[qi]))
    )
    move = dict(zip(free[qi].tolist(), map(tuple, target)))
    geoms = lines.geom.copy()
    for e in np.flatnonzero(np.isin(u, list(move)) | np.isin(v, list(move))):
        c = shapely.get_coordinates(geoms[e]).copy()
        if int(u[e]) in move:
            c[0] = move[int(u[e])]
        if int(v[e]) in move:
            c[-1] = move[int(v[e])]
        geoms[e] = shapely.LineString(c)
    out = _Lines(geoms, lines.kind, lines.name, lines.editable)
    return out.take(shapely.length(out.geom) > 0)


def _absorb_specks(faces: np.ndarray, streets: _Lines, min_area: float = 20.0) -> tuple[np.ndarray, list[float]]:
    """Merge specks of blocks (streets crossing given subdistrict lines at a shallow angle)
    into the neighbour across a non-street edge, so the subdistrict line moves, not a street.

    Returns the blocks and the areas of the specks merged.
    """
    faces = faces.copy()
    moved: list[float] = []
    tree = shapely.STRtree(streets.geom)
    for i in np.argsort(shapely.area(faces), kind="stable"):
        if faces[i] is None or shapely.area(faces[i]) >= min_area:
            if faces[i] is not None and shapely.area(faces[i]) >= min_area:
                break
            continue
        live = np.flatnonzero([f is not None for f in faces])
        cand = live[shapely.touches(faces[live], faces[i]) | shapely.intersects(faces[live], faces[i])]
        cand = cand[cand != i]
        if len(cand) == 0:
            continue
        shared = shapely.intersection(shapely.boundary(faces[cand]), faces[i].boundary)
        near = streets.geom[tree.query(faces[i], predicate="dwithin", distance=0.05)]
        on_street = shapely.union_all(near).buffer(0.01) if len(near) else shapely.Polygon()
        off = shapely.length(shapely.difference(shared, on_street))
        score = np.where(off > 0, off + 1e6, shapely.length(shared))
        j = int(cand[int(np.argmax(score))])
        merged = shapely.union(faces[j], faces[i])
        if merged.geom_type != "Polygon":
            continue
        moved.append(float(shapely.area(faces[i])))
        faces[j], faces[i] = merged, None
    return np.array([f for f in faces if f is not None], dtype=object), moved


def _drop_near_duplicates(lines: _Lines, gap: float = 3.0, overlap: float = 10.0) -> _Lines:
    """Drop segments running alongside another within ``gap`` m for more than ``overlap`` m.

    Streets grown independently (a township's street grid over a village road) can run a
    metre apart; such near-duplicates make sliver blocks no real map has. Only lines marked
    ``editable`` are checked (against all). Of each pair the lower-priority kind (then the
    shorter) goes.
    """
    for _ in range(3):
        geoms = lines.geom
        mine = np.flatnonzero(lines.editable)  # only lines marked editable are checked (the rural ones)
        q, j = shapely.STRtree(geoms).query(geoms[mine], predicate="dwithin", distance=gap)
        i = mine[q]
        sel = (i != j) & ~(lines.editable[j] & (j < i))  # each pair once
        i, j = i[sel], j[sel]
        if len(i) == 0:
            return lines
        length = shapely.length(geoms)
        long = (length[i] > overlap) & (length[j] > overlap)
        i, j = i[long], j[long]
        used = np.unique(np.r_[i, j])
        halo = np.empty(len(geoms), dtype=object)
        halo[used] = shapely.buffer(geoms[used], gap, quad_segs=1)
        along = shapely.length(shapely.intersection(geoms[i], halo[j]))
        back = shapely.length(shapely.intersection(geoms[j], halo[i]))
        bad = np.minimum(along, back) - 2 * gap > overlap
        if not bad.any():
            return lines
        i, j = i[bad], j[bad]
        worse = np.unique(
            np.where((lines.kind[i] > lines.kind[j]) | ((lines.kind[i] == lines.kind[j]) & (length[i] < length[j])), i, j)
        )
        keep = np.ones(len(lines), dtype=bool)
        keep[worse] = False
        # a near-duplicate goes only if the network stays connected without it
        u, v, _, xy = _topology(geoms)
        label = _components(u[keep], v[keep], len(xy))
        has_other = np.bincount(np.r_[u[keep], v[keep]], minlength=len(xy)) > 0
        parent = {int(c): int(c) for c in np.unique(label)}

        for e in worse:
            if has_other[u[e]] and has_other[v[e]]:
                a, b = _find_root(parent, int(label[u[e]])), _find_root(parent, int(label[v[e]]))
                if a != b:
                    parent[a] = b
                    keep[e] = True
        if keep.all():
            return lines
        lines = lines.take(keep)
    return lines


def _find_root(parent: dict[int, int], a: int) -> int:
    """Root of ``a`` in a union-find forest (with path halving)."""
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a
