"""The exact location models behind :func:`gridplan.posts.place_posts` besides coverage and p-median.

* set covering (LSCP, Toregas et al. 1971): the fewest posts so that every resident who can be
  reached within ``max_walk_m`` is (``objective="set-cover"``, ``n_posts=None``);
* p-center (Hakimi 1965): ``n_posts`` posts so that the worst walk of any resident to their nearest
  post is as short as possible (``objective="p-center"``), solved exactly by bisection over the
  distinct walking distances with a set-covering MILP at every step (Minieka 1970; the decision
  version "can p posts cover everyone within r?" is a set cover);
* capacitated coverage (``capacity=``): every post serves at most ``capacity`` demand; demand rows may
  be split between posts (a row is many residents). With ``objective="coverage"`` the covered demand
  is maximised with exactly ``n_posts`` posts, with ``objective="set-cover"`` the fewest posts serve
  every coverable resident.

All are solved with HiGHS (:func:`scipy.optimize.milp`) and return the :class:`~gridplan.posts._Solution`
that ``place_posts`` reports (status, objective, bound, gap).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csgraph

from .errors import DataError, InfeasibleError


def _options(deadline: float | None, mip_gap: float) -> dict[str, Any]:
    opts: dict[str, Any] = {"disp": False, "mip_rel_gap": max(mip_gap, 1e-12)}
    if deadline is not None:
        left = deadline - time.perf_counter()
        opts["time_limit"] = max(0.1, left)
    return opts


def _grid_rows(cand_grid: np.ndarray, n_grids: int, mpg: int, n_vars: int) -> list[LinearConstraint]:
    if mpg <= 0:
        return []
    m = len(cand_grid)
    a = sparse.csr_matrix((np.ones(m), (cand_grid, np.arange(m))), shape=(n_grids, n_vars))
    return [LinearConstraint(a, mpg, np.inf)]


def _dual(res: Any) -> float:
    d = getattr(res, "mip_dual_bound", None)
    return float(d) if d is not None and np.isfinite(d) else float("nan")


# --------------------------------------------------------------------------- set covering
def min_cover(
    a: sparse.csr_matrix,
    cand_grid: np.ndarray,
    n_grids: int,
    mpg: int,
    deadline: float | None,
    mip_gap: float = 0.0,
    *,
    relax: bool = False,
) -> tuple[np.ndarray | None, str, float, float]:
    """Fewest columns of ``a`` (rows x candidates, 0/1) covering every row, at least ``mpg`` per grid.

    Returns the chosen columns (None without a solution), HiGHS's status, the count and its lower
    bound (the LP or MIP dual bound, rounded up for the MILP).
    """
    from ._covering import _status

    m = a.shape[1]
    cons = (
        [LinearConstraint(a, 1.0, np.inf), *_grid_rows(cand_grid, n_grids, mpg, m)]
        if a.shape[0]
        else _grid_rows(cand_grid, n_grids, mpg, m)
    )
    res = milp(
        np.ones(m),
        constraints=cons,
        integrality=np.zeros(m) if relax else np.ones(m),
        bounds=Bounds(0, 1),
        options=_options(deadline, mip_gap),
    )
    status = _status(res)
    if res.x is None:
        return None, status, float("nan"), _dual(res) if not relax else float("nan")
    if relax:
        return res.x, status, float(res.fun), float(res.fun)
    chosen = np.flatnonzero(res.x > 0.5)
    bound = _dual(res)
    bound = float(len(chosen)) if status == "optimal" and not np.isfinite(bound) else bound
    return chosen, status, float(len(chosen)), float(math.ceil(bound - 1e-6)) if np.isfinite(bound) else bound


def _coverable_rows(rows: Any) -> sparse.csr_matrix:
    """The 0/1 covering matrix of the demand rows that some candidate can cover."""
    return rows.matrix()


def place_setcover(
    csr: sparse.csr_matrix,
    cand: np.ndarray,
    cand_grid: np.ndarray,
    dem: Any,
    walk: float,
    k: int,
    mpg: int,
    deadline: float | None,
    mip_gap: float,
    progress: bool,
    notes: list[str],
    capacity: float | None,
) -> Any:
    """LSCP: the fewest posts with every coverable demand point within ``walk`` (see module doc)."""
    from ._covering import _coverage_rows, _gap, _Solution, _sparse_distances

    t = time.perf_counter()
    cov = _sparse_distances(csr, cand, walk, progress, "walking distances")
    rows = _coverage_rows(cov, dem, walk)
    unreach = rows.row_of_point < 0
    if unreach.any():
        notes.append(
            f"set-cover: {dem.weight[unreach].sum():,.0f} demand ({int(unreach.sum())} points) has no "
            f"candidate within {walk:.0f} m and cannot be covered; every other point is"
        )
    a = _coverable_rows(rows)
    detail: dict[str, Any] = {"model_rows": a.shape[0], "model_pairs": int(a.nnz), "coverable": float(rows.weight.sum())}
    if capacity is None:
        # a node's rows are nested (each adds a band of candidates to the previous one): covering its
        # first, smallest row covers them all, so set covering needs only that row per node
        a = a[np.flatnonzero(rows.prev < 0)]
        detail.update(model_rows=a.shape[0], model_pairs=int(a.nnz))
        greedy = _greedy_cover(a, cand_grid, k, mpg)  # a cover to fall back on (Chvatal's greedy)
        lp, lst, lval, _ = min_cover(a, cand_grid, k, mpg, deadline, 1e-9, relax=True)  # a bound, whatever happens
        lp_bound = float(math.ceil(lval - 1e-6)) if lp is not None and lst == "optimal" else 0.0
        detail.update(greedy_posts=int(len(greedy)), lp_bound=lp_bound)
        chosen, status, value, bound = min_cover(a, cand_grid, k, mpg, deadline, mip_gap)
        if chosen is None or len(greedy) < value:
            if chosen is None:
                notes.append(f"set-cover: HiGHS stopped ({status}) without a cover; kept the greedy cover")
            chosen, value = greedy, float(len(greedy))
        bound = min(max(bound if np.isfinite(bound) else 0.0, lp_bound), value)
        loads = None
    else:
        chosen, status, value, bound, loads = _capacitated(rows, a, None, cand_grid, k, mpg, capacity, deadline, mip_gap)
        detail["loads"] = loads
    notes.append(
        f"set-cover: {int(value)} posts cover every coverable demand point within {walk:.0f} m "
        f"(HiGHS {status}, lower bound {bound:g})"
    )
    return _Solution(np.sort(chosen), status, value, bound, _gap(value, bound, False), "exact", time.perf_counter() - t, detail)


# --------------------------------------------------------------------------- capacitated models
def _capacitated(
    rows: Any,
    a: sparse.csr_matrix,
    p: int | None,
    cand_grid: np.ndarray,
    k: int,
    mpg: int,
    capacity: float,
    deadline: float | None,
    mip_gap: float,
) -> tuple[np.ndarray, str, float, float, np.ndarray]:
    """Capacitated coverage (``p`` given: maximise served demand) or capacitated set cover (``p`` None).

    Variables: y_j binary per candidate, x_rj in [0, 1] per covering link (the share of row r that
    post j serves). Rows: sum_j x_rj <= 1 (= 1 for the set cover), sum_r w_r x_rj <= capacity y_j,
    x_rj <= y_j, and the post count and grid minimums. Returns chosen, status, objective, bound and
    the load of every chosen post.
    """
    from ._covering import _status

    coo = a.tocoo()
    n_r, m = a.shape
    L = coo.nnz
    w = rows.weight
    n = m + L
    xr, xc = coo.row, coo.col
    xi = m + np.arange(L)
    # sum_j x_rj (per row)
    assign = sparse.csr_matrix((np.ones(L), (xr, xi)), shape=(n_r, n))
    # sum_r w_r x_rj - C y_j <= 0
    cap = sparse.csr_matrix(
        (np.r_[w[xr], -capacity * np.ones(m)], (np.r_[xc, np.arange(m)], np.r_[xi, np.arange(m)])), shape=(m, n)
    )
    link = sparse.csr_matrix((np.r_[np.ones(L), -np.ones(L)], (np.r_[np.arange(L), np.arange(L)], np.r_[xi, xc])), shape=(L, n))
    cons = [LinearConstraint(cap, -np.inf, 0.0), LinearConstraint(link, -np.inf, 0.0), *_grid_rows(cand_grid, k, mpg, n)]
    count = sparse.csr_matrix(np.r_[np.ones(m), np.zeros(L)][None, :])
    if p is None:
        cons += [LinearConstraint(assign, 1.0, 1.0)]
        c = np.r_[np.ones(m), np.zeros(L)]
    else:
        cons += [LinearConstraint(assign, 0.0, 1.0), LinearConstraint(count, p, p)]
        c = np.r_[np.zeros(m), -w[xr]]
    res = milp(
        c, constraints=cons, integrality=np.r_[np.ones(m), np.zeros(L)], bounds=Bounds(0, 1), options=_options(deadline, mip_gap)
    )
    status = _status(res)
    if res.x is None:
        if status == "infeasible":
            what = (
                "every coverable resident cannot be served: some residents' reachable posts together hold less than their demand"
                if p is None
                else "the grid minimums cannot be met"
            )
            raise InfeasibleError(
                f"the capacitated model is infeasible with capacity={capacity:g}: {what}; raise capacity or max_walk_m"
            )
        raise InfeasibleError(f"the capacitated model found no solution ({status}); raise time_limit")
    y = res.x[:m] > 0.5
    chosen = np.flatnonzero(y)
    x = np.where(y[xc], res.x[m:], 0.0)
    loads = np.bincount(xc, weights=w[xr] * x, minlength=m)[chosen]
    dual = _dual(res)
    if p is None:
        value = float(len(chosen))
        bound = float(math.ceil(dual - 1e-6)) if np.isfinite(dual) else value if status == "optimal" else 0.0
    else:
        value = float(loads.sum())
        bound = float(-dual) if np.isfinite(dual) else value if status == "optimal" else float(w.sum())
        bound = max(bound, value)
    return chosen, status, value, bound, loads


def place_capacitated_coverage(
    csr: sparse.csr_matrix,
    cand: np.ndarray,
    cand_grid: np.ndarray,
    dem: Any,
    walk: float,
    p: int,
    k: int,
    mpg: int,
    deadline: float | None,
    mip_gap: float,
    progress: bool,
    notes: list[str],
    capacity: float,
) -> Any:
    """Maximal covering with capacities: ``p`` posts, each serving at most ``capacity`` demand."""
    from ._covering import _coverage_rows, _gap, _Solution, _sparse_distances

    t = time.perf_counter()
    cov = _sparse_distances(csr, cand, walk, progress, "walking distances")
    rows = _coverage_rows(cov, dem, walk)
    unreach = rows.row_of_point < 0
    if unreach.any():
        notes.append(f"capacitated coverage: {dem.weight[unreach].sum():,.0f} demand has no candidate within {walk:.0f} m")
    a = _coverable_rows(rows)
    chosen, status, value, bound, loads = _capacitated(rows, a, p, cand_grid, k, mpg, capacity, deadline, mip_gap)
    if len(chosen) < p:  # cannot happen with sum y = p, kept for safety
        raise InfeasibleError(f"the capacitated model chose {len(chosen)} posts, not {p}")
    notes.append(
        f"capacitated coverage: {p} posts of at most {capacity:,.0f} demand each serve {value:,.0f} "
        f"(a resident group may be split between posts)"
    )
    detail = {"model_rows": a.shape[0], "model_pairs": int(a.nnz), "loads": loads}
    return _Solution(np.sort(chosen), status, value, bound, _gap(value, bound, True), "exact", time.perf_counter() - t, detail)


# --------------------------------------------------------------------------- p-center
def _pcenter_demand(dem: Any, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Demand nodes (with positive weight) and the largest snap distance at each."""
    pos = dem.weight > 0
    node, snap = dem.node[pos], dem.snap[pos]
    s = np.full(n_nodes, -np.inf)
    np.maximum.at(s, node, snap)
    nodes = np.flatnonzero(np.isfinite(s))
    return nodes, s[nodes]


