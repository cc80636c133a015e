"""Balance repair: bring every part's workload within the bounds, keeping parts connected.

Three repairs, tried in this order by :func:`repair` (resplits use the path repair only):

1. **Ejection chains** (:func:`chain_repair`): a part outside the bounds passes boundary
   units to, or takes them from, a neighbour so that it lands inside the bounds; a neighbour
   pushed out of the bounds continues the chain, possibly overshooting to swap heavy units.
   A chain is kept only if the sum of squared violations drops; randomised retries follow
   once plain chains stall.
2. **Exact re-packing** (:func:`repack`): a part and a few parts around it are split again
   by exhaustive search over connected sets with a bounded number of tries (for heavy units,
   where every single move overshoots the bounds).
3. **Path repair**: workload is pushed along shortest paths of the *part graph* from
   overloaded to underloaded parts, one contiguity-safe boundary unit at a time.
"""

from __future__ import annotations

import math
import time
from collections import deque
from itertools import combinations

import numpy as np

from .search import Search

#: Ejection chains: parts a chain may pass through, rounds over the violated parts, and
#: randomised retries per part once plain chains stop helping.
CHAIN_MAX_LENGTH = 120
CHAIN_ROUNDS = 50
CHAIN_RETRIES = 10

#: Exact re-packing: a part and at most this many parts in all, and the connected sets
#: tried in all (the bound keeps the search deterministic and its cost capped).
REPACK_MAX_PARTS = 5
REPACK_BUDGET = 60_000

#: Path repair: rounds, and the targets (share of the room between the mean and the bound
#: a receiving part may fill up to), tried in this order.
PATH_ROUNDS = 400
PATH_TARGET_SHARES = (0.6, 0.0, 0.95)
#: Path repair: receiving parts tried per violated part, nearest first.
PATH_TARGETS = 4


def _transfer(s: Search, a: int, b: int, amount: float, mem: list[set[int]], log: list[tuple[int, int]]) -> float:
    """Move about ``amount`` of workload from part ``a`` to neighbouring part ``b``."""
    lab, w, nbr, locked = s.lab, s.w, s.nbr, s.locked
    moved = 0.0
    fit = 0.25 * (s.hi - s.lo) + 1e-12
    while (moved == 0.0 or moved < amount - fit) and s.cnt[a] > 1:
        best = -1
        best_key: tuple[float, float] | None = None
        rest = amount - moved
        for v in mem[a]:
            if locked[v]:
                continue
            if not any(lab[u] == b for u in nbr[v]):
                continue
            wv = w[v]
            miss = float(int(abs(rest - wv) / fit))
            if best_key is not None and miss > best_key[0]:
                continue
            for g, bb in s.gains(v):
                if bb != b:
                    continue
                key = (miss, -g)
                if best_key is None or key < best_key:
                    if s.removable(v, a):
                        best, best_key = v, key
        if best < 0 or (moved > 0 and w[best] > amount - moved + fit):
            break
        if best < 0:
            break
        s.move(best, b)
        log.append((best, a))
        mem[a].discard(best)
        mem[b].add(best)
        moved += w[best]
    return moved


def _undo(s: Search, log: list[tuple[int, int]], mem: list[set[int]]) -> None:
    for v, a in reversed(log):
        b = s.lab[v]
        s.move(v, a)
        mem[b].discard(v)
        mem[a].add(v)


def _give(s: Search, src: int, dst: int, need_lo: float, need_hi: float, target: float, log: list[tuple[int, int]]) -> bool:
    """Move boundary units from ``src`` to neighbouring ``dst`` with a total workload
    in ``[need_lo, need_hi]`` (aiming at ``target``); False if that is impossible."""
    lab, w, nbr, locked, mem = s.lab, s.w, s.nbr, s.locked, s.mem
    fit = 0.1 * (s.hi - s.lo) + 1e-12
    eps = 1e-12 * s.mean
    moved = 0.0
    cand = sorted(v for v in mem[src] if not locked[v] and any(lab[u] == dst for u in nbr[v]))
    while s.cnt[src] > 1 and cand:
        rest = target - moved
        cap = need_hi - moved + eps
        best, best_key = -1, None
        for v in cand:
            wv = w[v]
            if wv > cap:
                continue
            miss = float(int(abs(rest - wv) / fit))
            if best_key is not None and miss > best_key[0]:
                continue
            g = next((g for g, q in s.gains(v) if q == dst), 0.0)
            key = (miss, -g)
            if best_key is None or key < best_key:
                if s.removable(v, src):
                    best, best_key = v, key
        if best < 0:
            break
        if moved >= need_lo - eps and abs(rest - w[best]) >= abs(rest):
            break
        s.move(best, dst)
        log.append((best, src))
        moved += w[best]
        cand.remove(best)
        for u in nbr[best]:
            if lab[u] == src and not locked[u] and u not in cand:
                cand.append(u)
        cand.sort()
    return need_lo - eps <= moved <= need_hi + eps


