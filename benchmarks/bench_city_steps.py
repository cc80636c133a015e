"""The city's posts and staffing steps, 1 against 2 Dask workers, repeated: their spread.

One whole-city run decides a 2-vs-1-worker ratio with one sample of each; for steps of a few
seconds (staffing) machine noise decides it. This script runs ``plan_city`` once on 2 workers,
keeps the exact inputs of its posts and staffing steps, then runs each step again ``--reps``
times on a 1-worker and on a 2-worker ``LocalCluster``, alternating which goes first, and prints
every wall time and the ratio of the medians. The step functions are the pipeline's own
(``gridplan.city._city_posts`` and ``_city_staffing``), with the districts scattered once per run
as ``plan_city`` does.

    python benchmarks/bench_city_steps.py --districts 12 --district-km 6 --grids 1652 --reps 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import gridplan.city as city_module  # noqa: E402 (after the sys.path line above)
from gridplan import _dask  # noqa: E402
from gridplan.datasets import sample_city  # noqa: E402

STEPS = ("_city_posts", "_city_staffing")


def _warm() -> bool:
    import gridplan.grids  # noqa: F401
    import gridplan.posts  # noqa: F401
    import gridplan.routes  # noqa: F401
    import gridplan.staffing  # noqa: F401

    return True


def capture(args: argparse.Namespace, client: Any) -> dict[str, tuple[tuple, dict]]:
    """Run the city once and keep the arguments its posts and staffing steps were called with."""
    kept: dict[str, tuple[tuple, dict]] = {}
    originals = {name: getattr(city_module, name) for name in STEPS}

    def keeping(name: str) -> Any:
        def step(*a: Any, **kw: Any) -> Any:
            kept[name] = (a, {k: v for k, v in kw.items() if k not in ("client", "refs")})
            return originals[name](*a, **kw)

        return step

    for name in STEPS:
        setattr(city_module, name, keeping(name))
    try:
        city = sample_city(args.districts, seed=args.seed, district_km=args.district_km)
        t = time.perf_counter()
        city_module.plan_city(city, args.grids, seed=args.seed, effort=args.effort, progress=False, client=client)
        print(f"plan_city on 2 workers: {time.perf_counter() - t:.1f} s (inputs kept)", flush=True)
    finally:
        for name, fn in originals.items():
            setattr(city_module, name, fn)
    return kept


def run_step(name: str, inputs: tuple[tuple, dict], client: Any) -> tuple[float, float, float]:
    """Wall time of one step with sharing the districts, without it (``plan_city`` shares them once and
    counts it in the posts step), and its tasks' own time."""
    a, kw = inputs
    t = time.perf_counter()
    refs = _dask.share(a[3], client)
    _, row = getattr(city_module, name)(*a, client=client, refs=refs, **kw)
    return time.perf_counter() - t, float(row["wall_s"]), float(row["task_s"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--districts", type=int, default=4)
    p.add_argument("--district-km", type=float, default=2.0)
    p.add_argument("--grids", type=int, default=40)
    p.add_argument("--effort", type=float, default=0.1)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    from dask.distributed import Client, LocalCluster

    warnings.simplefilter("ignore")
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as one,
        Client(one) as c1,
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as two,
        Client(two) as c2,
    ):
        kept = capture(args, c2)
        c1.run(_warm)
        walls: dict[str, dict[int, list[float]]] = {s: {1: [], 2: []} for s in STEPS}
        own: dict[str, dict[int, list[float]]] = {s: {1: [], 2: []} for s in STEPS}
        for r in range(args.reps):
            order = ((1, c1), (2, c2)) if r % 2 == 0 else ((2, c2), (1, c1))
            for name in STEPS:
                for w, c in order:
                    wall, step_wall, task_s = run_step(name, kept[name], c)
                    walls[name][w].append(wall)
                    own[name][w].append(step_wall)
                    print(
                        f"rep {r} {name} {w} worker(s): wall {wall:.2f} s with sharing the districts, "
                        f"{step_wall:.2f} s without; tasks' own time {task_s:.2f} s",
                        flush=True,
                    )
    print("\nstep                    1 worker (s)               2 workers (s)              ratio per rep         median ratio")
    for name in STEPS:
        for what, table in (("with sharing", walls), ("step alone", own)):
            one_w, two_w = table[name][1], table[name][2]
            ratios = [a / b for a, b in zip(one_w, two_w)]
            print(
                f"{name[6:]:<9} {what:<13} {str([round(x, 2) for x in one_w]):<26} {str([round(x, 2) for x in two_w]):<26} "
                f"{str([round(x, 2) for x in ratios]):<21} {statistics.median(one_w) / statistics.median(two_w):.2f}"
            )


if __name__ == "__main__":
    main()
