"""GCJ-02 → WGS84 conversion: gridplan vs the per-point libraries a user would otherwise use.

Run:  .venv/bin/python benchmarks/bench_crs.py   (needs `pip install -e ".[bench]"`)

Prints one table: points per second and worst round-trip error (metres) on the same
random points across China, and the speed ratio against each peer measured in the same run.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pyproj

from gridplan import crs as gcrs

N_VECTOR = 1_000_000
N_LOOP = 100_000
GEOD = pyproj.Geod(ellps="WGS84")


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def main() -> None:
    rng = np.random.default_rng(0)
    lon = rng.uniform(73.6, 134.7, N_VECTOR)
    lat = rng.uniform(18.2, 53.5, N_VECTOR)
    glon, glat = gcrs.wgs84_to_gcj02(lon, lat)
    rows = []

    tracemalloc.start()
    (wlon, wlat), t = timed(gcrs.gcj02_to_wgs84, glon, glat)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    err = GEOD.inv(lon, lat, wlon, wlat)[2].max()
    ours = N_VECTOR / t
    rows.append(("gridplan.crs.gcj02_to_wgs84 (vectorised, iterated)", N_VECTOR, ours, err, f"{peak:.0f} MB peak"))

    peers = []
    try:
        import eviltransform

        peers.append(("eviltransform.gcj2wgs_exact (per point)", lambda a, b: eviltransform.gcj2wgs_exact(b, a)[::-1]))
        peers.append(("eviltransform.gcj2wgs (per point, one step)", lambda a, b: eviltransform.gcj2wgs(b, a)[::-1]))
    except ImportError:
        print("eviltransform not installed: pip install -e '.[bench]'")
    try:
        from coord_convert.transform import gcj2wgs

        peers.append(("coord_convert gcj2wgs (per point, one step)", gcj2wgs))
    except ImportError:
        print("coord-convert not installed: pip install -e '.[bench]'")

    for name, fn in peers:
        sl, sa = glon[:N_LOOP], glat[:N_LOOP]
        t0 = time.perf_counter()
        res = np.array([fn(a, b) for a, b in zip(sl.tolist(), sa.tolist())])
        t = time.perf_counter() - t0
        err = GEOD.inv(lon[:N_LOOP], lat[:N_LOOP], res[:, 0], res[:, 1])[2].max()
        rows.append((name, N_LOOP, N_LOOP / t, err, f"gridplan {ours / (N_LOOP / t):.0f}x faster"))

    print(f"{'method':55s} {'points':>9s} {'points/s':>12s} {'max error m':>12s}  note")
    for name, n, rate, err, note in rows:
        print(f"{name:55s} {n:9d} {rate:12,.0f} {err:12.2e}  {note}")


if __name__ == "__main__":
    main()