def _undo_log(s: Search, log: list[tuple[int, int]], upto: int = 0) -> None:
    while len(log) > upto:
        v, a = log.pop()
        s.move(v, a)


def _chain(s: Search, p: int, max_len: int = CHAIN_MAX_LENGTH, shuffle: bool = False) -> bool:
    """Ejection chain: bring part ``p`` within bounds by passing workload to (or
    taking it from) a neighbour, which passes its own excess on, and so on until
    a part absorbs it; kept only if the total violation drops."""
    lo, hi, W, mean = s.lo, s.hi, s.W, s.mean
    W0 = list(W)
    log: list[tuple[int, int]] = []
    visited = {p}
    pending = [p]
    inf = math.inf
    for _ in range(max_len):
        while pending and lo <= W[pending[-1]] <= hi:
            pending.pop()
        if not pending:
            break
        cur = pending[-1]
        heavy = W[cur] > hi
        # unvisited neighbours, and chain parts missing the opposite way (a swap)
        near = [q for q in s.near_parts(cur) if q not in visited or (W[q] < lo if heavy else W[q] > hi)]
        if shuffle:
            near = s.rng.permutation(np.asarray(sorted(near), dtype=np.int64)).tolist()
        else:
            near.sort(key=(lambda q: (W[q], q)) if heavy else (lambda q: (-W[q], q)))
        if not near:
            break
        nxt = -1
        for force in (False, True):
            for d in near:
                mark = len(log)
                if heavy:
                    okd = _give(s, cur, d, W[cur] - hi, inf if force else W[cur] - lo, W[cur] - mean, log)
                else:
                    okd = _give(s, d, cur, lo - W[cur], inf if force else hi - W[cur], mean - W[cur], log)
                if okd and len(log) > mark:
                    nxt = d
                    break
                _undo_log(s, log, mark)
            if nxt >= 0:
                break
        if nxt < 0:
            break
        visited.add(nxt)
        if nxt not in pending:
            pending.append(nxt)
    change = sum(max(W[q] - hi, lo - W[q], 0.0) ** 2 - max(W0[q] - hi, lo - W0[q], 0.0) ** 2 for q in visited)
    if change < -1e-12 * mean * mean:
        return True
    _undo_log(s, log)
    return False


def chain_repair(s: Search, max_rounds: int = CHAIN_ROUNDS, retries: int = CHAIN_RETRIES) -> bool:
    """Ejection chains from the parts outside the bounds, worst first; once plain
    chains stop helping, a few randomised retries per part."""
    lo, hi, W = s.lo, s.hi, s.W
    tries = 0
    for _ in range(max_rounds):
        viol = [p for p in range(s.k) if W[p] > hi or W[p] < lo]
        if not viol:
            return True
        if time.perf_counter() > s.deadline:
            break
        viol.sort(key=lambda p: (-max(W[p] - hi, lo - W[p]), p))
        improved = False
        for p in viol:
            if lo <= W[p] <= hi:
                continue
            if tries == 0:
                improved |= _chain(s, p)
                continue
            for _ in range(tries):
                if _chain(s, p, shuffle=True):
                    improved = True
                    break
        if not improved:
            if tries:
                break
            tries = retries
    return all(lo <= x <= hi for x in W)


