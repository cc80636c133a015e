"""Subdistricts, communities and the existing grids.

Contiguous unions of blocks of roughly equal population by recursive weighted bisection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from ..errors import GeometryError, InfeasibleError
from .constants import _MAX_PARTS, DISTRICT_CODE, N_SAMPLE_GRIDS
from .names import _COMMUNITY_PREFIXES, _SUBDISTRICT_NAMES


def _bisect(
    rng: np.random.Generator, units: np.ndarray, k: int, xy: np.ndarray, w: np.ndarray, adj: sparse.csr_matrix
) -> list[np.ndarray]:
    """Split connected ``units`` into ``k`` contiguous groups of roughly equal weight.

    Recursive sweeps along the weighted principal axis (slightly rotated at random); pieces
    cut off from their side are handed to the other side, which keeps both contiguous.
    """
    units = np.sort(units)
    if k <= 1 or len(units) < 2:
        return [units]
    k1 = k // 2 if rng.random() < 0.5 else k - k // 2
    pts, ww = xy[units], w[units]
    centre = np.average(pts, axis=0, weights=ww)
    cov = np.cov((pts - centre).T, aweights=ww) if len(units) > 2 else np.eye(2)
    _, vecs = np.linalg.eigh(cov)
    ang = math.atan2(vecs[1, -1], vecs[0, -1]) + rng.normal(0.0, 0.25)
    proj = (pts - centre) @ np.array([math.cos(ang), math.sin(ang)])
    order = np.argsort(proj, kind="stable")
    cum = np.cumsum(ww[order])
    cut = int(np.clip(np.searchsorted(cum, cum[-1] * k1 / k), 0, len(units) - 2)) + 1
    side = np.zeros(len(units), dtype=bool)
    side[order[:cut]] = True
    sub = adj[units][:, units]
    for flip in (True, False):
        mask = side if flip else ~side
        idx = np.flatnonzero(mask)
        if len(idx) == 0:
            continue
        labels = csgraph.connected_components(sub[idx][:, idx], directed=False)[1]
        weights = np.bincount(labels, weights=ww[idx] + 1e-9)
        stray = labels != int(np.argmax(weights))
        side[idx[stray]] = not flip
    a, b = units[side], units[~side]
    return _bisect(rng, a, k1, xy, w, adj) + _bisect(rng, b, k - k1, xy, w, adj)


def _allocate(weights: np.ndarray, k: int, minimum: int) -> np.ndarray:
    """Split ``k`` into integer shares proportional to ``weights`` (largest remainder), each ≥ minimum."""
    n = len(weights)
    share = np.full(n, minimum, dtype=np.int64)
    left = k - share.sum()
    if left <= 0:
        return share
    raw = weights / weights.sum() * (k - 0.0) - minimum
    raw = np.maximum(raw, 0.0)
    raw = raw / raw.sum() * left if raw.sum() > 0 else np.full(n, left / n)
    add = np.floor(raw).astype(np.int64)
    rest = int(left - add.sum())
    add[np.argsort(-(raw - add), kind="stable")[:rest]] += 1
    return share + add


def _reading_order(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Order north→south in rows, west→east within a row (the way codes are numbered)."""
    n = len(x)
    rows = max(1, int(round(math.sqrt(n))))
    row = np.empty(n, dtype=np.int64)
    row[np.lexsort((x, -y))] = np.arange(n) * rows // n
    return np.lexsort((x, row))


@dataclass
class _Community:
    units: np.ndarray
    code: str
    name: str
    sub_code: str
    sub_name: str
    sub_index: int
    geometry: Any = None


_MIN_BLOCKS_PER_COMMUNITY = 2  # the default district's communities hold at least two street blocks each


