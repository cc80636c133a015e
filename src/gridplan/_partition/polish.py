"""Pair re-splitting (iterated local search) to polish a balanced plan's shapes.

The union of two neighbouring parts is cut again in two at half its workload (a
power-diagram split between the parts' centres, a random pseudo-diameter, or, given unit
centroids, a straight cut), balanced and refined with moves between the two parts only,
and kept if the balance violation or the objective improves; worst-shaped parts first, a
bounded number of attempts (so the result is deterministic for a seed).
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from .problem import Problem
from .repair import repair
from .search import Search
from .starts import make_contiguous

#: Seed pairs tried per pair re-split in the sweeps (the parts' centres, then random
#: pseudo-diameters), and per re-split around the worst-shaped parts.
PAIR_TRIES = 2
WORST_PAIR_TRIES = 6
#: Share of the parts (at least three) re-split harder as the worst-shaped.
WORST_SHARE = 0.01
#: Refinement passes inside a pair after its re-split.
PAIR_REFINE_PASSES = 20
#: Sweeps over the part pairs per plan, and the graph size above which the work (units moved
#: through bisections) caps them.
POLISH_SWEEPS = 3
POLISH_LARGE_GRAPH = 10_000
POLISH_WORK_CAP = 50_000


def _pair_centres(
    dist: np.ndarray,
    cur: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    pesub: np.ndarray,
    data: np.ndarray,
) -> tuple[int, int]:
    """The deepest unit (farthest from its part's boundary) of each of two parts."""
    inner = np.bincount(rows, weights=data, minlength=cur.size)
    border = (pesub - inner > 1e-6 * pesub) | np.isin(np.arange(cur.size), rows[cur[rows] != cur[cols]])
    same = cur[rows] == cur[cols]
    m = cur.size
    g = sp.csr_array((dist[same], (rows[same], cols[same])), shape=(m, m))
    depth = dijkstra(g, directed=False, indices=np.flatnonzero(border), min_only=True)
    depth = np.where(np.isfinite(depth), depth, 0.0)
    c0 = int(np.flatnonzero(cur == 0)[np.argmax(depth[cur == 0])])
    c1 = int(np.flatnonzero(cur == 1)[np.argmax(depth[cur == 1])])
    return c0, c1


def _pair_balance(s: Search, a: int, b: int, max_moves: int) -> bool:
    """Move boundary units between parts ``a`` and ``b`` until both are within bounds."""
    lo, hi, W, w, lab = s.lo, s.hi, s.W, s.w, s.lab
    for _ in range(max_moves):
        if lo <= W[a] <= hi and lo <= W[b] <= hi:
            return True
        src, dst = (a, b) if W[a] - W[b] > 0 else (b, a)
        gap = W[src] - W[dst]
        best_key, best_v = None, -1
        for v in s.mem[src]:
            if s.locked[v] or w[v] >= gap or not any(lab[u] == dst for u in s.nbr[v]):
                continue
            g = next((g for g, q in s.gains(v) if q == dst), None)
            if g is None:
                continue
            # biggest violation reduction first, then the most compact move
            after = max(W[src] - w[v] - hi, lo - W[src] + w[v], 0.0) + max(W[dst] + w[v] - hi, lo - W[dst] - w[v], 0.0)
            key = (-round(after / s.mean, 9), g)
            if best_key is None or key > best_key:
                if s.removable(v, src):
                    best_key, best_v = key, v
        if best_v < 0:
            return False
        s.move(best_v, dst)
    return lo <= W[a] <= hi and lo <= W[b] <= hi


def pair_resplit(s: Search, a: int, b: int, rng: np.random.Generator, tries: int = PAIR_TRIES) -> bool:
    """Re-bisect the union of neighbouring parts ``a`` and ``b``; keep it if better.

    The union is cut in two at half its workload by the sign of ``d1 - d2`` (graph
    distances to two seeds: the parts' centres, then random pseudo-diameters),
    balanced and refined in place with moves between ``a`` and ``b`` only; the
    better of old and new is kept (balance violation first, then the objective).
    """
    locked = s.locked
    idx = np.fromiter(sorted(s.mem[a] | s.mem[b]), np.int64)
    if idx.size < 3 or any(locked[v] for v in idx.tolist()):
        return False
    sub = sp.csr_array(s.adj[idx][:, idx])
    coo = sub.tocoo()
    rows, cols, data = coo.row, coo.col, coo.data
    m = idx.size
    wsub, arsub, pesub = s.w_arr[idx], s.ar_arr[idx], s.pe_arr[idx]
    gsame = None
    if s.groups_arr is not None and s.group_cut_weight:
        gsub = s.groups_arr[idx]
        gsame = (gsub[rows] == gsub[cols]).astype(float)
    home = None
    if s.home is not None and s.home_weight:
        hv = np.asarray([s.home[v] for v in idx.tolist()])
        home = np.where(hv == a, 0, np.where(hv == b, 1, -1))
    parts = (a, b)
    ids = idx.tolist()

    def current() -> np.ndarray:
        lab = s.lab
        return np.fromiter((lab[v] == b for v in ids), np.int64, m)

    def key_of(lab: np.ndarray) -> tuple[float, float]:
        W, A, P = s.W, s.A, s.P
        if s.budget is not None and s.home is not None and s.moved > s.budget:
            return math.inf, -math.inf  # over the disruption budget: never kept
        viol = sum(max(W[p] - s.hi, s.lo - W[p], 0.0) for p in parts)
        obj = s.compactness_objective(A[a], P[a]) + s.compactness_objective(A[b], P[b])
        inv = 1.0 / s.pmean
        cut = lab[rows] != lab[cols]
        if s.cut_weight:
            obj -= s.cut_weight * 0.5 * float(data[cut].sum()) * inv
        if gsame is not None:
            obj -= s.group_cut_weight * 0.5 * float((data * gsame)[cut].sum()) * inv
        if home is not None:
            obj -= s.home_weight * float(wsub[(home >= 0) & (home != lab)].sum())
        return viol, obj

    def apply(lab: np.ndarray) -> None:
        now = current()
        for v, x, y in zip(ids, now.tolist(), lab.tolist()):
            if x != y:
                s.move(v, parts[y])

    cur = current()
    best_key = key_of(cur)
    best_lab = None
    root = np.sqrt(arsub)
    dist = 0.5 * (root[rows] + root[cols])
    dsub = sp.csr_array((dist, (rows, cols)), shape=(m, m))
    seed_sets = [_pair_centres(dist, cur, rows, cols, pesub, data)]
    for _ in range(tries - 1):
        d0 = dijkstra(dsub, directed=False, indices=int(rng.integers(m)))
        s1 = int(np.argmax(d0))
        d1 = dijkstra(dsub, directed=False, indices=s1)
        seed_sets.append((s1, int(np.argmax(d1))))
    orders = []
    for s1, s2 in seed_sets:
        if s1 == s2:
            continue
        d = dijkstra(dsub, directed=False, indices=[s1, s2])
        if not np.isfinite(d).all():
            return False  # the two parts do not touch
        orders.append(np.lexsort((d[0], d[0] - d[1])))
    if s.xy is not None:
        # a straight cut across the longer side of the union
        x = s.xy[idx]
        ext = x.max(axis=0) - x.min(axis=0)
        ax = int(ext[1] > ext[0])
        orders.append(np.lexsort((x[:, 1 - ax], x[:, ax])))
    tol_w = 1e-9 * s.mean
    for order in orders:
        cw = np.cumsum(wsub[order])
        half = 0.5 * cw[-1]
        c = int(np.searchsorted(cw, half))  # last index of side 0
        if c > 0 and half - cw[c - 1] < cw[c] - half:
            c -= 1
        c = min(max(c, 0), m - 2)
        lab = np.ones(m, np.int64)
        lab[order[: c + 1]] = 0
        lab = make_contiguous(sub, lab, wsub, 2)
        if np.bincount(lab, minlength=2).min() == 0:
            continue
        # stable ids: the side overlapping the current part a (or its home) more is a
        ref = cur if home is None else home
        if wsub[ref == lab].sum() < wsub[ref == 1 - lab].sum():
            lab = 1 - lab
        apply(lab)
        _pair_balance(s, a, b, max_moves=m)
        now = current()
        cut = now[rows] != now[cols]
        cand = idx[np.unique(rows[cut])].tolist()
        s.refine(max_passes=PAIR_REFINE_PASSES, cand=cand, allowed=parts)
        lab = current()
        key = key_of(lab)
        if key[0] < best_key[0] - tol_w or (key[0] <= best_key[0] + tol_w and key[1] > best_key[1] + 1e-9):
            best_key, best_lab = key, lab
    apply(cur if best_lab is None else best_lab)
    return best_lab is not None


def polish(
    s: Search,
    rng: np.random.Generator,
    max_tries: int,
    deadline: float,
    balance_only: bool = False,
) -> int:
    """Iterated pair re-splitting: parts outside the bounds first, then the
    worst-shaped parts (with ``balance_only``, only parts outside the bounds).

    Returns the number of accepted re-splits.  Work is bounded by ``max_tries``
    pair attempts (deterministic) and by ``deadline``.
    """
    k = s.k
    if k < 2 or max_tries <= 0:
        return 0
    version = [0] * k
    tried: dict[tuple[int, int], tuple[int, int]] = {}
    done = accepted = 0
    while done < max_tries:
        improved = False
        adjp = s.part_graph()
        pp = [s.polsby_popper(p) for p in range(k)]
        viol = [max(s.W[p] - s.hi, s.lo - s.W[p], 0.0) for p in range(k)]
        order = sorted(range(k), key=lambda p: (-viol[p], pp[p], p))
        if balance_only:
            order = [p for p in order if viol[p] > 0]
        for a in order:
            for b in sorted(adjp[a], key=lambda q: (pp[q], q)):
                key = (min(a, b), max(a, b))
                stamp = (version[key[0]], version[key[1]])
                if tried.get(key) == stamp:
                    continue
                if done >= max_tries or time.perf_counter() > deadline:
                    break
                done += 1
                if pair_resplit(s, key[0], key[1], rng):
                    accepted += 1
                    improved = True
                    version[a] += 1
                    version[b] += 1
                    for p in (a, b):
                        pp[p] = s.polsby_popper(p)
                tried[key] = (version[key[0]], version[key[1]])
            else:
                continue
            break
        if not improved or time.perf_counter() > deadline:
            break
    return accepted


def polish_worst(
    s: Search, rng: np.random.Generator, deadline: float, share: float = WORST_SHARE, tries: int = WORST_PAIR_TRIES
) -> int:
    """Harder re-splits around the worst-shaped parts (the worst ``share``, at least three):
    each is re-split with every neighbour from ``tries`` seed pairs.  Returns the re-splits kept."""
    if s.k < 2 or s.violation() > 0:
        return 0
    kept = 0
    pp = [s.polsby_popper(p) for p in range(s.k)]
    worst = sorted(range(s.k), key=lambda p: (pp[p], p))[: max(3, int(share * s.k))]
    adjp = s.part_graph()
    for a in worst:
        s.set_floor()
        for b in sorted(adjp[a]):
            if time.perf_counter() > deadline:
                return kept
            if pair_resplit(s, min(a, b), max(a, b), rng, tries=tries):
                kept += 1
                adjp = s.part_graph()
    return kept


def polish_budget(n: int, k: int) -> int:
    """Pair re-split attempts for a plan: about three sweeps over the part pairs,
    capped by the work (units moved through bisections) for big graphs."""
    pairs = 3 * k  # planar part graphs have fewer than 3k edges
    if n <= POLISH_LARGE_GRAPH:
        return POLISH_SWEEPS * pairs
    return int(min(POLISH_SWEEPS * pairs, max(k // 2, POLISH_WORK_CAP // max(1, 2 * n // k))))


def polish_plan(problem: Problem, labels: np.ndarray, rng: np.random.Generator, budget: int) -> np.ndarray:
    """Polish one start: pair re-splits (at most ``budget``), harder re-splits around the
    worst shapes, a last refinement, and a balance repair if the plan left the bounds."""
    s = Search.for_partition(problem, labels, rng)
    deadline = problem.deadline
    if s.violation() == 0:
        s.set_floor()
    polish(s, rng, budget, deadline)
    polish_worst(s, rng, deadline)
    s.refine()
    if s.violation() > 0:
        s.diffuse()
        repair(s)
    return np.asarray(s.lab, dtype=np.int64)
