"""Subdistricts and communities of a given boundary (街道 / 镇, 社区 / 村), islands and slivers joined
to the nearest community.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from ..errors import DataError
from .constants import _GRID
from .names import _COMMUNITY_PREFIXES, _SUBDISTRICT_NAMES, _TOWN_NAMES, _VILLAGE_PREFIXES, _names
from .options import _GivenOptions
from .partitions import _allocate, _bisect, _Community, _reading_order


def _link_components(
    faces: np.ndarray, adj: sparse.csr_matrix, w: np.ndarray, groups: np.ndarray | None
) -> tuple[sparse.csr_matrix, int]:
    """Join blocks cut off from the rest (islands, exclaves) to their nearest block.

    Without ``groups`` only minor pieces (< 2 % of the area and weight) are joined, to the
    nearest block of a major piece; with ``groups`` (given subdistricts) every piece of a
    group but its largest is joined to the nearest block of that largest piece.
    Returns the adjacency with these virtual edges and the number of pieces joined.
    """
    n = len(faces)
    key = np.zeros(n, dtype=np.int64) if groups is None else groups
    area = shapely.area(faces)
    extra_i: list[int] = []
    extra_j: list[int] = []
    for g in np.unique(key):
        idx = np.flatnonzero(key == g)
        n_comp, lab = csgraph.connected_components(adj[idx][:, idx], directed=False)
        if n_comp == 1:
            continue
        a_share = np.bincount(lab, weights=area[idx]) / area[idx].sum()
        w_share = np.bincount(lab, weights=w[idx]) / max(w[idx].sum(), 1e-9)
        if groups is None:
            major = (a_share >= 0.02) | (w_share >= 0.02)
        else:
            major = np.zeros(n_comp, dtype=bool)
        major[int(np.argmax(a_share + w_share))] = True
        mfaces = idx[major[lab]]
        mtree = shapely.STRtree(faces[mfaces])
        for c in np.flatnonzero(~major):
            members = idx[lab == c]
            qi, ti = mtree.query_nearest(faces[members], return_distance=False, all_matches=False)
            dist = shapely.distance(faces[members[qi]], faces[mfaces[ti]])
            best = int(np.argmin(dist))
            extra_i.append(int(members[qi[best]]))
            extra_j.append(int(mfaces[ti[best]]))
    if not extra_i:
        return adj, 0
    link = sparse.coo_matrix((np.ones(2 * len(extra_i)), (extra_i + extra_j, extra_j + extra_i)), shape=(n, n))
    return (adj + link).tocsr(), len(extra_i)


def _pieces_by_class(cls: np.ndarray, adj: sparse.csr_matrix, w: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Connected pieces of urban (1) and rural (0) blocks; pieces < 5 % of their class's weight change class."""
    cls = cls.copy()
    _, comp = csgraph.connected_components(adj, directed=False)
    for _ in range(6):
        changed = False
        for c in np.unique(comp):
            for k in (0, 1):
                idx = np.flatnonzero((comp == c) & (cls == k))
                if len(idx) == 0:
                    continue
                n_p, lab = csgraph.connected_components(adj[idx][:, idx], directed=False)
                if n_p == 1:
                    continue
                pw = np.bincount(lab, weights=w[idx])
                small = (pw < 0.05 * pw.sum()) & (np.arange(n_p) != int(np.argmax(pw)))
                if small.any():
                    cls[idx[small[lab]]] = 1 - k
                    changed = True
        if not changed:
            break
    out: list[tuple[np.ndarray, int]] = []
    for c in np.unique(comp):
        for k in (1, 0):
            idx = np.flatnonzero((comp == c) & (cls == k))
            if len(idx) == 0:
                continue
            n_p, lab = csgraph.connected_components(adj[idx][:, idx], directed=False)
            out += [(idx[lab == p], k) for p in range(n_p)]
    return out