def _pcenter_start(
    csr: sparse.csr_matrix, cand: np.ndarray, cand_grid: np.ndarray, nodes: np.ndarray, snap: np.ndarray, p: int, k: int, mpg: int
) -> np.ndarray:
    """Farthest-first start (Gonzalez 1985), grid minimums first: positions in ``cand``."""
    chosen: list[int] = []

    def walks(sel: list[int]) -> np.ndarray:
        if not sel:
            return np.full(len(nodes), np.inf)
        d = csgraph.dijkstra(csr, directed=False, indices=np.unique(cand[sel]), min_only=True)
        return d[nodes] + snap

    def nearest_to(node: int, allowed: np.ndarray) -> int:
        d = csgraph.dijkstra(csr, directed=False, indices=[node])[0][cand]
        d = np.where(allowed, d, np.inf)
        return int(np.argmin(d))

    taken = np.zeros(len(cand), bool)
    for g in range(k):
        mine = cand_grid == g
        for _ in range(mpg):
            cur = walks(chosen)
            far = int(np.argmax(np.where(np.isfinite(cur), cur, 1e18)))
            j = nearest_to(int(nodes[far]), mine & ~taken)
            chosen.append(j)
            taken[j] = True
    while len(chosen) < p:
        cur = walks(chosen)
        far = int(np.argmax(np.where(np.isfinite(cur), cur, 1e18)))
        j = nearest_to(int(nodes[far]), ~taken)
        chosen.append(j)
        taken[j] = True
    return np.sort(np.asarray(chosen, dtype=np.int64))


