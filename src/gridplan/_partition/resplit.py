"""Resplit: redraw an existing plan with a new number of parts, moving as little workload as possible.

The plan starts from the old parts: new parts are carved where a flow plan says
(:mod:`.carve`), or from the borders of the heaviest parts, or the lightest parts are merged
when fewer are asked for; the balance is repaired with a penalty on workload leaving its
matched old ("home") part, then shapes are refined within a budget of extra disruption.
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment

from ..errors import DataError, InfeasibleError
from .carve import planned_carves
from .metrics import PartitionResult, evaluate
from .partition import partition_graph
from .polish import polish, polish_budget
from .problem import Problem, bounds, check_fixed, check_fixed_connected, prepare
from .repair import repair
from .search import WORST_SHAPE_WEIGHT, Search
from .starts import make_contiguous, voronoi_init

#: Planned carves keep parts PLAN_MARGIN of the tolerance inside the bounds.
PLAN_MARGIN = 0.05
#: Compactness moves may raise the moved workload up to BUDGET_RATIO x the lower bound, each
#: mean part workload moved costing HOME_WEIGHT; above that target a last pass weighs moved
#: workload SQUEEZE.
BUDGET_RATIO = 1.12
HOME_WEIGHT = 0.5
SQUEEZE = 5.0
#: While the balance is repaired, moving a mean part's workload out of its home part costs
#: this much objective: repairs take the path that disrupts least.
REPAIR_HOME_WEIGHT = 20.0
#: A carved part grows until it holds this share of the room between the lower and upper
#: bound above the lower bound (the balance repair does the rest).
CARVE_FILL = 0.3
#: Workload bins (share of the mean part workload) within which a carve ranks surplus alike.
CARVE_BIN = 0.05
#: Fresh balanced plans tried when the carved plan cannot be balanced.
FRESH_ATTEMPTS = 2


def _carve(s: Search, q: int, hi_keep: float) -> None:
    """Grow new part ``q`` (empty) out of the borders of the heaviest parts."""
    lab, W, w, nbr, locked, pe = s.lab, s.W, s.w, s.nbr, s.locked, s.pe
    mean, lo = s.mean, s.lo
    # seed: a free unit of an overloaded part, next to the most surplus around it
    best_v, best_key = -1, None
    for v in range(s.n):
        a = lab[v]
        if locked[v] or s.cnt[a] <= 1 or W[a] - w[v] < lo:
            continue
        parts = {lab[u] for u in nbr[v]}
        parts.add(a)
        key = (sum(max(0.0, W[b] - hi_keep) for b in parts), len(parts) > 1, -w[v])
        if best_key is None or key > best_key:
            if s.removable(v, a):
                best_v, best_key = v, key
    if best_v < 0:
        return
    s.move(best_v, q)
    frontier = set(nbr[best_v])
    stop = lo + CARVE_FILL * (s.hi - lo)
    binw = CARVE_BIN * mean
    while W[q] < stop:
        best_u, best_key2 = -1, None
        for u in frontier:
            a = lab[u]
            if a == q or locked[u] or s.cnt[a] <= 1:
                continue
            rest = W[a] - w[u]
            if rest < lo:
                continue
            # surplus first (it must leave its part anyway), biggest surplus first,
            # then the unit that touches the new part most (compact growth)
            if rest >= hi_keep:
                tier, surplus = 3, math.floor((rest - hi_keep) / binw)
            elif W[a] > hi_keep:
                tier, surplus = 2, 0
            else:
                tier, surplus = (1 if rest >= mean else 0), math.floor(rest / binw)
            touch = sum(length for x, length in zip(nbr[u], s.sl[u]) if lab[x] == q) / pe[u]
            key2 = (tier, surplus, touch)
            if best_key2 is None or key2 > best_key2:
                if s.removable(u, a):
                    best_u, best_key2 = u, key2
        if best_u < 0:
            break
        s.move(best_u, q)
        frontier.discard(best_u)
        frontier.update(x for x in nbr[best_u] if lab[x] != q)


def _merge_lightest(s: Search, k_target: int) -> np.ndarray:
    """Merge the lightest part into its lightest neighbour until ``k_target`` remain."""
    lab = np.asarray(s.lab)
    alive = sorted(set(lab.tolist()))
    while len(alive) > k_target:
        adjp = s.part_graph()
        p = min(alive, key=lambda x: (s.W[x], x))
        q = min(adjp[p], key=lambda x: (s.W[x], x))
        for v in range(s.n):
            if s.lab[v] == p:
                s.move(v, q)
        alive.remove(p)
    return np.asarray(alive, dtype=np.int64)


# ----------------------------------------------------------------------------------------
# resplit: planned carve
# ----------------------------------------------------------------------------------------


def resplit_graph(
    adjacency: sp.csr_array | sp.csr_matrix,
    weights: np.ndarray,
    old_labels: np.ndarray,
    n_parts: int,
    *,
    areas: np.ndarray,
    perimeters: np.ndarray,
    tolerance: float = 0.05,
    seed: int = 0,
    fixed: np.ndarray | None = None,
    time_limit: float | None = None,
    strict: bool = True,
) -> PartitionResult:
    """Redraw an existing plan with ``n_parts`` parts, moving as little workload as possible.

    Disruption is the share of the total workload whose part changes when every
    new part is matched one-to-one to an old part by a maximum-weight matching of
    their overlaps (unmatched new parts count as changed).  The plan starts from
    the old parts, carves new parts out of the borders of overloaded old parts (or
    merges the lightest parts when fewer are asked for), repairs the balance, and
    refines with a gain that penalises moving workload out of its matched old part.

    Parameters
    ----------
    adjacency, weights, areas, perimeters, seed, fixed, time_limit, strict
        As in :func:`partition_graph`.
    old_labels : numpy.ndarray of int, shape (n,)
        The current part of every unit (any integer ids).
    n_parts : int
        Number of parts of the new plan.
    tolerance : float, default 0.05
        Balance tolerance of the new plan.

    Returns
    -------
    PartitionResult
        With ``retained``, ``disruption``, ``disruption_lower_bound`` (a bound no
        plan within the tolerance can beat) and ``matching`` (old label matched to
        each new part, -1 if none).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> path = sp.csr_array(sp.diags([1.0, 1.0], [-1, 1], (6, 6)))
    >>> res = resplit_graph(path, np.ones(6), np.array([0, 0, 0, 1, 1, 1]), 3,
    ...                     areas=np.ones(6), perimeters=np.full(6, 4.0), tolerance=0.0)
    >>> np.bincount(res.labels).tolist(), round(res.disruption, 3)
    ([2, 2, 2], 0.333)
    """
    t0 = time.perf_counter()
    adj, w, ar, pe, k = prepare(adjacency, weights, areas, perimeters, n_parts, tolerance)
    n = adj.shape[0]
    old_arr = np.asarray(old_labels)
    if old_arr.shape != (n,) or not np.issubdtype(old_arr.dtype, np.integer):
        raise DataError(
            f"old_labels must hold one integer part id per unit, shape ({n},); got {old_arr.shape} of {old_arr.dtype}."
        )
    old_ids, old = np.unique(old_arr, return_inverse=True)
    m = old_ids.size
    fixed_arr = check_fixed(fixed, n, k)
    if fixed_arr is not None:
        check_fixed_connected(adj, fixed_arr)
    total = float(w.sum())
    mean, lo, hi = bounds(total, k, tolerance)
    if float(w.max()) > hi and strict:
        i = int(np.argmax(w))
        raise InfeasibleError(
            f"Unit {i} alone weighs {w[i] / mean:.3f} x the mean part workload, above the "
            f"upper bound {1 + tolerance:.3f}; split it, ask for fewer parts, raise the "
            "tolerance or pass strict=False."
        )
    rng = np.random.default_rng(seed)
    deadline = math.inf if time_limit is None else t0 + float(time_limit)
    retained_ub = _retained_upper_bound(old, w, m, k, mean, tolerance)
    problem = Problem(adj, k, w, ar, pe, lo, hi, float(tolerance), deadline, fixed=fixed_arr)
    starts, home = _carved_starts(problem, old, m, mean, rng)
    s = _best_repaired(problem, starts, home, mean, rng)
    _reshape(s, problem, rng, lb_weight=max(0.0, 1.0 - retained_ub) * total, total=total, mean=mean)
    labels = np.asarray(s.lab, dtype=np.int64)
    res = evaluate(adj, labels, k, w, ar, pe, tolerance, seed)
    if not res.feasible:
        labels, res = _fresh_fallback(problem, old, m, labels, res, rng, seed, time_limit, mean)
    _match_old_parts(res, labels, old, old_ids, w, total, retained_ub)
    if not res.feasible and strict:
        raise InfeasibleError(
            f"Could not bring every part within ±{tolerance:.1%} of the mean workload: "
            f"the best plan found has parts from {res.balance_min:.3f} to "
            f"{res.balance_max:.3f} x the mean. Raise the tolerance or pass strict=False."
        )
    return res


def _retained_upper_bound(old: np.ndarray, w: np.ndarray, m: int, k: int, mean: float, tolerance: float) -> float:
    """Share of the workload any plan within the tolerance can keep in its matched old part:
    a matched part keeps at most ``(1 + tolerance) * mean`` of its old part, and new parts
    beyond the old count take at least ``(1 - tolerance) * mean`` each."""
    total = float(w.sum())
    W_old = np.bincount(old, weights=w, minlength=m)
    cap = np.sort(np.minimum(W_old, (1.0 + tolerance) * mean))[::-1]
    retained_ub = float(cap[: min(k, m)].sum())
    if k > m:
        retained_ub = min(retained_ub, total - (k - m) * (1.0 - tolerance) * mean)
    return min(1.0, retained_ub / total)


def _carved_starts(
    problem: Problem, old: np.ndarray, m: int, mean: float, rng: np.random.Generator
) -> tuple[list[np.ndarray], np.ndarray]:
    """Starting plans made from the old parts, and the home part of every unit."""
    adj, k, w = problem.adjacency, problem.n_parts, problem.weights
    lo, hi, fixed = problem.lo, problem.hi, problem.fixed
    labels = make_contiguous(adj, old.astype(np.int64), w, m)
    if fixed is not None:
        labels = np.where(fixed >= 0, fixed, labels)  # may break contiguity
        labels = make_contiguous(adj, labels, w, max(k, m))
    k_work = max(k, m)
    s = Search(problem.replace(n_parts=k_work), labels, rng)
    s.mean = mean
    if k < m:
        alive = _merge_lightest(s, k)
        relabel = np.full(k_work, -1, np.int64)
        relabel[alive] = np.arange(k)
        home = np.where(np.isin(old, alive), relabel[old], -1)
        return [relabel[np.asarray(s.lab)]], home
    starts: list[np.ndarray] = []
    W0 = np.asarray(s.W)
    if k > m or (W0 > hi).any() or (W0 < lo).any():
        # planned carves: where the new parts go and who gives what to whom
        margin = PLAN_MARGIN * (hi - mean)
        starts = planned_carves(problem.replace(lo=lo + margin, hi=hi - margin), np.asarray(s.lab, dtype=np.int64), m, rng)
    if not starts:
        # new parts are carved from the borders of the heaviest parts
        hi_keep = (1.0 + problem.tolerance) * mean
        for q in range(m, k):
            _carve(s, q, hi_keep)
        starts = [np.asarray(s.lab, dtype=np.int64)]
    return starts, old.copy()


def _best_repaired(problem: Problem, starts: list[np.ndarray], home: np.ndarray, mean: float, rng: np.random.Generator) -> Search:
    """Repair the balance of every start; the search of the least violating, least disruptive."""
    adj, k, w = problem.adjacency, problem.n_parts, problem.weights
    best: tuple[tuple[float, float], Search] | None = None
    for labels in starts:
        if (np.bincount(labels, minlength=k) == 0).any():
            # a part could not be carved (e.g. everything locked): start from scratch
            labels = voronoi_init(adj, k, w, problem.areas, problem.perimeters, problem.fixed, problem.tolerance, rng)
        labels = make_contiguous(adj, labels, w, k)
        cand = Search(problem, labels, rng, home=home, home_weight=REPAIR_HOME_WEIGHT / mean)
        cand.worst_shape_weight = WORST_SHAPE_WEIGHT
        repair(cand)
        if cand.violation() > 0:
            cand.diffuse()
        repair(cand)
        key = (round(cand.violation() / mean, 9), round(cand.moved / mean, 9))
        if best is None or key < best[0]:
            best = (key, cand)
    assert best is not None
    return best[1]


def _reshape(s: Search, problem: Problem, rng: np.random.Generator, *, lb_weight: float, total: float, mean: float) -> None:
    """Reshape for compactness, spending at most a budget of extra disruption."""
    s.budget = max(s.moved, BUDGET_RATIO * lb_weight) + 1e-12 * total
    s.home_weight = HOME_WEIGHT / mean
    if s.violation() == 0:
        s.set_floor()
    s.refine()
    polish(s, rng, polish_budget(problem.n_units, problem.n_parts), problem.deadline)
    s.refine()
    if SQUEEZE and s.moved > BUDGET_RATIO * lb_weight:
        # over the target: trade a little compactness for less disruption
        s.home_weight = SQUEEZE / mean
        s.refine()
    if s.violation() > 0:
        s.diffuse()
        repair(s)


def _fresh_fallback(
    problem: Problem,
    old: np.ndarray,
    m: int,
    labels: np.ndarray,
    res: PartitionResult,
    rng: np.random.Generator,
    seed: int,
    time_limit: float | None,
    mean: float,
) -> tuple[np.ndarray, PartitionResult]:
    """A fresh balanced plan, relabelled to match the old parts and refined with the same
    disruption penalty, when the carved plan cannot be balanced; the better plan."""
    adj, k, w, ar, pe = problem.adjacency, problem.n_parts, problem.weights, problem.areas, problem.perimeters
    tolerance = problem.tolerance
    for _ in range(FRESH_ATTEMPTS):
        sub = np.random.default_rng(rng.integers(2**63))
        fresh = partition_graph(
            adj,
            w,
            k,
            areas=ar,
            perimeters=pe,
            tolerance=tolerance,
            seed=int(sub.integers(2**31)),
            fixed=problem.fixed,
            time_limit=time_limit,
            strict=False,
        ).labels
        ov = np.zeros((k, m))
        np.add.at(ov, (fresh, old), w)
        r_idx, c_idx = linear_sum_assignment(ov, maximize=True)
        home = np.full(m, -1, np.int64)
        home[c_idx] = r_idx
        s = Search(problem, fresh, sub, home=home[old], home_weight=REPAIR_HOME_WEIGHT / mean)
        s.worst_shape_weight = WORST_SHAPE_WEIGHT
        s.refine()
        cand = np.asarray(s.lab, dtype=np.int64)
        cres = evaluate(adj, cand, k, w, ar, pe, tolerance, seed)
        if cres.feasible or cres.balance_max - cres.balance_min < (res.balance_max - res.balance_min):
            labels, res = cand, cres
        if res.feasible:
            break
    return labels, res


def _match_old_parts(
    res: PartitionResult,
    labels: np.ndarray,
    old: np.ndarray,
    old_ids: np.ndarray,
    w: np.ndarray,
    total: float,
    retained_ub: float,
) -> None:
    """Fill in ``retained``, ``disruption``, its lower bound and ``matching`` (in place)."""
    k, m = res.n_parts, old_ids.size
    overlap = np.zeros((k, m))
    np.add.at(overlap, (labels, old), w)
    r_idx, c_idx = linear_sum_assignment(overlap, maximize=True)
    matching = np.full(k, -1, np.int64)
    matching[r_idx] = old_ids[c_idx]
    retained = float(overlap[r_idx, c_idx].sum() / total)
    res.retained = retained
    res.disruption = 1.0 - retained
    res.disruption_lower_bound = max(0.0, 1.0 - retained_ub)
    res.matching = matching