def _pack(s: Search, units: set[int], r: int, budget: list[int]) -> list[set[int]] | None:
    """Split connected ``units`` into ``r`` connected parts within the bounds.

    Exhaustive backtracking: every connected set holding the lowest unit with a
    workload within the bounds (grown by the simple enumeration of connected
    sets, each generated once) is tried as a part and the rest, piece by
    piece, is split recursively.  ``budget[0]`` counts the sets left to try;
    None if none is found within it.
    """
    lo, hi, w, nbr = s.lo, s.hi, s.w, s.nbr
    total = sum(w[v] for v in units)
    if not r * lo <= total <= r * hi:
        return None
    if r == 1:
        return [units]
    root = min(units)
    first = sorted(u for u in nbr[root] if u in units)
    stack = [([root], w[root], first, {root} | set(first))]
    while stack:
        part, wp, frontier, seen = stack.pop()
        budget[0] -= 1
        if budget[0] % 1024 == 0 and time.perf_counter() > s.deadline:
            budget[0] = -1  # out of time: give up like an exhausted budget
        if budget[0] < 0:
            return None
        if lo <= wp <= hi:
            found = _pack_rest(s, units.difference(part), r - 1, budget)
            if found is not None:
                return [set(part)] + found
        for i, v in enumerate(frontier):
            if wp + w[v] > hi:
                continue
            grown = [u for u in nbr[v] if u in units and u not in seen]
            stack.append((part + [v], wp + w[v], frontier[i + 1 :] + grown, seen.union(grown)))
    return None


def _pack_rest(s: Search, units: set[int], r: int, budget: list[int]) -> list[set[int]] | None:
    """:func:`_pack` for a set that may fall apart: its pieces get parts in
    proportion to their workload (one way only)."""
    nbr = s.nbr
    pieces = []
    left = set(units)
    while left:
        v = min(left)
        piece = {v}
        stack = [v]
        while stack:
            x = stack.pop()
            for y in nbr[x]:
                if y in left and y not in piece:
                    piece.add(y)
                    stack.append(y)
        left -= piece
        pieces.append(piece)
    if len(pieces) == 1:
        return _pack(s, units, r, budget)
    total = sum(s.w[v] for v in units)
    counts = [max(1, round(r * sum(s.w[v] for v in pc) / total)) for pc in pieces]
    if sum(counts) != r:
        return None
    out: list[set[int]] = []
    for pc, c in zip(pieces, counts):
        found = _pack(s, pc, c, budget)
        if found is None:
            return None
        out += found
    return out


def repack(s: Search, p: int, max_parts: int = REPACK_MAX_PARTS, budget: int = REPACK_BUDGET) -> bool:
    """Split part ``p`` and a few parts around it again, exactly.

    Where single units weigh a good share of a part (dense cores of square
    cells) moves and ejection chains of single units get stuck: every move
    overshoots the bounds.  The union of ``p`` with one, then two, ... up to
    ``max_parts - 1`` parts of its two rings of neighbours (the union
    connected; neighbours with the most room first) is split anew into as many
    connected parts by exhaustive search (:func:`_pack`), trying at most
    ``budget`` sets in all, so the result is deterministic; the first split
    with every part within the bounds replaces the old one.  True if one was
    found.
    """
    lo, hi, W, mem, lab, locked = s.lo, s.hi, s.W, s.mem, s.lab, s.locked
    if any(locked[v] for v in mem[p]):
        return False
    heavy = W[p] > hi
    ring1 = s.near_parts(p)
    ring2 = set().union(*(s.near_parts(q) for q in ring1)) - ring1 - {p}
    room = (lambda q: (W[q], q)) if heavy else (lambda q: (-W[q], q))
    near = [q for q in sorted(ring1, key=room) + sorted(ring2, key=room) if not any(locked[v] for v in mem[q])]
    adjp = {q: s.near_parts(q) for q in near}
    left = [budget]
    for size in range(1, max_parts):
        for extra in combinations(near, size):
            if time.perf_counter() > s.deadline:
                return False
            total = W[p] + sum(W[q] for q in extra)
            r = size + 1
            if not r * lo <= total <= r * hi:
                continue
            # the union must be connected: every extra part reachable from p
            reach, todo = {p}, [p]
            group = set(extra)
            while todo:
                x = todo.pop()
                for y in (ring1 if x == p else adjp[x]) & group:
                    if y not in reach:
                        reach.add(y)
                        todo.append(y)
            if len(reach) < r:
                continue
            parts = sorted(reach)
            found = _pack(s, set().union(*(mem[q] for q in parts)), r, left)
            if found is not None:
                for q, piece in zip(parts, found):
                    for v in sorted(piece):
                        if lab[v] != q:
                            s.move(v, q)
                return True
            if left[0] < 0:
                return False
    return False


