"""A stronger lower bound for MM k-CPP instances, to tell the bound's share of a gap from the search's.

Reproduce: ``python benchmarks/mmkcpp_pigeonhole_bound.py benchmarks/data/mmkcpp_egl/*.dat``

Pigeonhole: any ``k * r + 1`` edges put at least ``r + 1`` of them on one of the ``k`` walks, so the longest
walk is at least the cheapest closed walk from the depot through the cheapest ``r + 1`` of them (every order
and orientation tried). Any choice of edges gives a valid bound; a swap search among the 40 edges farthest
from the depot picks a good one (r = 1: pairs, r = 2: triples). The reference bound
(``shared/bench/mmkcpp/reference.py``) is max(postman tour / k, farthest depot-edge-depot cycle).
Needs ``../shared/bench/mmkcpp/reference.py`` (the benchmark reads it too).
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import networkx as nx
import numpy as np

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "bench" / "mmkcpp" / "reference.py"
KS = (2, 3, 4, 5, 6, 8, 10)
CANDIDATES = 40  # edges farthest from the depot the swap search draws from


def _reference():
    spec = importlib.util.spec_from_file_location("mmkcpp_reference", REFERENCE)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def pigeonhole_bounds(path: str, ks: tuple[int, ...] = KS) -> dict[int, tuple[float, float, float]]:
    """{k: (reference bound, pair bound, triple bound)} for one instance file."""
    ref = _reference()
    g, depot = ref.read_instance(path)
    nodes = sorted(g)
    idx = {v: i for i, v in enumerate(nodes)}
    simple = nx.Graph()
    for a, b, c in g.edges(data="cost"):
        if not simple.has_edge(a, b) or simple[a][b]["weight"] > c:
            simple.add_edge(a, b, weight=c)
    D = nx.floyd_warshall_numpy(simple, nodelist=nodes, weight="weight")
    edges = [(idx[a], idx[b], c) for a, b, c in g.edges(data="cost")]
    s = idx[depot]
    far = np.array([min(D[s, a] + c + D[b, s], D[s, b] + c + D[a, s]) for a, b, c in edges])
    _, tour_cost = ref.postman_tour(g, depot)

    def walk(order: tuple[int, ...]) -> float:  # cheapest closed walk through the edges in this order
        ends = [(s, 0.0)]
        for e in order:
            a, b, c = edges[e]
            ends = [(out, min(cost + D[p, into] for p, cost in ends) + c) for into, out in ((a, b), (b, a))]
        return min(cost + D[p, s] for p, cost in ends)

    cache: dict[tuple[int, ...], float] = {}

    def cheapest(group: tuple[int, ...]) -> float:
        if group not in cache:
            cache[group] = min(walk(p) for p in itertools.permutations(group))
        return cache[group]

    cands = [int(e) for e in np.argsort(-far, kind="stable")[:CANDIDATES]]
    out = {}
    for k in ks:
        found = []
        for r in (1, 2):
            size = k * r + 1
            chosen = cands[:size]
            if size > len(cands):
                found.append(float("nan"))
                continue

            def value(sel: list[int]) -> float:
                return min(cheapest(tuple(sorted(t))) for t in itertools.combinations(sel, r + 1))

            best = value(chosen)
            improved = True
            while improved:
                improved = False
                for i in range(size):
                    for e in cands:
                        if e in chosen:
                            continue
                        trial = chosen[:i] + [e] + chosen[i + 1 :]
                        v = value(trial)
                        if v > best + 1e-9:
                            chosen, best, improved = trial, v, True
            found.append(best)
        out[k] = (max(tour_cost / k, float(far.max())), found[0], found[1])
    return out


def main(argv: list[str]) -> None:
    print("| instance | k | reference bound | pairs | triples | best | best / reference |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for path in argv:
        for k, (lb, pairs, triples) in pigeonhole_bounds(path).items():
            best = np.nanmax([lb, pairs, triples])
            row = [Path(path).stem, str(k)] + [f"{v:.1f}" for v in (lb, pairs, triples, best)] + [f"{best / lb:.3f}"]
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