def place_pcenter(
    csr: sparse.csr_matrix,
    cand: np.ndarray,
    cand_grid: np.ndarray,
    dem: Any,
    p: int,
    k: int,
    mpg: int,
    deadline: float | None,
    mip_gap: float,
    progress: bool,
    notes: list[str],
) -> Any:
    """p-center: bisection over the distinct walks, a set-covering MILP deciding every step."""
    from tqdm.auto import tqdm

    from ._covering import _gap, _Solution, _sparse_distances

    t = time.perf_counter()
    nodes, snap = _pcenter_demand(dem, csr.shape[0])
    near = csgraph.dijkstra(csr, directed=False, indices=cand, min_only=True)[nodes]
    reach = np.isfinite(near)
    if not reach.all():
        lost = np.isin(dem.node, nodes[~reach]) & (dem.weight > 0)
        notes.append(
            f"p-center: {dem.weight[lost].sum():,.0f} demand ({int(lost.sum())} points) lies on parts of "
            "the network no candidate reaches and is left out of the worst walk"
        )
        nodes, snap, near = nodes[reach], snap[reach], near[reach]
    if len(nodes) == 0:
        raise DataError("p-center: no demand can reach any candidate")
    lb0 = float((near + snap).max())  # every demand node needs some post
    start = _pcenter_start(csr, cand, cand_grid, nodes, snap, p, k, mpg)
    best = start
    ub = float((csgraph.dijkstra(csr, directed=False, indices=np.unique(cand[start]), min_only=True)[nodes] + snap).max())
    detail: dict[str, Any] = {"start_worst_m": ub, "lower_bound_nearest_m": lb0, "steps": 0}
    if ub <= lb0 + 1e-9:
        notes.append("p-center: the farthest-first start meets the bound (every resident at their nearest candidate)")
        return _Solution(best, "optimal", ub, lb0, 0.0, "heuristic", time.perf_counter() - t, detail)
    # distances within the start's worst walk: candidates x nodes, plus the snap of each demand node
    limit = ub - float(snap.min()) + 1e-6
    dd = _sparse_distances(csr, cand, limit, progress, "walking distances").tocsc()[:, nodes].tocoo()
    walkv = dd.data - 1e-9 + snap[dd.col]
    keep = walkv <= ub + 1e-7
    rows_, cols_, vals_ = dd.col[keep], dd.row[keep], walkv[keep]  # demand node x candidate
    values = np.unique(np.round(vals_, 4))  # 0.1 mm
    values = values[(values >= lb0 - 1e-4) & (values <= ub + 1e-4)]
    full = sparse.csr_matrix((vals_ + 1.0, (rows_, cols_)), shape=(len(nodes), len(cand)))  # +1: no stored zeros
    lo, hi = 0, len(values) - 1
    # the start may be worse than every listed value's cover: make sure values[hi] >= ub
    hi_value = ub
    status = "optimal"
    bar = tqdm(desc="p-center bisection", unit="step", disable=not progress)

    def matrix(r: float) -> sparse.csr_matrix:
        sel = vals_ <= r + 5e-5
        return sparse.csr_matrix((np.ones(int(sel.sum())), (rows_[sel], cols_[sel])), shape=(len(nodes), len(cand)))

    # 1. the greedy cover finds short radii cheaply: bisection on |greedy cover| <= p (a heuristic: not monotone,
    #    every cover it finds is feasible)
    g_lo, g_hi = lo, hi
    while g_lo < g_hi and (deadline is None or time.perf_counter() < deadline):
        mid = (g_lo + g_hi) // 2
        greedy = _greedy_cover(matrix(values[mid]), cand_grid, k, mpg)
        detail["greedy_steps"] = detail.get("greedy_steps", 0) + 1
        if len(greedy) <= p:
            greedy = _fill(csr, cand, cand_grid, greedy, nodes, snap, p)  # the spare posts where the walk is worst
            worst = float(_row_min(full[:, greedy].tocsr()).max()) - 1.0
            if worst < hi_value:
                best, hi_value = greedy, worst
                hi = min(hi, int(np.searchsorted(values, worst - 5e-5)))
            g_hi = min(mid, hi)
        else:
            g_lo = mid + 1
    # 2. the LP relaxation proves radii too short cheaply: bisection on ceil(LP) > p
    a_lo, a_hi = lo, hi
    while a_lo < a_hi and (deadline is None or time.perf_counter() < deadline):
        mid = (a_lo + a_hi) // 2
        lp, lst, lval, _ = min_cover(matrix(values[mid]), cand_grid, k, mpg, deadline, 1e-9, relax=True)
        detail["lp_steps"] = detail.get("lp_steps", 0) + 1
        if lp is not None and lst == "optimal" and math.ceil(lval - 1e-6) > p:
            a_lo = mid + 1
        else:
            a_hi = mid
    lo = max(lo, a_lo)
    # 3. the MILP decides the rest
    got: np.ndarray | None  # a radius's cover (None: the MILP found none in time)
    try:
        while lo < hi:
            mid = (lo + hi) // 2
            r = values[mid]
            a = matrix(r)
            detail["steps"] += 1
            bar.update(1)
            greedy = _greedy_cover(a, cand_grid, k, mpg)
            if len(greedy) <= p:  # a cover of at most p posts: feasible without the MILP
                got, st, val, bnd = greedy, "optimal", float(len(greedy)), float("nan")
            else:
                lp, lst, lval, _ = min_cover(a, cand_grid, k, mpg, deadline, 1e-9, relax=True)
                if lp is not None and lst == "optimal" and math.ceil(lval - 1e-6) > p:
                    lo = mid + 1  # even the LP relaxation needs more than p posts
                    continue
                got, st, val, bnd = min_cover(a, cand_grid, k, mpg, deadline, 0.0)
            if got is not None and val <= p:
                best = got
                # the cover's true worst walk: per demand node its nearest chosen post
                worst = float(_row_min(full[:, got].tocsr()).max()) - 1.0
                hi_value = worst
                hi = int(np.searchsorted(values, worst - 5e-5))
                hi = min(hi, mid)
            elif (np.isfinite(bnd) and bnd > p) or st == "infeasible":
                lo = mid + 1
            else:
                status = "time_limit"
                notes.append(
                    f"p-center: HiGHS stopped ({st}) deciding radius {r:.1f} m; the answer is the best "
                    "found, the bound the largest radius proven too small"
                )
                break
    finally:
        bar.close()
    bound = float(values[lo]) if lo < len(values) else hi_value
    bound = max(lb0, min(bound, hi_value))
    if status == "optimal":
        bound = hi_value
    chosen = _fill(csr, cand, cand_grid, best, nodes, snap, p)
    value = float((csgraph.dijkstra(csr, directed=False, indices=np.unique(cand[chosen]), min_only=True)[nodes] + snap).max())
    detail["distinct_radii"] = int(len(values))
    return _Solution(
        chosen, status, value, min(bound, value), _gap(value, min(bound, value), False), "exact", time.perf_counter() - t, detail
    )


