"""Starting plans: METIS, balanced graph-Voronoi, recursive bisection, coordinate bisection.

Every start returns a label per unit; :func:`make_contiguous` and :func:`ensure_nonempty`
then make every part connected and non-empty before the local search repairs the balance.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

from ..errors import InfeasibleError

try:  # optional: METIS gives good starting plans
    import pymetis as _pymetis
except ImportError:  # pragma: no cover - depends on the environment
    _pymetis = None  # type: ignore[assignment]

#: Use METIS starting plans when ``pymetis`` is importable (tests switch it off).
USE_METIS = True

#: METIS balances integer weights: workloads are scaled to this total (fine enough for 3 %).
METIS_WEIGHT_SCALE = 1e8
#: Shared lengths are scaled so that the longest is this many integer units.
METIS_EDGE_SCALE = 1e3


def metis_available() -> bool:
    """True if METIS starts are used (``pymetis`` importable and :data:`USE_METIS`)."""
    return _pymetis is not None and USE_METIS


def voronoi_init(
    adj: sp.csr_array,
    k: int,
    w: np.ndarray,
    ar: np.ndarray,
    pe: np.ndarray,
    fixed: np.ndarray | None,
    tolerance: float,
    rng: np.random.Generator,
    n_iter: int = 40,
    n_lloyd: int = 12,
) -> np.ndarray:
    """Balanced additively-weighted graph Voronoi regions with Lloyd seed moves."""
    n = adj.shape[0]
    coo = adj.tocoo()
    rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
    root = np.sqrt(ar)
    dist = 0.5 * (root[rows] + root[cols])
    outer = (pe - np.asarray(adj.sum(axis=1)).ravel()) > 1e-6 * pe
    if fixed is not None:
        # regions may not enter a unit fixed to any part: it is reached only from
        # its own part's virtual source.
        keep = fixed[cols] < 0
        e_rows, e_cols, e_dist = rows[keep], cols[keep], dist[keep]
        free_parts = np.setdiff1d(np.arange(k), np.unique(fixed[fixed >= 0]))
        fixed_units = np.flatnonzero(fixed >= 0)
        fixed_parts = fixed[fixed_units]
        free_units = np.flatnonzero(fixed < 0)
    else:
        e_rows, e_cols, e_dist = rows, cols, dist
        free_parts = np.arange(k)
        fixed_units = np.empty(0, np.int64)
        fixed_parts = np.empty(0, np.int64)
        free_units = np.arange(n)
    base = sp.csr_array((dist, (rows, cols)), shape=(n, n))
    mean = w.sum() / k
    radius = math.sqrt(ar.sum() / k)
    if free_parts.size > free_units.size:
        raise InfeasibleError(
            f"{free_parts.size} parts have no fixed unit but only {free_units.size} units are free; free more units or fix fewer."
        )
    # initial seeds: area-weighted sample of free units
    prob = ar[free_units] / ar[free_units].sum()
    seeds = np.full(k, -1, dtype=np.int64)
    seeds[free_parts] = rng.choice(free_units, size=free_parts.size, replace=False, p=prob)
    offset = np.zeros(k)
    virt = np.arange(n, n + k)

    def assign(seeds: np.ndarray, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        off = offset - offset.min() + 1e-6 * radius
        vr = np.r_[virt[free_parts], n + fixed_parts]
        vc = np.r_[seeds[free_parts], fixed_units]
        vd = np.r_[off[free_parts], off[fixed_parts]]
        g = sp.csr_array((np.r_[e_dist, vd], (np.r_[e_rows, vr], np.r_[e_cols, vc])), shape=(n + k, n + k))
        d, _, src = dijkstra(g, directed=True, indices=virt, min_only=True, return_predecessors=True)
        return src[:n] - n, d[:n]

    best = None
    best_key = math.inf
    step = 1.0
    for it in range(n_iter):
        lab, d = assign(seeds, offset)
        cnt = np.bincount(lab, minlength=k)
        W = np.bincount(lab, weights=w, minlength=k)
        dev = np.abs(W / mean - 1.0)
        key = float(dev.max())
        if cnt.min() > 0 and key < best_key - 1e-12:
            best, best_key = lab.copy(), key
        empty = np.flatnonzero(cnt == 0)
        if empty.size:
            # re-seed empty regions at the farthest units of the heaviest regions
            far = free_units[np.argsort(-d[free_units], kind="stable")]
            used = set(seeds[seeds >= 0].tolist())
            cand = [u for u in far[: 4 * empty.size + 8].tolist() if u not in used]
            for p, u in zip(empty.tolist(), cand):
                seeds[p] = u
                offset[p] = offset.min()
            continue
        if it >= n_lloyd and key <= 0.5 * tolerance:
            break
        # additive offsets: heavy regions recede, light regions advance
        rel = W / mean - 1.0
        offset += step * 0.5 * radius * np.clip(rel, -1.0, 1.0)
        if it < n_lloyd:
            # Lloyd step: move every free seed to the deepest unit of its region
            border = outer.copy()
            diff = lab[rows] != lab[cols]
            border[rows[diff]] = True
            src = np.flatnonzero(border)
            depth = dijkstra(base, directed=False, indices=src, min_only=True)
            depth = np.where(np.isfinite(depth), depth, 0.0)
            order = np.lexsort((-depth, lab))
            first = np.r_[0, np.flatnonzero(np.diff(lab[order])) + 1]
            deepest = order[first]
            new = seeds.copy()
            new[lab[deepest]] = deepest
            if fixed is not None:
                new[np.isin(np.arange(k), free_parts, invert=True)] = -1
                ok = fixed[np.maximum(new, 0)] < 0
                new = np.where((new >= 0) & ok, new, seeds)
            seeds = new
        else:
            step *= 0.93
    if best is None:  # pragma: no cover - every iteration left a region empty
        best = lab
    return best


def group_argmax(values: np.ndarray, groups: np.ndarray, members: np.ndarray) -> np.ndarray:
    """For each group present among ``members``, the member with the largest value."""
    order = np.lexsort((-values[members], groups[members]))
    srt = members[order]
    first = np.r_[0, np.flatnonzero(np.diff(groups[srt])) + 1]
    return srt[first]


def bisection_init(
    adj: sp.csr_array,
    k: int,
    w: np.ndarray,
    ar: np.ndarray,
    pe: np.ndarray,
    rng: np.random.Generator,
    n_lloyd: int = 3,
) -> np.ndarray:
    """Recursive balanced bisection by two-seed additively weighted graph Voronoi.

    A region holding ``k_r`` parts is cut into two holding ``k_r // 2`` and the rest.
    With seeds ``s1``, ``s2`` and shortest-path distances ``d1``, ``d2``, every set
    ``{v : d1(v) - d2(v) < t}`` is connected (it contains the shortest path from
    ``s1`` to each of its units), so sorting the units by ``(d1 - d2, d1)`` and
    cutting the sorted list where the cumulated workload reaches the target gives a
    contiguous, balanced bisection.  Seeds start at a pseudo-diameter and move to
    the deepest unit of their half (Lloyd steps).  All regions of one level are
    cut at once with one multi-source Dijkstra on the graph without the edges
    between regions.
    """
    n = adj.shape[0]
    coo = adj.tocoo()
    rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
    root = np.sqrt(ar)
    # a tiny symmetric random perturbation breaks the ties of regular grids
    dist = 0.5 * (root[rows] + root[cols])
    pert = sp.csr_array((rng.random(rows.size), (rows, cols)), shape=(n, n))
    pert = (pert + pert.T).tocoo()
    pmap = sp.csr_array((pert.data, (pert.row, pert.col)), shape=(n, n))
    dist = dist * (1.0 + 1e-4 * pmap[rows, cols])
    outer = (pe - np.asarray(adj.sum(axis=1)).ravel()) > 1e-6 * pe
    region = np.zeros(n, np.int64)  # region id per unit
    first_part = np.zeros(1, np.int64)  # first part label of each region
    n_of = np.array([k], np.int64)  # number of parts per region
    units = np.arange(n)

    def graph_within(lab: np.ndarray) -> sp.csr_array:
        m = lab[rows] == lab[cols]
        return sp.csr_array((dist[m], (rows[m], cols[m])), shape=(n, n))

    def far_from(g: sp.csr_array, src: np.ndarray, members: np.ndarray) -> np.ndarray:
        d = dijkstra(g, directed=False, indices=src, min_only=True)
        d = np.where(np.isfinite(d), d, -1.0)
        return group_argmax(d, region, members)

    while (n_of > 1).any():
        split = n_of > 1
        members = units[split[region]]
        g = graph_within(region)
        reg_ids = np.flatnonzero(split)
        # random start per region, then a double sweep for a pseudo-diameter
        order = rng.permutation(members.size)
        srt = members[order][np.argsort(region[members[order]], kind="stable")]
        first = np.r_[0, np.flatnonzero(np.diff(region[srt])) + 1]
        start = srt[first]
        s1 = far_from(g, start, members)
        s2 = far_from(g, s1, members)
        k1 = n_of[reg_ids] // 2
        frac = k1 / n_of[reg_ids]
        side = np.zeros(n, np.int64)
        for it in range(n_lloyd + 1):
            d1 = dijkstra(g, directed=False, indices=s1, min_only=True)[members]
            d2 = dijkstra(g, directed=False, indices=s2, min_only=True)[members]
            delta = d1 - d2
            reg = region[members]
            order = np.lexsort((d1, delta, reg))
            srt = members[order]
            rs = reg[order]
            cw = np.cumsum(w[srt])
            starts = np.r_[0, np.flatnonzero(np.diff(rs)) + 1]
            ends = np.r_[starts[1:], srt.size]
            base = np.r_[0.0, cw][starts]
            tot = cw[ends - 1] - base
            target = base + tot * frac
            # prefix end closest to the target, leaving both sides non-empty
            pos = np.searchsorted(cw, target)
            pos = np.clip(pos, starts, ends - 1)
            prev = np.clip(pos - 1, starts, ends - 1)
            take_prev = np.abs(cw[prev] - target) <= np.abs(cw[pos] - target)
            cut = np.where(take_prev, prev, pos)
            cut = np.clip(cut, starts, ends - 2)  # last index of side 0
            rank = np.arange(srt.size) - np.repeat(starts, ends - starts)
            last = np.repeat(cut - starts, ends - starts)
            side[srt] = (rank > last).astype(np.int64)
            fix_halves(rows, cols, n, region, side, members, w)
            if it == n_lloyd:
                break
            # Lloyd step: seeds to the deepest unit of each half
            half = region * 2 + side
            gh = graph_within(half)
            border = outer.copy()
            diff = half[rows] != half[cols]
            border[rows[diff]] = True
            src = np.flatnonzero(border)
            depth = dijkstra(gh, directed=False, indices=src, min_only=True)
            depth = np.where(np.isfinite(depth), depth, 0.0)
            m0 = members[side[members] == 0]
            m1 = members[side[members] == 1]
            if m0.size == 0 or m1.size == 0:
                break
            c0 = group_argmax(depth, region, m0)
            c1 = group_argmax(depth, region, m1)
            if c0.size != reg_ids.size or c1.size != reg_ids.size:
                break
            s1, s2 = c0, c1
        # new regions: side 0 keeps the id, side 1 gets a new id
        new_ids = n_of.size + np.arange(reg_ids.size)
        map_new = np.full(n_of.size, -1, np.int64)
        map_new[reg_ids] = new_ids
        move = members[side[members] == 1]
        region[move] = map_new[region[move]]
        n_new = n_of[reg_ids] - k1
        fp_new = first_part[reg_ids] + k1
        n_of[reg_ids] = k1
        n_of = np.r_[n_of, n_new]
        first_part = np.r_[first_part, fp_new]
    return first_part[region]


def coordinate_init(k: int, w: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Recursive coordinate bisection of the unit centroids ``xy``.

    A region holding ``k_r`` parts is cut across the longer side of its centroids'
    bounding box into two holding ``k_r // 2`` and the rest, where the workload
    sorted along that side reaches the target share.  Ties (a row of square cells)
    are broken by the other coordinate, so every cut is a straight, axis-parallel
    line with at most one step: on square cells the parts are near-rectangles, the
    most compact shapes cells can form.  Halves need not be connected (concave
    districts); the caller repairs that.
    """
    labels = np.empty(w.size, np.int64)
    stack = [(np.arange(w.size), 0, k)]
    while stack:
        idx, first, kr = stack.pop()
        if kr == 1:
            labels[idx] = first
            continue
        k1 = kr // 2
        x = xy[idx]
        ext = x.max(axis=0) - x.min(axis=0)
        ax = int(ext[1] > ext[0])
        order = np.lexsort((x[:, 1 - ax], x[:, ax]))
        cw = np.cumsum(w[idx][order])
        target = cw[-1] * k1 / kr
        c = int(np.searchsorted(cw, target))  # last index of side 0
        if c > 0 and target - cw[c - 1] <= cw[c] - target:
            c -= 1
        c = min(max(c, k1 - 1), idx.size - (kr - k1) - 1)
        stack.append((idx[order[c + 1 :]], first + k1, kr - k1))
        stack.append((idx[order[: c + 1]], first, k1))
    return labels


