"""Planned carves for a resplit: where the new parts go and who gives what to whom.

New parts are placed among the old parts where a min-cost flow (:func:`flow_plan`, a linear
program solved by HiGHS) moves the least workload so that every part ends within the
bounds; every receiving part then grows compactly into its donors (:func:`grow_plan`).
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

from .problem import Problem
from .search import Search

#: New parts are placed among the old parts within PLAN_NEAR x a part radius (one plan per
#: value), SEPARATION radii apart, with REVISIONS revision passes; parts sharing less than
#: CONTACT radii of boundary are not neighbours for the plan.
PLAN_NEAR = (0.3, 0.45, 0.6)
SEPARATION = 1.5
REVISIONS = 1
CONTACT = 0.2
#: Candidate places for a new part, most surplus around them first.
MAX_PLACES = 60
#: A new part may take a unit of another part towards a donor it does not touch yet this
#: many times (a bridge).
MAX_BRIDGES = 30
#: Rounds of planning flows again on the current part graph after growing.
REPLAN_ROUNDS = 3


def _unit_graph(adj: sp.csr_array, ar: np.ndarray) -> sp.csr_array:
    """The unit graph with centre-to-centre lengths (mean square root of the areas)."""
    coo = adj.tocoo()
    root = np.sqrt(ar)
    dist = 0.5 * (root[coo.row] + root[coo.col])
    return sp.csr_array((dist, (coo.row, coo.col)), shape=adj.shape)


def _part_edges(adj: sp.csr_array, lab: np.ndarray, k: int, min_len: float) -> list[tuple[int, int]]:
    """Pairs of parts sharing at least ``min_len`` of boundary (every touching pair
    if that would leave the part graph disconnected)."""
    coo = adj.tocoo()
    diff = lab[coo.row] < lab[coo.col]
    shared = sp.coo_array((coo.data[diff], (lab[coo.row[diff]], lab[coo.col[diff]])), shape=(k, k)).tocsr()
    shared.sum_duplicates()
    c = shared.tocoo()
    strong = c.data >= min_len
    g = sp.csr_array((np.ones(int(strong.sum())), (c.row[strong], c.col[strong])), shape=(k, k))
    if connected_components(g, directed=False)[0] > 1:
        strong[:] = True
    return sorted(zip(c.row[strong].tolist(), c.col[strong].tolist()))


def _flow_plan(
    W: np.ndarray,
    edges: list[tuple[int, int]],
    sets: list[list[int]],
    lo: float,
    hi: float,
) -> tuple[float, dict[tuple[int, int], float]]:
    """Least workload moved so that every part ends within ``[lo, hi]``.

    Old parts ``0 .. m-1`` (workloads ``W``) exchange workload along the part-graph
    ``edges``; new part ``m + q`` (empty) takes workload from the old parts in
    ``sets[q]``.  A min-cost flow, solved as a linear program; returns the workload
    moved and the flows, or ``inf`` if no flow meets the bounds.
    """
    from scipy.optimize import linprog

    m = W.size
    nodes = m + len(sets)
    arcs = [(a, b) for a, b in edges] + [(b, a) for a, b in edges]
    arcs += [(a, m + q) for q, S in enumerate(sets) for a in S]
    if not arcs:
        return math.inf, {}
    ne = len(arcs)
    tail = np.fromiter((a for a, _ in arcs), np.int64, ne)
    head = np.fromiter((b for _, b in arcs), np.int64, ne)
    inc = sp.csr_array(
        (np.r_[np.ones(ne), -np.ones(ne)], (np.r_[head, tail], np.r_[np.arange(ne), np.arange(ne)])),
        shape=(nodes, ne),
    )  # inflow - outflow
    Wn = np.r_[W, np.zeros(len(sets))]
    # lo <= Wn + inc f <= hi
    A_ub = sp.vstack([inc, -inc]).tocsr()
    b_ub = np.r_[hi - Wn, Wn - lo]
    # a hair more for transfers between old parts: they cut into a part that stays
    cost = np.where(head < m, 1.0 + 1e-3, 1.0)
    res = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    if res.status != 0:
        return math.inf, {}
    flows = {arcs[i]: float(x) for i, x in enumerate(res.x) if x > 1e-9 * max(1.0, hi)}
    return float(res.fun), flows


def _part_distances(g: sp.csr_array, lab: np.ndarray, m: int) -> np.ndarray:
    """Graph distance from every unit to every part, shape (m, n)."""
    out = np.empty((m, lab.size))
    for a in range(m):
        out[a] = dijkstra(g, directed=False, indices=np.flatnonzero(lab == a), min_only=True)
    return out


def _plan_seeds(
    g: sp.csr_array,
    dpart: np.ndarray,
    edges: list[tuple[int, int]],
    lab: np.ndarray,
    n_new: int,
    W: np.ndarray,
    radius: float,
    lo: float,
    hi: float,
    free: np.ndarray,
    near_r: float,
    max_cands: int = MAX_PLACES,
) -> tuple[list[int], dict[tuple[int, int], float], float] | None:
    """Places for the new parts, and the workload every part gives to every other.

    Every unit gets the set of old parts within ``near_r`` that connect to its own
    part through such parts; the most central unit of each set is a candidate
    place.  New parts are placed one at a time (then revised once) where the
    min-cost flow of :func:`_flow_plan` moves the least workload, the parts not
    placed yet being allowed to take from anywhere.  Returns the seed unit of every
    new part, the planned flows and the workload they move.
    """
    m, n = dpart.shape
    near = dpart <= near_r
    surplus = np.maximum(W - hi, 0.0)
    padj: dict[int, set[int]] = {a: set() for a in range(m)}
    for a, b in edges:
        padj[a].add(b)
        padj[b].add(a)
    groups: dict[tuple[int, ...], int] = {}
    score: dict[tuple[int, ...], float] = {}
    for v in np.flatnonzero(free).tolist():
        close = set(np.flatnonzero(near[:, v]).tolist())
        comp, stack = {int(lab[v])}, [int(lab[v])]
        while stack:
            x = stack.pop()
            for y in padj[x]:
                if y in close and y not in comp:
                    comp.add(y)
                    stack.append(y)
        S = tuple(sorted(comp))
        c = float(dpart[list(S), v].max())
        if S not in groups or c < score[S]:
            groups[S], score[S] = v, c
    cands = [(S, v) for S, v in groups.items() if surplus[list(S)].sum() > 0]
    if not cands:
        cands = list(groups.items())
    cands.sort(key=lambda c: (-min(surplus[list(c[0])].sum(), hi), -len(c[0]), c[1]))
    cands = cands[:max_cands]
    everywhere = list(range(m))
    seed_dist: dict[int, np.ndarray] = {}

    def dist_from(v: int) -> np.ndarray:
        if v not in seed_dist:
            seed_dist[v] = dijkstra(g, directed=False, indices=v)
        return seed_dist[v]

    def best_for(others: list[tuple[tuple[int, ...], int]]) -> tuple | None:
        best = None
        for S, v in cands:
            if any(dist_from(u)[v] < SEPARATION * radius for _, u in others):
                continue
            sets = [list(T) for T, _ in others] + [list(S)]
            sets += [everywhere] * (n_new - len(sets))
            cost, _ = _flow_plan(W, edges, sets, lo, hi)
            key = (round(cost / hi, 6), -len(S), v)
            if best is None or key < best[0]:
                best = (key, (S, v))
        return best

    placed: list[tuple[tuple[int, ...], int]] = []
    for _ in range(n_new):
        found = best_for(placed)
        if found is None:
            return None
        placed.append(found[1])
    for _ in range(REVISIONS if n_new > 1 else 0):  # revise each place in turn
        changed = False
        for q in range(n_new):
            others = placed[:q] + placed[q + 1 :]
            found = best_for(others)
            if found is not None and found[1] != placed[q]:
                sets = [list(T) for T, _ in placed]
                now = _flow_plan(W, edges, sets, lo, hi)[0]
                if round(found[0][0] * hi, 6) < round(now, 6) - 1e-9 * hi:
                    placed = others[:q] + [found[1]] + others[q:]
                    changed = True
        if not changed:
            break
    cost, flows = _flow_plan(W, edges, [list(S) for S, _ in placed], lo, hi)
    if not math.isfinite(cost):
        return None
    # the seed: near the donors in proportion to what they give, away from the rest
    seeds = []
    for q, (_, v0) in enumerate(placed):
        give = np.zeros(m)
        for (a, b), amount in flows.items():
            if b == m + q:
                give[a] = amount
        donors = np.flatnonzero(give > 0)
        if donors.size == 0:
            seeds.append(v0)
            continue
        inside = np.isin(lab, donors) & free
        cost_v = (give[donors, None] * dpart[donors]).sum(axis=0) / give.sum()
        rest = np.setdiff1d(np.arange(m), donors)
        away = dpart[rest].min(axis=0) if rest.size else np.zeros(n)
        key = cost_v - 0.25 * np.minimum(away, radius) + 0.1 * dist_from(v0)
        seeds.append(int(np.argmin(np.where(inside, key, np.inf))))
    return seeds, flows, cost


def _grow_plan(
    s: Search,
    g: sp.csr_array,
    m: int,
    seeds: list[int],
    flows: dict[tuple[int, int], float],
    dpart: np.ndarray | None = None,
    max_bridge: int = MAX_BRIDGES,
) -> None:
    """Carry out planned flows: every receiving part grows compactly (by distance
    from a seed) into its donors, taking from each about the planned workload.

    New part ``m + q`` starts at ``seeds[q]``; an old part receiving from a donor
    takes a bite of it centred on the middle of their shared border.  Receivers
    take one unit each in turn, the nearest to their seed among the donor units
    they touch whose donor stays connected and has workload left to give.  A new
    part that touches none of its donors' units with workload left takes a unit of
    another part towards the nearest such donor (a bridge; ``dpart`` gives the
    distances to the parts), at most ``max_bridge`` times.
    """
    lab, w, nbr, locked = s.lab, s.w, s.nbr, s.locked
    growers = []  # [receiver, seed distances, {donor: workload left to take}]
    by_recv: dict[int, dict[int, float]] = {}
    for (a, b), x in sorted(flows.items()):
        by_recv.setdefault(b, {})[a] = x
    for t in sorted(by_recv):
        quota = by_recv[t]
        if t >= m:
            v = seeds[t - m]
            a = lab[v]
            if s.cnt[a] > 1 and not locked[v] and s.removable(v, a):
                s.move(v, t)
                if a in quota:
                    quota[a] -= w[v]
            if s.cnt[t] == 0:
                continue
            growers.append([t, dijkstra(g, directed=False, indices=v), quota, max_bridge, dict(quota)])
        else:
            for a, x in sorted(quota.items()):
                border = [u for u in s.mem[a] if any(lab[y] == t for y in nbr[u])]
                if not border:
                    continue
                db = dijkstra(g, directed=False, indices=border)[:, border]
                c = border[int(np.argmin(db.sum(axis=1)))]
                growers.append([t, dijkstra(g, directed=False, indices=c), {a: x}, 0, {}])
    # frontier of every receiver: units next to it (checked again when used)
    front: dict[int, set[int]] = {}
    for t, *_ in growers:
        if t not in front:
            f: set[int] = set()
            for v in s.mem[t]:
                f.update(u for u in nbr[v] if lab[u] != t)
            front[t] = f
    active = list(range(len(growers)))
    while active:
        still = []
        for i in active:
            t, d, quota, bridges, planned = growers[i]
            f = front[t]
            cand = []
            stale = []
            for u in f:
                a = lab[u]
                if a == t:
                    stale.append(u)
                    continue
                r = quota.get(a, 0.0)
                if r <= 0 or locked[u] or w[u] > 2.0 * r or s.cnt[a] <= 1:
                    continue
                cand.append((d[u], u))
            f.difference_update(stale)
            cand.sort()
            best_u = -1
            for _, u in cand:
                if any(lab[y] == t for y in nbr[u]) and s.removable(u, lab[u]):
                    best_u = u
                    break
                if not any(lab[y] == t for y in nbr[u]):
                    f.discard(u)
            if best_u < 0 and bridges > 0 and dpart is not None:
                # bridge towards a donor not reached yet, the one giving the most
                unreached = [(r, a) for a, r in quota.items() if r >= planned.get(a, 0.0)]
                r_max, a_to = max(unreached) if unreached else (0.0, -1)
                if r_max > 0 and s.cnt[a_to] > 1:
                    brid = sorted(
                        (dpart[a_to][u], w[u], u)
                        for u in f
                        if lab[u] != t and lab[u] != a_to and not locked[u] and s.cnt[lab[u]] > 1
                    )
                    for _, _, u in brid:
                        if any(lab[y] == t for y in nbr[u]) and s.removable(u, lab[u]):
                            best_u = u
                            growers[i][3] -= 1
                            break
            if best_u < 0:
                continue
            a = lab[best_u]
            s.move(best_u, t)
            if a in quota:
                quota[a] -= w[best_u]
            f.discard(best_u)
            for u in nbr[best_u]:
                if lab[u] != t:
                    f.add(u)
            for tt, ff in front.items():  # a unit leaving a receiver opens its border
                if tt == a:
                    ff.add(best_u)
            if any(r > 0 for r in quota.values()):
                still.append(i)
        active = still


def _replan(s: Search, g: sp.csr_array, k: int, lo: float, hi: float, min_len: float, rounds: int = REPLAN_ROUNDS) -> None:
    """Plan and carry out flows again on the current part graph until balanced."""
    for _ in range(rounds):
        W = np.asarray(s.W[:k])
        if ((W >= lo) & (W <= hi)).all():
            return
        lab = np.asarray(s.lab, dtype=np.int64)
        edges = _part_edges(s.adj, lab, k, min_len)
        cost, flows = _flow_plan(W, edges, [], lo, hi)
        if not math.isfinite(cost) or not flows:
            return
        _grow_plan(s, g, k, [], flows)


def planned_carves(problem: Problem, labels: np.ndarray, m: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Plans carved from the old parts (``labels``, ``m`` parts) into ``problem.n_parts``
    parts, one per distinct placement of the new parts (several neighbourhood radii)."""
    adj, k, w, ar = problem.adjacency, problem.n_parts, problem.weights, problem.areas
    lo, hi, locked = problem.lo, problem.hi, problem.locked
    n = labels.size
    g = _unit_graph(adj, ar)
    radius = math.sqrt(float(ar.sum()) / k / math.pi)
    min_len = CONTACT * radius
    edges = _part_edges(adj, labels, m, min_len)
    dpart = _part_distances(g, labels, m)
    W = np.bincount(labels, weights=w, minlength=m)
    free = np.ones(n, bool) if locked is None else ~locked
    out: list[np.ndarray] = []
    seen: set[tuple[tuple[int, ...], float]] = set()
    for near in PLAN_NEAR:
        if out and time.perf_counter() > problem.deadline:
            break
        plan = _plan_seeds(g, dpart, edges, labels, k - m, W, radius, lo, hi, free, near * radius)
        if plan is None or (tuple(plan[0]), round(plan[2], 9)) in seen:
            continue
        seen.add((tuple(plan[0]), round(plan[2], 9)))
        s = Search(problem, labels, rng)
        _grow_plan(s, g, m, plan[0], plan[1], dpart)
        _replan(s, g, k, lo, hi, min_len)
        out.append(np.asarray(s.lab, dtype=np.int64))
    return out
