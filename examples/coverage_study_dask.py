"""A coverage study on Dask: the 12 existing grids vs a 15-grid redraw, simulated on 2 local workers.

Both plans get the same kind of set-up (key posts, "1+2+2" teams from the sample roster, two road
chiefs per grid), then ``simulate(..., client=...)`` runs the weeks on the cluster. Run ``i`` uses the
same random incidents for both plans, so ``compare`` gives paired differences; the result is the
same on any number of workers. The settings are small so that it runs in a minute or two; a
study uses ``runs=1000`` and the defaults of every step.

Run from the repository root (needs the ``[distributed]`` extra; no other data)::

    python examples/coverage_study_dask.py [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from dask.distributed import Client, LocalCluster

import gridplan

RUNS, DAYS = 8, 2  # a study: runs=1000, days=7
POSTS_PER_GRID = 2.8  # Guiding: 42 key posts for 15 grids


def set_up(plan: gridplan.GridPlan) -> dict:
    """Posts, staff and patrols for one plan, with short solver limits."""
    posts = gridplan.place_posts(plan, round(POSTS_PER_GRID * len(plan.grids)), time_limit=5, progress=False)
    staffing = gridplan.assign_staff(plan, gridplan.sample_roster(plan, seed=0), posts=posts)
    routes = gridplan.balance_routes(plan, chiefs_per_grid=2, posts=posts, effort=0.1, progress=False)
    return {"posts": posts, "staffing": staffing, "routes": routes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="gridplan_dask_")))
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    district = gridplan.sample_district(seed=0)
    new = gridplan.resplit(district, 15, seed=0)
    plans = {"existing_12": new.previous, "redrawn_15": new}

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        results = {
            name: gridplan.simulate(plan, **set_up(plan), days=DAYS, runs=RUNS, seed=0, client=client, progress=False)
            for name, plan in plans.items()
        }

    for name, result in results.items():
        print(name, result.summary().round(3).to_string(), sep="\n")
        result.to_file(out / f"simulation_{name}.gpkg")
    comparison = results["redrawn_15"].compare(results["existing_12"])
    print("A = redrawn_15, B = existing_12 (difference = A - B, paired run by run)")
    print(comparison.round(3).to_string())
    comparison.to_csv(out / "comparison.csv")


if __name__ == "__main__":
    main()
