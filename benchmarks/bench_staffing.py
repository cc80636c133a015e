"""Staffing benchmark: gridplan.staffing.assign_staff (exact, HiGHS) vs a greedy nearest-grid assignment.

The issue's target: 15 grids × 5 roles ("1+2+2") from a roster of 100 people, solved to a proven
optimum in under 2 s; compare the total home-to-post distance with a greedy nearest-grid
assignment that follows the same roles and rules (``staffing._greedy_assignment``). Both run in
the same process on the same plan, roster and street distances, for several roster seeds.

Run: ``.venv/bin/python benchmarks/bench_staffing.py [--seeds 0 1 2 3 4] [--people 100]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import gridplan
from gridplan.datasets import sample_roster
from gridplan.grids import partition
from gridplan.staffing import _greedy_assignment, assign_staff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="roster seeds")
    ap.add_argument("--people", type=int, default=100, help="roster size")
    ap.add_argument("--grids", type=int, default=15)
    args = ap.parse_args()
    t0 = time.perf_counter()
    district = gridplan.sample_district(seed=0)
    plan = partition(district, args.grids, seed=0)
    print(
        f"# Staffing: {args.grids} grids x '1+2+2', {args.people} people, network distances "
        f"(sample district seed 0, plan built in {time.perf_counter() - t0:.1f} s)\n"
    )
    rows = []
    for seed in args.seeds:
        roster = sample_roster(plan, seed=seed, n_people=args.people)
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
                "status": exact.params["status"],
                "gap": exact.params.get("gap"),
                "exact s (call)": round(t_exact, 2),
                "exact s (solver)": round(float(exact.params.get("seconds", np.nan)), 2),
                "exact km": round(exact.total_distance_m / 1000, 2),
                "greedy s": round(t_greedy, 2),
                "greedy km": round(greedy.total_distance_m / 1000, 2),
                "greedy / exact": round(greedy.total_distance_m / exact.total_distance_m, 4),
                "vacancies exact/greedy": f"{e['vacancies']}/{g['vacancies']}",
                "uncovered shifts exact/greedy": f"{e['uncovered_shifts']}/{g['uncovered_shifts']}",
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
