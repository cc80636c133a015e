"""City pipeline and locate at scale: time per step serially and on 1 and 2 Dask workers; a scaling estimate.

Usage (from the root of a checkout, the [distributed] extra installed)::

    python benchmarks/bench_city.py --districts 12 --district-km 6 --grids 1652      # the issue's city
    python benchmarks/bench_city.py --districts 4 --district-km 3 --grids 160        # a quick one
    python benchmarks/bench_city.py --locate-only --points 10000000 --plan PLAN.gpkg  # locate at scale only

Part 1 builds the synthetic city (``gridplan.datasets.sample_city``; not timed as a step) and runs
``gridplan.city.plan_city`` three times with the same seed: serially (no Dask), on a LocalCluster of
one worker process and of two (``threads_per_worker=1``). It checks that the three results are identical
(grid codes and polygons, posts, every chief's walk length, every assignment), prints the time of every
step and the speed-up of 2 workers over 1 per step, and estimates the wall time on 16 workers from the
measured per-task times: for every step, its serial part (wall time of the 1-worker run minus its tasks'
own time: merging, the seams' bookkeeping, scattering, the index and the coverage study) plus the
makespan of its tasks on w workers (longest-processing-time-first list schedule of the measured task
times, round by round). The same model predicts the 2-worker run, which is checked against the
measurement.

Part 2 (locate at scale) writes ``--points`` random points over the city's grids to Parquet files of
``--partition`` rows, builds one ``GridIndex`` of the city's plan, and runs ``GridIndex.assign`` on the
``dask_geopandas.read_parquet`` frame with ``to_parquet`` of the result (nothing gathered) on 1 and 2
worker processes (each limited to ``--worker-memory``), recording points per second per worker and each
worker's peak resident memory; the in-memory ``assign`` of one partition in this process is the peer.
"""

from __future__ import annotations

import argparse
import heapq
import json
import resource
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gridplan.city import STEPS, plan_city, write_city  # noqa: E402 (after the sys.path line above)
from gridplan.datasets import sample_city  # noqa: E402
from gridplan.errors import GridplanWarning  # noqa: E402


def lpt_makespan(tasks: list[float], workers: int) -> float:
    """Longest-processing-time-first list schedule of ``tasks`` on ``workers`` identical workers."""
    loads = [0.0] * workers
    heapq.heapify(loads)
    for t in sorted(tasks, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + t)
    return max(loads) if tasks else 0.0


def estimate(times: pd.DataFrame, task_times: dict, workers: int) -> pd.Series:
    """Predicted wall time per step on ``workers`` workers from a 1-worker run."""
    out = {}
    for step in STEPS:
        wall = float(times.loc[step, "wall_s"])
        rounds = task_times.get(step)
        if not rounds:  # a serial step
            out[step] = wall
            continue
        busy = sum(sum(r) for r in rounds)
        serial = max(0.0, wall - busy)
        out[step] = serial + sum(lpt_makespan(r, workers) for r in rounds)
    return pd.Series(out, name=f"predicted_{workers}w")


def identical(a, b) -> bool:
    try:
        pd.testing.assert_series_equal(a.plan.grids["code"], b.plan.grids["code"])
        assert a.plan.grids.geometry.geom_equals_exact(b.plan.grids.geometry, 1e-9).all()
        pd.testing.assert_frame_equal(
            pd.DataFrame(a.posts.posts.drop(columns="geometry")), pd.DataFrame(b.posts.posts.drop(columns="geometry"))
        )
        pd.testing.assert_series_equal(a.routes["length"], b.routes["length"])
        pd.testing.assert_frame_equal(
            pd.DataFrame(a.staffing.assignments.drop(columns="post")), pd.DataFrame(b.staffing.assignments.drop(columns="post"))
        )
    except AssertionError as exc:
        print("  NOT identical:", str(exc)[:300])
        return False
    return True