def _greedy_cover(a: sparse.csr_matrix, cand_grid: np.ndarray, k: int, mpg: int) -> np.ndarray:
    """Greedy set cover (Chvatal 1979) with the grid minimums first: columns of ``a`` covering every row."""
    csc = a.tocsc()
    left = np.ones(a.shape[0], bool)
    chosen: list[int] = []
    taken = np.zeros(a.shape[1], bool)

    def gain() -> np.ndarray:
        g = np.asarray(csc.T @ left.astype(float)).ravel()
        g[taken] = -1
        return g

    for g_ in range(k):
        for _ in range(mpg):
            gg = gain()
            gg[cand_grid != g_] = -1
            j = int(np.argmax(gg))
            if gg[j] < 0:
                break
            chosen.append(j)
            taken[j] = True
            left[csc.indices[csc.indptr[j] : csc.indptr[j + 1]]] = False
    while left.any():
        gg = gain()
        j = int(np.argmax(gg))
        if gg[j] <= 0:
            return np.arange(a.shape[1])  # some row cannot be covered: no greedy cover
        chosen.append(j)
        taken[j] = True
        left[csc.indices[csc.indptr[j] : csc.indptr[j + 1]]] = False
    # drop redundant columns, last chosen first: a column whose rows all have another chosen column
    sel = np.asarray(chosen, dtype=np.int64)
    times = np.asarray(csc[:, sel].sum(axis=1)).ravel()
    per_grid = np.bincount(cand_grid[sel], minlength=k)
    keep = np.ones(len(sel), bool)
    for i in range(len(sel) - 1, -1, -1):
        j = sel[i]
        r = csc.indices[csc.indptr[j] : csc.indptr[j + 1]]
        if (times[r] >= 2).all() and per_grid[cand_grid[j]] > mpg:
            keep[i] = False
            times[r] -= 1
            per_grid[cand_grid[j]] -= 1
    return np.sort(sel[keep])