def fix_halves(
    rows: np.ndarray,
    cols: np.ndarray,
    n: int,
    region: np.ndarray,
    side: np.ndarray,
    members: np.ndarray,
    w: np.ndarray,
) -> None:
    """Make both halves of every (connected) region connected, in place.

    Pieces of side 0 other than its heaviest go to side 1, then pieces of side 1
    other than its heaviest go to side 0; each moved piece touches the other side,
    so both sides end connected.
    """
    inside = np.zeros(n, bool)
    inside[members] = True
    for s_from in (0, 1):
        half = np.where(inside, region * 2 + side, -1)
        m = (half[rows] == half[cols]) & inside[rows]
        g = sp.csr_array((np.ones(int(m.sum())), (rows[m], cols[m])), shape=(n, n))
        nc, comp = connected_components(g, directed=False)
        cm = comp[members]
        hm = half[members]
        cw = np.bincount(cm, weights=w[members], minlength=nc)
        comp_half = np.full(nc, -1, np.int64)
        comp_half[cm] = hm
        cand = np.unique(cm)
        order = np.lexsort((-cw[cand], comp_half[cand]))
        srt = cand[order]
        first = np.r_[0, np.flatnonzero(np.diff(comp_half[srt])) + 1]
        keep = np.zeros(nc, bool)
        keep[srt[first]] = True
        flip = members[(~keep[cm]) & (side[members] == s_from)]
        side[flip] = 1 - s_from