def _communities(
    rng: np.random.Generator,
    faces: np.ndarray,
    block_pop: np.ndarray,
    adj: sparse.csr_matrix,
    n_communities: int | None = None,
) -> tuple[list[_Community], np.ndarray]:
    """Subdistricts, then communities inside each, as contiguous unions of blocks (default district)."""
    xy = shapely.get_coordinates(shapely.point_on_surface(faces))
    w = block_pop + shapely.area(faces) / 2000.0  # empty land still weighs a little
    drawn = int(rng.integers(12, 19))
    n_comm = drawn if n_communities is None else int(n_communities)
    labels = csgraph.connected_components(adj, directed=False)[1]
    comp_w = np.bincount(labels, weights=w)
    n_sub = max(int(rng.integers(2, 5)), len(comp_w))
    if n_communities is not None:
        n_sub = max(len(comp_w), min(n_sub, n_comm // 2))
    if len(comp_w) > min(_MAX_PARTS, n_comm):  # pragma: no cover - the default outline is one polygon
        raise GeometryError(f"the blocks form {len(comp_w)} separate pieces; cannot make {n_comm} communities")
    subs: list[np.ndarray] = []
    for c, k in enumerate(_allocate(comp_w, n_sub, 1)):
        subs += _bisect(rng, np.flatnonzero(labels == c), int(k), xy, w, adj)
    sub_w = np.array([w[s].sum() for s in subs])
    per_sub = _allocate(sub_w, n_comm, 2 if n_comm >= 2 * len(subs) else 1)
    sub_xy = np.array([np.average(xy[s], axis=0, weights=w[s]) for s in subs])
    sub_order = _reading_order(sub_xy[:, 0], sub_xy[:, 1])
    sub_names = list(rng.permutation(_SUBDISTRICT_NAMES))
    comm_names = list(rng.permutation(_COMMUNITY_PREFIXES))
    out: list[_Community] = []
    comm_of_face = np.full(len(faces), -1, dtype=np.int64)
    for rank, s in enumerate(sub_order):
        sub_code = f"{DISTRICT_CODE}{rank + 1:03d}"
        sub_name = f"{sub_names[rank]}街道"
        groups = _bisect(rng, subs[s], int(per_sub[s]), xy, w, adj)
        gxy = np.array([np.average(xy[g], axis=0, weights=w[g]) for g in groups])
        for j, g in enumerate(_reading_order(gxy[:, 0], gxy[:, 1])):
            comm_of_face[groups[g]] = len(out)
            units = groups[g]
            out.append(
                _Community(
                    units,
                    f"{sub_code}{j + 1:03d}",
                    f"{comm_names.pop() if comm_names else f'第{len(out) + 1}'}社区",
                    sub_code,
                    sub_name,
                    rank,
                    shapely.coverage_union_all(faces[units]),
                )
            )
    return out, comm_of_face


def _group_adjacency(label: np.ndarray, adj: sparse.csr_matrix, n: int) -> np.ndarray:
    a = adj.tocoo()
    la, lb = label[a.row], label[a.col]
    m = np.zeros((n, n), dtype=bool)
    m[la, lb] = True
    np.fill_diagonal(m, False)
    return m


def _grids(
    rng: np.random.Generator,
    faces: np.ndarray,
    block_pop: np.ndarray,
    adj: sparse.csr_matrix,
    communities: list[_Community],
    comm_of_face: np.ndarray,
    n_grids: int = N_SAMPLE_GRIDS,
    weight: np.ndarray | None = None,
) -> list[tuple[np.ndarray, str, str, Any]]:
    """The existing plan of ``n_grids`` grids: communities merged and split until max/min population is 1.5-3."""
    xy = shapely.get_coordinates(shapely.point_on_surface(faces))
    w = block_pop + shapely.area(faces) / 2000.0 if weight is None else weight
    n_c = len(communities)
    need = n_grids - n_c
    best: tuple[float, list[np.ndarray]] | None = None
    for _ in range(200):
        groups = [c.units for c in communities]
        subs = [c.sub_index for c in communities]
        n_split = max(0, need) + int(rng.integers(0, 3))
        for _ in range(n_split):
            pops = np.array([block_pop[g].sum() for g in groups])
            pick = int(rng.choice(len(groups), p=pops / pops.sum() if pops.sum() > 0 else None))
            halves = _bisect(rng, groups[pick], 2, xy, w, adj)
            if len(halves) != 2:
                continue
            groups[pick] = halves[0]
            groups.append(halves[1])
            subs.append(subs[pick])
        while len(groups) > n_grids:
            label = np.full(len(faces), -1, dtype=np.int64)
            for gi, g in enumerate(groups):
                label[g] = gi
            touch = _group_adjacency(label, adj, len(groups))
            same = touch & (np.asarray(subs)[:, None] == np.asarray(subs)[None, :])
            cand = np.argwhere(np.triu(same if same.any() else touch))
            pops = np.array([block_pop[g].sum() for g in groups])
            pair_pop = np.maximum(pops[cand[:, 0]] + pops[cand[:, 1]], 1.0)
            p = 1.0 / pair_pop**2
            a, b = cand[int(rng.choice(len(cand), p=p / p.sum()))]
            groups[a] = np.sort(np.concatenate([groups[a], groups[b]]))
            del groups[b]
            del subs[b]
        if len(groups) != n_grids:
            continue
        pops = np.array([block_pop[g].sum() for g in groups])
        ratio = pops.max() / max(pops.min(), 1.0)
        score = abs(ratio - 2.2)
        if best is None or score < best[0]:
            best = (score, groups)
        if 1.5 <= ratio <= 3.0:
            break
    if best is None:  # pragma: no cover - needs a district of fewer than 12 blocks
        raise InfeasibleError(f"cannot draw {n_grids} grids from {len(faces)} street blocks")
    groups = best[1]
    shapes = [shapely.coverage_union_all(faces[g]) for g in groups]
    rp = shapely.get_coordinates(shapely.point_on_surface(np.array(shapes, dtype=object)))
    order = _reading_order(rp[:, 0], rp[:, 1])
    area = shapely.area(faces)
    seq: dict[str, int] = {}
    out = []
    for rank, g in enumerate(order):
        units = groups[g]
        major = int(np.argmax(np.bincount(comm_of_face[units], weights=area[units], minlength=n_c)))
        code = communities[major].code
        seq[code] = seq.get(code, 0) + 1
        out.append((units, f"{code}{seq[code]:02d}", f"第{rank + 1}网格", shapes[g]))
    return out
