"""The local search state: a labelling with its part sums, the objective and single-unit moves.

:class:`Search` keeps every part's workload, area, perimeter and members up to date as units
move (pure Python lists: fastest for per-unit updates), scores a move by the change of
:meth:`Search.compactness_objective`, tests contiguity locally (:meth:`Search.removable`) and
runs the two move loops every step uses: :meth:`Search.refine` (improving moves within the
bounds) and :meth:`Search.diffuse` (moves from heavier to lighter parts).  The balance repairs
built on it live in :mod:`.repair`, the pair re-splits in :mod:`.polish`.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import scipy.sparse as sp

from .metrics import FOUR_PI, part_stats
from .problem import Problem

#: Penalty per unit of Polsby-Popper by which a move pushes a part below the worst shape of
#: the plan so far (:meth:`Search.set_floor`): steep, so that the worst shape never gets worse
#: for a small gain elsewhere.
SHAPE_FLOOR_PENALTY = 50.0

#: Objective weights of a fresh partition. Boundary cut inside a group (community) costs
#: ``GROUP_CUT_WEIGHT`` per mean part perimeter of length, so grid lines follow group lines
#: where the balance allows; ``WORST_SHAPE_WEIGHT / polsby_popper`` makes poor shapes cost
#: more than good shapes gain.
GROUP_CUT_WEIGHT = 0.5
WORST_SHAPE_WEIGHT = 0.02


class Search:
    """Move-based search over a labelling of ``problem``'s units, keeping part sums up to date.

    The objective (higher is better) is the sum over parts of
    :meth:`compactness_objective`, less ``cut_weight`` times the cut length and
    ``group_cut_weight`` times the cut length inside groups (both per mean part perimeter),
    less ``home_weight`` times the workload outside its home part (resplit only).
    """

    def __init__(
        self,
        problem: Problem,
        labels: np.ndarray,
        rng: np.random.Generator,
        *,
        home: np.ndarray | None = None,
        home_weight: float = 0.0,
    ) -> None:
        adj, k = problem.adjacency, problem.n_parts
        w, ar, pe = problem.weights, problem.areas, problem.perimeters
        n = adj.shape[0]
        self.n, self.k = n, k
        self.adj = adj
        self.w_arr, self.ar_arr, self.pe_arr = w, ar, pe
        self.groups_arr = None if problem.groups is None else np.asarray(problem.groups)
        self._index_graph(adj, problem.groups)
        self.w = w.tolist()
        self.ar = ar.tolist()
        self.pe = pe.tolist()
        self.lab = labels.astype(np.int64).tolist()
        self.mem: list[set[int]] = [set() for _ in range(k)]
        for v, a in enumerate(self.lab):
            self.mem[a].add(v)
        W, A, P, cnt = part_stats(adj, labels, k, w, ar, pe)
        self.W, self.A, self.P, self.cnt = W.tolist(), A.tolist(), P.tolist(), cnt.tolist()
        self.lo, self.hi = problem.lo, problem.hi
        self.mean = float(w.sum() / k)
        locked = problem.locked
        self.locked = [False] * n if locked is None else np.asarray(locked, dtype=bool).tolist()
        self.rng = rng
        self.deadline = problem.deadline
        # unit centroids (optional): straight cuts for pair re-splits
        self.xy: np.ndarray | None = problem.centroids
        self.pmean = float(P.mean())
        # objective weights
        self.cut_weight = 0.0
        self.group_cut_weight = 0.0
        self.worst_shape_weight = 0.0
        self.shape_floor = 0.0
        # resplit: unit -> part its old part is matched to (-1: none)
        self.home: list[int] | None = None if home is None else home.tolist()
        self.home_weight = home_weight
        # resplit: workload outside its home part, and an optional cap on it
        self.budget: float | None = None
        self.moved = 0.0
        if home is not None:
            self.moved = float(w[np.asarray(labels) != home].sum())

    @classmethod
    def for_partition(cls, problem: Problem, labels: np.ndarray, rng: np.random.Generator) -> Search:
        """A search with the objective weights of a fresh partition."""
        s = cls(problem, labels, rng)
        s.cut_weight = 0.0
        s.group_cut_weight = GROUP_CUT_WEIGHT if problem.groups is not None else 0.0
        s.worst_shape_weight = WORST_SHAPE_WEIGHT
        return s

    def _index_graph(self, adj: sp.csr_array, groups: np.ndarray | None) -> None:
        """Neighbours, shared lengths and shared lengths inside a group, per unit (lists)."""
        n = adj.shape[0]
        indptr, indices, data = adj.indptr, adj.indices, adj.data
        idx_list = indices.tolist()
        dat_list = data.tolist()
        ptr = indptr.tolist()
        self.nbr: list[list[int]] = [idx_list[ptr[i] : ptr[i + 1]] for i in range(n)]
        self.sl: list[list[float]] = [dat_list[ptr[i] : ptr[i + 1]] for i in range(n)]
        self.gl: list[list[float]] | None = None
        if groups is not None:
            g = np.asarray(groups)
            coo_same = (g[np.repeat(np.arange(n), np.diff(indptr))] == g[indices]).astype(float)
            gl = (coo_same * data).tolist()
            self.gl = [gl[ptr[i] : ptr[i + 1]] for i in range(n)]

    # -- objective -----------------------------------------------------------------------

    def compactness_objective(self, area: float, perimeter: float) -> float:
        """One part's share of the objective: its Polsby-Popper score, less
        ``worst_shape_weight / score`` (poor shapes cost more than good ones gain) and, below
        the shape floor, :data:`SHAPE_FLOOR_PENALTY` per unit of score under it."""
        pp = FOUR_PI * area / (perimeter * perimeter)
        if pp < self.shape_floor:
            return pp - self.worst_shape_weight / pp - SHAPE_FLOOR_PENALTY * (self.shape_floor - pp)
        return pp - self.worst_shape_weight / pp

    def polsby_popper(self, p: int) -> float:
        """Polsby-Popper of part ``p``."""
        return FOUR_PI * self.A[p] / (self.P[p] * self.P[p])

    def set_floor(self) -> None:
        """Protect the worst shape: moves that push a part's Polsby-Popper below
        the current minimum are penalised (the minimum never gets worse)."""
        self.shape_floor = min((self.polsby_popper(p) for p in range(self.k) if self.cnt[p]), default=0.0)

    # -- connectivity -------------------------------------------------------------------

    def removable(self, v: int, a: int, cap: int = 1 << 30) -> bool:
        """True if part ``a`` stays connected (and non-empty) without unit ``v``."""
        lab = self.lab
        nbr = self.nbr
        targets = [u for u in nbr[v] if lab[u] == a]
        if not targets:
            return False
        if len(targets) == 1:
            return True
        tset = set(targets)
        # quick test: are the donor neighbours connected among themselves?
        seen = {targets[0]}
        stack = [targets[0]]
        while stack:
            x = stack.pop()
            for y in nbr[x]:
                if y in tset and y not in seen:
                    seen.add(y)
                    stack.append(y)
        if len(seen) == len(tset):
            return True
        # breadth-first search inside the donor part, stopping when all are reached
        found = len(seen & tset)
        seen = {targets[0], v}
        dq = deque([targets[0]])
        found = 1
        need = len(tset)
        steps = 0
        while dq:
            x = dq.popleft()
            steps += 1
            if steps > cap:
                return False
            for y in nbr[x]:
                if y not in seen and lab[y] == a:
                    seen.add(y)
                    if y in tset:
                        found += 1
                        if found == need:
                            return True
                    dq.append(y)
        return False

    # -- moves ---------------------------------------------------------------------------

    def move(self, v: int, b: int) -> None:
        lab = self.lab
        a = lab[v]
        sa = sb = 0.0
        for u, length in zip(self.nbr[v], self.sl[v]):
            lu = lab[u]
            if lu == a:
                sa += length
            elif lu == b:
                sb += length
        pv = self.pe[v]
        self.P[a] += 2.0 * sa - pv
        self.P[b] += pv - 2.0 * sb
        self.A[a] -= self.ar[v]
        self.A[b] += self.ar[v]
        self.W[a] -= self.w[v]
        self.W[b] += self.w[v]
        self.cnt[a] -= 1
        self.cnt[b] += 1
        self.mem[a].discard(v)
        self.mem[b].add(v)
        lab[v] = b
        if self.home is not None:
            h = self.home[v]
            if h == a:
                self.moved += self.w[v]
            elif h == b:
                self.moved -= self.w[v]

    def gains(self, v: int) -> list[tuple[float, int]]:
        """Objective change of moving ``v`` to each neighbouring part (unchecked)."""
        lab = self.lab
        a = lab[v]
        shared: dict[int, float] = {}
        gsh: dict[int, float] = {}
        gl = self.gl
        if gl is None:
            for u, length in zip(self.nbr[v], self.sl[v]):
                lu = lab[u]
                shared[lu] = shared.get(lu, 0.0) + length
        else:
            for u, length, g in zip(self.nbr[v], self.sl[v], gl[v]):
                lu = lab[u]
                shared[lu] = shared.get(lu, 0.0) + length
                gsh[lu] = gsh.get(lu, 0.0) + g
        if len(shared) < 2 or a not in shared:
            return []
        f = self.compactness_objective
        pv, av = self.pe[v], self.ar[v]
        Aa, Pa = self.A[a], self.P[a]
        sa = shared[a]
        base_a = f(Aa, Pa)
        new_a = f(Aa - av, Pa - pv + 2.0 * sa)
        inv = 1.0 / self.pmean
        out = []
        home = self.home
        for b, sb in shared.items():
            if b == a:
                continue
            Ab, Pb = self.A[b], self.P[b]
            g = new_a - base_a + f(Ab + av, Pb + pv - 2.0 * sb) - f(Ab, Pb)
            g -= self.cut_weight * (sa - sb) * inv
            if gl is not None:
                g -= self.group_cut_weight * (gsh.get(a, 0.0) - gsh.get(b, 0.0)) * inv
            if home is not None:
                h = home[v]
                if h == a:
                    g -= self.home_weight * self.w[v]
                elif h == b:
                    g += self.home_weight * self.w[v]
            out.append((g, b))
        return out

    def boundary(self) -> list[int]:
        lab, nbr, locked = self.lab, self.nbr, self.locked
        out = []
        for v in range(self.n):
            if locked[v]:
                continue
            a = lab[v]
            for u in nbr[v]:
                if lab[u] != a:
                    out.append(v)
                    break
        return out

    # -- refinement under the hard balance constraint -------------------------------------

    def refine(
        self,
        max_passes: int = 30,
        cap: int = 400,
        cand: list[int] | None = None,
        allowed: tuple[int, ...] | None = None,
    ) -> int:
        """Greedy improving moves of boundary units; returns the number of moves.

        With ``cand`` and ``allowed``, only those units move, and only between the
        ``allowed`` parts.
        """
        lo, hi = self.lo, self.hi
        W, w, lab, cnt = self.W, self.w, self.lab, self.cnt
        budget, home = self.budget, self.home
        if home is None:
            budget = None
        total = 0
        if cand is None:
            cand = self.boundary()
        for _ in range(max_passes):
            if time.perf_counter() > self.deadline:
                break
            order = self.rng.permutation(len(cand)).tolist()
            moved = 0
            touched: set[int] = set()
            for i in order:
                v = cand[i]
                a = lab[v]
                if cnt[a] <= 1:
                    continue
                wv = w[v]
                Wa = W[a]
                va = Wa - hi if Wa > hi else lo - Wa if Wa < lo else 0.0
                na = Wa - wv
                va2 = na - hi if na > hi else lo - na if na < lo else 0.0
                best_g, best_b = 1e-12, -1
                hv = -2 if budget is None or home is None else home[v]
                for g, b in self.gains(v):
                    if g <= best_g or (allowed is not None and b not in allowed):
                        continue
                    if hv == a and self.moved + wv > budget:
                        continue  # would move workload out of its home past the budget
                    Wb = W[b]
                    nb = Wb + wv
                    vb = Wb - hi if Wb > hi else lo - Wb if Wb < lo else 0.0
                    vb2 = nb - hi if nb > hi else lo - nb if nb < lo else 0.0
                    if va2 * va2 + vb2 * vb2 > va * va + vb * vb + 1e-18:
                        continue
                    best_g, best_b = g, b
                if best_b < 0:
                    continue
                if not self.removable(v, a, cap):
                    continue
                self.move(v, best_b)
                moved += 1
                touched.add(v)
                touched.update(self.nbr[v])
            total += moved
            if not moved:
                break
            locked = self.locked
            cand = [
                v
                for v in sorted(touched)
                if not locked[v] and any(lab[u] != lab[v] for u in self.nbr[v]) and (allowed is None or lab[v] in allowed)
            ]
        return total

    # -- balance repair -------------------------------------------------------------------

    def diffuse(self, max_passes: int = 200) -> int:
        """Move boundary units from heavier to lighter neighbouring parts.

        A move of unit ``v`` (workload ``w``) from part ``a`` to ``b`` is taken only if
        ``W[a] - W[b] > w``, i.e. if it lowers the sum of squared deviations from the
        mean; among such moves the most compact one is taken.  This is a discrete
        diffusion of workload and stops once every part is within the bounds.
        """
        lo, hi = self.lo, self.hi
        W, w, lab, cnt = self.W, self.w, self.lab, self.cnt
        total = 0
        for _ in range(max_passes):
            if all(lo <= x <= hi for x in W):
                break
            cand = self.boundary()
            order = self.rng.permutation(len(cand)).tolist()
            moved = 0
            for i in order:
                v = cand[i]
                a = lab[v]
                if cnt[a] <= 1:
                    continue
                Wa = W[a]
                wv = w[v]
                best_key: tuple[bool, float] | None = None
                best_b = -1
                for g, b in self.gains(v):
                    d = Wa - W[b] - wv
                    if d <= 1e-12 * wv:
                        continue
                    # first fix violations, then prefer compact moves
                    urgent = (Wa > hi) or (W[b] < lo)
                    key = (urgent, g)
                    if best_key is None or key > best_key:
                        best_key, best_b = key, b
                if best_b < 0 or best_key is None or not best_key[0]:
                    continue
                if not self.removable(v, a):
                    continue
                self.move(v, best_b)
                moved += 1
            total += moved
            if not moved:
                break
        return total

    def part_graph(self) -> list[set[int]]:
        adjp: list[set[int]] = [set() for _ in range(self.k)]
        lab, nbr = self.lab, self.nbr
        for v in range(self.n):
            a = lab[v]
            for u in nbr[v]:
                b = lab[u]
                if b != a:
                    adjp[a].add(b)
        return adjp

    def members(self) -> list[list[int]]:
        mem: list[list[int]] = [[] for _ in range(self.k)]
        for v, a in enumerate(self.lab):
            mem[a].append(v)
        return mem

    def sq_violation(self) -> float:
        lo, hi = self.lo, self.hi
        return sum(max(x - hi, lo - x, 0.0) ** 2 for x in self.W)

    def violation(self) -> float:
        lo, hi = self.lo, self.hi
        return sum(max(0.0, x - hi) + max(0.0, lo - x) for x in self.W)

    def near_parts(self, p: int) -> set[int]:
        """Parts touching part ``p``."""
        lab, nbr = self.lab, self.nbr
        out = set()
        for v in self.mem[p]:
            for u in nbr[v]:
                if lab[u] != p:
                    out.add(lab[u])
        return out
