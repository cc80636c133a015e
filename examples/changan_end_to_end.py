"""End to end on real streets: the Chang'an (Xi'an) road network, from road links to a simulated week.

What a planner does with their own street file, with gridplan's default settings at every step:

1. the district: the area the real road links enclose (a real district boundary follows roads);
2. 15 balanced grids of street blocks (``partition``);
3. two road chiefs per grid with balanced patrols (``balance_routes``);
4. key posts on the streets (``place_posts``);
5. "1+2+2" teams from a sample roster (``sample_roster``, ``assign_staff``);
6. a ``GridIndex`` and a day of complaints reported in GCJ-02 (as an Amap-based app sends them),
   each routed to its grid, road chief, level and deadline (``GridIndex.assign``);
7. a short simulation of the plan (``simulate``).

The roads are real (TrackIt/gotrackit's Xi'an network, WGS84; see shared/data/README.md). The
complaints, the roster and the simulated incidents are synthetic, drawn with fixed seeds. The
street file has no residents, so the grids balance street length and the posts cover it.

Run from the repository root::

    python examples/changan_end_to_end.py [--data DIR] [--out DIR]

``--data`` is the folder holding ``changan_roads.gpkg`` (default: ``$GRIDPLAN_SHARED_DATA``, else
``../shared/data`` beside the checkout). Without the file the script prints a line starting with
``SKIP`` and exits with status 0. Figures and tables go to ``--out`` (default: a temporary folder).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import gridplan
from gridplan import crs as gcrs
from gridplan.datasets import sample_roster
from gridplan.grids import partition
from gridplan.locate import GridIndex
from gridplan.posts import place_posts
from gridplan.routes import balance_routes
from gridplan.simulate import IncidentModel, default_types, simulate
from gridplan.staffing import assign_staff

ROADS = "changan_roads.gpkg"
N_GRIDS = 15
N_POSTS = 30  # two per grid
N_COMPLAINTS = 400  # a day of complaints in a district of this size
SEED = 0


def data_folder(given: str | None) -> Path:
    if given:
        return Path(given)
    if os.environ.get("GRIDPLAN_SHARED_DATA"):
        return Path(os.environ["GRIDPLAN_SHARED_DATA"])
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def district_from_roads(roads: gpd.GeoDataFrame) -> gridplan.District:
    """The district as the area the roads enclose: the largest connected union of the street blocks."""
    metric = gcrs.metric_crs(roads)
    lines = roads.to_crs(metric).geometry.values
    blocks = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.node(shapely.multilinestrings(lines)))))
    parts = shapely.get_parts(shapely.union_all(blocks))
    enclosed = parts[np.argmax(shapely.area(parts))]
    boundary = gpd.GeoDataFrame({"name": ["长安区 (road network)"]}, geometry=[enclosed], crs=metric).to_crs(roads.crs)
    return gridplan.District.from_frames(boundary, streets=roads, name="长安区 Chang'an, Xi'an (real roads)")


def day_of_complaints(district: gridplan.District, seed: int) -> pd.DataFrame:
    """Synthetic complaints along the district's streets, reported in GCJ-02 lon/lat over one day, severities 1/2/3."""
    rng = np.random.default_rng(seed)
    edges = district.network.edges
    edges = edges[edges.geometry.centroid.within(district.boundary.union_all())]  # the district's own streets
    lengths = edges.length.to_numpy()
    picks = rng.choice(len(edges), N_COMPLAINTS, p=lengths / lengths.sum())
    pts = shapely.line_interpolate_point(edges.geometry.values[picks], rng.uniform(0, 1, N_COMPLAINTS), normalized=True)
    x = shapely.get_x(pts) + rng.normal(0, 15, N_COMPLAINTS)  # a report is made near the street, not on its axis
    y = shapely.get_y(pts) + rng.normal(0, 15, N_COMPLAINTS)
    lon, lat = gcrs.transform(x, y, source=district.crs, target="GCJ-02")
    reported = pd.Timestamp("2026-03-02 07:00") + pd.to_timedelta(np.sort(rng.uniform(0, 14 * 3600, N_COMPLAINTS)), unit="s")
    return pd.DataFrame(
        {"lon": lon, "lat": lat, "severity": rng.choice([1, 2, 3], N_COMPLAINTS, p=[0.7, 0.25, 0.05]), "reported": reported}
    )


