"""Benchmark gridplan.simulate: runs per second, Dask speed-up, a 1,000-run study.

Reproduce: ``.venv/bin/python benchmarks/bench_simulate.py`` (``--quick`` for a smoke run).

The sample district (seed 0) in 15 grids (``partition(district, 15, seed=0)``), 7-day runs with the
default IncidentModel, posts/staffing/patrols derived once by ``simulate`` and then passed in so
that every timing below is the runs alone (the set-up is timed on its own). Single process vs a
``dask.distributed`` LocalCluster of 1 and 2 worker processes (one thread each) on this 2-core
machine; the results are checked identical to the serial ones.
"""

from __future__ import annotations

import argparse
import platform
import time

import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer runs")
    args = ap.parse_args()
    import gridplan
    from gridplan.grids import GridPlan, partition
    from gridplan.simulate import simulate

    runs = 100 if args.quick else 1000
    district = gridplan.sample_district(seed=0)
    t = time.perf_counter()
    plan = partition(district, 15, seed=0)
    t_plan = time.perf_counter() - t
    t = time.perf_counter()
    base = simulate(plan, staffing="sample", runs=1, seed=0, progress=False)
    t_setup = time.perf_counter() - t
    kw = dict(posts=base.posts, staffing=base.staffing, routes=base.routes, seed=0, progress=False, keep_incidents=0)
    rows = []

    def record(name: str, res, wall: float, n: int) -> None:
        rows.append(
            {
                "case": name,
                "runs": n,
                "wall s": round(wall, 2),
                "runs s": round(res.params["seconds_runs"], 2),
                "runs/s": round(n / res.params["seconds_runs"], 1),
                "cases/run": round(float(res.runs["incidents"].mean()), 1),
            }
        )

    t = time.perf_counter()
    serial = simulate(plan, runs=runs, **kw)
    record("single process", serial, time.perf_counter() - t, runs)
    from dask.distributed import Client, LocalCluster

    par = {}
    for w in (1, 2):
        with LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None) as cl, Client(cl) as client:
            simulate(plan, runs=4, client=client, **kw)  # warm the workers (imports)
            t = time.perf_counter()
            par[w] = simulate(plan, runs=runs, client=client, **kw)
            record(f"dask LocalCluster, {w} worker(s)", par[w], time.perf_counter() - t, runs)
            assert par[w].runs.equals(serial.runs), "Dask results differ from the serial ones"
    table = pd.DataFrame(rows)
    base_rate = table.loc[0, "runs/s"]
    table["x single"] = (table["runs/s"] / base_rate).round(2)
    print(
        f"# gridplan.simulate, sample district (seed 0), 15 grids, 7 days per run; {platform.processor() or platform.machine()}"
    )
    print(f"partition 15 grids: {t_plan:.1f} s; derived posts + staffing + patrols (simulate's defaults): {t_setup:.1f} s")
    print(table.to_string(index=False))
    w2 = table.loc[table["case"].str.contains("2 worker"), "runs/s"].iloc[0]
    w1 = table.loc[table["case"].str.contains("1 worker"), "runs/s"].iloc[0]
    print(f"\n2 workers vs 1 worker: x{w2 / w1:.2f} (ideal 2.00); results identical to the serial run: yes")
    s = serial.summary()
    print("\nKPIs of the study (mean, 95 % interval over runs):")
    for k in (
        "incidents_per_day",
        "patrol_found_share",
        "face_to_face_min",
        "compliance_7min",
        "compliance_1d",
        "compliance_2d",
        "compliance_3d",
        "compliance_deadline",
    ):
        print(f"  {k:24s} {s.loc[k, 'mean']:10.4f}  [{s.loc[k, 'low']:.4f}, {s.loc[k, 'high']:.4f}]")
    # the 12 -> 15 question, with its own derived set-up
    before = GridPlan.from_district_grids(district)
    t = time.perf_counter()
    b = simulate(before, staffing="sample", runs=runs // 10, seed=0, progress=False, keep_incidents=0)
    a = simulate(plan, runs=runs // 10, **kw)
    cmp = b.compare(a)
    print(f"\n12 existing grids (A) vs 15 grids (B), {runs // 10} runs each ({time.perf_counter() - t:.1f} s with A's set-up):")
    print(cmp.loc[["face_to_face_min", "compliance_7min", "compliance_deadline", "patrol_found_share"]].round(4).to_string())


if __name__ == "__main__":
    main()
