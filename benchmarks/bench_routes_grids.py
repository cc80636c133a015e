"""Per-grid patrols benchmark: this gridplan against an earlier one, serially and on Dask, same run.

Cases (``balance_routes(plan, chiefs_per_grid=2)`` at the default effort, seed 0):

* **sample**: the sample district (seed 0) in 15 grids (``partition(district, 15, seed=0)``),
  depot ``"centroid"``.
* **changan**: the real Chang'an (Xi'an) streets of ``shared/data/changan_roads.gpkg`` (WGS84),
  the district outline approximated by the roads' convex hull (no boundary file of 610116 is at
  hand), ``partition(district, 15, seed=0, strict=False)`` (the ring of peri-urban land
  around the street mesh is one street block heavier than a grid's share, so a ±3 % plan does
  not exist; see issue 17 item 6), depot = the grid's centre.

Every configuration runs in its own Python process (``--src`` picks the gridplan source tree,
e.g. a ``git archive`` of an earlier commit), one after the other, so the ratios are measured
beside the same background load. An earlier gridplan that raises on a case is re-run with
``components="largest"`` and says so. Dask: a ``LocalCluster`` of ``--workers`` processes with
one thread each; its plan is compared edge by edge with the serial one.

With ``--same-plan`` every configuration routes the plan of this gridplan (saved once; an earlier
gridplan rebuilds it from the grid polygons with ``GridPlan.from_district_grids``), so a change of
the partition between the two versions does not enter the comparison.

Run: .venv/bin/python benchmarks/bench_routes_grids.py --baseline-src /tmp/base/src [--workers 2] [--same-plan]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAN_FILE_ENV = "GRIDPLAN_BENCH_PLAN"  # set by --same-plan: the worker routes the plan saved there
SHARED = ROOT.parent / "shared" if (ROOT.parent / "shared").exists() else Path("/work/shared")


def build(case: str):
    from gridplan.grids import partition

    plan_file = os.environ.get(PLAN_FILE_ENV)
    if plan_file:
        return _plan_from_file(case, plan_file)
    d = _district(case)
    if case == "sample":
        return d, partition(d, 15, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return d, partition(d, 15, seed=0, strict=False)


def _district(case: str):
    if case == "sample":
        from gridplan.datasets import sample_district

        return sample_district()
    import geopandas as gpd

    import gridplan

    roads = gpd.read_file(SHARED / "data" / "changan_roads.gpkg").drop(columns=["length"])
    hull = roads.geometry.union_all().convex_hull.buffer(1e-4)
    boundary = gpd.GeoDataFrame({"name": ["长安区 (roads' hull)"], "adcode": ["610116"]}, geometry=[hull], crs=4326)
    return gridplan.District.from_frames(boundary, streets=roads)


def _plan_from_file(case: str, path: str):
    """The plan saved by ``--same-plan`` rebuilt from its grid polygons with this process's gridplan."""
    import geopandas as gpd

    from gridplan.grids import GridPlan

    d = _district(case)
    grids = gpd.read_file(path, layer="grids").to_crs(d.crs)
    d.grids = grids[["code", "geometry"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return d, GridPlan.from_district_grids(d)


def _save_plan(case: str, path: str) -> None:
    d, plan = build(case)
    plan.grids[["code", "geometry"]].to_file(path, layer="grids")


def worker(case: str, workers: int) -> dict:
    """One configuration in this process: build, route, measure; a JSON-able dict."""
    import pandas as pd

    from gridplan.errors import NetworkError
    from gridplan.routes import balance_routes

    d, plan = build(case)
    kw = {"chiefs_per_grid": 2, "depot": "centroid", "seed": 0, "progress": False}
    note = ""
    client = cluster = None
    if workers > 1:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        kw["client"] = client
    t = time.perf_counter()
    try:
        rp = balance_routes(plan, **kw)
    except NetworkError as e:
        note = f"raised NetworkError by default ({str(e)[:80]}...); re-run with components='largest'"
        t = time.perf_counter()
        rp = balance_routes(plan, components="largest", **kw)
    wall = time.perf_counter() - t
    if client is not None:
        client.close()
        cluster.close()
    pg = rp.per_grid
    routed = pg[pg["max_length"] > 0]
    return {
        "wall_s": wall,
        "solver_s": rp.params.get("seconds"),
        "mean_gap": float(routed["gap"].mean()),
        "worst_gap": float(routed["gap"].max()),
        "mean_deadhead": float(routed["deadhead_share"].mean()),
        "mean_pieces": float(routed["pieces"].mean()),
        "max_pieces": int(routed["pieces"].max()),
        "grids_routed": int(len(routed)),
        "max_km": rp.max_length / 1000,
        "unreachable_km": float(pg["unreachable_km"].sum()) if "unreachable_km" in pg else None,
        "edges": pd.util.hash_pandas_object(rp.edges[["chief", "route"]].astype(str)).sum().item(),
        "note": note,
    }


def run(src: str, case: str, workers: int, plan_file: str | None = None, *, save: bool = False) -> dict:
    env = {**os.environ, "PYTHONPATH": src, "MPLBACKEND": "Agg"}
    if plan_file and not save:
        env[PLAN_FILE_ENV] = plan_file
    extra = ["--save-plan", plan_file] if save and plan_file else []
    out = subprocess.run(
        [sys.executable, __file__, "--worker", case, "--workers", str(workers), *extra],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline-src", help="source tree (the folder holding gridplan/) of the gridplan to compare with")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--cases", default="sample,changan")
    p.add_argument(
        "--same-plan",
        action="store_true",
        help="route this gridplan's plan in every configuration (the baseline rebuilds it from the grid polygons)",
    )
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--save-plan", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker and args.save_plan:
        _save_plan(args.worker, args.save_plan)
        print(json.dumps({}))
        return
    if args.worker:
        print(json.dumps(worker(args.worker, args.workers)))
        return
    here = str(ROOT / "src")
    print(f"# per-grid patrols, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start\n")
    print(
        "| case | gridplan | workers | wall s | mean gap | worst gap | mean deadhead | mean pieces | max pieces | "
        "grids routed | unreachable km | same plan as serial | note |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for case in args.cases.split(","):
        configs = [("this", here, 1), ("this", here, args.workers)]
        if args.baseline_src:
            configs.append(("baseline", args.baseline_src, 1))
        serial_hash = None
        plan_file = None
        if args.same_plan:
            plan_file = str(Path(tempfile.mkdtemp()) / f"{case}_plan.gpkg")
            run(here, case, 1, plan_file, save=True)
        for name, src, workers in configs:
            r = run(src, case, workers, plan_file)
            if "error" in r:
                print(f"| {case} | {name} | {workers} | error: {r['error']} |")
                continue
            if name == "this" and workers == 1:
                serial_hash = r["edges"]
            same = ("yes" if r["edges"] == serial_hash else "NO") if name == "this" and workers > 1 else ""
            unr = "" if r["unreachable_km"] is None else f"{r['unreachable_km']:.2f}"
            print(
                f"| {case} | {name} | {workers} | {r['wall_s']:.1f} | {r['mean_gap']:.2%} | {r['worst_gap']:.2%} | "
                f"{r['mean_deadhead']:.1%} | {r['mean_pieces']:.1f} | {r['max_pieces']} | {r['grids_routed']} | {unr} | "
                f"{same} | {r['note']} |",
                flush=True,
            )
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
