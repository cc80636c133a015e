"""Locate benchmark: gridplan GridIndex.locate vs geopandas.sjoin and shapely STRtree.

Two grid layers, two point sets of 1,000,000 points each, all in the same run:

* **large**: 15 large grids with street-following boundaries: the real Chang'an (Xi'an) road
  network's street blocks partitioned by ``gridplan.grids.partition`` (falls back to the
  synthetic sample district when ../shared/data is absent);
* **dense**: 1,652 small grids (a city's unit-grid count) of ~100-200 vertices: a Voronoi
  tessellation whose shared edges are wiggly polylines (shared exactly by both neighbours);

* **uniform**: uniform over the layer's bounding box grown so that 10-20 % fall outside;
* **streets**: clustered along streets (σ = 10 m), where grid boundaries run and exact tests
  are most needed (Chang'an roads for *large*, the grid edges themselves for *dense*).

Reported: build time, points/s, the ratio to sjoin (points built from arrays, as a user would),
agreement with sjoin for every point that sjoin puts in at most one grid (points on a boundary
are in none under "within"), peak traced memory of the call, and ``locate_one``'s median
latency from Python.

Run: ``.venv/bin/python benchmarks/bench_locate.py [--points 1000000]``
"""

from __future__ import annotations

import argparse
import gc
import time
import timeit
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def large_layer() -> tuple[gpd.GeoDataFrame, np.ndarray, str]:
    """15 grids on real street blocks (or the sample district) and the street lines."""
    from gridplan.grids import partition

    if (DATA / "changan_roads.gpkg").exists():
        import bench_grids

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = bench_grids.changan_district()
            plan = partition(d, 15, weight="street_length", seed=0)
        name = "15 grids on real Chang'an blocks"
    else:
        from gridplan import sample_district

        d = sample_district()
        plan = partition(d, 15, seed=0)
        name = "15 grids on sample-district blocks"
    return plan.grids, np.asarray(d.network.edges.geometry.values), name


def voronoi_layer(n: int, side_m: float, per_edge: int, seed: int = 0) -> tuple[gpd.GeoDataFrame, np.ndarray, str]:
    """~n grids: Voronoi cells whose shared edges are wiggly lines of ``per_edge`` vertices."""
    rng = np.random.default_rng(seed)
    x0, y0 = 500_000.0, 3_800_000.0
    frame = shapely.box(x0, y0, x0 + side_m, y0 + side_m)
    seeds = shapely.multipoints(rng.uniform((x0, y0), (x0 + side_m, y0 + side_m), (n, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame))
    cells = shapely.intersection(cells, frame)
    edges = shapely.get_parts(shapely.union_all(shapely.boundary(cells)))
    segs = []
    for e in edges:
        (ax, ay), (bx, by) = np.asarray(e.coords)[[0, -1]]
        length = np.hypot(bx - ax, by - ay)
        on_frame = (min(ax, bx) == max(ax, bx) and ax in (x0, x0 + side_m)) or (
            min(ay, by) == max(ay, by) and ay in (y0, y0 + side_m)
        )
        t = np.linspace(0, 1, per_edge)
        if on_frame or length < 1:
            segs.append(e)
            continue
        nx_, ny_ = -(by - ay) / length, (bx - ax) / length
        wiggle = 0.04 * length * np.sin(np.pi * t) * np.sin(2 * np.pi * (t * rng.uniform(1, 3) + rng.uniform()))
        segs.append(shapely.linestrings(np.c_[ax + t * (bx - ax) + wiggle * nx_, ay + t * (by - ay) + wiggle * ny_]))
    lines = np.asarray(segs)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.union_all(lines))))
    grids = gpd.GeoDataFrame({"code": [f"U{i:05d}" for i in range(len(faces))]}, geometry=faces, crs="EPSG:4547")
    return grids, lines, f"{len(grids)} Voronoi grids with wiggly edges"


def dense_layer() -> tuple[gpd.GeoDataFrame, np.ndarray, str]:
    """1,652 small grids (a city's unit-grid count), ~150 vertices each."""
    return voronoi_layer(1652, 18_000.0, 26)


def large_synthetic_layer() -> tuple[gpd.GeoDataFrame, np.ndarray, str]:
    """15 large grids of ~500-1,500 vertices (wiggly edges standing in for streets)."""
    return voronoi_layer(15, 9_000.0, 180, seed=3)