def repair(s: Search, max_rounds: int = PATH_ROUNDS, exact: bool = True) -> bool:
    """Bring every part within the bounds: ejection chains and exact re-packing (not for
    resplits, which keep to the path repair), then :func:`path_repair`.

    Every chain of moves is kept only if it lowers the total violation of the
    bounds, so the repair never makes the balance worse.  ``exact=False`` skips
    the exhaustive re-pack (for extra starts once a balanced plan is known).
    """
    lo, hi, W = s.lo, s.hi, s.W
    if s.home is None:  # resplit: keep the path repair
        if chain_repair(s):
            return True
        for p in range(s.k if exact else 0):
            if not lo <= W[p] <= hi:
                repack(s, p)
        if all(lo <= x <= hi for x in W):
            return True
    return path_repair(s, max_rounds)


def path_repair(s: Search, max_rounds: int = PATH_ROUNDS) -> bool:
    """Push workload along part-graph paths until every part is within bounds.

    Parts outside the bounds are treated worst first, in rounds, until a round helps none.
    True if every part ends within the bounds.
    """
    lo, hi, W = s.lo, s.hi, s.W
    mem = [set(m) for m in s.members()]
    for _ in range(max_rounds):
        viol = [p for p in range(s.k) if W[p] > hi or W[p] < lo]
        if not viol:
            return True
        if time.perf_counter() > s.deadline:
            return False
        improved = False
        adjp = s.part_graph()
        viol.sort(key=lambda p: -max(W[p] - hi, lo - W[p]))
        for p in viol:
            if lo <= W[p] <= hi:
                continue
            improved |= _repair_part(s, p, adjp, mem)
        if not improved:
            break
    return all(lo <= x <= hi for x in W)


def _repair_part(s: Search, p: int, adjp: list[set[int]], mem: list[set[int]]) -> bool:
    """Move workload between part ``p`` and the nearest parts able to absorb (or give) it,
    along shortest part-graph paths; True if the violation dropped."""
    lo, hi, W, mean = s.lo, s.hi, s.W, s.mean
    heavy = W[p] > hi
    for frac in PATH_TARGET_SHARES:
        hi_in = mean + frac * (hi - mean)
        lo_in = mean - frac * (mean - lo)
        prev, targets = _path_targets(s, p, adjp, heavy, hi_in, lo_in)
        for target in targets:
            path = [target]
            while prev[path[-1]] >= 0:
                path.append(prev[path[-1]])
            path.reverse()  # p ... target
            if heavy:
                amount = min(W[p] - hi_in, hi_in - W[target])
                chain = path
            else:
                amount = min(lo_in - W[p], W[target] - lo_in)
                chain = path[::-1]
            if _push_along(s, chain, max(amount, 1e-12), mem):
                return True
    return False


def _path_targets(
    s: Search, p: int, adjp: list[set[int]], heavy: bool, hi_in: float, lo_in: float
) -> tuple[dict[int, int], list[int]]:
    """Breadth-first search of the part graph from ``p``: the predecessor of every part
    reached, and the nearest parts able to absorb (or give) workload."""
    W = s.W
    prev = {p: -1}
    dq = deque([p])
    targets: list[int] = []
    while dq and len(targets) < PATH_TARGETS:
        x = dq.popleft()
        if x != p and ((heavy and W[x] < hi_in) or (not heavy and W[x] > lo_in)):
            targets.append(x)
        for y in sorted(adjp[x]):
            if y not in prev:
                prev[y] = x
                dq.append(y)
    return prev, targets


def _push_along(s: Search, chain: list[int], amount: float, mem: list[set[int]]) -> bool:
    """Pass about ``amount`` of workload along ``chain`` (each part to the next), moving
    from the end backwards so parts refill; kept (True) only if the violation drops."""
    before = s.violation()
    log: list[tuple[int, int]] = []
    for i in range(len(chain) - 2, -1, -1):
        got = _transfer(s, chain[i], chain[i + 1], amount, mem, log)
        if got <= 0:
            break
        amount = got
    if s.violation() < before - 1e-12 * s.mean:
        return True
    _undo(s, log, mem)
    return False
