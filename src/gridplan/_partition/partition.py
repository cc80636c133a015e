"""Partition from scratch: several starts, each repaired and refined; the best ones polished.

Effort is counted in starts and attempts, not seconds, so results are deterministic for a
seed (``time_limit`` only cuts the optional work short).
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp

from ..errors import InfeasibleError
from .metrics import PartitionResult, evaluate, is_contiguous, plan_key
from .polish import polish, polish_budget, polish_plan
from .problem import Problem, bounds, check_centroids, check_fixed, check_fixed_connected, check_groups, prepare
from .repair import repair
from .search import Search
from .starts import (
    bisection_init,
    coordinate_init,
    ensure_nonempty,
    make_contiguous,
    metis_available,
    metis_init,
    voronoi_init,
)

#: The restart schedule: the starting method of every start, cycled.  With METIS, most starts
#: are METIS plans (every other one with a looser balance, more room for compact cuts), with
#: own bisections and a graph-Voronoi start for variety; given centroids (and nothing fixed),
#: the second start is a recursive coordinate bisection.
RESTARTS_WITH_METIS = ("metis", "bisection", "metis", "metis", "voronoi", "metis", "metis", "bisection", "metis", "metis")
RESTARTS_WITHOUT_METIS = ("bisection", "bisection", "voronoi")

#: Number of starts: between MIN_STARTS and MAX_STARTS, as many as fit a budget of START_WORK
#: (a start costs about ``n + PART_COST * k``), at most ``2 + n // UNITS_PER_EXTRA_START``
#: (small graphs need few), and at most INFEASIBLE_STARTS when no plan can meet the tolerance.
MIN_STARTS, MAX_STARTS = 2, 10
START_WORK = 30_000
PART_COST = 50
UNITS_PER_EXTRA_START = 16
INFEASIBLE_STARTS = 3

#: Number of best starts polished: at most MAX_POLISHED, as many as fit POLISH_WORK, at most
#: ``1 + n // UNITS_PER_EXTRA_POLISH``.
MAX_POLISHED = 4
POLISH_WORK = 12_000
UNITS_PER_EXTRA_POLISH = 100

#: A looser balance for every other METIS start (times the tolerance).
LOOSE_METIS_BALANCE = 2.0

#: Tags of the independent random streams of the plain METIS start and of the polishing.
_PLAIN_METIS_STREAM = 11
_POLISH_STREAM = 7


def n_starts(n: int, k: int, *, feasible: bool = True, effort: float = 1.0) -> int:
    """How many starts a graph of ``n`` units and ``k`` parts gets (budgets and caps times ``effort``)."""
    work, most = int(START_WORK * effort // (n + PART_COST * k)), max(1, round(MAX_STARTS * effort))
    count = max(MIN_STARTS, min(most, work, 2 + n // UNITS_PER_EXTRA_START))
    return count if feasible else min(count, INFEASIBLE_STARTS)


def n_polished(n: int, k: int, *, effort: float = 1.0) -> int:
    """How many of the best starts are polished (budget and cap times ``effort``)."""
    work, most = int(POLISH_WORK * effort // (n + PART_COST * k)), max(1, round(MAX_POLISHED * effort))
    return max(1, min(most, work, 1 + n // UNITS_PER_EXTRA_POLISH))


def restart_schedule(*, use_metis: bool, straight_cuts: bool) -> list[str]:
    """The starting methods, cycled over the starts."""
    methods = list(RESTARTS_WITH_METIS if use_metis else RESTARTS_WITHOUT_METIS)
    if straight_cuts:
        methods[1] = "coordinates"
    return methods


def method_of_start(attempt: int, methods: list[str]) -> str:
    """The method of start ``attempt``: every other METIS start is ``"metis2"`` (looser balance)."""
    i = attempt % len(methods)
    method = methods[i]
    if method == "metis" and methods[:i].count("metis") % 2:
        return "metis2"
    return method


def partition_graph(
    adjacency: sp.csr_array | sp.csr_matrix,
    weights: np.ndarray,
    n_parts: int,
    *,
    areas: np.ndarray,
    perimeters: np.ndarray,
    tolerance: float = 0.03,
    seed: int = 0,
    groups: np.ndarray | None = None,
    fixed: np.ndarray | None = None,
    time_limit: float | None = None,
    strict: bool = True,
    centroids: np.ndarray | None = None,
    effort: float = 1.0,
) -> PartitionResult:
    """Partition a unit graph into balanced, contiguous, compact parts.

    Parameters
    ----------
    adjacency : scipy.sparse array or matrix, shape (n, n)
        Symmetric; entry ``(i, j)`` is the boundary length (m) shared by units ``i``
        and ``j`` (> 0 for rook neighbours, absent otherwise).  Must be connected.
    weights : numpy.ndarray, shape (n,)
        Workload of every unit; finite and > 0.
    n_parts : int
        Number of parts (grids), 1 <= ``n_parts`` <= n.
    areas, perimeters : numpy.ndarray, shape (n,)
        Area (m²) and perimeter (m) of every unit; a union of units has perimeter
        ``sum(perimeters) - 2 * (shared length inside it)``.
    tolerance : float, default 0.03
        Every part's workload must lie in ``[(1 - tolerance), (1 + tolerance)]``
        times the mean.
    seed : int, default 0
        Seed of the random choices; equal seeds give equal results.
    groups : numpy.ndarray, optional
        A group id per unit (e.g. community).  Cutting between two units of the
        same group is penalised, so grid lines follow group lines where balance
        allows.
    fixed : numpy.ndarray of int, optional
        A part label per unit, -1 for free units.  Fixed units keep their label;
        the units fixed to one part must be connected.
    time_limit : float, optional
        Seconds after which the optional improvement stops (the balance repair
        still runs to the end).
    strict : bool, default True
        If True, raise :class:`~gridplan.errors.InfeasibleError` when the tolerance
        cannot be met; if False, return the best plan with ``feasible=False``.
    centroids : numpy.ndarray, shape (n, 2), optional
        Projected coordinates (m) of a point in every unit.  With them the search
        also tries straight, axis-parallel cuts (a recursive coordinate bisection
        start and straight pair re-splits), which give near-rectangular parts on
        square cells.
    effort : float, default 1
        Search effort: the number of starts and of polished starts, and their work
        budgets, times ``effort`` (results change with it; same effort, same plan).

    Returns
    -------
    PartitionResult
        Labels and quality measures.

    Raises
    ------
    gridplan.errors.DataError
        Malformed input (shapes, non-positive or NaN values, asymmetric adjacency).
    gridplan.errors.InfeasibleError
        Disconnected graph, ``n_parts`` < 1 or > n, or (``strict=True``) a
        tolerance that the units do not allow.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> n = 6  # a 2 x 3 block of unit squares
    >>> grid = sp.csr_array(sp.kron(sp.eye(2), sp.diags([1, 1], [-1, 1], (3, 3)))
    ...                     + sp.kron(sp.diags([1, 1], [-1, 1], (2, 2)), sp.eye(3)))
    >>> res = partition_graph(grid, np.ones(n), 2, areas=np.ones(n),
    ...                       perimeters=np.full(n, 4.0), tolerance=0.0)
    >>> np.bincount(res.labels).tolist(), res.contiguous, res.feasible
    ([3, 3], True, True)
    """
    t0 = time.perf_counter()
    adj, w, ar, pe, k = prepare(adjacency, weights, areas, perimeters, n_parts, tolerance)
    n = adj.shape[0]
    fixed_arr = check_fixed(fixed, n, k)
    groups_arr = check_groups(groups, n)
    xy = check_centroids(centroids, n)
    mean, lo, hi = bounds(float(w.sum()), k, tolerance)
    if fixed_arr is not None:
        check_fixed_connected(adj, fixed_arr)
    problems = _infeasibility(w, fixed_arr, k, mean, hi, tolerance)
    if problems and strict:
        raise InfeasibleError(
            "No plan can keep every part within "
            f"±{tolerance:.1%} of the mean workload: {'; '.join(problems)}. Split heavy "
            "units, ask for fewer parts, raise the tolerance, or pass strict=False to get "
            "the best plan anyway."
        )
    deadline = math.inf if time_limit is None else t0 + float(time_limit)
    rng = np.random.default_rng(seed)
    if k == 1:
        return evaluate(adj, np.zeros(n, np.int64), 1, w, ar, pe, tolerance, seed)
    problem = Problem(adj, k, w, ar, pe, lo, hi, float(tolerance), deadline, groups_arr, fixed_arr, xy)
    starts = _starts(problem, rng, seed, feasible=not problems, effort=effort)
    labels = _polish_best(problem, starts, seed, effort=effort)
    res = evaluate(adj, labels, k, w, ar, pe, tolerance, seed)
    if not res.feasible and strict:
        raise InfeasibleError(
            f"Could not bring every part within ±{tolerance:.1%} of the mean workload: "
            f"the best plan found has parts from {res.balance_min:.3f} to "
            f"{res.balance_max:.3f} x the mean. Raise the tolerance, use smaller units "
            "near the heavy parts, or pass strict=False to get this plan anyway."
        )
    return res


def _infeasibility(w: np.ndarray, fixed: np.ndarray | None, k: int, mean: float, hi: float, tolerance: float) -> list[str]:
    """Why no plan can meet the tolerance (a unit or a fixed part heavier than the bound)."""
    problems = []
    heavy = float(w.max())
    if heavy > hi:
        i = int(np.argmax(w))
        problems.append(
            f"unit {i} alone weighs {heavy / mean:.3f} x the mean part workload, above the "
            f"upper bound {1 + tolerance:.3f} (by {heavy / mean - 1 - tolerance:.1%} of the mean)"
        )
    if fixed is not None:
        fw = np.bincount(fixed[fixed >= 0], weights=w[fixed >= 0], minlength=k)
        if fw.max() > hi:
            p = int(np.argmax(fw))
            problems.append(
                f"the units fixed to part {p} weigh {fw[p] / mean:.3f} x the mean, above the upper bound {1 + tolerance:.3f}"
            )
    return problems


_Start = tuple[tuple[float, float], int, np.ndarray]
"""A repaired start: its :func:`plan_key`, its attempt number (a tie-breaker) and its labels."""


def _starts(problem: Problem, rng: np.random.Generator, seed: int, *, feasible: bool, effort: float = 1.0) -> list[_Start]:
    """Every start of the restart schedule, repaired and refined, best first."""
    adj, k, n = problem.adjacency, problem.n_parts, problem.n_units
    w, ar, pe, tolerance = problem.weights, problem.areas, problem.perimeters, problem.tolerance
    count = n_starts(n, k, feasible=feasible, effort=effort)
    use_metis = problem.fixed is None and metis_available()
    methods = restart_schedule(use_metis=use_metis, straight_cuts=problem.centroids is not None and problem.fixed is None)
    cands: list[_Start] = []
    if use_metis:  # plain METIS as an extra start, when it already balances
        lab = run_start(problem, np.random.default_rng([seed & 0xFFFFFFFF, _PLAIN_METIS_STREAM]), "metis0")
        if lab is not None:
            cands.append((plan_key(adj, lab, k, w, ar, pe, tolerance), count, lab))
    for attempt in range(count):
        if attempt and time.perf_counter() > problem.deadline:
            break
        sub = np.random.default_rng(rng.integers(2**63))
        # the first two starts get the full repair; later ones skip the costly exact
        # re-pack once a balanced plan is in hand
        exact = attempt < 2 or not any(c[0][0] == 0.0 for c in cands)
        lab = run_start(problem, sub, method_of_start(attempt, methods), exact=exact)
        if lab is None:
            continue
        cands.append((plan_key(adj, lab, k, w, ar, pe, tolerance), attempt, lab))
    if not cands:  # METIS unavailable at run time: own start
        sub = np.random.default_rng(rng.integers(2**63))
        lab = run_start(problem.replace(centroids=None), sub, "bisection" if problem.fixed is None else "voronoi")
        assert lab is not None
        cands.append((plan_key(adj, lab, k, w, ar, pe, tolerance), 0, lab))
    cands.sort(key=lambda c: (c[0], c[1]))
    return cands


def _polish_best(problem: Problem, starts: list[_Start], seed: int, *, effort: float = 1.0) -> np.ndarray:
    """Polish the best starts with pair re-splits; the best result, contiguous and non-empty."""
    adj, k, n = problem.adjacency, problem.n_parts, problem.n_units
    w, ar, pe, tolerance = problem.weights, problem.areas, problem.perimeters, problem.tolerance
    best: tuple[tuple[float, float], np.ndarray] | None = None
    budget = polish_budget(n, k)
    for _, attempt, lab in starts[: n_polished(n, k, effort=effort)]:
        if best is not None and time.perf_counter() > problem.deadline:
            break
        sub = np.random.default_rng([seed & 0xFFFFFFFF, attempt, _POLISH_STREAM])
        lab = polish_plan(problem, lab, sub, budget)
        key = plan_key(adj, lab, k, w, ar, pe, tolerance)
        if best is None or key < best[0]:
            best = (key, lab)
    assert best is not None
    return ensure_nonempty(adj, make_contiguous(adj, best[1], w, k), w, k, problem.locked)


def start_labels(problem: Problem, rng: np.random.Generator, method: str) -> np.ndarray | None:
    """The initial labels of one start (None if METIS fails, or ``"metis0"`` does not balance)."""
    adj, k, w, tolerance = problem.adjacency, problem.n_parts, problem.weights, problem.tolerance
    fixed, xy = problem.fixed, problem.centroids
    if method.startswith("metis"):
        loose = LOOSE_METIS_BALANCE if method == "metis2" else 1.0
        labels = metis_init(adj, k, w, loose * tolerance, int(rng.integers(2**31 - 1)), plain=method == "metis0")
        if labels is None:
            return None
        if method == "metis0":
            pw = np.bincount(labels, weights=w, minlength=k)
            if pw.min() < problem.lo or pw.max() > problem.hi or not is_contiguous(adj, labels, k):
                return None  # only a plan METIS balanced itself is worth starting from
        return labels
    if fixed is None and method == "bisection":
        return bisection_init(adj, k, w, problem.areas, problem.perimeters, rng)
    if method == "coordinates" and xy is not None:
        return coordinate_init(k, w, xy)
    return voronoi_init(adj, k, w, problem.areas, problem.perimeters, fixed, tolerance, rng)


def run_start(problem: Problem, rng: np.random.Generator, method: str = "bisection", *, exact: bool = True) -> np.ndarray | None:
    """One start: an initial plan, balance repair, refinement (``exact=False``:
    no exhaustive re-pack, for extra starts once a balanced plan is known)."""
    labels = start_labels(problem, rng, method)
    if labels is None:
        return None
    adj, k, w = problem.adjacency, problem.n_parts, problem.weights
    labels = ensure_nonempty(adj, make_contiguous(adj, labels, w, k), w, k, problem.locked)
    s = Search.for_partition(problem, labels, rng)
    s.diffuse()
    repair(s, exact=exact)
    if s.violation() > 0 and w.max() <= problem.hi:
        # re-split pairs around the parts still outside the bounds
        polish(s, rng, 2 * k, problem.deadline, balance_only=True)
        repair(s, exact=exact)
    if s.violation() == 0:
        s.set_floor()
    s.refine()
    if s.violation() > 0:
        s.diffuse()
        repair(s, exact=exact)
    return np.asarray(s.lab, dtype=np.int64)
