"""Catalogue benchmark: GridIndex.assign with the standard catalogue and working-time deadlines vs today's assign.

Both in the same run, on the same index (15 grids of the sample district with its streets and
communities) and the same 1,000,000 cases (uniform over the district's bounding box, a category
drawn from the catalogue's minor names with 2 % unknown codes, a severity 1-3 and a report time
over one year):

* **plain**: ``index.assign(cases, severity=..., time=...)`` (grid, community, street, road
  chief, "7123" level and calendar-day deadline: gridplan before the catalogue);
* **catalogue**: the same plus ``category=..., calendar=WorkCalendar(holidays=...)``:
  category id, department, the category's own limit or the severity's in working days.

Reported: seconds (best of ``--repeat``), the ratio catalogue / plain (the issue asks <= 2x),
peak traced memory of each call (tracemalloc, a separate call) and its ratio; then the working-time
clock alone (1M deadlines) and ``evaluate`` on a year of a district's cases (``--cases`` 75,000).

Run: ``.venv/bin/python benchmarks/bench_catalogue.py [--points 1000000] [--repeat 2]``
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import numpy as np
import pandas as pd


def cases_frame(index, n: int, seed: int, catalogue) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = index.grids.total_bounds
    names = catalogue.table["minor_name"].replace("", np.nan).dropna().to_numpy(dtype=object)
    cat = names[rng.integers(0, len(names), n)]
    cat[rng.random(n) < 0.02] = "X-unknown"
    return pd.DataFrame(
        {
            "x": rng.uniform(x0, x1, n),
            "y": rng.uniform(y0, y1, n),
            "severity": rng.integers(1, 4, n),
            "reported": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.random(n) * 365 * 86400, unit="s"),
            "category": cat,
        }
    )


def timed(fn, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def peak(fn) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--cases", type=int, default=75_000)
    args = ap.parse_args()

    from gridplan import sample_district
    from gridplan.catalogue import WorkCalendar, load_catalogue
    from gridplan.grids import partition
    from gridplan.locate import GridIndex

    d = sample_district()
    plan = partition(d, 15, seed=0)
    index = GridIndex(plan, streets=d)
    cat = load_catalogue()
    cal = WorkCalendar(
        holidays=["2026-01-01", "2026-02-16/2026-02-22", "2026-10-01/2026-10-07"],
        workdays=["2026-02-14", "2026-10-10"],
        name="benchmark calendar",
    )
    cases = cases_frame(index, args.points, 0, cat)
    index.assign(cases.head(1000), severity="severity", time="reported")  # build the lookup context once

    def plain():
        return index.assign(cases, x="x", y="y", severity="severity", time="reported")

    def with_catalogue():
        return index.assign(
            cases, x="x", y="y", severity="severity", time="reported", category="category", catalogue=cat, calendar=cal
        )

    t_plain = timed(plain, args.repeat)
    t_cat = timed(with_catalogue, args.repeat)
    m_plain = peak(plain)
    m_cat = peak(with_catalogue)
    out = with_catalogue()
    unknown = int(out["category_id"].isna().sum())
    print(
        f"assign {args.points:,} cases: plain {t_plain:.2f} s, with catalogue + working-time deadlines {t_cat:.2f} s "
        f"-> ratio {t_cat / t_plain:.2f}x"
    )
    print(f"peak traced memory: plain {m_plain:.0f} MiB, with catalogue {m_cat:.0f} MiB -> ratio {m_cat / m_plain:.2f}x")
    print(
        f"unknown categories kept with a reason: {unknown:,} ({unknown / args.points:.1%}); "
        f"deadline by category limit: {(out['limit_rule'] == 'category').mean():.1%}"
    )

    t = cases["reported"]
    t_clock = timed(lambda: cal.add(t, days=3), args.repeat)
    print(f"working-time clock alone: {args.points:,} deadlines (3 working days) in {t_clock:.2f} s")

    try:
        from gridplan._caseflow import synthetic_ledger
        from gridplan.evaluation import evaluate
    except ImportError:
        return
    ledger = synthetic_ledger(args.cases, seed=0)
    for by in ("grid", "department"):
        t_eval = timed(lambda by=by: evaluate(ledger, by=by, period="M"), args.repeat)
        print(f"evaluate {len(ledger):,} cases by {by} and month: {t_eval:.2f} s")


if __name__ == "__main__":
    main()