def make_contiguous(adj: sp.csr_array, labels: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """Keep each part's heaviest connected piece; hand the other pieces to neighbours."""
    n = adj.shape[0]
    coo = adj.tocoo()
    rows, cols, data = coo.row, coo.col, coo.data
    same = labels[rows] == labels[cols]
    g = sp.csr_array((np.ones(int(same.sum())), (rows[same], cols[same])), shape=(n, n))
    nc, comp = connected_components(g, directed=False)
    comp_part0 = np.zeros(nc, np.int64)
    comp_part0[comp] = labels
    if np.bincount(comp_part0, minlength=k).max() <= 1:
        return labels
    labels = labels.copy()
    cw = np.bincount(comp, weights=w)
    # heaviest component of each part
    comp_part = np.zeros(nc, np.int64)
    comp_part[comp] = labels
    order = np.lexsort((-cw, comp_part))
    first = np.r_[0, np.flatnonzero(np.diff(comp_part[order])) + 1]
    keep = np.zeros(nc, bool)
    keep[order[first]] = True
    labels[~keep[comp]] = -1
    while (labels < 0).any():
        free = labels[rows] < 0
        ok = free & (labels[cols] >= 0)
        if not ok.any():  # pragma: no cover - graph is connected
            break
        r, c, d = rows[ok], cols[ok], data[ok]
        order = np.lexsort((-d, r))
        first = np.r_[0, np.flatnonzero(np.diff(r[order])) + 1]
        labels[r[order[first]]] = labels[c[order[first]]]
    return labels


def ensure_nonempty(
    adj: sp.csr_array,
    labels: np.ndarray,
    w: np.ndarray,
    k: int,
    locked: np.ndarray | None = None,
) -> np.ndarray:
    """Give every empty part one unit, keeping every part connected.

    The unit taken is a leaf of a breadth-first tree of a part with two or more
    units (so the donor stays connected); it is the lightest such leaf of the
    part with the most units.  Needs ``k <= n`` (always checked before).
    """
    cnt = np.bincount(labels, minlength=k)
    empty = np.flatnonzero(cnt == 0)
    if empty.size == 0:
        return labels
    labels = labels.copy()
    indptr, indices = adj.indptr, adj.indices
    for q in empty.tolist():
        cnt = np.bincount(labels, minlength=k)
        for a in np.argsort(-cnt, kind="stable").tolist():
            if cnt[a] < 2:
                break
            mem = np.flatnonzero(labels == a)
            if locked is not None:
                free = mem[~locked[mem]]
                if free.size == 0:
                    continue
            else:
                free = mem
            # leaves of a BFS tree of part a: units that are nobody's parent
            start = int(mem[0])
            parent = {start: -1}
            dq = deque([start])
            while dq:
                x = dq.popleft()
                for y in indices[indptr[x] : indptr[x + 1]].tolist():
                    if y not in parent and labels[y] == a:
                        parent[y] = x
                        dq.append(y)
            inner = set(parent.values())
            leaves = [v for v in free.tolist() if v not in inner and v in parent]
            if not leaves:
                continue
            v = min(leaves, key=lambda u: (w[u], u))
            labels[v] = q
            break
    return labels


# ----------------------------------------------------------------------------------------
# local search state (pure Python lists: fastest for per-unit updates)


def metis_init(
    adj: sp.csr_array,
    k: int,
    w: np.ndarray,
    tolerance: float,
    seed: int,
    plain: bool = False,
) -> np.ndarray | None:
    """A METIS k-way partition (contiguous option) as a starting plan, or None.

    Workloads and shared lengths are scaled to integers; METIS minimises the cut
    length within its balance factor, which gives compact, nearly balanced parts
    for the local search to repair and reshape.  With ``plain``, METIS runs as a
    user would call it (cut edges counted, not their length; its own seed and
    balance factor): the search then starts from that very plan and only improves
    it, so the result is never less compact than plain METIS when METIS balances.
    """
    if not metis_available():
        return None
    n = adj.shape[0]
    vw = np.maximum(1, np.round(w * (METIS_WEIGHT_SCALE / w.sum()))).astype(np.int64)
    kw: dict = {}
    if plain:  # METIS as a user would call it: unit cut edges, its default seed and balance
        vw = np.maximum(1, np.rint(w * (1000.0 / w.mean()))).astype(np.int64)
        opts = _pymetis.Options(contig=1)
    else:
        kw["eweights"] = np.maximum(1, np.round(adj.data * (METIS_EDGE_SCALE / adj.data.max()))).astype(np.int64)
        opts = _pymetis.Options(contig=1, seed=int(seed), ufactor=max(1, int(round(1000 * tolerance))))
    try:
        graph = _pymetis.CSRAdjacency(adj.indptr.astype(np.int64), adj.indices.astype(np.int64))
        _, parts = _pymetis.part_graph(k, graph, vweights=vw, options=opts, **kw)
    except Exception:  # pragma: no cover - METIS failure: fall back on own starts
        return None
    lab = np.asarray(parts, dtype=np.int64)
    if lab.shape != (n,) or lab.min() < 0 or lab.max() >= k:  # pragma: no cover
        return None
    return lab