def run_city(args: argparse.Namespace) -> tuple[object, dict]:
    from dask.distributed import Client, LocalCluster

    t = time.perf_counter()
    city = sample_city(args.districts, seed=args.seed, district_km=args.district_km)
    print(f"city: {city!r} built in {time.perf_counter() - t:.1f} s (input, not a step)", flush=True)
    kw = {"seed": args.seed, "effort": args.effort, "progress": args.progress, "staffing_time_limit": args.staff_limit}
    results, summary = {}, {}
    configs = [("serial", 0)] + [(f"{w} worker{'s' if w > 1 else ''}", w) for w in args.workers]
    for name, w in configs:
        t = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GridplanWarning)
            if w == 0:
                res = plan_city(city, args.grids, **kw)
            else:
                with LocalCluster(n_workers=w, threads_per_worker=1, dashboard_address=None) as lc, Client(lc) as c:
                    res = plan_city(city, args.grids, client=c, **kw)
        print(f"\n{name}: {res!r} ({time.perf_counter() - t:.1f} s, {len(caught)} warnings)", flush=True)
        print(res.times.round(2).to_string(), flush=True)
        results[name] = res
    base = results["serial"]
    same = {name: identical(base, r) for name, r in results.items() if name != "serial"}
    summary["task_times_serial"] = {
        s: sorted((round(t, 2) for rnd in base.params["task_times"].get(s, []) for t in rnd), reverse=True) for s in STEPS
    }
    summary["times_serial"] = base.times.round(3).to_dict()
    table = pd.DataFrame({name: r.times["wall_s"] for name, r in results.items()})
    table.loc["total"] = table.sum()
    one, two = "1 worker", "2 workers"
    if one in results and two in results:
        table["x (2 vs 1 worker)"] = table[one] / table[two]
        r1 = results[one]
        pred2 = estimate(r1.times, r1.params["task_times"], 2)
        pred16 = estimate(r1.times, r1.params["task_times"], 16)
        table["predicted 2 workers"] = pd.concat([pred2, pd.Series({"total": pred2.sum()})])
        table["predicted 16 workers"] = pd.concat([pred16, pd.Series({"total": pred16.sum()})])
        tasks = {s: sorted((round(t, 2) for rnd in r1.params["task_times"].get(s, []) for t in rnd), reverse=True) for s in STEPS}
        summary["task_times_1w"] = tasks
    table["parallel"] = base.times["parallel"].reindex(table.index)
    print("\nwall time per step (s):\n" + table.round(2).to_string())
    print(f"\nidentical to the serial run: {same}")
    r = base
    print(f"\nposts: {r.posts.summary().to_dict()}")
    print(
        f"staffing: {r.staffing.summary().to_dict()}; per district: "
        f"{ {k: v['status'] for k, v in r.staffing.params['per_district'].items()} }"
    )
    print(
        f"patrols: {len(r.routes)} chiefs, mean gap to bound {r.route_grids['gap'].mean():.2%}, "
        f"longest {r.routes['length'].max() / 1000:.1f} km"
    )
    print(f"plan: {r.plan.metrics().to_dict()}")
    summary.update({"identical": same, "table": table.round(3).to_dict()})
    if args.out:
        write_city(r, args.out)
        print(f"wrote {args.out}")
    return r, summary


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def _parquet_rows(folder: Path) -> int:
    """Rows written to a Parquet folder, from the files' footers (nothing decoded)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in folder.glob("*.parquet"))


def run_locate(args: argparse.Namespace, plan) -> dict:
    import dask_geopandas as dgpd
    import geopandas as gpd
    from dask.distributed import Client, LocalCluster

    from gridplan.locate import GridIndex

    work = Path(args.scratch)
    shutil.rmtree(work, ignore_errors=True)
    (work / "in").mkdir(parents=True)
    rng = np.random.default_rng(args.seed)
    x0, y0, x1, y1 = plan.grids.total_bounds
    t = time.perf_counter()
    n_files = int(np.ceil(args.points / args.partition))
    for i in range(n_files):
        m = min(args.partition, args.points - i * args.partition)
        g = gpd.GeoDataFrame(
            {"severity": rng.choice(np.array(["small", "larger", "hard"]), m)},
            geometry=gpd.points_from_xy(rng.uniform(x0, x1, m), rng.uniform(y0, y1, m)),
            crs=plan.crs,
        )
        g.to_parquet(work / "in" / f"part{i:05d}.parquet")
    print(f"\nlocate: wrote {args.points:,} points in {n_files} Parquet files in {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    index = GridIndex(plan)
    build = time.perf_counter() - t
    one = gpd.read_parquet(work / "in" / "part00000.parquet")
    index.assign(one.iloc[:100], severity="severity")  # builds the community lookup once (workers do it once too)
    t = time.perf_counter()
    index.assign(one, severity="severity")
    mem_rate = len(one) / (time.perf_counter() - t)
    print(
        f"index of {plan.n_grids} grids built in {build:.1f} s; in memory, one partition: {mem_rate / 1e6:.2f} M points/s",
        flush=True,
    )
    rows = []
    for w in args.locate_workers:
        shutil.rmtree(work / "out", ignore_errors=True)
        with (
            LocalCluster(n_workers=w, threads_per_worker=1, memory_limit=args.worker_memory, dashboard_address=None) as lc,
            Client(lc) as c,
        ):
            c.run(lambda: None)
            t = time.perf_counter()
            ddf = dgpd.read_parquet(sorted((work / "in").glob("*.parquet")))
            routed = index.assign(ddf, severity="severity")
            routed = routed.assign(**{c: routed[c].astype("string") for c in ("street", "road_chief")})
            routed.to_parquet(work / "out")
            sec = time.perf_counter() - t
            peaks = c.run(_peak_rss_mb)
        written = _parquet_rows(work / "out")
        if written != args.points:
            raise RuntimeError(f"{w} worker(s) wrote {written:,} rows for {args.points:,} points")
        rate = args.points / sec
        rows.append(
            {
                "workers": w,
                "seconds": sec,
                "M points/s": rate / 1e6,
                "M points/s per worker": rate / w / 1e6,
                "peak worker RSS MB": max(peaks.values()),
                "x in-memory 1 partition": rate / mem_rate,
            }
        )
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows).set_index("workers")
    best = table["M points/s"].max() * 1e6
    print("\n" + table.round(3).to_string())
    print(
        f"10^8 points at the best measured rate: {1e8 / best / 60:.1f} min (extrapolated, linear in points: every "
        "partition is independent and the memory per worker does not grow with the number of points)"
    )
    shutil.rmtree(work, ignore_errors=True)
    return {"locate": table.round(3).to_dict(), "index_build_s": build, "in_memory_rate": mem_rate}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--districts", type=int, default=4)
    p.add_argument("--district-km", type=float, default=3.0)
    p.add_argument("--grids", type=int, default=160)
    p.add_argument("--effort", type=float, default=0.2)
    p.add_argument("--staff-limit", type=float, default=300.0)
    p.add_argument(
        "--workers",
        type=lambda s: [int(v) for v in s.split(",") if v],
        default=[1, 2],
        help="worker counts after the serial run, e.g. 1,2 ('' for the serial run only)",
    )
    p.add_argument("--locate-workers", type=lambda s: [int(v) for v in s.split(",") if v], default=[1, 2])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the serial run's files here")
    p.add_argument("--points", type=int, default=0, help="points for locate at scale (0: skip)")
    p.add_argument("--partition", type=int, default=1_000_000)
    p.add_argument("--worker-memory", default="3GiB")
    p.add_argument("--scratch", default="/tmp/gridplan_bench_city")
    p.add_argument("--plan", default=None, help="with --locate-only: a plan .gpkg")
    p.add_argument("--locate-only", action="store_true")
    p.add_argument("--json", default=None)
    p.add_argument("--progress", action="store_true", help="progress bars per step (to stderr)")
    args = p.parse_args()
    out: dict = {"args": vars(args)}
    t0 = time.perf_counter()
    if args.locate_only:
        from gridplan.grids import GridPlan

        plan = GridPlan.read_file(args.plan)
    else:
        res, summary = run_city(args)
        out.update(summary)
        plan = res.plan
    if args.points:
        out.update(run_locate(args, plan))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