def point_sets(grids: gpd.GeoDataFrame, lines: np.ndarray, n: int, seed: int = 1) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    union = shapely.union_all(grids.geometry.values)
    # uniform over the grids grown by a rim holding ~15 % of the points (10-20 % outside)
    lo, hi = 0.0, max(np.ptp(grids.total_bounds[[0, 2]]), np.ptp(grids.total_bounds[[1, 3]]))
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if union.area / shapely.buffer(union, mid, quad_segs=4).area > 0.85 else (lo, mid)
    region = shapely.buffer(union, hi, quad_segs=4)
    shapely.prepare(region)
    xmin, ymin, xmax, ymax = region.bounds
    ux, uy = np.empty(0), np.empty(0)
    while len(ux) < n:
        cx, cy = rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)
        keep = shapely.contains_xy(region, cx, cy)
        ux, uy = np.r_[ux, cx[keep]][:n], np.r_[uy, cy[keep]][:n]
    length = shapely.length(lines)
    pick = rng.choice(len(lines), n, p=length / length.sum())
    pts = shapely.line_interpolate_point(lines[pick], rng.uniform(0, 1, n), normalized=True)
    sx = shapely.get_x(pts) + rng.normal(0, 10, n)
    sy = shapely.get_y(pts) + rng.normal(0, 10, n)
    return {"uniform": (ux, uy), "streets": (sx, sy)}


def timed(fn: Any, repeat: int = 3) -> tuple[Any, float, float]:
    """Result, best time of ``repeat`` and peak traced memory (MB) of one call."""
    gc.collect()
    tracemalloc.start()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return out, best, peak


def by_sjoin(grids: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=grids.crs)
    joined = gpd.sjoin(pts, grids[["geometry"]].reset_index(drop=True), predicate="within", how="inner")
    return np.asarray(joined.index), np.asarray(joined["index_right"])


def by_strtree(tree: shapely.STRtree, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return tree.query(shapely.points(x, y), predicate="within")


def run(args: argparse.Namespace) -> None:
    from gridplan.locate import GridIndex

    n = args.points
    print("| layer | points | method | build s | locate s | M points/s | × sjoin | agree off-boundary | peak MB |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for make in (large_layer, large_synthetic_layer, dense_layer):
        grids, lines, name = make()
        verts = shapely.get_num_coordinates(grids.geometry.values)
        t = time.perf_counter()
        index = GridIndex(grids)
        build = time.perf_counter() - t
        tree_t = time.perf_counter()
        tree = shapely.STRtree(grids.geometry.values)
        tree_build = time.perf_counter() - tree_t
        layer = f"{name} ({int(np.median(verts))} vertices median, {verts.min()}-{verts.max()})"
        for pname, (x, y) in point_sets(grids, lines, n).items():
            pos, t_ours, m_ours = timed(lambda: index.locate(x, y))
            (si, sg), t_sj, m_sj = timed(lambda: by_sjoin(grids, x, y), repeat=1)
            (_, _), t_tr, m_tr = timed(lambda: by_strtree(tree, x, y), repeat=1)
            counts = np.bincount(si, minlength=n)
            ref = np.full(n, -1)
            ref[si] = sg
            one = counts <= 1  # sjoin "within" puts a boundary point in no grid
            on_boundary = (counts == 0) & (pos >= 0)
            exact = (
                shapely.intersects(grids.geometry.values[pos[on_boundary]], shapely.points(x[on_boundary], y[on_boundary])).all()
                if on_boundary.any()
                else True
            )
            off = one & ~on_boundary
            agree = float((pos[off] == ref[off]).mean())
            outside = float((pos == -1).mean())
            for method, secs, peak, b in (
                ("gridplan GridIndex.locate", t_ours, m_ours, build),
                ("geopandas.sjoin within", t_sj, m_sj, 0.0),
                ("shapely STRtree.query within", t_tr, m_tr, tree_build),
            ):
                print(
                    f"| {layer} | {pname} ({outside:.0%} outside) | {method} | {b:.2f} | {secs:.3f} | "
                    f"{n / secs / 1e6:.2f} | {t_sj / secs:.1f} | "
                    + (f"{agree:.6%} ({on_boundary.sum()} on a boundary, exact={exact})" if method.startswith("gridplan") else "")
                    + f" | {peak:.1f} |"
                )
            layer = ""  # print the layer name once
            xs, ys = x[:20000].tolist(), y[:20000].tolist()
            lat = np.array(
                timeit.repeat(
                    "for a, b in zip(xs, ys): f(a, b)", globals={"f": index.locate_one, "xs": xs, "ys": ys}, number=1, repeat=5
                )
            ).min() / len(xs)
            loop = np.array(
                timeit.repeat(
                    "for a, b in zip(xs, ys): f(a, b)", globals={"f": lambda a, b: None, "xs": xs, "ys": ys}, number=1, repeat=5
                )
            ).min() / len(xs)
            per = []
            for a, b in zip(xs[:5000], ys[:5000]):
                t0 = time.perf_counter_ns()
                index.locate_one(a, b)
                per.append(time.perf_counter_ns() - t0)
            print(
                f"|  | {pname} | locate_one (20k single calls) | | | | | mean {lat * 1e6:.2f} µs "
                f"(loop+call overhead {loop * 1e6:.2f} µs), median per call {np.median(per) / 1e3:.2f} µs | |"
            )
        s = index.summary()
        print(
            f"|  | | index: {s['raster']} cells of {s['cell_size']:.2f} m, {s['boundary_cells']} boundary cells, "
            f"{s['memory_mb']:.1f} MB | | | | | | |"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=1_000_000)
    run(p.parse_args())


if __name__ == "__main__":
    main()
