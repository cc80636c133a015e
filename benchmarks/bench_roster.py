"""Monthly roster: 15 grids x "1+2+2" (5 roles) x 30 days from a roster of 100 people, to a proven optimum.

Run:  .venv/bin/python benchmarks/bench_roster.py [--days 30] [--people 100]

The sample district (seed 0) cut into 15 grids; ``sample_roster(plan, n_people=100)`` staffed with
``assign_staff`` ("1+2+2": 75 of the 100 assigned); then ``roster(staffing, days=30,
rest_days_per_week=1, unavailable=roster)`` with a week of leave for three people. Reported: the
model size, HiGHS's status, gap and time, and the independent checks (rest days per week, no
late-then-early, fair late shifts, every grid-shift covered). The peer is a fixed cyclic rotation
(every person keeps the staffing's shift, rest days staggered through the week): the roster a grid
office writes by hand, scored the same way.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import pandas as pd


def cyclic(staffing, days: int, start: str) -> pd.DataFrame:
    a = staffing.assignments
    dates = pd.date_range(start, periods=days)
    rows = []
    for k, (_, p) in enumerate(a.iterrows()):
        for d, day in enumerate(dates):
            rows.append({"id": p["id"], "grid": p["grid"], "date": day, "shift": "rest" if d % 7 == k % 7 else p["shift"]})
    return pd.DataFrame(rows)


def covered(table: pd.DataFrame, grids: int, days: int) -> int:
    on = table[~table["shift"].isin(["rest", "leave"])]
    return int(on.drop_duplicates(["grid", "date", "shift"]).shape[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--people", type=int, default=100)
    args = ap.parse_args()
    import scipy

    import gridplan
    from gridplan.datasets import sample_roster
    from gridplan.grids import partition
    from gridplan.staffing import assign_staff, roster

    district = gridplan.sample_district(seed=0)
    plan = partition(district, 15, seed=0)
    people = sample_roster(plan, seed=0, n_people=args.people)
    t = time.perf_counter()
    staffing = assign_staff(plan, people, seed=0)
    t_staff = time.perf_counter() - t
    ids = staffing.assignments["id"].tolist()
    leave = {
        ids[0]: pd.date_range("2024-10-08", periods=6),
        ids[17]: pd.date_range("2024-10-15", periods=5),
        ids[40]: pd.date_range("2024-10-21", periods=3),
    }
    t = time.perf_counter()
    r = roster(staffing, start="2024-10-01", days=args.days, rest_days_per_week=1, leave=leave, unavailable=people)
    secs = time.perf_counter() - t
    p = r.params
    slots = 15 * args.days * 3
    tab = r.table
    rest_ok = all(((g["shift"] == "rest").sum() == (1 if len(g) == 7 else (len(g)) // 7)) for _, g in tab.groupby(["id", "week"]))
    quick = 0
    for _, g in tab.sort_values("date").groupby("id"):
        s = g["shift"].to_numpy()
        quick += int(((s[:-1] == "late") & (s[1:] == "early")).sum())
    cyc = cyclic(staffing, args.days, "2024-10-01")
    print(
        f"# Roster benchmark; {pd.Timestamp.now().date()}, Python {platform.python_version()}, scipy {scipy.__version__}, "
        f"{os.cpu_count()} CPUs (shared machine)\n"
    )
    print(
        f"staffing: {len(staffing.assignments)} of {len(people)} people in 15 grids ({t_staff:.1f} s, "
        f"{staffing.params['status']})"
    )
    print(
        f"roster: {p['people']} people x {p['days']} days x 3 shifts: {p['variables']:,} variables, "
        f"{p['constraints']:,} rows; HiGHS {p['status']}, gap {p['gap']:.2%}, {secs:.1f} s"
    )
    print(f"covered grid-shift-days: {int(p['objective'])} of {slots} (bound {p['bound']:.0f}); leave days {p['leave_days']}")
    print(
        f"checks: one rest day per full week {rest_ok}; late-then-early {quick}; max |late - share| "
        f"{r.fairness['late_off'].abs().max():.2f}"
    )
    print(
        f"cyclic rotation (fixed shifts, staggered rest, leave ignored): {covered(cyc, 15, args.days)} of {slots} "
        "grid-shift-days covered"
    )


if __name__ == "__main__":
    main()
