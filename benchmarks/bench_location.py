"""Set covering and p-center: gridplan.posts.place_posts vs spopt.locate (LSCP, PCenter) on the same matrix.

Run:  .venv/bin/python benchmarks/bench_location.py                   (every case, cap 120 s)
      .venv/bin/python benchmarks/bench_location.py --cases small-1,full-nodes --cap 60

The instances are those of ``benchmarks/bench_posts.py`` (the sample district, seed 0, cut into 15
grids): the same demand, candidates, walking distances (``gridplan.posts._walk_matrix``), walk
radius and grid minimums. For each case:

* LSCP: the fewest posts with every coverable demand row within ``walk`` metres (rows no candidate
  reaches are left out of both models), at least ``min_per_grid`` per grid.
  gridplan: ``place_posts(plan, None, objective="set-cover", ...)``; spopt:
  ``LSCP.from_cost_matrix(matrix, service_radius=walk)`` with the grid rows added to its pulp problem.
* p-center: ``p`` posts minimising the worst walk of any demand row. gridplan:
  ``place_posts(plan, p, objective="p-center", ...)``; spopt: ``PCenter.from_cost_matrix(matrix,
  p_facilities=p)`` (+ grid rows).

Both are solved to proven optimality (gridplan with HiGHS, spopt with pulp's bundled CBC,
``timeLimit=cap``) and scored by one function on the same matrix. Every method runs in its own
forked process, capped in memory and wall time (``bench_posts.capped``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_posts import CASES, Instance, build, capped  # noqa: E402


def coverable(inst: Instance) -> np.ndarray:
    return (inst.distance <= inst.case.walk + 1e-7).any(axis=1)


def score(inst: Instance, chosen: np.ndarray, objective: str) -> float:
    d = inst.distance[:, np.asarray(chosen, dtype=np.int64)].min(axis=1)
    if objective == "set-cover":
        ok = (d[coverable(inst)] <= inst.case.walk + 1e-6).all()
        return float(len(chosen)) if ok else float("nan")
    pos = inst.weight > 0
    return float(d[pos].max())


def run_gridplan(inst: Instance, plan: Any, objective: str, cap: float) -> dict[str, Any]:
    from gridplan.posts import place_posts

    c = inst.case
    t = time.perf_counter()
    res = place_posts(
        plan,
        None if objective == "set-cover" else c.p,
        demand=inst.demand,
        candidates=inst.candidates,
        max_walk_m=c.walk,
        objective=objective,
        min_per_grid=c.mpg,
        stations=None,
        mip_gap=0.0,
        time_limit=cap,
        progress=False,
    )
    secs = time.perf_counter() - t
    nodes = res.posts["node"].to_numpy(np.int64)
    cols = np.searchsorted(inst.cand_nodes, nodes)
    p = res.params
    return {
        "chosen": cols,
        "time_s": secs,
        "status": p["status"],
        "gap": p["gap"],
        "note": f"bound {p['bound']:.1f}, gap {p['gap']:.2%}"
        + (f", {p['steps']} bisection steps" if objective == "p-center" else ""),
    }


def run_spopt(inst: Instance, objective: str, cap: float) -> dict[str, Any]:
    import pulp
    from spopt.locate import LSCP, PCenter

    c = inst.case
    t = time.perf_counter()
    if objective == "set-cover":
        rows = coverable(inst)
        cost = np.where(np.isfinite(inst.distance[rows]), inst.distance[rows], 1e7)
        model = LSCP.from_cost_matrix(cost, service_radius=c.walk + 1e-7)
    else:
        cost = np.where(np.isfinite(inst.distance), inst.distance, 1e7)[inst.weight > 0]
        model = PCenter.from_cost_matrix(cost, p_facilities=c.p)
    if c.mpg > 0:
        for g in np.unique(inst.cand_grid):
            model.problem += pulp.lpSum(model.fac_vars[j] for j in np.flatnonzero(inst.cand_grid == g)) >= c.mpg
    built = time.perf_counter() - t
    try:
        model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=cap), results=False)
    except RuntimeError as exc:
        return {"chosen": None, "time_s": time.perf_counter() - t, "status": "failed", "note": str(exc)[:120]}
    secs = time.perf_counter() - t
    chosen = np.array([j for j, v in enumerate(model.fac_vars) if (v.value() or 0) > 0.5], dtype=np.int64)
    sol = getattr(model.problem, "sol_status", 1)
    status = {1: "optimal", 2: "time_limit"}.get(sol, pulp.LpSolution.get(sol, str(sol)).lower())
    return {"chosen": chosen, "time_s": secs, "status": status, "note": f"build {built:.1f} s + CBC {secs - built:.1f} s"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default=",".join(c.name for c in CASES))
    ap.add_argument("--objectives", default="set-cover,p-center")
    ap.add_argument("--cap", type=float, default=120.0)
    ap.add_argument("--wall", type=float, default=None)
    ap.add_argument("--mem-gb", type=float, default=6.0)
    args = ap.parse_args()
    wall = args.wall or 2 * args.cap + 30
    cases = [c for c in CASES if c.name in args.cases.split(",")]

    import pulp
    import scipy
    import spopt

    import gridplan
    from gridplan.grids import partition

    t0 = time.perf_counter()
    district = gridplan.sample_district(seed=0)
    plan = partition(district, 15, seed=0)
    print(
        f"# Location models: gridplan {gridplan.__version__} vs spopt {spopt.__version__} (pulp {pulp.__version__}, "
        f"CBC); {dt.date.today()}, Python {platform.python_version()}, scipy {scipy.__version__}, "
        f"{os.cpu_count()} CPUs (shared machine); cap {args.cap:g} s\n",
        flush=True,
    )
    lines = []
    for case in cases:
        inst = build(case, plan)
        n, m = inst.distance.shape
        print(f"## {case.name}: {n:,} x {m:,}, p={case.p}, walk {case.walk:g} m, min_per_grid {case.mpg}", flush=True)
        for objective in args.objectives.split(","):
            got = {}
            for label, fn in (
                ("gridplan (HiGHS)", lambda: run_gridplan(inst, plan, objective, args.cap)),
                ("spopt + CBC", lambda: run_spopt(inst, objective, args.cap)),
            ):
                out = capped(fn, wall, args.mem_gb)
                value = score(inst, out["chosen"], objective) if out.get("chosen") is not None else float("nan")
                got[label] = (value, out)
                print(
                    f"  .. {objective:9s} {label:18s} {out['status']:13s} {out['time_s']:7.1f} s  {value:,.1f}  "
                    f"{out.get('note', '')}",
                    flush=True,
                )
            (gv, go), (sv, so) = got["gridplan (HiGHS)"], got["spopt + CBC"]
            if math.isfinite(gv) and math.isfinite(sv):
                cmp = "same" if abs(gv - sv) <= 1e-6 * max(1.0, abs(sv)) else ("better" if gv < sv else "WORSE")
            else:
                cmp = "spopt has no result" if math.isfinite(gv) else "-"
            ratio = (
                f"{so['time_s'] / go['time_s']:.1f}"
                if so["status"] in ("optimal", "time_limit")
                else f">= {so['time_s'] / go['time_s']:.1f}"
                if so["status"] == "timeout"
                else "-"
            )
            unit = "posts" if objective == "set-cover" else "m worst walk"
            lines.append(
                f"| {case.name} | {n:,} x {m:,} | {objective} | {gv:,.1f} {unit} ({go['status']}, "
                f"{go['time_s']:.1f} s) | {sv:,.1f} ({so['status']}, {so['time_s']:.1f} s) | {cmp} | {ratio} |"
            )
        inst = None  # free the matrix before the next case is built (not del: the lambdas above close over it)
    print("\n| case | size | model | gridplan | spopt + CBC | gridplan vs spopt | spopt / gridplan time |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(lines))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
