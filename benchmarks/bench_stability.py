"""Stability of units and plans under datum conversions, float noise and row order (issue 17, item 1).

The same real Chang'an streets (shared/data/changan_roads.gpkg, WGS84) go into gridplan six ways:

* ``WGS84``: as they are (the reference);
* ``GCJ-02`` / ``BD-09``: converted with :mod:`gridplan.crs` and read back with ``crs="GCJ-02"`` /
  ``crs="BD-09"`` (the round trip agrees with the WGS84 coordinates to about 1e-7 m);
* ``all shifted 1e-8°``: every coordinate of every layer plus 1e-8 degree (about 1 mm);
* ``roads shifted 1e-8°``: the roads shifted, the boundary not (the layers move against each other);
* ``rows shuffled``: the road rows in a random order.

Each gives street blocks (weight = street length) and ``partition(district, 15, seed=0)``.  The
table lists the number of units, of island groups, whether the units equal the reference's (same
count, every unit within 1 cm of one of the reference's: Hausdorff distance), and the overlap of the
grids with the reference plan's (grids matched one-to-one by IoU, Hungarian method): mean and lowest
IoU.  IoU 1 everywhere means the same plan.

The shared data has no Chang'an boundary; two outlines stand in for one (``--boundary``):

* ``inner``: the concave hull of the roads moved 150 m inwards and simplified to 20 m, an outline
  that crosses streets as an administrative boundary does;
* ``hull``: the concave hull of the road vertices itself, an outline drawn along the outermost
  roads (it shares their vertices, so a shift of the roads against it decides which rim blocks
  close: the case that splits the block count).

Run (``--label`` only names the rows; the code measured is whatever ``gridplan`` imports)::

    PYTHONPATH=src python benchmarks/bench_stability.py --label after
    PYTHONPATH=/path/to/main/src python benchmarks/bench_stability.py --label before
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from scipy.optimize import linear_sum_assignment

import gridplan
from gridplan import crs as gcrs
from gridplan.district import District
from gridplan.grids import partition
from gridplan.units import build_units

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SHIFT_DEG = 1e-8
N_GRIDS = 15
SAME_UNIT_M = 0.01  # units within this Hausdorff distance of a reference unit count as the same


def boundary_of(roads: gpd.GeoDataFrame, kind: str = "inner") -> gpd.GeoDataFrame:
    hull = shapely.concave_hull(shapely.multipoints(shapely.get_coordinates(roads.geometry.values)), ratio=0.05)
    if kind == "hull":
        return gpd.GeoDataFrame({"name": ["长安区 (roads' hull)"]}, geometry=[hull], crs=roads.crs)
    metric = gcrs.metric_crs(tuple(roads.total_bounds))
    inner = gpd.GeoSeries([hull], crs=roads.crs).to_crs(metric).buffer(-150).simplify(20)
    return gpd.GeoDataFrame({"name": ["长安区 (roads' outline)"]}, geometry=inner.to_crs(roads.crs))


def shifted(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.set_geometry(shapely.transform(frame.geometry.values, lambda c: c + SHIFT_DEG))


def variants(roads: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame) -> dict:
    def datum(frame: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
        return gcrs.to_crs(frame, name, source="EPSG:4326")

    return {
        "WGS84": (boundary, roads, None),
        "GCJ-02": (datum(boundary, "GCJ-02"), datum(roads, "GCJ-02"), "GCJ-02"),
        "BD-09": (datum(boundary, "BD-09"), datum(roads, "BD-09"), "BD-09"),
        "all shifted 1e-8°": (shifted(boundary), shifted(roads), None),
        "roads shifted 1e-8°": (boundary, shifted(roads), None),
        "rows shuffled": (boundary, roads.sample(frac=1.0, random_state=1), None),
    }


def same_units(a: np.ndarray, b: np.ndarray) -> bool:
    if len(a) != len(b):
        return False
    tree = shapely.STRtree(b)
    for g in a:
        near = tree.query(g, predicate="dwithin", distance=SAME_UNIT_M)
        if not any(shapely.hausdorff_distance(g, b[k]) <= SAME_UNIT_M for k in near):
            return False
    return True


def matched_iou(ref: np.ndarray, other: np.ndarray) -> np.ndarray:
    inter = shapely.area(shapely.intersection(ref[:, None], other[None, :]))
    union = shapely.area(shapely.union(ref[:, None], other[None, :]))
    iou = inter / union
    rows, cols = linear_sum_assignment(iou, maximize=True)
    return iou[rows, cols]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--label", default="", help="names the code measured (e.g. before / after)")
    parser.add_argument("--boundary", default="inner,hull", help="outlines to run: inner, hull or both")
    args = parser.parse_args()
    if not (DATA / "changan_roads.gpkg").exists():
        print(f"skipped: {DATA / 'changan_roads.gpkg'} not found (the shared real data)")
        return
    roads = gpd.read_file(DATA / "changan_roads.gpkg")
    for kind in args.boundary.split(","):
        run(roads, kind, args.label)


def run(roads: gpd.GeoDataFrame, kind: str, label: str) -> None:
    boundary = boundary_of(roads, kind)
    results = {}
    for name, (b, s, crs) in variants(roads, boundary).items():
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            district = District.from_frames(b, streets=s, crs=crs)
            units = build_units(district, weight="street_length")
            plan = partition(district, N_GRIDS, units=units, seed=0, strict=False)
        seconds = time.perf_counter() - start
        island_warnings = sum("not connected" in str(w.message) for w in caught)
        results[name] = (units, plan, island_warnings, seconds)
    ref_units, ref_plan = results["WGS84"][0], results["WGS84"][1]
    ref_u = np.asarray(ref_units.frame.geometry.values)
    ref_g = np.asarray(ref_plan.grids.geometry.values)
    label = f" ({label})" if label else ""
    print(
        f"\ngridplan {gridplan.__file__}{label}: {len(roads)} Chang'an road links, boundary {kind!r}, "
        f"{N_GRIDS} grids, seed 0, weight street length"
    )
    print("| input | units | islands (warned) | same units as WGS84 | plan IoU mean | plan IoU min | s |")
    print("|---|---|---|---|---|---|---|")
    for name, (units, plan, warned, seconds) in results.items():
        iou = matched_iou(ref_g, np.asarray(plan.grids.geometry.values))
        same = same_units(np.asarray(units.frame.geometry.values), ref_u)
        print(
            f"| {name}{label} | {len(units)} | {len(units.islands)} ({warned}) | {'yes' if same else 'no'} | "
            f"{iou.mean():.3f} | {iou.min():.3f} | {seconds:.1f} |"
        )


if __name__ == "__main__":
    main()
