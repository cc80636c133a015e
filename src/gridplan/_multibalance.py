"""Balancing several workloads at once: the multi-measure layer over ``_partition``.

A planner balances residents, street length and cases together (ArcGIS Pro's
*Build Balanced Zones* balances several attributes at once).  Every grid must lie
within its own tolerance of the mean on every measure: a box constraint
``(1 - t_j) <= W_pj / mean_j <= (1 + t_j)`` for part ``p`` and measure ``j``.

Method
------
1. **Scaling.**  Every measure is scaled so that its mean part value is 1.  The
   violation of a part is ``sum_j (excess_pj / t_j)**2``, the excess beyond the
   box measured in tolerance widths, so a measure with a tight tolerance counts
   for more.
2. **Starts: recursive ham-sandwich cuts.**  The units are cut in two by a
   straight line (48 directions) or a "graph line" (``d(u, s1) - d(u, s2)`` for
   far-apart units ``s1``, ``s2``), every prefix of every order being scored at once
   from cumulative sums: each side must hold its share ``k1 / k`` of *every*
   measure (by the ham-sandwich theorem a line halving two measures exists), and
   among the balanced cuts whose sides are connected the most compact wins; the
   sides are cut again until every part is one grid.  Without unit centroids a
   spectral layout (Laplacian eigenvectors) stands in for them.  A redraw starts
   from :func:`~gridplan._partition.resplit_graph` on a *combined* workload
   ``sum_j x_j / t_j`` (the tightest measures weigh most), then from fresh cuts.
3. **Vector repair.**  Boundary units move to a neighbouring part when the donor
   stays connected and the total violation drops (among such moves the most
   compact one is taken); when no single move helps, *ejection chains* (as in
   the single-measure kernel, cf. Glover 1996) pass a unit from a part outside
   its box to a neighbour, which passes one on, and so on, kept only if the
   total violation drops; a unit *swap* between two neighbouring parts trades
   one measure for another (a part rich in streets and poor in residents gives
   a street-heavy unit and takes a resident-heavy one); an *exchange* does the same
   across three parts (a unit in from one neighbour, one out to another, every
   pair scored at once); a part still outside its box is cut again together with
   parts grown along the part graph towards those with workload to spare (a
   region re-split), the cut repaired and kept only if the repaired plan is better.
4. **Pair re-splits.**  The union of two neighbouring parts is cut again by the
   best straight or graph line (as in step 2, both sides in their boxes), kept if
   the violation drops or the shapes improve; parts outside their boxes first,
   then the worst shapes, a bounded number of attempts.
5. **Refinement.**  Fiduccia-Mattheyses-style passes without negative moves on
   the compactness objective of the kernel (mean Polsby-Popper with a penalty on
   the worst shapes and on cut community lines), a move being allowed only if
   no part leaves its box on any measure; then *compactness swaps*: a part at the
   edge of a box blocks every single move, so a unit goes to a neighbouring part
   and one comes back, the pair kept when both parts stay in their boxes and the
   shapes gain (the best-gaining boundary units of each side are paired).
6. **Simulated annealing** (Kirkpatrick, Gelatt & Vecchi 1983) on the best plan of
   all starts: a move of a boundary unit to a neighbouring part, drawn at random among
   the cut edges, keeps its donor connected and is scored by the gain of the step 5
   objective less :data:`ANNEAL_PENALTY` per squared tolerance width of violation
   added; a worsening move is taken with probability ``exp(score / T)``, ``T`` falling
   geometrically over :data:`ANNEAL_SWEEPS` steps per cut edge.  Parts may leave their
   boxes on the way, but only a plan within every box replaces the best one met (for a
   start outside its boxes: one with no more violation), which is restored at the end;
   step 5 then runs again.  This replaced a strategic oscillation (penalised greedy
   passes, then repair): step 5 alone stops where a part at the edge of its box blocks
   every improving move, and the annealing gets past that (sample district, 15 grids,
   three measures: Polsby-Popper mean 0.29 -> 0.35; 5,000 cells 0.34 -> 0.38-0.40).

Why the plans are less compact than METIS's on the weighted sum: when measures
are spread differently (residents in a dense core, street length in the
outskirts), a grid within every box must hold its share of core *and* of
outskirts, so grids become wedges or strips reaching from the core outwards;
a compact plan on the weighted sum (METIS, or the single-measure kernel) leaves
the core's grids with 1.2-1.6 times the mean of one measure and 0.6-0.75 of
another (sample district).  The annealing's budget (:data:`ANNEAL_SWEEPS`, about 0.6
million steps of pure Python on 5,000 units) is what separates the plans from METIS's
now: given 50 times as many steps it reaches Polsby-Popper mean 0.42 on the sample's
blocks and 0.53 on 5,000 cells, all within every box, against 0.50 and 0.59 for METIS's
unbalanced plans (``benchmarks/RESULTS.md``).

The multi-constraint problem is the one METIS solves with ``ncon > 1``
(Karypis & Kumar 1998, "Multilevel algorithms for multi-constraint graph
partitioning"); METIS does not keep parts contiguous or compact, which grids
must be.  Every step is deterministic for a seed.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

from . import _validate
from ._partition import partition_graph, resplit_graph
from ._partition.metrics import FOUR_PI as _FOUR_PI
from ._partition.metrics import is_contiguous as _is_contiguous
from ._partition.problem import Problem, _check_graph
from ._partition.search import Search as _Search
from ._partition.starts import make_contiguous as _make_contiguous
from .errors import DataError, InfeasibleError

__all__ = ["MultiBalanceResult", "partition_multi", "measure_spreads"]

#: Violation changes smaller than this (in squared tolerance widths) are ties.
VIOLATION_EPS = 1e-12
#: Refinement passes over the boundary units (the kernel's own default).
REFINE_PASSES = 30
#: Ejection chains: steps per chain, chains per violated part before giving up.
CHAIN_STEPS = 40
CHAIN_RETRIES = 12
#: Rounds of (greedy moves, swaps, chains) before the repair gives up.
REPAIR_ROUNDS = 60
#: Candidate units per part examined for a swap.
SWAP_CANDIDATES = 40
#: Compactness swaps: best-gaining boundary units per side of a part pair, pairs tried per part pair.
SWAP_REFINE_CANDIDATES = 25
SWAP_REFINE_TRIES = 20
COMPACT_ROUNDS = 40
#: Simulated annealing: steps per cut edge of the plan (at most ANNEAL_MAX_STEPS: about 3 s),
#: first and last temperature (in units of the compactness objective, about one part's
#: Polsby-Popper), and moves drawn at once.
ANNEAL_SWEEPS = 400.0
ANNEAL_MAX_STEPS = 1_000_000
ANNEAL_T_START = 0.05
ANNEAL_T_END = 3e-5
ANNEAL_BATCH = 1024
#: Price of leaving a box during the annealing, per squared tolerance width.
ANNEAL_PENALTY = 30.0
#: Steps of the donor's connectivity search before a move is refused (a cheap, safe test).
ANNEAL_CAP = 60
#: Random stream of the annealing (apart from the starts' streams).
ANNEAL_STREAM = 7
#: Straight cuts: directions tried, candidates examined, and the miss (in tolerance
#: widths per part) below which candidates count as balanced and the shortest cut wins.
N_ANGLES = 48
CUT_CANDIDATES = 60
CUT_SLACK = 0.25
PAIR_ANGLES = 12
GRAPH_ORDERS = 8
#: Parts re-cut together by a region re-split (a part outside its box and its neighbours).
REGION_PARTS = 4
REGION_ROUNDS = 4
#: Graphs up to this size get a dense eigen-decomposition for their spectral layout.
SPECTRAL_DENSE = 800
#: Regions (or whole graphs) up to this many units are first packed exactly, within a budget of sets.
EXACT_UNITS = 40
EXACT_BUDGET = 200_000
FALLBACK_CANDIDATES = 12
#: Starts by recursive straight cuts; pair re-split sweeps (x 3 k attempts) per phase.
BISECTION_STARTS = 2
#: Small graphs (SMALL_UNITS / n starts, at most SMALL_STARTS) get more starts: they are cheap.
SMALL_STARTS = 8
SMALL_UNITS = 400
#: Above this many units a second start is only tried when the first misses a tolerance.
LARGE_UNITS = 2000
#: Starts tried (graphs up to LARGE_UNITS) while no plan meets every tolerance.
RETRY_STARTS = 6
PAIR_SWEEPS = 2
#: Workload of units with none of the measures (parks, water): a hair above zero.
EMPTY_FLOOR = 1e-9


@dataclass
class MultiBalanceResult:
    """A partition balanced on several measures.

    Attributes
    ----------
    labels : numpy.ndarray
        Part of every unit.
    names : list of str
        The measures, in order.
    tolerances : numpy.ndarray
        Tolerance of every measure.
    spread : numpy.ndarray, shape (m, 2)
        Lightest and heaviest part of every measure over its mean part value.
    feasible : bool
        True if every part is within its tolerance on every measure.
    polsby_popper : numpy.ndarray
        Polsby-Popper score of every part.
    contiguous : bool
    seed : int
    disruption : float or None
        For redraws: share of the combined workload that changed part.
    """

    labels: np.ndarray
    names: list[str]
    tolerances: np.ndarray
    spread: np.ndarray
    feasible: bool
    polsby_popper: np.ndarray
    contiguous: bool
    seed: int = 0
    disruption: float | None = None
    notes: list[str] = field(default_factory=list)

    def worst(self) -> tuple[str, float]:
        """The measure furthest outside its tolerance, and by how much (a fraction of the mean)."""
        miss = np.maximum(self.spread[:, 1] - 1 - self.tolerances, 1 - self.tolerances - self.spread[:, 0])
        j = int(np.argmax(miss))
        return self.names[j], float(max(miss[j], 0.0))


# ----------------------------------------------------------------------------------------
# input checks and scaling
# ----------------------------------------------------------------------------------------


def _check_measures(measures: object, n: int, names: list[str], tolerances: object) -> tuple[np.ndarray, np.ndarray]:
    try:
        x = np.asarray(measures, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError("measures must be a numeric array, one column per measure") from exc
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] != n:
        raise DataError(f"measures must have one row per unit, shape ({n}, m); got {x.shape}")
    if x.shape[1] != len(names):
        raise DataError(f"{x.shape[1]} measure columns but {len(names)} names")
    bad = ~np.isfinite(x) | (x < 0)
    if bad.any():
        i, j = (int(a[0]) for a in np.nonzero(bad))
        raise DataError(
            f"measure {names[j]!r} has {int(bad[:, j].sum())} NaN, infinite or negative values "
            f"(e.g. unit {i}: {x[i, j]!r}); fix the source column"
        )
    t = np.asarray(tolerances, dtype=np.float64).reshape(-1)
    if t.shape != (len(names),):
        raise DataError(f"one tolerance per measure is needed; got {t.shape[0]} for {len(names)} measures")
    for name, tol in zip(names, t):
        if not (np.isfinite(tol) and 0 < tol < 1):
            raise DataError(f"the tolerance of {name!r} must be a fraction between 0 and 1 (e.g. 0.05 for ±5 %), got {tol!r}")
    totals = x.sum(axis=0)
    for name, tot in zip(names, totals):
        if tot <= 0:
            raise DataError(
                f"no unit has any {name!r} (the measure is zero everywhere); drop it from balance= "
                "or give the units that workload (build_units(..., workload={...}))"
            )
    return x, t


def _scaled(x: np.ndarray, k: int) -> np.ndarray:
    """Every measure scaled so that its mean part value is 1."""
    return x * (k / x.sum(axis=0))


def _combined(scaled: np.ndarray, tol: np.ndarray, emphasis: np.ndarray | None = None) -> np.ndarray:
    """One workload for the single-measure kernel: the measures weighed by 1 / tolerance."""
    coef = 1.0 / tol if emphasis is None else emphasis / tol
    c = scaled @ (coef / coef.sum())
    return np.where(c > 0, c, EMPTY_FLOOR * max(float(c.mean()), 1e-12))


def measure_spreads(scaled_or_raw: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Lightest and heaviest part of every measure over its mean part value, shape (m, 2)."""
    x = np.asarray(scaled_or_raw, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    W = np.stack([np.bincount(labels, weights=x[:, j], minlength=k) for j in range(x.shape[1])], axis=1)
    mean = W.sum(axis=0) / k
    return np.column_stack([W.min(axis=0) / mean, W.max(axis=0) / mean])


# ----------------------------------------------------------------------------------------
# start: recursive ham-sandwich bisection
# ----------------------------------------------------------------------------------------


@dataclass
class _Geometry:
    """What straight cuts need of the unit graph: adjacency, centroids, scaled measures, shapes."""

    adj: sp.csr_array
    xy: np.ndarray
    x: np.ndarray
    tol: np.ndarray
    ar: np.ndarray
    pe: np.ndarray
    c_worst: float = 0.02


def _shape_score(A: np.ndarray, P: np.ndarray, c_worst: float) -> np.ndarray:
    """The kernel's compactness objective of a part: Polsby-Popper less a penalty on thin parts."""
    with np.errstate(divide="ignore", invalid="ignore"):  # an empty side scores nothing
        pp = np.where(P > 0, _FOUR_PI * A / np.maximum(P, 1e-300) ** 2, 0.0)
    return pp - c_worst / np.maximum(pp, 1e-12)


def _box_miss(S: np.ndarray, lo: np.ndarray, hi: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """How far sums ``S`` (..., m) lie outside ``[lo, hi]``, in tolerance widths, worst measure."""
    d = S - 0.5 * (lo + hi)  # distance from the box's centre, less its half-width, in tolerance widths
    np.abs(d, out=d)
    d -= 0.5 * (hi - lo)
    d /= tol
    return np.maximum(d.max(axis=-1), 0.0)


def _line_split(
    g: _Geometry,
    members: np.ndarray,
    box1: tuple[np.ndarray, np.ndarray],
    box2: tuple[np.ndarray, np.ndarray],
    angles: np.ndarray,
    min_sizes: tuple[int, int] = (1, 1),
) -> tuple[np.ndarray, float, float] | None:
    """The best straight cut of ``members`` into two connected sides within two boxes.

    For every direction the units are ordered by their projection and every prefix is
    a candidate side.  Sums of every measure, area, perimeter and cut length of every
    prefix come from cumulative sums (a unit's shared length with the units before it
    in the order is counted once per direction), so all cuts of all directions are
    scored at once.  Candidates are ranked by their miss (tolerance widths outside the
    boxes, worst measure; by the ham-sandwich theorem a line balancing two measures
    exists), then by the compactness of the two sides; the first whose sides are
    connected wins.  Returns ``(side, miss, objective)`` or None.
    """
    n = members.size
    if n < 2:
        return None
    sub = g.adj[members][:, members]
    tri = sp.triu(sub, k=1).tocoo()
    rows, cols, w = tri.row, tri.col, tri.data
    pts, xs, ar, pe = g.xy[members], g.x[members], g.ar[members], g.pe[members]
    dirs = np.vstack([np.cos(angles), np.sin(angles)])
    keys = np.hstack([pts @ dirs, _graph_keys(sub, pts, n_pairs=GRAPH_ORDERS)])
    order = np.argsort(keys, axis=0, kind="stable")  # (n, orders)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(n)[:, None], axis=0)
    later = np.where(rank[rows] > rank[cols], rows[:, None], cols[:, None])  # (E, A)
    n_dir = order.shape[1]
    earlier = np.zeros((n, n_dir))
    for a in range(n_dir):
        earlier[:, a] = np.bincount(later[:, a], weights=w, minlength=n)
    degree = np.bincount(rows, weights=w, minlength=n) + np.bincount(cols, weights=w, minlength=n)
    earl_o = np.take_along_axis(earlier, order, axis=0)
    cut = np.cumsum(degree[order] - 2.0 * earl_o, axis=0)
    A1 = np.cumsum(ar[order], axis=0)
    P1 = np.cumsum(pe[order], axis=0) - 2.0 * np.cumsum(earl_o, axis=0)
    union_P = pe.sum() - 2.0 * w.sum()
    A2, P2 = ar.sum() - A1, union_P + 2.0 * cut - P1
    S1 = np.cumsum(xs[order], axis=0)  # (n, A, m)
    S2 = xs.sum(axis=0) - S1
    miss = _box_miss(S1, *box1, g.tol) + _box_miss(S2, *box2, g.tol)
    obj = _shape_score(A1, P1, g.c_worst) + _shape_score(A2, P2, g.c_worst)
    sizes = np.arange(1, n + 1)[:, None]
    bad = (sizes < min_sizes[0]) | (n - sizes < min_sizes[1])
    miss = np.where(bad, np.inf, np.round(miss, 6))
    flat = np.lexsort((-obj.ravel(), miss.ravel()))
    nbr = _neighbour_lists(rows, cols, n)
    seen: set[bytes] = set()
    fallback: tuple[tuple[float, float], np.ndarray] | None = None
    for f in flat[: CUT_CANDIDATES * 4]:
        i, a = (int(t) for t in np.unravel_index(int(f), miss.shape))
        if not np.isfinite(miss[i, a]) or len(seen) >= CUT_CANDIDATES:
            break
        side = np.zeros(n, bool)
        side[order[: i + 1, a]] = True
        sig = np.packbits(side).tobytes()
        if sig in seen:
            continue
        seen.add(sig)
        n_pieces, piece = _side_pieces(nbr, side)
        if n_pieces == 2:
            return side, float(miss[i, a]), float(obj[i, a])
        if len(seen) > FALLBACK_CANDIDATES or (fallback is not None and fallback[0][0] <= miss[i, a]):
            continue
        # stray pieces of either side go over; then the cut is scored again
        side = _whole_sides(nbr, side, xs, piece)
        if side.sum() < min_sizes[0] or (~side).sum() < min_sizes[1]:
            continue
        m_side = float(_box_miss(xs[side].sum(axis=0), *box1, g.tol) + _box_miss(xs[~side].sum(axis=0), *box2, g.tol))
        o_side = _side_objective(sub, side, ar, pe, g.c_worst)
        key = (round(m_side, 6), -o_side)
        if fallback is None or key < fallback[0]:
            fallback = (key, side)
    if fallback is None:
        return None
    return fallback[1], fallback[0][0], -fallback[0][1]


def _side_objective(sub: sp.csr_array, side: np.ndarray, ar: np.ndarray, pe: np.ndarray, c_worst: float) -> float:
    coo = sub.tocoo()
    lab = side.astype(np.int64)
    same = lab[coo.row] == lab[coo.col]
    A = np.bincount(lab, weights=ar, minlength=2)
    P = np.bincount(lab, weights=pe, minlength=2) - np.bincount(lab[coo.row[same]], weights=coo.data[same], minlength=2)
    return float(_shape_score(A, P, c_worst).sum())


def _graph_keys(sub: sp.csr_array, pts: np.ndarray, *, n_pairs: int) -> np.ndarray:
    """Orders that follow the graph: ``d(u, s1) - d(u, s2)`` for pairs of far-apart units
    (pseudo-diameters and the extremes of every axis), distances along unit adjacency with
    centroid-to-centroid lengths.  Their prefixes are connected more often than a straight
    line's in a piece bent around a river or a park."""
    n = pts.shape[0]
    if n_pairs <= 0 or n < 3:
        return np.zeros((n, 0))
    coo = sub.tocoo()
    length = np.hypot(*(pts[coo.row] - pts[coo.col]).T) + 1e-9
    dist_graph = sp.csr_array((length, (coo.row, coo.col)), shape=(n, n))
    ends = {int(np.argmin(pts[:, 0])), int(np.argmax(pts[:, 0])), int(np.argmin(pts[:, 1])), int(np.argmax(pts[:, 1]))}
    ends.update(int(np.argmin(pts @ d)) for d in ((1, 1), (1, -1), (-1, 1), (-1, -1)))
    ends_list = sorted(ends)
    d = dijkstra(dist_graph, directed=False, indices=ends_list)
    d = np.where(np.isfinite(d), d, d[np.isfinite(d)].max(initial=0.0) * 2)
    cols = []
    for i in range(len(ends_list)):
        for j in range(i + 1, len(ends_list)):
            cols.append(d[i] - d[j])
            if len(cols) >= n_pairs:
                return np.column_stack(cols)
    return np.column_stack(cols)


def _neighbour_lists(rows: np.ndarray, cols: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The edges of a cut's graph (each once), as its connectivity tests take them."""
    return np.asarray(rows), np.asarray(cols), int(n)


def _side_pieces(edges: tuple[np.ndarray, np.ndarray, int], side: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected pieces of a two-sided labelling: the edges within a side, one
    connected-components call (C) per labelling."""
    rows, cols, n = edges
    keep = side[rows] == side[cols]
    g = sp.coo_array((np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(n, n))
    count, piece = connected_components(g, directed=False)
    return int(count), piece.astype(np.int64)


def _whole_sides(
    nbr: tuple[np.ndarray, np.ndarray, int], side: np.ndarray, x: np.ndarray, piece: np.ndarray | None = None
) -> np.ndarray:
    """Stray pieces of either side (all but its heaviest piece) go to the other side."""
    side = side.copy()
    weight = x.sum(axis=1) + 1e-9
    for _ in range(3):
        if piece is None:
            n_pieces, piece = _side_pieces(nbr, side)
        else:
            n_pieces = int(piece.max()) + 1
        if n_pieces <= 2:
            break
        pw = np.bincount(piece, weights=weight, minlength=n_pieces)
        piece_side = np.zeros(n_pieces, bool)
        piece_side[piece] = side
        keep = np.zeros(n_pieces, bool)
        for flag in (True, False):
            cand = np.flatnonzero(piece_side == flag)
            if cand.size:
                keep[cand[np.argmax(pw[cand])]] = True
        stray = ~keep[piece]
        side[stray] = ~side[stray]
        piece = None
    return side


def _angles(rng: np.random.Generator, n: int = 0) -> np.ndarray:
    n = n or N_ANGLES
    return rng.uniform(0, np.pi / n) + np.arange(n) * (np.pi / n)


def _bisection_start(g: _Geometry, k: int, rng: np.random.Generator, members: np.ndarray | None = None) -> np.ndarray:
    """Recursive straight cuts, each side holding its share of every measure (within
    :data:`CUT_SLACK` of the tolerance per part), as compact as the cuts allow.  With
    ``members``, only those units are cut (labels 0..k-1 of ``members``, in order)."""
    every = np.arange(g.adj.shape[0]) if members is None else np.asarray(members)
    labels = np.zeros(g.adj.shape[0], np.int64)
    stack = [(every, k, 0)]
    angles = _angles(rng)
    slack = CUT_SLACK * g.tol
    while stack:
        members, parts, first = stack.pop()
        if parts == 1:
            labels[members] = first
            continue
        k1, k2 = parts // 2, parts - parts // 2
        box1 = (k1 * (1 - slack), k1 * (1 + slack))
        box2 = (k2 * (1 - slack), k2 * (1 + slack))
        found = _line_split(g, members, box1, box2, angles, (k1, k2))
        if found is None:  # no connected straight cut: the best cut, stray pieces moved over
            side = np.zeros(members.size, bool)
            proj = g.xy[members] @ np.array([np.cos(angles[0]), np.sin(angles[0])])
            cum = np.cumsum(g.x[members][np.argsort(proj)].sum(axis=1))
            side[np.argsort(proj)[: max(k1, int(np.searchsorted(cum, cum[-1] * k1 / parts)))]] = True
            tri = sp.triu(g.adj[members][:, members], k=1).tocoo()
            side = _whole_sides(_neighbour_lists(tri.row, tri.col, members.size), side, g.x[members])
        else:
            side = found[0]
        stack.append((members[side], k1, first))
        stack.append((members[~side], k2, first + k1))
    return labels[every]


def _connected_parts(adj: sp.csr_array, members: np.ndarray, lab: np.ndarray, r: int) -> bool:
    """True if labels ``0..r-1`` of ``members`` make ``r`` non-empty connected parts."""
    if np.unique(lab).size != r:
        return False
    tri = sp.triu(adj[members][:, members], k=1).tocoo()
    keep = lab[tri.row] == lab[tri.col]
    g = sp.coo_array((np.ones(int(keep.sum())), (tri.row[keep], tri.col[keep])), shape=(members.size,) * 2)
    return int(connected_components(g, directed=False)[0]) == r


# ----------------------------------------------------------------------------------------
# exact packing of small pieces
# ----------------------------------------------------------------------------------------


class _Packer:
    """Exhaustive search for ``r`` connected parts within their boxes (small pieces only).

    Every connected set holding the piece's lowest unit is grown once (the standard
    enumeration of connected induced subgraphs: a set grows only by units above its
    seed, through an extension list, so each set is generated once); a set within the
    box is tried as a part and the rest, piece by piece, is packed the same way.  The
    work is bounded by ``budget`` sets, so a failure is "not found", not "impossible".
    """

    def __init__(self, nbr: list[list[int]], x: np.ndarray, lo: np.ndarray, hi: np.ndarray, budget: int) -> None:
        self.nbr, self.x, self.lo, self.hi = nbr, x, lo, hi
        self.budget = budget

    def _components(self, units: set[int]) -> list[set[int]]:
        out, seen = [], set()
        for u in sorted(units):
            if u in seen:
                continue
            comp, stack = {u}, [u]
            seen.add(u)
            while stack:
                v = stack.pop()
                for w in self.nbr[v]:
                    if w in units and w not in seen:
                        seen.add(w)
                        comp.add(w)
                        stack.append(w)
            out.append(comp)
        return out

    def _counts(self, comps: list[set[int]], r: int) -> list[int] | None:
        """Parts per component: every component's sums must fit a whole number of boxes."""
        counts = []
        for comp in comps:
            total = self.x[sorted(comp)].sum(axis=0)
            lo_n = np.ceil(np.max(total / self.hi) - 1e-9)
            hi_n = np.floor(np.min(np.where(self.lo > 0, total / np.maximum(self.lo, 1e-300), np.inf)) + 1e-9)
            if lo_n > hi_n or hi_n < 1:
                return None
            counts.append(int(max(lo_n, 1)))
        return counts if sum(counts) == r else None

    def pack(self, units: set[int], r: int) -> list[set[int]] | None:
        total = self.x[sorted(units)].sum(axis=0)
        if (total > r * self.hi + 1e-9).any() or (total < r * self.lo - 1e-9).any():
            return None
        if r == 1:
            return [units]
        start = min(units)
        stack: list[tuple[set[int], set[int], np.ndarray]] = [
            ({start}, {w for w in self.nbr[start] if w in units}, self.x[start].copy())
        ]
        while stack and self.budget > 0:
            current, extension, sums = stack.pop()
            self.budget -= 1
            if (sums >= self.lo - 1e-9).all() and (sums <= self.hi + 1e-9).all():
                rest = units - current
                comps = self._components(rest)
                counts = self._counts(comps, r - 1)
                if counts is not None:
                    found = [current]
                    for comp, c in zip(comps, counts):
                        sub = self.pack(comp, c)
                        if sub is None:
                            break
                        found += sub
                    else:
                        return found
            if (sums > self.hi + 1e-9).any():
                continue
            ext = sorted(extension)
            for i, w in enumerate(ext):
                grown = current | {w}
                more = set(ext[i + 1 :]) | {
                    y
                    for y in self.nbr[w]
                    if y in units
                    and y not in grown
                    and y > start
                    and not any(y in self.nbr[z] for z in current if z != w)
                    and y not in extension
                }
                stack.append((grown, more, sums + self.x[w]))
        return None


# ----------------------------------------------------------------------------------------
# the vector search
# ----------------------------------------------------------------------------------------


class _MultiSearch(_Search):
    """The kernel's move-based search, with a vector of part sums and a box per measure."""

    def __init__(self, base: _Search, scaled: np.ndarray, tol: np.ndarray) -> None:
        self.__dict__.update(base.__dict__)
        self.m = scaled.shape[1]
        self.x = scaled.tolist()
        self.mlo = (1.0 - tol).tolist()
        self.mhi = (1.0 + tol).tolist()
        self.inv_tol = (1.0 / tol).tolist()
        lab = np.asarray(self.lab)
        self.Wm = [
            [float(v) for v in row]
            for row in np.stack([np.bincount(lab, weights=scaled[:, j], minlength=self.k) for j in range(self.m)], axis=1)
        ]
        self.pviol = [self._part_violation(self.Wm[p]) for p in range(self.k)]

    # -- violation -----------------------------------------------------------------------
    def _part_violation(self, vec: list[float]) -> float:
        out = 0.0
        for j in range(self.m):
            x = vec[j]
            e = x - self.mhi[j] if x > self.mhi[j] else (self.mlo[j] - x if x < self.mlo[j] else 0.0)
            if e:
                e *= self.inv_tol[j]
                out += e * e
        return out

    def multi_violation(self) -> float:
        return sum(self.pviol)

    def move_delta(self, v: int, a: int, b: int) -> float:
        """Change of the total violation if unit ``v`` moves from part ``a`` to ``b``."""
        xv = self.x[v]
        wa = [p - q for p, q in zip(self.Wm[a], xv)]
        wb = [p + q for p, q in zip(self.Wm[b], xv)]
        return self._part_violation(wa) + self._part_violation(wb) - self.pviol[a] - self.pviol[b]

    def move(self, v: int, b: int) -> None:
        a = self.lab[v]
        super().move(v, b)
        if a == b:
            return
        xv = self.x[v]
        Wa, Wb = self.Wm[a], self.Wm[b]
        for j in range(self.m):
            Wa[j] -= xv[j]
            Wb[j] += xv[j]
        self.pviol[a] = self._part_violation(Wa)
        self.pviol[b] = self._part_violation(Wb)

    def violated_parts(self) -> list[int]:
        return sorted((p for p in range(self.k) if self.pviol[p] > 0), key=lambda p: (-self.pviol[p], p))

    # -- greedy moves -------------------------------------------------------------------
    def greedy_repair(self, max_passes: int = 50) -> int:
        """Boundary moves that lower the total violation (the most compact such move first)."""
        total = 0
        lab, cnt = self.lab, self.cnt
        for _ in range(max_passes):
            if self.multi_violation() == 0 or time.perf_counter() > self.deadline:
                break
            bad = set(self.violated_parts())
            cand = [v for v in self.boundary() if lab[v] in bad or any(lab[u] in bad for u in self.nbr[v])]
            moved = 0
            for i in self.rng.permutation(len(cand)).tolist():
                v = cand[i]
                a = lab[v]
                if cnt[a] <= 1:
                    continue
                best_key, best_b = None, -1
                for g, b in self.gains(v):
                    d = self.move_delta(v, a, b)
                    if d >= -VIOLATION_EPS:
                        continue
                    key = (-g, round(d, 12))
                    if best_key is None or key < best_key:
                        best_key, best_b = key, b
                if best_b < 0 or not self.removable(v, a):
                    continue
                self.move(v, best_b)
                moved += 1
            total += moved
            if not moved:
                break
        return total

    # -- swaps ---------------------------------------------------------------------------
    def swap_repair(self) -> int:
        """Exchange two boundary units between neighbouring parts when that lowers the violation."""
        done = 0
        lab, nbr = self.lab, self.nbr
        for a in self.violated_parts():
            if self.pviol[a] == 0 or time.perf_counter() > self.deadline:
                continue
            mine = [v for v in self.mem[a] if not self.locked[v] and any(lab[u] != a for u in nbr[v])]
            if len(mine) > SWAP_CANDIDATES:
                mine = self.rng.choice(np.asarray(sorted(mine)), SWAP_CANDIDATES, replace=False).tolist()
            best = None
            for v in mine:
                for b in {lab[u] for u in nbr[v] if lab[u] != a}:
                    d1 = self.move_delta(v, a, b)
                    theirs = [u for u in self.mem[b] if not self.locked[u] and u != v and any(lab[y] == a for y in nbr[u])]
                    xv = self.x[v]
                    wa = [p - q for p, q in zip(self.Wm[a], xv)]
                    wb = [p + q for p, q in zip(self.Wm[b], xv)]
                    for u in theirs:
                        xu = self.x[u]
                        va = self._part_violation([p + q for p, q in zip(wa, xu)])
                        vb = self._part_violation([p - q for p, q in zip(wb, xu)])
                        d = va + vb - self.pviol[a] - self.pviol[b]
                        if d < -VIOLATION_EPS and d < d1 and (best is None or d < best[0]):
                            best = (d, v, u, b)
            if best is None:
                continue
            _, v, u, b = best
            if not self.removable(v, a):
                continue
            self.move(v, b)
            if self.cnt[b] > 1 and self.removable(u, b) and any(lab[y] == a for y in nbr[u]):
                self.move(u, a)
                done += 1
            else:
                self.move(v, a)
        return done

    # -- exchanges: one unit in, one unit out ----------------------------------------------
    def _viol_rows(self, W: np.ndarray) -> np.ndarray:
        """Violation of many part-sum vectors at once, shape (..., m) -> (...)."""
        lo, hi, inv = np.asarray(self.mlo), np.asarray(self.mhi), np.asarray(self.inv_tol)
        e = np.maximum(np.maximum(W - hi, lo - W), 0.0) * inv
        return (e * e).sum(axis=-1)

    def exchange_repair(self) -> int:
        """A part outside its box takes a unit ``u`` from a neighbour ``b`` and gives a unit
        ``v`` to a neighbour ``c`` (``c`` may be ``b``: a swap), all pairs scored at once and
        tried best first until one keeps every part connected and lowers the total violation.

        This is the move a part needs when it is short of one measure and at the edge of
        another (short of residents, full of street): no single move, and no chain whose
        every step lowers the part's own violation, can help, but taking a resident-rich
        unit from one side while giving a street-rich one to the other side does."""
        done = 0
        lab, nbr = self.lab, self.nbr
        X = np.asarray(self.x)
        for a in self.violated_parts():
            if self.pviol[a] == 0 or time.perf_counter() > self.deadline:
                continue
            W = np.asarray(self.Wm)
            pv = np.asarray(self.pviol)
            ins = sorted(
                {(u, lab[u]) for v in self.mem[a] for u in nbr[v] if lab[u] != a and not self.locked[u] and self.cnt[lab[u]] > 1}
            )
            outs = sorted({(v, lab[u]) for v in self.mem[a] if not self.locked[v] for u in nbr[v] if lab[u] != a})
            if not ins or not outs:
                continue
            iu = np.fromiter((t[0] for t in ins), np.int64, len(ins))
            ib = np.fromiter((t[1] for t in ins), np.int64, len(ins))
            ov = np.fromiter((t[0] for t in outs), np.int64, len(outs))
            oc = np.fromiter((t[1] for t in outs), np.int64, len(outs))
            xin, xout = X[iu], X[ov]
            new_a = self._viol_rows(W[a] + xin[:, None, :] - xout[None, :, :])
            b_minus = self._viol_rows(W[ib] - xin) - pv[ib]
            c_plus = self._viol_rows(W[oc] + xout) - pv[oc]
            same = ib[:, None] == oc[None, :]
            b_swap = self._viol_rows(W[ib][:, None, :] - xin[:, None, :] + xout[None, :, :]) - pv[ib][:, None]
            delta = new_a - pv[a] + np.where(same, b_swap, b_minus[:, None] + c_plus[None, :])
            order = np.argsort(delta, axis=None, kind="stable")
            for f in order[: SWAP_CANDIDATES * 5].tolist():
                i, o = divmod(f, len(outs))
                if delta[i, o] >= -VIOLATION_EPS:
                    break
                u, b, v, c = int(iu[i]), int(ib[i]), int(ov[o]), int(oc[o])
                if lab[u] != b or lab[v] != a or self.cnt[b] <= 1 or not self.removable(u, b):
                    continue
                before = self.multi_violation()
                self.move(u, a)
                if (
                    lab[v] == a
                    and any(lab[y] == c for y in nbr[v])
                    and self.removable(v, a)
                    and self._after_out(v, a, c) < before - VIOLATION_EPS
                ):
                    self.move(v, c)
                    done += 1
                    break
                self.move(u, b)
        return done

    def _after_out(self, v: int, a: int, c: int) -> float:
        """Total violation if unit ``v`` moved from ``a`` to ``c`` now."""
        return self.multi_violation() + self.move_delta(v, a, c)

    # -- ejection chains -----------------------------------------------------------------
    def _chain_step(self, cur: int, visited: set[int], shuffle: bool) -> tuple[int, int] | None:
        """The move out of (or into) part ``cur`` that lowers its own violation most."""
        lab, nbr = self.lab, self.nbr
        moves = []
        for v in self.mem[cur]:
            if self.locked[v] or self.cnt[cur] <= 1:
                continue
            for b in {lab[u] for u in nbr[v] if lab[u] != cur}:
                if b in visited:
                    continue
                xv = self.x[v]
                own = self._part_violation([p - q for p, q in zip(self.Wm[cur], xv)]) - self.pviol[cur]
                if own < -VIOLATION_EPS:
                    moves.append((own, v, b))
        for b in {lab[u] for v in self.mem[cur] for u in nbr[v] if lab[u] != cur}:
            if b in visited or self.cnt[b] <= 1:
                continue
            for u in self.mem[b]:
                if self.locked[u] or not any(lab[y] == cur for y in nbr[u]):
                    continue
                xu = self.x[u]
                own = self._part_violation([p + q for p, q in zip(self.Wm[cur], xu)]) - self.pviol[cur]
                if own < -VIOLATION_EPS:
                    moves.append((own, u, cur))
        if not moves:
            return None
        moves.sort(key=lambda t: (round(t[0], 12), t[1], t[2]))
        if shuffle:
            top = moves[: min(4, len(moves))]
            order = self.rng.permutation(len(top)).tolist()
            moves = [top[i] for i in order] + moves[len(top) :]
        for _, v, b in moves:
            if self.removable(v, lab[v]):
                return v, b
        return None

    def chain(self, p: int, shuffle: bool) -> bool:
        """Ejection chain from part ``p``; kept only if the total violation drops."""
        start = self.multi_violation()
        log: list[tuple[int, int]] = []
        best_len, best_val = 0, start
        visited = {p}
        cur = p
        for _ in range(CHAIN_STEPS):
            step = self._chain_step(cur, visited, shuffle)
            if step is None:
                break
            v, b = step
            a = self.lab[v]
            self.move(v, b)
            log.append((v, a))
            val = self.multi_violation()
            if val < best_val - VIOLATION_EPS:
                best_len, best_val = len(log), val
            nxt = b if a == cur else a  # the part that took (or gave) the unit carries on
            if self.pviol[nxt] == 0:
                break
            visited.add(nxt)
            cur = nxt
        while len(log) > best_len:
            v, a = log.pop()
            self.move(v, a)
        return best_len > 0

    def chain_repair(self, max_rounds: int = 20, retries: int = CHAIN_RETRIES) -> bool:
        for _ in range(max_rounds):
            bad = self.violated_parts()
            if not bad or time.perf_counter() > self.deadline:
                break
            improved = False
            for p in bad:
                if self.pviol[p] == 0:
                    continue
                for attempt in range(retries):
                    if self.chain(p, shuffle=attempt > 0):
                        improved = True
                        break
            if not improved:
                break
        return self.multi_violation() == 0

    def repair_all(self, *, chains: bool = True) -> float:
        """Greedy moves, swaps, ejection chains (unless ``chains=False``: they are the dearest
        step) and exchanges, until the violation is zero or nothing helps."""
        for _ in range(REPAIR_ROUNDS):
            before = self.multi_violation()
            if before == 0 or time.perf_counter() > self.deadline:
                break
            self.greedy_repair()
            if self.multi_violation() > 0:
                self.swap_repair()
            if self.multi_violation() > 0 and chains:
                self.chain_repair()
            if self.multi_violation() > 0:
                self.exchange_repair()
            if self.multi_violation() >= before - VIOLATION_EPS:
                break
        return self.multi_violation()

    # -- pair re-splits by straight cuts ------------------------------------------------
    def pair_split(self, a: int, b: int, g: _Geometry, angles: np.ndarray) -> bool:
        """Cut the union of neighbouring parts ``a`` and ``b`` again by the best straight
        line; kept if the violation drops, or stays and the shapes improve."""
        members = np.fromiter(sorted(self.mem[a] | self.mem[b]), np.int64)
        if members.size < 3 or any(self.locked[v] for v in members.tolist()):
            return False
        box = (np.asarray(self.mlo), np.asarray(self.mhi))
        found = _line_split(g, members, box, box, angles)
        if found is None:
            return False
        side, _, obj = found
        new_v = self._part_violation(g.x[members[side]].sum(axis=0).tolist()) + self._part_violation(
            g.x[members[~side]].sum(axis=0).tolist()
        )
        old_v = self.pviol[a] + self.pviol[b]
        old_obj = float(
            _shape_score(np.array([self.A[a], self.A[b]]), np.array([self.P[a], self.P[b]]), self.worst_shape_weight).sum()
        )
        if new_v > old_v + VIOLATION_EPS or (new_v >= old_v - VIOLATION_EPS and obj <= old_obj + 1e-9):
            return False
        lab = self.lab
        in_a = np.fromiter((lab[v] == a for v in members.tolist()), bool, members.size)
        if (side & in_a).sum() < (~side & in_a).sum():
            side = ~side
        for v, first in zip(members.tolist(), side.tolist()):
            target = a if first else b
            if lab[v] != target:
                self.move(v, target)
        return True

    def pair_polish(self, g: _Geometry, max_tries: int) -> int:
        """Iterated pair re-splits: parts outside their boxes first, then the worst shapes."""
        k = self.k
        version = [0] * k
        tried: dict[tuple[int, int], tuple[int, int]] = {}
        done = kept = 0
        angles = _angles(self.rng, PAIR_ANGLES)
        while done < max_tries and time.perf_counter() <= self.deadline:
            improved = False
            adjp = self.part_graph()
            pp = [self.polsby_popper(p) for p in range(k)]
            for a in sorted(range(k), key=lambda p: (-self.pviol[p], pp[p], p)):
                for b in sorted(adjp[a], key=lambda q: (-self.pviol[q], pp[q], q)):
                    key = (min(a, b), max(a, b))
                    stamp = (version[key[0]], version[key[1]])
                    if tried.get(key) == stamp or done >= max_tries:
                        continue
                    done += 1
                    if self.pair_split(key[0], key[1], g, angles):
                        kept += 1
                        improved = True
                        version[a] += 1
                        version[b] += 1
                        break
                    tried[key] = stamp
                if improved:
                    break
            if not improved:
                break
        return kept

    # -- region re-splits ---------------------------------------------------------------
    def region_split(self, p: int, g: _Geometry, *, force: bool = False) -> bool:
        """Cut part ``p`` and its neighbours again by recursive straight cuts; kept if the
        total violation drops (the new parts take the old ids by largest overlap).  With
        ``force`` the new cut is made whatever its violation (the caller repairs it and
        judges the result)."""
        from scipy.optimize import linear_sum_assignment

        parts = (
            self._region_parts(p)
            if force
            else [p, *sorted(self.part_graph()[p], key=lambda q: (-self.pviol[q], q))[: REGION_PARTS - 1]]
        )
        members = np.fromiter(sorted(set().union(*(self.mem[q] for q in parts))), np.int64)
        if len(parts) < 2 or any(self.locked[v] for v in members.tolist()):
            return False
        lab = None
        if members.size <= EXACT_UNITS:
            lab = self._exact(members, len(parts))
        if lab is None:
            lab = _bisection_start(g, len(parts), self.rng, members)
        if not _connected_parts(g.adj, members, lab, len(parts)):
            return False  # a fallback cut left a part in pieces
        sums = np.stack([g.x[members[lab == i]].sum(axis=0) for i in range(len(parts))])
        new_v = sum(self._part_violation(row.tolist()) for row in sums)
        if not force and new_v >= sum(self.pviol[q] for q in parts) - VIOLATION_EPS:
            return False
        old = np.fromiter((parts.index(self.lab[v]) for v in members.tolist()), np.int64, members.size)
        overlap = np.zeros((len(parts), len(parts)))
        np.add.at(overlap, (lab, old), 1.0)
        r, c = linear_sum_assignment(overlap, maximize=True)
        to_part = np.empty(len(parts), np.int64)
        to_part[r] = np.asarray(parts)[c]
        for v, i in zip(members.tolist(), lab.tolist()):  # units leave first (no part empties midway)
            if self.lab[v] != to_part[i]:
                self.move(v, int(to_part[i]))
        return True

    def _region_parts(self, p: int) -> list[int]:
        """Part ``p`` and up to ``REGION_PARTS - 1`` more, grown along the part graph, each
        added part the one that brings the region's mean part closest to every box (a part
        short of residents whose neighbours have none to spare reaches past them to one that
        has), so that the region can be cut into parts within their boxes."""
        adjp = self.part_graph()
        W = np.asarray(self.Wm)
        parts, total = [p], W[p].copy()
        while len(parts) < REGION_PARTS:
            cand = sorted(set().union(*(adjp[q] for q in parts)) - set(parts))
            if not cand:
                break
            r = len(parts) + 1
            miss = [float(self._viol_rows((total + W[q]) / r)) for q in cand]
            q = cand[int(np.argmin(miss))]
            parts.append(q)
            total += W[q]
        return parts

    def _exact(self, members: np.ndarray, r: int) -> np.ndarray | None:
        """Labels 0..r-1 of ``members`` packed exactly within the boxes, or None."""
        pos = {v: i for i, v in enumerate(members.tolist())}
        nbr = [[pos[u] for u in self.nbr[v] if u in pos] for v in members.tolist()]
        x = np.asarray([self.x[v] for v in members.tolist()])
        packer = _Packer(nbr, x, np.asarray(self.mlo), np.asarray(self.mhi), EXACT_BUDGET)
        found = packer.pack(set(range(members.size)), r)
        if found is None:
            return None
        lab = np.empty(members.size, np.int64)
        for i, part in enumerate(found):
            lab[sorted(part)] = i
        return lab

    def region_repair(self, g: _Geometry) -> int:
        """Region re-splits of the parts outside their boxes, each followed by the repair
        (a large-neighbourhood step: the new cut need not be better than the old parts, the
        repaired plan must be); a plan no better than before is restored."""
        kept = 0
        for p in self.violated_parts():
            if self.pviol[p] == 0 or time.perf_counter() > self.deadline:
                continue
            saved, before = list(self.lab), self.multi_violation()
            if not self.region_split(p, g, force=True):
                continue
            if self.repair_all(chains=False) < before - VIOLATION_EPS:  # chains follow in the caller's repair
                kept += 1
                continue
            for v, q in enumerate(saved):
                if self.lab[v] != q:
                    self.move(v, q)
        return kept

    # -- compactness under the boxes -----------------------------------------------------
    def _gain_to(self, v: int, b: int) -> float | None:
        return next((g for g, q in self.gains(v) if q == b), None)

    def swap_refine(self, per_side: int | None = None, cap: int = 400) -> int:
        """Compactness swaps under the boxes: unit ``v`` of part ``a`` goes to its neighbour
        ``b`` and a unit ``u`` of ``b`` comes back, when neither move alone may be made (a
        part at the edge of its box) but the pair keeps every part within its box and
        improves the shapes.  The best-gaining units of each side are paired; the pair's
        gain is computed exactly (the second gain after the first move) and the pair is
        undone if it does not pay."""
        lab, nbr = self.lab, self.nbr
        per_side = SWAP_REFINE_CANDIDATES if per_side is None else per_side
        done = 0
        facing: dict[tuple[int, int], list[int]] = {}  # (part, neighbouring part): its units facing it
        for v in self.boundary():
            for q in sorted({lab[u] for u in nbr[v]} - {lab[v]}):
                facing.setdefault((lab[v], q), []).append(v)
        for a, b in sorted({(min(p, q), max(p, q)) for p, q in facing}):
            if time.perf_counter() > self.deadline:
                break
            side = {}
            for p, q in ((a, b), (b, a)):
                cand = []
                for v in facing.get((p, q), []):
                    if lab[v] != p or not any(lab[y] == q for y in nbr[v]):
                        continue
                    g = self._gain_to(v, q)
                    if g is not None:
                        cand.append((g, v))
                cand.sort(key=lambda t: (-t[0], t[1]))
                side[p] = cand[:per_side]
            before = self.pviol[a] + self.pviol[b]
            pairs = []
            for gv, v in side[a]:
                xv = self.x[v]
                for gu, u in side[b]:
                    if gv + gu <= 1e-9 or u in nbr[v]:
                        continue
                    xu = self.x[u]
                    wa = [p - q + r for p, q, r in zip(self.Wm[a], xv, xu)]
                    wb = [p + q - r for p, q, r in zip(self.Wm[b], xv, xu)]
                    if self._part_violation(wa) + self._part_violation(wb) > before + VIOLATION_EPS:
                        continue
                    pairs.append((gv + gu, v, u))
            pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
            for _, v, u in pairs[:SWAP_REFINE_TRIES]:
                if lab[v] != a or lab[u] != b or self.cnt[a] <= 1 or self.cnt[b] <= 1:
                    continue
                if not self.removable(v, a, cap):
                    continue
                g1 = self._gain_to(v, b)
                self.move(v, b)
                g2 = self._gain_to(u, a) if any(lab[y] == a for y in nbr[u]) else None
                if g1 is not None and g2 is not None and g1 + g2 > 1e-9 and self.removable(u, b, cap):
                    self.move(u, a)
                    if self.pviol[a] + self.pviol[b] <= before + VIOLATION_EPS:
                        done += 1
                        break
                    self.move(u, b)
                self.move(v, a)
        return done

    def anneal(self, sweeps: float | None = None, cap: int = ANNEAL_CAP, max_steps: int = ANNEAL_MAX_STEPS) -> int:
        """Simulated annealing over boundary moves (Kirkpatrick, Gelatt & Vecchi 1983).

        A move of a unit to a neighbouring part is drawn at random among the cut edges;
        its donor must stay connected (a search of at most ``cap`` steps, else the move is
        refused); it is scored by the change of the compactness objective less
        :data:`ANNEAL_PENALTY` times the change of the total violation (squared tolerance
        widths), and taken if that is positive, or else with probability ``exp(score / T)``,
        the temperature ``T`` falling geometrically from :data:`ANNEAL_T_START` to
        :data:`ANNEAL_T_END` over ``sweeps`` (default :data:`ANNEAL_SWEEPS`) times the
        number of cut edges (at most ``max_steps``, default :data:`ANNEAL_MAX_STEPS`).  Parts
        may leave their boxes on the way; the best plan met
        (least violation first, then the objective: a plan within every box is only ever
        replaced by one within every box) is restored at the end.  Unlike the improving
        moves and swaps, it climbs out of the local optima a part at the edge of its box
        is stuck in.  The number of steps, not the clock, ends it (same seed, same plan);
        the deadline only cuts it short.  Not for redraws (no home term).  Returns the
        steps drawn."""
        if self.home is not None:
            raise ValueError("anneal does not weigh moved workload (redraws)")
        sweeps = ANNEAL_SWEEPS if sweeps is None else sweeps
        coo = self.adj.tocoo()
        rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
        lab_arr = np.asarray(self.lab)
        steps = min(int(sweeps * int((lab_arr[rows] != lab_arr[cols]).sum())), max_steps)
        f, A, P = self.compactness_objective, self.A, self.P
        obj = sum(f(A[p], P[p]) for p in range(self.k) if self.cnt[p])
        viol = self.multi_violation()
        bad = sum(1 for p in range(self.k) if self.pviol[p] > 0)
        # [steps done, objective, violation, parts outside their box, best violation, best objective]
        state = [0.0, obj, viol, float(bad), viol, obj]
        log: list[tuple[int, int]] = []  # moves since the best plan met
        decay = math.log(ANNEAL_T_END / ANNEAL_T_START) / max(steps, 1)
        while state[0] < steps and time.perf_counter() <= self.deadline:
            lab_arr = np.asarray(self.lab)
            cut = np.flatnonzero(lab_arr[rows] != lab_arr[cols])
            if cut.size == 0:
                break
            batch = min(ANNEAL_BATCH, steps - int(state[0]))
            pick = cut[self.rng.integers(0, cut.size, size=batch)]
            draws = self.rng.random(batch).tolist()
            self._anneal_batch(rows[pick].tolist(), cols[pick].tolist(), draws, state, decay, log, cap)
        for v, a in reversed(log):
            self.move(v, a)
        return int(state[0])

    def _anneal_batch(
        self,
        rows: list[int],
        cols: list[int],
        draws: list[float],
        state: list[float],
        decay: float,
        log: list[tuple[int, int]],
        cap: int,
    ) -> None:
        """Steps of :meth:`anneal` (move ``rows[i]`` to the part of ``cols[i]``), the score
        and the move written out (the state kept as :meth:`move` keeps it); ``state`` and
        ``log`` are updated in place."""
        lab, cnt, nbr, sl, x, locked = self.lab, self.cnt, self.nbr, self.sl, self.x, self.locked
        A, P, ar, pe, W, w, Wm, mem, pviol = self.A, self.P, self.ar, self.pe, self.W, self.w, self.Wm, self.mem, self.pviol
        lo, hi, inv, m = self.mlo, self.mhi, self.inv_tol, self.m
        lam = ANNEAL_PENALTY
        gl, cw, gcw = self.gl, self.cut_weight / self.pmean, self.group_cut_weight / self.pmean
        exp = math.exp
        done, obj, viol, bad, best_viol, best = int(state[0]), state[1], state[2], int(state[3]), state[4], state[5]

        f = self.compactness_objective
        F = [f(A[p], P[p]) if cnt[p] else 0.0 for p in range(self.k)]  # every part's share of the objective
        for v, u, r in zip(rows, cols, draws):
            done += 1
            a, b = lab[v], lab[u]
            if a == b or cnt[a] <= 1 or locked[v]:
                continue
            xv, wa, wb = x[v], Wm[a], Wm[b]
            va = vb = 0.0
            for j in range(m):
                y = wa[j] - xv[j]
                e = y - hi[j] if y > hi[j] else (lo[j] - y if y < lo[j] else 0.0)
                if e:
                    va += (e * inv[j]) ** 2
                y = wb[j] + xv[j]
                e = y - hi[j] if y > hi[j] else (lo[j] - y if y < lo[j] else 0.0)
                if e:
                    vb += (e * inv[j]) ** 2
            sa = sb = ga = gb = 0.0
            for y_, length, inside in zip(nbr[v], sl[v], gl[v] if gl is not None else sl[v]):
                ly = lab[y_]
                if ly == a:
                    sa += length
                    ga += inside
                elif ly == b:
                    sb += length
                    gb += inside
            pv, av = pe[v], ar[v]
            new_pa, new_pb = P[a] - pv + 2.0 * sa, P[b] + pv - 2.0 * sb
            fa, fb = f(A[a] - av, new_pa), f(A[b] + av, new_pb)
            g = fa - F[a] + fb - F[b] - cw * (sa - sb)
            if gl is not None:
                g -= gcw * (ga - gb)
            dv = va + vb - pviol[a] - pviol[b]
            t = g - lam * dv
            if t < 0 and r >= exp(t / (ANNEAL_T_START * exp(decay * done))):
                continue
            if not self.removable(v, a, cap):
                continue
            bad += (va > 0) + (vb > 0) - (pviol[a] > 0) - (pviol[b] > 0)
            viol = 0.0 if not bad else viol + dv
            pviol[a], pviol[b] = va, vb
            P[a], P[b] = new_pa, new_pb
            F[a], F[b] = fa, fb
            A[a] -= av
            A[b] += av
            W[a] -= w[v]
            W[b] += w[v]
            cnt[a] -= 1
            cnt[b] += 1
            mem[a].discard(v)
            mem[b].add(v)
            lab[v] = b
            for j in range(m):
                wa[j] -= xv[j]
                wb[j] += xv[j]
            log.append((v, a))
            obj += g
            if viol < best_viol - VIOLATION_EPS or (
                obj > best + 1e-12 and (not bad if best_viol == 0 else viol <= best_viol + VIOLATION_EPS)
            ):
                best_viol, best = viol, obj
                log.clear()
        state[:] = [done, obj, viol, bad, best_viol, best]

    def multi_refine(self, max_passes: int = REFINE_PASSES, cap: int = 400) -> int:
        """Compactness moves that keep the violation from growing (no part leaves its box)."""
        lab, cnt, nbr = self.lab, self.cnt, self.nbr
        total = 0
        cand = self.boundary()
        for _ in range(max_passes):
            if time.perf_counter() > self.deadline:
                break
            moved = 0
            touched: set[int] = set()
            for i in self.rng.permutation(len(cand)).tolist():
                v = cand[i]
                a = lab[v]
                if cnt[a] <= 1:
                    continue
                best_g, best_b = 1e-12, -1
                for g, b in self.gains(v):
                    if g <= best_g or self.move_delta(v, a, b) > VIOLATION_EPS:
                        continue
                    best_g, best_b = g, b
                if best_b < 0 or not self.removable(v, a, cap):
                    continue
                self.move(v, best_b)
                moved += 1
                touched.add(v)
                touched.update(nbr[v])
            total += moved
            if not moved:
                break
            cand = [v for v in sorted(touched) if not self.locked[v] and any(lab[u] != lab[v] for u in nbr[v])]
        return total


# ----------------------------------------------------------------------------------------
# entry point
# ----------------------------------------------------------------------------------------


def _heavy_units(x: np.ndarray, k: int, tol: np.ndarray, names: list[str]) -> list[str]:
    scaled = _scaled(x, k)
    out = []
    for j, name in enumerate(names):
        i = int(np.argmax(scaled[:, j]))
        if scaled[i, j] > 1 + tol[j]:
            out.append(f"unit {i} alone holds {scaled[i, j]:.3f} x a mean grid's {name} (above {1 + tol[j]:.3f})")
    return out


def _search_for(
    adj: sp.csr_array,
    labels: np.ndarray,
    k: int,
    scaled: np.ndarray,
    tol: np.ndarray,
    combined: np.ndarray,
    ar: np.ndarray,
    pe: np.ndarray,
    groups: np.ndarray | None,
    rng: np.random.Generator,
    deadline: float,
    old: np.ndarray | None,
) -> _MultiSearch:
    mean = float(combined.sum() / k)
    problem = Problem(
        adjacency=adj,
        n_parts=k,
        weights=combined,
        areas=ar,
        perimeters=pe,
        lo=0.0,
        hi=math.inf,
        tolerance=math.inf,
        deadline=deadline,
        groups=groups,
    )
    base = _Search(problem, labels, rng, home=old, home_weight=(0.5 / mean) if old is not None else 0.0)
    base.group_cut_weight = 0.5 if groups is not None else 0.0
    base.worst_shape_weight = 0.02
    return _MultiSearch(base, scaled, tol)


def _compact(s: _MultiSearch, rounds: int | None = None) -> None:
    """Compactness moves, then compactness swaps, until neither improves the shapes."""
    s.multi_refine()
    for _ in range(COMPACT_ROUNDS if rounds is None else rounds):
        if time.perf_counter() > s.deadline or not s.swap_refine():
            break
        s.multi_refine()


def _improve(s: _MultiSearch, geo: _Geometry, k: int) -> np.ndarray:
    """Pair re-splits, repair (moves, swaps, chains, region re-splits), pair re-splits for
    shape, then compactness moves and swaps under the boxes (the annealing follows on the
    best plan of all starts, :func:`_anneal_best`)."""
    budget = PAIR_SWEEPS * 3 * k
    s.pair_polish(geo, budget)
    s.repair_all()
    for _ in range(REGION_ROUNDS):
        if s.multi_violation() == 0 or not s.region_repair(geo):
            break
        s.repair_all()
    if s.multi_violation() == 0:
        s.set_floor()
    s.pair_polish(geo, budget)
    _compact(s)
    if s.multi_violation() > 0:
        s.repair_all()
    return np.asarray(s.lab, dtype=np.int64)


def _anneal_best(
    best: tuple[tuple[float, float], np.ndarray],
    adj: sp.csr_array,
    k: int,
    scaled: np.ndarray,
    tol: np.ndarray,
    combined: np.ndarray,
    ar: np.ndarray,
    pe: np.ndarray,
    groups: np.ndarray | None,
    seed: int,
    deadline: float,
    effort: float = 1.0,
) -> tuple[tuple[float, float], np.ndarray]:
    """Simulated annealing under the boxes (:meth:`_MultiSearch.anneal`, its steps times
    ``effort``) on the best plan of all starts, then the compactness moves and swaps; the
    annealed plan is kept if it is no worse (violation first, then mean plus half the worst
    Polsby-Popper)."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, ANNEAL_STREAM])
    s = _search_for(adj, best[1], k, scaled, tol, combined, ar, pe, groups, rng, deadline, None)
    if s.multi_violation() == 0:
        s.set_floor()
    s.anneal(sweeps=ANNEAL_SWEEPS * effort, max_steps=int(ANNEAL_MAX_STEPS * effort))
    _compact(s)
    key = _plan_key(s)
    return (key, np.asarray(s.lab, dtype=np.int64)) if key <= best[0] else best


def _spectral_xy(adj: sp.csr_array) -> np.ndarray:
    """Coordinates from the graph alone (the Fiedler vector and the next one of the Laplacian,
    a spectral layout), for straight cuts when no unit centroids are given."""
    n = adj.shape[0]
    if n < 4:
        return np.column_stack([np.arange(n, dtype=float), np.zeros(n)])
    a = sp.csr_array((np.ones(adj.nnz), adj.indices, adj.indptr), shape=adj.shape)
    lap = sp.diags_array(np.asarray(a.sum(axis=1)).ravel()) - a
    if n <= SPECTRAL_DENSE:
        _, vec = np.linalg.eigh(lap.toarray())
    else:
        from scipy.sparse.linalg import eigsh

        v0 = np.random.default_rng(0).uniform(-1, 1, n)
        _, vec = eigsh(lap.astype(float), k=3, sigma=-1e-3, which="LM", v0=v0)
    return np.asarray(vec[:, 1:3], dtype=float)


def _centroids(centroids: np.ndarray | None, n: int) -> np.ndarray | None:
    if centroids is None:
        return None
    xy = np.asarray(centroids, dtype=np.float64)
    if xy.shape != (n, 2) or not np.isfinite(xy).all():
        raise DataError(f"centroids must be finite, one (x, y) per unit, shape ({n}, 2); got {xy.shape}")
    return xy


def _starts(
    adj: sp.csr_array,
    k: int,
    scaled: np.ndarray,
    tol: np.ndarray,
    combined: np.ndarray,
    ar: np.ndarray,
    pe: np.ndarray,
    groups: np.ndarray | None,
    geo: _Geometry,
    old_labels: np.ndarray | None,
    seed: int,
    time_limit: float | None,
    effort: float = 1.0,
) -> Iterator[Callable[[], tuple[np.ndarray, np.ndarray | None]]]:
    """Starting plans, each with its home labels (redraws) or None: recursive straight cuts;
    for redraws first the kernel's least-disruption redraw on the combined workload.  Each
    start comes as a function that makes it, so that a start the caller does not try costs
    nothing."""
    sub_seed = int(np.random.default_rng([seed & 0xFFFFFFFF, 0]).integers(2**31 - 1))

    def cuts(attempt: int) -> np.ndarray:
        return _bisection_start(geo, k, np.random.default_rng([seed & 0xFFFFFFFF, 100 + attempt]))

    kernel_kw: dict[str, Any] = {
        "areas": ar,
        "perimeters": pe,
        "tolerance": float(tol.min()),
        "strict": False,
        "time_limit": time_limit,
    }
    if old_labels is not None:
        old = np.asarray(old_labels)

        def redraw() -> tuple[np.ndarray, np.ndarray | None]:
            res = resplit_graph(adj, combined, old, k, seed=sub_seed, **kernel_kw)
            return res.labels, _home(res.matching, old)

        def matched_cuts(attempt: int) -> tuple[np.ndarray, np.ndarray | None]:
            lab = cuts(attempt)
            return lab, _home(_matching(lab, old, combined, k), old)

        yield redraw
        for attempt in range(BISECTION_STARTS):  # fresh cuts, matched to the old plan (tried when the first misses)
            yield functools.partial(matched_cuts, attempt)
        return

    def plain_cuts(attempt: int) -> tuple[np.ndarray, np.ndarray | None]:
        return cuts(attempt), None

    def kernel() -> tuple[np.ndarray, np.ndarray | None]:
        res = partition_graph(adj, combined, k, seed=sub_seed, effort=effort, **kernel_kw)
        return res.labels, None

    for attempt in range(max(RETRY_STARTS, _planned_starts(adj.shape[0]))):  # the later ones only while no
        if attempt == _planned_starts(adj.shape[0]):  # plan fits; the planned cuts all missed: next, the
            yield kernel  # one-measure kernel's plan on the combined workload (compact, each measure near its mean already)
        yield functools.partial(plain_cuts, attempt)


def _planned_starts(n: int) -> int:
    return max(BISECTION_STARTS, min(SMALL_STARTS, SMALL_UNITS // max(n, 1)))


def _plan_key(s: _MultiSearch) -> tuple[float, float]:
    pp = [s.polsby_popper(p) for p in range(s.k)]
    return (round(s.multi_violation(), 9), -(float(np.mean(pp)) + 0.5 * min(pp)))


def partition_multi(
    adjacency: sp.csr_array | sp.csr_matrix,
    measures: np.ndarray,
    tolerances: np.ndarray,
    n_parts: int,
    *,
    names: list[str],
    areas: np.ndarray,
    perimeters: np.ndarray,
    seed: int = 0,
    groups: np.ndarray | None = None,
    centroids: np.ndarray | None = None,
    old_labels: np.ndarray | None = None,
    time_limit: float | None = None,
    strict: bool = True,
    effort: float = 1.0,
) -> MultiBalanceResult:
    """Partition a unit graph into contiguous, compact parts balanced on several measures.

    Parameters
    ----------
    adjacency, areas, perimeters, seed, groups, centroids, time_limit
        As in :func:`gridplan._partition.partition_graph`.
    measures : numpy.ndarray, shape (n, m)
        Every unit's value of every measure (finite, >= 0, each measure > 0 somewhere).
    tolerances : numpy.ndarray, shape (m,)
        Every part within ``±tolerances[j]`` of the mean on measure ``j``.
    n_parts : int
    names : list of str
        The measures' names, for messages and results.
    old_labels : numpy.ndarray, optional
        An existing plan to redraw with least disruption (then the start is
        :func:`~gridplan._partition.resplit_graph` on the combined workload, and
        the refinement weighs moved workload).
    strict : bool
        Raise :class:`~gridplan.errors.InfeasibleError` naming the measure and by how
        much it misses, or (False) return the best plan with ``feasible=False``.
    effort : float, default 1
        The annealing's steps (and the one-measure kernel's starts, when it gives a
        start) times ``effort``: more compact plans for proportionally more time.

    Returns
    -------
    MultiBalanceResult

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> path = sp.csr_array(sp.diags([1.0, 1.0], [-1, 1], (6, 6)))
    >>> x = np.array([[1, 2], [1, 0], [1, 1], [1, 1], [1, 0], [1, 2]], float)
    >>> res = partition_multi(path, x, np.array([0.01, 0.01]), 2, names=["a", "b"],
    ...                       areas=np.ones(6), perimeters=np.full(6, 4.0))
    >>> sorted(np.bincount(res.labels).tolist()), bool(res.labels[0] == res.labels[2]), res.feasible
    ([3, 3], True, True)
    """
    t0 = time.perf_counter()
    adj = _check_graph(adjacency)
    n = adj.shape[0]
    x, tol = _check_measures(measures, n, list(names), tolerances)
    names = list(names)
    k = _validate.integer(n_parts, "n_parts")
    ar = np.asarray(areas, dtype=float)
    pe = np.maximum(np.asarray(perimeters, dtype=float), np.asarray(adj.sum(axis=1)).ravel())
    heavy = _heavy_units(x, k, tol, names)
    if heavy and strict:
        raise InfeasibleError(
            "No plan can keep every grid within its tolerance: "
            + "; ".join(heavy)
            + ". Split that unit, ask for fewer grids, raise that measure's tolerance, "
            "or pass strict=False for the best plan anyway."
        )
    deadline = math.inf if time_limit is None else t0 + float(time_limit)
    scaled = _scaled(x, k)
    combined = _combined(scaled, tol)
    xy = _centroids(centroids, n)
    if xy is None:
        xy = _spectral_xy(adj)
    geo = _Geometry(adj, xy, scaled, tol, ar, pe)
    best: tuple[tuple[float, float], np.ndarray] | None = None
    starts = _starts(adj, k, scaled, tol, combined, ar, pe, groups, geo, old_labels, seed, time_limit, effort)
    for attempt, start in enumerate(starts):
        fits = best is not None and best[0][0] == 0
        if attempt and (
            time.perf_counter() > deadline
            or (fits and (old_labels is not None or n > LARGE_UNITS))
            or (attempt >= _planned_starts(n) and (fits or n > LARGE_UNITS))
        ):
            break  # out of time; a redraw or a big graph within the tolerances; the planned starts done and a
            # plan fits (more starts are tried, up to RETRY_STARTS, only while none does)
        labels0, home = start()
        labels0 = _make_contiguous(adj, labels0, combined, k)
        s = _search_for(
            adj,
            labels0,
            k,
            scaled,
            tol,
            combined,
            ar,
            pe,
            groups,
            np.random.default_rng([seed & 0xFFFFFFFF, attempt, 1]),
            deadline,
            home,
        )
        labels = _improve(s, geo, k)
        key = _plan_key(s)
        if best is None or key < best[0]:
            best = (key, labels)
    assert best is not None
    if old_labels is None and ANNEAL_SWEEPS > 0:
        best = _anneal_best(best, adj, k, scaled, tol, combined, ar, pe, groups, seed, deadline, effort)
    if best[0][0] > 0 and n <= EXACT_UNITS:  # a small graph: exhaustive search before giving up
        s = _search_for(adj, best[1], k, scaled, tol, combined, ar, pe, groups, np.random.default_rng(seed), deadline, None)
        exact = s._exact(np.arange(n), k)
        if exact is not None:
            s = _search_for(adj, exact, k, scaled, tol, combined, ar, pe, groups, np.random.default_rng(seed), deadline, None)
            s.set_floor()
            s.multi_refine()
            best = (_plan_key(s), np.asarray(s.lab, dtype=np.int64))
    labels = _make_contiguous(adj, best[1], _combined(scaled, tol), k)
    spread = measure_spreads(x, labels, k)
    feasible = bool((spread[:, 1] <= 1 + tol + 1e-9).all() and (spread[:, 0] >= 1 - tol - 1e-9).all())
    pp = _polsby_popper(adj, labels, k, ar, pe)
    result = MultiBalanceResult(
        labels=labels,
        names=names,
        tolerances=tol,
        spread=spread,
        feasible=feasible,
        polsby_popper=pp,
        contiguous=bool(_is_contiguous(adj, labels, k)),
        seed=int(seed),
    )
    if old_labels is not None:
        result.disruption = _disruption(labels, np.asarray(old_labels), _combined(scaled, tol), k)
    if not feasible and strict:
        raise InfeasibleError(
            infeasible_message(result) + "; raise that measure's tolerance, use smaller units, "
            "or pass strict=False to get this plan anyway"
        )
    return result


def infeasible_message(result: MultiBalanceResult) -> str:
    """Which measures miss their tolerance, and by how much."""
    parts = []
    for j, name in enumerate(result.names):
        lo, hi = result.spread[j]
        t = result.tolerances[j]
        miss = max(hi - 1 - t, 1 - t - lo)
        if miss > 1e-9:
            parts.append(f"{name} ranges {lo:.3f}-{hi:.3f} of the mean, outside ±{t:.1%} by {miss:.1%}")
    return "no plan within every tolerance was found: " + "; ".join(parts)


def _matching(labels: np.ndarray, old: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """Old label matched to every new part (most shared workload), -1 if none."""
    from scipy.optimize import linear_sum_assignment

    ids, o = np.unique(old, return_inverse=True)
    ov = np.zeros((k, ids.size))
    np.add.at(ov, (labels, o), w)
    r, c = linear_sum_assignment(ov, maximize=True)
    out = np.full(k, -1, np.int64)
    out[r] = ids[c]
    return out


def _home(matching: np.ndarray | None, old: np.ndarray) -> np.ndarray | None:
    if matching is None:
        return None
    to_new = {int(o): p for p, o in enumerate(matching.tolist()) if o >= 0}
    return np.asarray([to_new.get(int(o), -1) for o in old], dtype=np.int64)


def _disruption(labels: np.ndarray, old: np.ndarray, w: np.ndarray, k: int) -> float:
    from scipy.optimize import linear_sum_assignment

    _, o = np.unique(old, return_inverse=True)
    ov = np.zeros((k, int(o.max()) + 1))
    np.add.at(ov, (labels, o), w)
    r, c = linear_sum_assignment(ov, maximize=True)
    return float(1.0 - ov[r, c].sum() / w.sum())


def _polsby_popper(adj: sp.csr_array, labels: np.ndarray, k: int, ar: np.ndarray, pe: np.ndarray) -> np.ndarray:
    coo = adj.tocoo()
    same = labels[coo.row] == labels[coo.col]
    A = np.bincount(labels, weights=ar, minlength=k)
    P = np.bincount(labels, weights=pe, minlength=k) - np.bincount(labels[coo.row[same]], weights=coo.data[same], minlength=k)
    return _FOUR_PI * A / np.maximum(P, 1e-300) ** 2
