"""Posts: gridplan.posts.place_posts vs spopt.locate (MCLP and PMedian) on the same distance matrix.

Run:  .venv/bin/python benchmarks/bench_posts.py                    (every case, cap 120 s; ~35 min)
      .venv/bin/python benchmarks/bench_posts.py --quick            (small and moderate cases, ~12 min)
      .venv/bin/python benchmarks/bench_posts.py --cases small-1,full --cap 60

What is compared
----------------
Every case is one instance of the maximal covering problem (MCLP: ``p`` posts, as much demand as
possible within ``walk`` metres) and of the p-median problem (``p`` posts, least demand-weighted
walking distance), built on the synthetic sample district (seed 0) cut into 15 grids by
``partition(district, 15, seed=0)``:

small-1, -2, -3    one grid; the residents aggregated to the street nodes they walk from, every
                   street node of the grid a candidate (a few hundred x a few hundred)
moderate-4, -5     four / five neighbouring grids, aggregated the same way
full-nodes         the whole district aggregated to street nodes, 42 posts, at least one per grid
full               the whole district as ``place_posts(plan, 42)`` sees it: 27,615 population
                   points (each with its snap distance to the street), 2,661 candidate nodes,
                   42 posts, at least one per grid: the Guiding set-up

The distance matrix (demand x candidates: snap distance + street distance, scipy Dijkstra) comes
from ``gridplan.posts._walk_matrix``, i.e. exactly what ``place_posts`` optimises; spopt gets it
through ``MCLP.from_cost_matrix(matrix, weights, service_radius=walk, p_facilities=p)`` and
``PMedian.from_cost_matrix(matrix, weights, p_facilities=p)``, with one ``sum(x_j in grid g) >=
min_per_grid`` row per grid added to its pulp problem where the case has a grid minimum, solved by
pulp's bundled CBC (``PULP_CBC_CMD(msg=False, timeLimit=cap)``). gridplan gets the same demand and
candidates as GeoDataFrames (or, for ``full``, its defaults) and ``time_limit=cap``.

Both solutions are scored by one function on the same matrix (covered demand; total walk). Every
method runs in its own forked process (own process group, address space capped with ``--mem-gb``
so that running out of memory is a result, not a crash of a shared machine) and is killed after
``--wall`` seconds (default 2 x cap: the model build plus the solver's own cap). Times: gridplan is
the whole ``place_posts`` call (its own Dijkstra included); spopt is ``from_cost_matrix`` + solve,
with the matrix given (its computation is shown once per case and excluded).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import multiprocessing as mp
import os
import platform
import resource
import signal
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


# ---------------------------------------------------------------------- cases
@dataclass
class Case:
    name: str
    grids: list[int] | None  # grid positions; None: all
    level: str  # "nodes" (aggregated) or "points" (place_posts defaults)
    p: int
    walk: float
    mpg: int  # min posts per grid
    note: str = ""


CASES = [
    Case("small-1", [7], "nodes", 3, 400.0, 0, "grid 8 of 15 (1.2 km², core)"),
    Case("small-2", [13], "nodes", 4, 500.0, 0, "grid 14 of 15 (2.4 km²)"),
    Case("small-3", [4], "nodes", 4, 600.0, 0, "grid 5 of 15 (4.4 km²)"),
    Case("moderate-4", [2, 5, 6, 7], "nodes", 8, 600.0, 0, "grids 3, 6, 7, 8 (core)"),
    Case("moderate-5", [3, 8, 9, 10, 11], "nodes", 10, 800.0, 0, "grids 4, 9, 10, 11, 12"),
    Case("full-nodes", None, "nodes", 42, 800.0, 1, "whole district, demand at street nodes"),
    Case("full", None, "points", 42, 1200.0, 1, "whole district as place_posts(plan, 42) sees it"),
]


@dataclass
class Instance:
    case: Case
    distance: np.ndarray
    weight: np.ndarray
    cand_nodes: np.ndarray
    cand_grid: np.ndarray
    demand: Any = None  # GeoDataFrame for place_posts, or "population"
    candidates: Any = None  # GeoDataFrame for place_posts, or "street_nodes"
    matrix_s: float = 0.0


def build(case: Case, plan: Any) -> Instance:
    import geopandas as gpd
    import pandas as pd
    import shapely

    from gridplan.posts import _inputs, _walk_matrix

    t = time.perf_counter()
    if case.level == "points":
        m = _walk_matrix(plan)
        return Instance(
            case, m.distance, m.weight, m.cand_nodes, m.cand_grid, "population", "street_nodes", time.perf_counter() - t
        )
    net, loc, dem, cand, cand_grid = _inputs(plan, "population", "street_nodes", None, [])
    codes = loc.codes.astype(str)
    keep = set(codes if case.grids is None else codes[case.grids])
    xy = net.nodes[["x", "y"]].to_numpy(float)
    f = dem.frame[dem.frame["grid"].isin(keep)]
    w = f.groupby("node")["weight"].sum()
    demand = gpd.GeoDataFrame({"weight": w.to_numpy(float)}, geometry=shapely.points(xy[w.index.to_numpy()]), crs=net.crs)
    sel = cand[np.isin(codes[cand_grid], list(keep))]
    candidates = gpd.GeoDataFrame({"node": sel}, geometry=shapely.points(xy[sel]), crs=net.crs)
    m = _walk_matrix(plan, demand=demand, candidates=candidates)
    assert np.array_equal(m.cand_nodes, sel) and len(m.weight) == len(demand)
    assert float(m.distance[np.isfinite(m.distance)].min()) >= 0 and pd.notna(m.weight).all()
    return Instance(case, m.distance, m.weight, m.cand_nodes, m.cand_grid, demand, candidates, time.perf_counter() - t)


def score(inst: Instance, chosen: np.ndarray, objective: str) -> float:
    """Covered demand (coverage) or demand-weighted walking distance (p-median) of the chosen columns."""
    d = inst.distance[:, np.asarray(chosen, dtype=np.int64)].min(axis=1)
    if objective == "coverage":
        return float(inst.weight[d <= inst.case.walk + 1e-7].sum())
    return float(inst.weight @ np.where(np.isfinite(d), d, 0.0))


# ---------------------------------------------------------------------- the methods
def run_gridplan(inst: Instance, plan: Any, objective: str, mip_gap: float, cap: float) -> dict[str, Any]:
    from gridplan.posts import place_posts

    c = inst.case
    t = time.perf_counter()
    res = place_posts(
        plan,
        c.p,
        demand=inst.demand,
        candidates=inst.candidates,
        max_walk_m=c.walk,
        objective=objective,
        min_per_grid=c.mpg,
        stations=None,
        mip_gap=mip_gap,
        time_limit=cap,
        progress=False,
    )
    secs = time.perf_counter() - t
    nodes = res.posts["node"].to_numpy(np.int64)
    cols = np.searchsorted(inst.cand_nodes, nodes)
    assert np.array_equal(inst.cand_nodes[cols], nodes)
    p = res.params
    return {
        "chosen": cols,
        "time_s": secs,
        "status": p["status"],
        "gap": p["gap"],
        "method": p["method"],
        "bound": p["bound"],
        "note": f"{p['method']}, proven gap {p['gap']:.2%}",
    }


def run_spopt(inst: Instance, objective: str, cap: float) -> dict[str, Any]:
    import pulp
    from spopt.locate import MCLP, PMedian

    c = inst.case
    cost = np.where(np.isfinite(inst.distance), inst.distance, 1e7)
    t = time.perf_counter()
    if objective == "coverage":
        model = MCLP.from_cost_matrix(cost, inst.weight, service_radius=c.walk + 1e-7, p_facilities=c.p)
    else:
        model = PMedian.from_cost_matrix(cost, inst.weight, p_facilities=c.p)
    if c.mpg > 0:
        for g in np.unique(inst.cand_grid):
            model.problem += pulp.lpSum(model.fac_vars[j] for j in np.flatnonzero(inst.cand_grid == g)) >= c.mpg
    built = time.perf_counter() - t
    try:
        model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=cap), results=False)
    except RuntimeError as exc:  # spopt's check_status: not solved
        return {"chosen": None, "time_s": time.perf_counter() - t, "status": "failed", "note": str(exc)[:120]}
    secs = time.perf_counter() - t
    chosen = np.array([j for j, v in enumerate(model.fac_vars) if (v.value() or 0) > 0.5], dtype=np.int64)
    sol = getattr(model.problem, "sol_status", 1)
    status = {1: "optimal", 2: "time_limit"}.get(sol, pulp.LpSolution.get(sol, str(sol)).lower())
    return {"chosen": chosen, "time_s": secs, "status": status, "note": f"build {built:.1f} s + CBC {secs - built:.1f} s"}


# ---------------------------------------------------------------------- running with a cap
def _child(conn: Any, fn: Callable[[], dict[str, Any]], mem_gb: float) -> None:
    os.setpgrp()  # CBC runs as our child: one group to stop on a time-out
    limit = int(mem_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn()
        conn.send(out)
    except MemoryError:
        conn.send({"chosen": None, "status": "out of memory", "note": f"MemoryError at the {mem_gb:g} GiB limit"})
    except BaseException as exc:  # noqa: BLE001 - every failure is a result
        msg = (str(exc).strip().splitlines() or [""])[0][:150]
        kind = "out of memory" if "memory" in msg.lower() or "bad_alloc" in msg else "failed"
        conn.send(
            {"chosen": None, "status": kind, "note": f"{type(exc).__name__}: {msg}", "trace": traceback.format_exc(limit=3)}
        )
    finally:
        conn.close()


def capped(fn: Callable[[], dict[str, Any]], wall: float, mem_gb: float) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, mem_gb), daemon=False)
    t0 = time.perf_counter()
    proc.start()
    child.close()
    try:
        if parent.poll(wall):
            out = parent.recv()
            out.setdefault("time_s", time.perf_counter() - t0)
        else:
            out = {"chosen": None, "status": "timeout", "time_s": wall, "note": f"no result within {wall:g} s"}
    except EOFError:
        out = {
            "chosen": None,
            "status": "failed",
            "time_s": time.perf_counter() - t0,
            "note": f"process died (exit code {proc.exitcode}; killed at the memory limit?)",
        }
    finally:
        if proc.pid is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the child's own group: it and its CBC
            except ProcessLookupError:
                pass
        proc.join()
        parent.close()
    return out


def _ratio(ref: dict[str, Any], out: dict[str, Any]) -> str:
    """spopt's time over gridplan's: a lower bound (>=) when spopt timed out, none when it failed."""
    if ref["status"] in ("optimal", "time_limit"):
        return f"{ref['time_s'] / out['time_s']:.1f}"
    return f">= {ref['time_s'] / out['time_s']:.1f}" if ref["status"] == "timeout" else "-"


# ---------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default=",".join(c.name for c in CASES), help="comma-separated case names")
    ap.add_argument("--quick", action="store_true", help="small and moderate cases only")
    ap.add_argument("--objectives", default="coverage,p-median")
    ap.add_argument("--cap", type=float, default=120.0, help="solver time limit, s (CBC timeLimit, gridplan time_limit)")
    ap.add_argument("--wall", type=float, default=None, help="kill a method after this many s (default 2 x cap)")
    ap.add_argument("--mem-gb", type=float, default=8.0, help="address-space cap per method, GiB")
    args = ap.parse_args()
    wall = args.wall or 2 * args.cap
    names = args.cases.split(",")
    if args.quick:
        names = [n for n in names if not n.startswith("full")]
    cases = [c for c in CASES if c.name in names]
    objectives = args.objectives.split(",")

    import pandas as pd
    import pulp
    import scipy
    import spopt

    import gridplan
    from gridplan.grids import partition

    t0 = time.perf_counter()
    district = gridplan.sample_district(seed=0)
    plan = partition(district, 15, seed=0)
    print(
        f"# Posts: gridplan {gridplan.__version__} vs spopt {spopt.__version__} (pulp {pulp.__version__}, "
        f"bundled CBC); {dt.date.today()}, Python {platform.python_version()}, scipy {scipy.__version__}, "
        f"{os.cpu_count()} CPUs; cap {args.cap:g} s, wall {wall:g} s, {args.mem_gb:g} GiB per method; "
        f"plan built in {time.perf_counter() - t0:.1f} s\n",
        flush=True,
    )
    rows = []
    for case in cases:
        inst = build(case, plan)
        n, m = inst.distance.shape
        print(
            f"## {case.name}: {n:,} demand x {m:,} candidates, p={case.p}, walk {case.walk:g} m, "
            f"min_per_grid {case.mpg} ({case.note}); matrix {inst.matrix_s:.1f} s, "
            f"{inst.distance.nbytes / 2**20:,.0f} MiB",
            flush=True,
        )
        for objective in objectives:
            gaps = [0.0] if case.level == "nodes" and case.grids is not None else [1e-4, 1e-3]
            methods: list[tuple[str, Callable[[], dict[str, Any]]]] = [
                (f"gridplan (mip_gap={g:g})", lambda g=g: run_gridplan(inst, plan, objective, g, args.cap)) for g in gaps
            ]
            methods.append(("spopt + CBC", lambda: run_spopt(inst, objective, args.cap)))
            got = {}
            for label, fn in methods:
                out = capped(fn, wall, args.mem_gb)
                value = score(inst, out["chosen"], objective) if out.get("chosen") is not None else float("nan")
                got[label] = (value, out)
                print(
                    f"  .. {objective:9s} {label:24s} {out['status']:13s} {out['time_s']:7.1f} s  "
                    f"{value:,.1f}  {out.get('note', '')}",
                    flush=True,
                )
            ref_value, ref = got["spopt + CBC"]
            for label, (value, out) in got.items():
                better = ""
                if label != "spopt + CBC" and math.isfinite(ref_value) and math.isfinite(value):
                    diff = (value - ref_value) if objective == "coverage" else (ref_value - value)
                    scale = max(abs(ref_value), 1e-9)
                    better = (
                        "same" if abs(diff) <= 1e-9 * scale else ("better" if diff > 0 else "worse") + f" ({diff / scale:+.4%})"
                    )
                elif label != "spopt + CBC":
                    better = "spopt has no result"
                rows.append(
                    {
                        "case": case.name,
                        "size": f"{n:,} x {m:,}",
                        "p": case.p,
                        "walk m": int(case.walk),
                        "objective": objective,
                        "method": label,
                        "status": out["status"],
                        "value": (f"{value:,.0f}" if objective == "coverage" else f"{value / 1000:,.1f} km")
                        if math.isfinite(value)
                        else "-",
                        "share / mean walk": (
                            (
                                f"{value / inst.weight.sum():.3%}"
                                if objective == "coverage"
                                else f"{value / inst.weight.sum():.1f} m"
                            )
                            if math.isfinite(value)
                            else "-"
                        ),
                        "vs spopt": better,
                        "time s": round(float(out["time_s"]), 2),
                        "spopt / gridplan time": _ratio(ref, out) if label != "spopt + CBC" else "",
                        "note": out.get("note", ""),
                    }
                )
        inst = None  # free the matrix before the next case is built (not del: the lambdas above close over it)
    table = pd.DataFrame(rows)
    print()
    print("| " + " | ".join(table.columns) + " |")
    print("|" + "---|" * len(table.columns))
    for r in table.itertuples(index=False):
        print("| " + " | ".join("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in r) + " |")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