def _row_min(m: sparse.csr_matrix) -> np.ndarray:
    out = np.full(m.shape[0], np.inf)
    lens = np.diff(m.indptr)
    has = lens > 0
    out[has] = np.minimum.reduceat(m.data, m.indptr[:-1][has])
    return out


def _fill(
    csr: sparse.csr_matrix,
    cand: np.ndarray,
    cand_grid: np.ndarray,
    chosen: np.ndarray,
    nodes: np.ndarray,
    snap: np.ndarray,
    p: int,
) -> np.ndarray:
    """Top a cover of fewer than ``p`` posts up to ``p``: each extra post nearest the current worst walk."""
    sel = list(np.asarray(chosen, dtype=np.int64))
    taken = np.zeros(len(cand), bool)
    taken[sel] = True
    while len(sel) < p:
        d = csgraph.dijkstra(csr, directed=False, indices=np.unique(cand[sel]), min_only=True)[nodes] + snap
        far = int(np.argmax(np.where(np.isfinite(d), d, 1e18)))
        dn = csgraph.dijkstra(csr, directed=False, indices=[int(nodes[far])])[0][cand]
        dn[taken] = np.inf
        j = int(np.argmin(dn))
        if not np.isfinite(dn[j]):
            j = int(np.flatnonzero(~taken)[0])
        sel.append(j)
        taken[j] = True
    return np.sort(np.asarray(sel, dtype=np.int64))