def _given_communities(
    rng: np.random.Generator,
    faces: np.ndarray,
    w: np.ndarray,
    block_pop: np.ndarray,
    adj: sparse.csr_matrix,
    urban_face: np.ndarray,
    opt: _GivenOptions,
    sub_of_face: np.ndarray | None,
    rural_km2: float,
) -> tuple[list[_Community], np.ndarray, sparse.csr_matrix, list[str]]:
    """Subdistricts (街道 in the core, 镇 outside, or the given polygons), communities inside each."""
    notes: list[str] = []
    xy = shapely.get_coordinates(shapely.point_on_surface(faces))
    adj_v, n_linked = _link_components(faces, adj, w, sub_of_face)
    if n_linked:
        notes.append(
            f"{n_linked} pieces of land cut off from the rest (islands, exclaves or slivers without "
            "streets) were joined to the community nearest to them"
        )
    subs: list[tuple[np.ndarray, int]] = []  # (blocks, urban?)
    if sub_of_face is not None:
        for s in range(int(sub_of_face.max()) + 1):
            idx = np.flatnonzero(sub_of_face == s)
            subs.append((idx, int(w[idx][urban_face[idx]].sum() >= 0.5 * w[idx].sum())))
    else:
        pieces = _pieces_by_class(urban_face.astype(np.int64), adj_v, w)
        urban_pop = float(block_pop[urban_face].sum())
        want = {1: int(np.clip(round(urban_pop / 100_000), 1, 8)), 0: int(np.clip(round(rural_km2 / 250.0), 1, 8))}
        have = {k: sum(1 for _, c in pieces if c == k) for k in (0, 1)}
        want = {k: (max(want[k], have[k]) if have[k] else 0) for k in (0, 1)}
        if opt.n_subdistricts is not None:
            total = opt.n_subdistricts
            if total < have[0] + have[1]:
                raise DataError(
                    f"n_subdistricts={total} is fewer than the {have[0] + have[1]} separate pieces the land falls "
                    "into (urban core, rural land, exclaves); pass at least that many or leave it out"
                )
            if have[0] and have[1]:
                urban_k = int(round(total * want[1] / (want[0] + want[1])))
                urban_k = int(np.clip(urban_k, have[1], total - have[0]))
                want = {1: urban_k, 0: total - urban_k}
            else:
                want = {k: (total if have[k] else 0) for k in (0, 1)}
        for k in (1, 0):
            mine = [p for p, c in pieces if c == k]
            if not mine:
                continue
            counts = _allocate(np.array([w[p].sum() for p in mine]), want[k], 1)
            for p, m in zip(mine, counts):
                for part in _bisect(rng, p, int(min(m, len(p))), xy, w, adj_v):
                    subs.append((part, k))
    n_sub = len(subs)
    sub_w = np.array([w[s].sum() for s, _ in subs])
    if opt.n_communities is not None:
        if opt.n_communities < n_sub:
            raise DataError(
                f"n_communities={opt.n_communities} is fewer than the {n_sub} subdistricts; every subdistrict "
                f"needs a community: pass n_communities >= {n_sub} (or fewer n_subdistricts)"
            )
        per_sub = _allocate(sub_w, opt.n_communities, 2 if opt.n_communities >= 2 * n_sub else 1)
    else:
        per_sub = np.array([max(2, round(block_pop[s].sum() / 20_000)) if k else 2 for s, k in subs])
    per_sub = np.minimum(per_sub, [len(s) for s, _ in subs])
    code = opt.code
    sub_xy = np.array([np.average(xy[s], axis=0, weights=w[s] + 1e-9) for s, _ in subs])
    sub_order = _reading_order(sub_xy[:, 0], sub_xy[:, 1])
    taken: set[str] = set()
    urban_names = _names(rng, list(_SUBDISTRICT_NAMES) + list(_COMMUNITY_PREFIXES), sum(k for _, k in subs), "街道", taken)
    town_names = _names(rng, _TOWN_NAMES, sum(1 - k for _, k in subs), "镇", taken)
    comm_taken: set[str] = set()
    out: list[_Community] = []
    comm_of_face = np.full(len(faces), -1, dtype=np.int64)
    seq = {1: 0, 0: 100}
    for rank, s in enumerate(sub_order):
        units, urban = subs[s]
        seq[urban] += 1
        sub_code = f"{code}{seq[urban]:03d}"
        if opt.subdistrict_names is not None:
            sub_name = opt.subdistrict_names[s]
        else:
            sub_name = urban_names.pop() if urban else town_names.pop()
        groups = _bisect(rng, units, int(per_sub[s]), xy, w, adj_v)
        gxy = np.array([np.average(xy[g], axis=0, weights=w[g] + 1e-9) for g in groups])
        urban_group = [bool(w[g][urban_face[g]].sum() >= 0.5 * w[g].sum()) for g in groups]
        labels = {
            True: iter(_names(rng, _COMMUNITY_PREFIXES, sum(urban_group), "社区", comm_taken)),
            False: iter(_names(rng, _VILLAGE_PREFIXES, len(groups) - sum(urban_group), "村", comm_taken)),
        }
        numbers = {True: 0, False: 200}
        for g in _reading_order(gxy[:, 0], gxy[:, 1]):
            numbers[urban_group[g]] += 1
            comm_of_face[groups[g]] = len(out)
            out.append(
                _Community(
                    groups[g],
                    f"{sub_code}{numbers[urban_group[g]]:03d}",
                    next(labels[urban_group[g]]),
                    sub_code,
                    sub_name,
                    rank,
                    shapely.coverage_union_all(faces[groups[g]]),
                )
            )
    return out, comm_of_face, adj_v, notes


def _prepare_subdistricts(poly: Any, geoms: list[Any]) -> tuple[list[Any], list[str]]:
    """Clip given subdistricts to the boundary, settle overlaps (first wins) and fill gaps (longest shared edge)."""
    notes: list[str] = []
    clipped = shapely.intersection(shapely.set_precision(np.asarray(geoms, dtype=object), _GRID), poly)
    out: list[Any] = []
    taken: Any = shapely.Polygon()
    overlap = 0.0
    for g in clipped:
        own = shapely.difference(g, taken)
        overlap += max(0.0, g.area - own.area)
        out.append(own)
        taken = shapely.union(taken, own)
    gaps = shapely.get_parts(shapely.difference(poly, taken))
    gaps = gaps[shapely.area(gaps) > 0]
    for gap in gaps:
        shared = np.array([shapely.intersection(gap.boundary, o.boundary).length if not o.is_empty else 0.0 for o in out])
        k = int(np.argmax(shared)) if shared.max() > 0 else int(np.argmin([gap.distance(o) for o in out]))
        out[k] = shapely.union(out[k], gap)
    empty = [i for i, o in enumerate(out) if o.is_empty or o.area < 1.0]
    if empty:
        raise DataError(
            f"subdistricts {empty} (by position) lie outside the boundary or under earlier ones; "
            "pass subdistrict polygons that belong to this boundary"
        )
    gap_area = float(np.sum(shapely.area(gaps))) if len(gaps) else 0.0
    if overlap > 1.0 or gap_area > 1.0:
        notes.append(
            f"subdistricts: clipped to the boundary; {overlap / 1e6:.3f} km² of overlap went to the "
            f"subdistrict listed first and {gap_area / 1e6:.3f} km² of gaps ({len(gaps)} pieces) to the "
            "neighbour sharing the longest edge"
        )
    return [shapely.set_precision(o, _GRID) for o in out], notes
