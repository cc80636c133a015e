"""Single-point latency: GridIndex.locate_one and gridplan.crs for one point vs pyproj and geopandas.

A service routes one complaint per request: one coordinate in metres, WGS84, GCJ-02 (Amap, Tencent)
or BD-09 (Baidu) to a grid code. For each input CRS, on the same points and in the same run:

* ``gridplan locate_one``: ``index.locate_one(x, y, crs=...)``;
* ``pyproj Transformer.transform``: one call of a transformer built once, input → the index CRS
  (the conversion alone, no lookup; GCJ-02/BD-09 have no PROJ definition: their row converts with
  ``gridplan.crs`` to WGS84 first, as a user would have to);
* ``geopandas sjoin``: a one-row GeoDataFrame, ``to_crs`` to the index CRS (for lon/lat input) and
  ``gpd.sjoin(point, grids, predicate="within")``: what a user without gridplan writes;
* ``gridplan.crs.transform``: one point to the index CRS through the public function, and the same
  with the transformer rebuilt on each call (what ``crs.transform`` did before transformers were
  cached: 57-69 ms per call in the issue).

Reported: median and p99 of ``perf_counter_ns`` around each call (5,000 calls; 300 for sjoin and
50 for the rebuilt transformer), and each median's ratio to locate_one's in the same run. Grids:
15 grids partitioned from the real Chang'an (Xi'an) street blocks (the sample district's when
../shared/data is absent). Points: uniform over the grids' bounding box grown by 5 %.

Run: ``.venv/bin/python benchmarks/bench_single_point.py``
"""

from __future__ import annotations

import time
import warnings

import geopandas as gpd
import numpy as np
import pyproj

from gridplan import crs as gcrs
from gridplan.locate import GridIndex

N_CALLS = 5000
N_SJOIN = 300
N_REBUILD = 50
INPUTS = [("metres (index CRS)", None), ("WGS84", "EPSG:4326"), ("GCJ-02", "GCJ-02"), ("BD-09", "BD-09")]


def grids() -> tuple[gpd.GeoDataFrame, str]:
    from bench_locate import large_layer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer, _, name = large_layer()
    return layer[["code", "geometry"]].reset_index(drop=True), name


def timed(func, xs: list[float], ys: list[float]) -> np.ndarray:
    out = np.empty(len(xs))
    clock = time.perf_counter_ns
    for i, (a, b) in enumerate(zip(xs, ys)):
        t0 = clock()
        func(a, b)
        out[i] = clock() - t0
    return out / 1e3  # µs


def row(label: str, method: str, us: np.ndarray, base: float | None) -> str:
    med, p99 = float(np.median(us)), float(np.percentile(us, 99))
    ratio = "1.0" if base is None else f"{med / base:,.1f}"
    return f"| {label} | {method} | {len(us):,} | {med:,.2f} | {p99:,.2f} | {ratio} |"


def main() -> None:
    layer, name = grids()
    index = GridIndex(layer)
    rng = np.random.default_rng(0)
    xmin, ymin, xmax, ymax = layer.total_bounds
    pad = 0.05 * max(xmax - xmin, ymax - ymin)
    x = rng.uniform(xmin - pad, xmax + pad, N_CALLS)
    y = rng.uniform(ymin - pad, ymax + pad, N_CALLS)
    print(f"grids: {name}, index CRS {gcrs.crs_label(index.crs)}, raster cells of {index.cell_size:.2f} m")
    print("| input | method | calls | median µs | p99 µs | × locate_one (median) |")
    print("|---|---|---:|---:|---:|---:|")
    for label, crs in INPUTS:
        px, py = (x, y) if crs is None else gcrs.transform(x, y, source=index.crs, target=crs)
        xs, ys = px.tolist(), py.tolist()
        t0 = time.perf_counter()
        index.locate_one(xs[0], ys[0], crs=crs)  # builds the conversion for this crs once
        first = time.perf_counter() - t0
        ours = timed(lambda a, b: index.locate_one(a, b, crs=crs), xs, ys)
        agree = np.mean([index.locate_one(a, b, crs=crs) == c for a, b, c in zip(xs, ys, index.codes_at(px, py, crs=crs))])
        base = float(np.median(ours))
        print(row(label, f"gridplan locate_one (first call {first * 1e3:.0f} ms; agrees with locate on {agree:.2%})", ours, None))
        if crs is not None:
            tr = pyproj.Transformer.from_crs(
                "EPSG:4326" if isinstance(gcrs.parse_crs(crs), str) else crs, index.crs, always_xy=True
            )
            if isinstance(gcrs.parse_crs(crs), str):
                to_wgs = gcrs.gcj02_to_wgs84 if crs == "GCJ-02" else gcrs.bd09_to_wgs84
                print(
                    row(
                        label,
                        "gridplan.crs to WGS84 + pyproj Transformer.transform (conversion only)",
                        timed(lambda a, b: tr.transform(*to_wgs(a, b)), xs, ys),
                        base,
                    )
                )
            else:
                print(row(label, "pyproj Transformer.transform, built once (conversion only)", timed(tr.transform, xs, ys), base))
            print(
                row(
                    label,
                    "gridplan.crs.transform (conversion only)",
                    timed(lambda a, b: gcrs.transform(a, b, source=crs, target=index.crs), xs, ys),
                    base,
                )
            )
            src = "EPSG:4326" if isinstance(gcrs.parse_crs(crs), str) else crs
            print(
                row(
                    label,
                    "pyproj Transformer.from_crs + transform per call (conversion only)",
                    timed(
                        lambda a, b: pyproj.Transformer.from_crs(src, index.crs, always_xy=True).transform(a, b),
                        xs[:N_REBUILD],
                        ys[:N_REBUILD],
                    ),
                    base,
                )
            )

        def sjoin_one(a: float, b: float) -> None:
            if crs is not None and isinstance(gcrs.parse_crs(crs), str):
                a, b = gcrs.to_wgs84(a, b, crs)
            pt = gpd.GeoDataFrame(geometry=gpd.points_from_xy([a], [b]), crs=index.crs if crs is None else "EPSG:4326")
            if crs is not None:
                pt = pt.to_crs(index.crs)
            gpd.sjoin(pt, layer, predicate="within", how="left")

        print(
            row(
                label,
                "geopandas sjoin of one point" + ("" if crs is None else " (to_crs first)"),
                timed(sjoin_one, xs[:N_SJOIN], ys[:N_SJOIN]),
                base,
            )
        )


if __name__ == "__main__":
    main()
