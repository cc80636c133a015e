"""A locate function for a web service: a complaint's GCJ-02 point -> grid, road chiefs, deadline.

Build the ``GridIndex`` once when the service starts (here from the sample district, 15 grids and two
road chiefs per grid; in a service, ``GridPlan.read_file`` and ``RoutePlan.read_file``). ``route(lon,
lat)`` answers one request in microseconds with ``locate_one`` and lookup tables; a batch (a queue
drained every second, a day's CSV) goes through ``assign`` in one call, which also picks the chief of
the nearest street and the community. Prints the time per point of both paths.

Run from the repository root (no other data needed)::

    python examples/locate_service.py [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import gridplan
from gridplan.locate import TIME_LIMITS_7123 as RULE

district = gridplan.sample_district(seed=0)
plan = gridplan.partition(district, 15, seed=0)
patrols = gridplan.balance_routes(plan, chiefs_per_grid=2, effort=0.1, progress=False)
INDEX = gridplan.GridIndex(plan, streets=district, routes=patrols)  # once, at start-up
CHIEFS = patrols.routes.groupby("grid")["chief"].agg(list).to_dict()  # grid -> its road chiefs
LEVELS = {s: (level, limit / pd.Timedelta(hours=1)) for s, (level, limit) in RULE.levels.items()}


def route(lon: float, lat: float, severity: int = 1) -> dict:
    """Grid, road chiefs, level and hours allowed for one Amap/Tencent (GCJ-02) point (JSON-ready)."""
    grid = INDEX.locate_one(lon, lat, crs="GCJ-02")  # None outside every grid
    level, hours = LEVELS[RULE.severity(severity)]
    return {"grid": grid, "road_chiefs": CHIEFS.get(grid, []), "level": level, "deadline_hours": hours}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="gridplan_locate_")))
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)  # 10,000 complaints in the district's box, as an app sends them
    xmin, ymin, xmax, ymax = plan.grids.total_bounds
    lon, lat = gridplan.crs.transform(
        rng.uniform(xmin, xmax, 10_000), rng.uniform(ymin, ymax, 10_000), source=plan.crs, target="GCJ-02"
    )
    severity = rng.choice([1, 2, 3], len(lon))
    t = time.perf_counter()
    answers = [route(a, b, s) for a, b, s in zip(lon.tolist(), lat.tolist(), severity.tolist())]
    print(f"route(): {(time.perf_counter() - t) / len(answers) * 1e6:.1f} µs a point; e.g. {answers[0]}")

    batch = pd.DataFrame({"lon": lon, "lat": lat, "severity": severity})
    INDEX.assign(batch.head(10), crs="GCJ-02")  # the first call builds the street lookup: do it at start-up
    t = time.perf_counter()
    routed = INDEX.assign(batch, crs="GCJ-02", severity="severity")
    print(f"assign(): {(time.perf_counter() - t) / len(routed) * 1e6:.1f} µs a point in a batch of {len(routed):,}")
    # the two paths agree: same grid, and the batch's chief is one of the grid's chiefs
    assert [None if pd.isna(g) else g for g in routed["grid"]] == [a["grid"] for a in answers]
    inside = routed["grid"].notna()
    assert all(c in a["road_chiefs"] for c, a, i in zip(routed["road_chief"], answers, inside) if i)
    routed.to_csv(out / "routed.csv", index=False, encoding="utf-8-sig")
    print(f"{inside.sum()} of {len(routed)} inside a grid; wrote {out / 'routed.csv'}")


if __name__ == "__main__":
    main()