def step(name: str, t0: float) -> float:
    now = time.perf_counter()
    print(f"[{now - t0:6.1f} s] {name}", flush=True)
    return now


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help=f"folder holding {ROADS}")
    parser.add_argument("--out", default=None, help="folder for figures and tables (default: a temporary one)")
    args = parser.parse_args(argv)
    roads_file = data_folder(args.data) / ROADS
    if not roads_file.is_file():
        print(
            f"SKIP: {roads_file} not found; this example needs the real Chang'an roads "
            "(pass --data DIR or set GRIDPLAN_SHARED_DATA)"
        )
        return 0
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="gridplan_changan_"))
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    roads = gpd.read_file(roads_file)
    district = district_from_roads(roads)
    step(f"district from {len(roads):,} real road links: {district.crs.name}", t0)
    print(district.summary().to_string())

    plan = partition(district, N_GRIDS, seed=SEED)
    step(f"{N_GRIDS} grids", t0)
    print(plan.metrics().to_string())

    patrols = balance_routes(plan, chiefs_per_grid=2, seed=SEED, progress=False)
    step("patrols: two road chiefs per grid", t0)
    print(patrols.summary().to_string())

    # the street file has no residents: posts cover the street blocks' street length instead
    posts = place_posts(plan, N_POSTS, demand="street_m", seed=SEED, progress=False)
    step(f"{N_POSTS} key posts covering street length", t0)
    print(posts.summary().to_string())

    roster = sample_roster(plan, seed=SEED)
    staffing = assign_staff(plan, roster, posts=posts, seed=SEED)
    step(f'"1+2+2" teams from a sample roster of {len(roster)} people', t0)
    print(staffing.summary().to_string())

    index = GridIndex(plan, streets=district, routes=patrols)
    complaints = day_of_complaints(district, SEED)
    routed = index.assign(complaints, x="lon", y="lat", crs="GCJ-02", severity="severity", time="reported")
    step(f"{len(routed)} GCJ-02 complaints routed", t0)
    inside = routed["grid"].notna()
    chief_grid = patrols.routes.set_index("chief")["grid"] if "grid" in patrols.routes.columns else None
    print(f"in a grid: {inside.mean():.1%}; with a road chief: {routed['road_chief'].notna()[inside].mean():.1%}")
    if chief_grid is not None:
        own = routed.loc[inside, "road_chief"].map(chief_grid) == routed.loc[inside, "grid"]
        print(f"road chief of the complaint's own grid: {own.mean():.1%}")
    print(routed["level"].value_counts().to_string())
    one = complaints.iloc[0]
    assert index.locate_one(one.lon, one.lat, crs="GCJ-02") == routed["grid"].iloc[0]

    # no residents in the street file: only the problems that arise along streets (vending, parking, litter ...)
    types = default_types()
    model = IncidentModel(types=types[types["driver"] == "street"])
    result = simulate(
        plan, posts=posts, staffing=staffing, routes=patrols, model=model, days=2, runs=3, seed=SEED, progress=False
    )
    step("simulated: 3 runs of 2 days (street problems)", t0)
    print(result.summary().round(3).to_string())

    routed.to_csv(out / "complaints_routed.csv", index=False)
    plan.to_file(out / "plan.gpkg")
    for name, obj in (("plan", plan), ("patrols", patrols), ("posts", posts), ("simulation", result)):
        ax = obj.plot()
        ax.figure.savefig(out / f"{name}.png", dpi=80, bbox_inches="tight")
        ax.figure.clf()
    step(f"wrote {out}", t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
