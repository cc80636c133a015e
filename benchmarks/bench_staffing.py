"""Staffing benchmark: gridplan.staffing.assign_staff (exact, HiGHS) vs a greedy nearest-grid assignment.

The issue's target: 15 grids × 5 roles ("1+2+2") from a roster of 100 people, solved to a proven
optimum in under 2 s; compare the total home-to-post distance with a greedy nearest-grid
assignment that follows the same roles and rules (``staffing._greedy_assignment``). Both run in
the same process on the same plan, roster and street distances, for several roster seeds.

At district scale (issue 23: 138 grids × 5 roles from about 900 people, one district of the
1,652-grid city), ``--district-km 6 --grids 138 --people 0 --joint-limit 300`` builds one synthetic
6 km district (``sample_city(1)``), and also runs the joint integer programme alone (HiGHS, the
model ``assign_staff`` falls back to) with that time limit, the peer the assignment route replaces.

Run: ``.venv/bin/python benchmarks/bench_staffing.py [--seeds 0 1 2 3 4] [--people 100]``
[--district-km 6 --grids 138 --people 0 --joint-limit 300]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import gridplan
from gridplan import staffing
from gridplan.datasets import sample_city, sample_roster
from gridplan.errors import InfeasibleError
from gridplan.grids import partition
from gridplan.staffing import _greedy_assignment, assign_staff


def joint_programme(plan, roster, time_limit: float) -> dict:
    """The joint integer programme alone (no assignment route): status, seconds and km."""
    pb = staffing._prepare(
        plan, roster, model="1+2+2", posts=None, shifts=staffing.SHIFTS, distance="network", streets=None, crs=None, seed=0
    )
    t = time.perf_counter()
    try:
        _, info = staffing._milp(pb, seed=0, time_limit=time_limit)
    except InfeasibleError as err:  # HiGHS stopped with no solution at all
        return {"joint status": f"no solution ({err})"[:40], "joint s": round(time.perf_counter() - t, 1), "joint km": np.nan}
    seconds = round(time.perf_counter() - t, 1)
    return {"joint status": info["status"], "joint s": seconds, "joint km": round(info["objective"] / 1000, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="roster seeds")
    ap.add_argument("--people", type=int, default=100, help="roster size")
    ap.add_argument("--grids", type=int, default=15)
    ap.add_argument("--district-km", type=float, default=None, help="one synthetic district of this side (sample_city(1))")
    ap.add_argument("--joint-limit", type=float, default=None, help="also run the joint programme alone, this many s")
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.district_km is None:
        district, where = gridplan.sample_district(seed=0), "sample district seed 0"
        plan = partition(district, args.grids, seed=0)
    else:
        district, where = sample_city(1, seed=0, district_km=args.district_km), f"sample_city(1), {args.district_km:g} km"
        plan = partition(district, args.grids, seed=0, units="cells", strict=False)
    print(
        f"# Staffing: {args.grids} grids x '1+2+2', {args.people or 'sample_roster default'} people, network "
        f"distances ({where}, plan built in {time.perf_counter() - t0:.1f} s)\n"
    )
    rows = []
    for seed in args.seeds:
        roster = sample_roster(plan, seed=seed, **({"n_people": args.people} if args.people else {}))
        t = time.perf_counter()
        exact = assign_staff(plan, roster, seed=0)
        t_exact = time.perf_counter() - t
        t = time.perf_counter()
        greedy = _greedy_assignment(plan, roster, seed=0)
        t_greedy = time.perf_counter() - t
        e, g = exact.summary(), greedy.summary()
        rows.append(
            {
                "roster seed": seed,
                "people": len(roster),
                "status": exact.params["status"],
                "route": "assignment" if "assignment (" in exact.params["solver"] else "joint programme",
                "gap": exact.params.get("gap"),
                "exact s (call)": round(t_exact, 2),
                "exact s (solver)": round(float(exact.params.get("seconds", np.nan)), 2),
                "exact km": round(exact.total_distance_m / 1000, 2),
                "greedy s": round(t_greedy, 2),
                "greedy km": round(greedy.total_distance_m / 1000, 2),
                "greedy / exact": round(greedy.total_distance_m / exact.total_distance_m, 4),
                "vacancies exact/greedy": f"{e['vacancies']}/{g['vacancies']}",
                "uncovered shifts exact/greedy": f"{e['uncovered_shifts']}/{g['uncovered_shifts']}",
                **(joint_programme(plan, roster, args.joint_limit) if args.joint_limit else {}),
            }
        )
    table = pd.DataFrame(rows)
    print("| " + " | ".join(table.columns) + " |")
    print("|" + "---|" * len(table.columns))
    for r in table.itertuples(index=False):
        print("| " + " | ".join(str(v) for v in r) + " |")
    print(
        f"\nexact call: max {table['exact s (call)'].max():.2f} s (target < 2 s); "
        f"greedy is {100 * (table['greedy / exact'].mean() - 1):.1f} % longer on average"
    )


if __name__ == "__main__":
    main()
