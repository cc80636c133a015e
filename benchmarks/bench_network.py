"""Street-network building: gridplan.StreetNetwork.from_lines vs the usual momepy recipe.

Run:  .venv/bin/python benchmarks/bench_network.py   (needs `pip install -e ".[bench]"` for momepy)

The recipe a user would otherwise write: node with ``unary_union``, explode, then
``momepy.gdf_to_nx(..., approach="primal")``. Same input, same run; the table shows time and what
each gets right: components (near-miss T-junctions left unsnapped split the network), edges,
length. Times are the best of 3.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from gridplan.errors import GridplanWarning
from gridplan.network import StreetNetwork

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def best_of(fn, n=3):
    out, best = None, np.inf
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def jittered_grid(k=55, step=100.0, seed=0):
    rng = np.random.default_rng(seed)
    starts, ends = [], []
    for i in range(k):
        for j in range(k - 1):
            starts += [(j * step, i * step), (i * step, j * step)]
            ends += [((j + 1) * step, i * step), (i * step, (j + 1) * step)]
    starts = np.array(starts) + rng.uniform(-0.3, 0.3, (len(starts), 2))
    ends = np.array(ends) + rng.uniform(-0.3, 0.3, (len(ends), 2))
    geoms = shapely.linestrings(np.stack([starts, (starts + ends) / 2, ends], axis=1))
    dup = rng.choice(len(geoms), 300, replace=False)
    return gpd.GeoDataFrame(geometry=np.r_[geoms, shapely.reverse(geoms[dup])], crs=4545)


def cases():
    out = {}
    if (DATA / "changan_roads.gpkg").exists():
        out["Chang'an roads (real, 3,267 links)"] = gpd.read_file(DATA / "changan_roads.gpkg").to_crs(32649)
    from gridplan.datasets import sample_district

    out["sample district streets"] = sample_district(0).streets
    out["6,240 jittered segments + 300 duplicates"] = jittered_grid()
    return out


def momepy_recipe(lines):
    import momepy

    pieces = gpd.GeoDataFrame(geometry=shapely.get_parts(shapely.union_all(lines.geometry.values)), crs=lines.crs)
    return momepy.gdf_to_nx(pieces, approach="primal")


def main() -> None:
    rows = []
    for name, lines in cases().items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GridplanWarning)
            net, t = best_of(lambda: StreetNetwork.from_lines(lines))
        rows.append(
            (name, "gridplan StreetNetwork.from_lines", t, net.n_nodes, net.n_edges, net.n_components, net.total_length_km)
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                g, tm = best_of(lambda: momepy_recipe(lines))
            length = sum(d["mm_len"] for _, _, d in g.edges(data=True)) / 1e3
            rows.append(
                (
                    name,
                    "union_all + momepy.gdf_to_nx",
                    tm,
                    g.number_of_nodes(),
                    g.number_of_edges(),
                    nx.number_connected_components(g),
                    length,
                )
            )
        except ImportError:
            rows.append((name, "momepy not installed (pip install -e '.[bench]')", np.nan, 0, 0, 0, 0.0))
    print(f"{'case':42s} {'method':36s} {'time s':>7s} {'nodes':>6s} {'edges':>6s} {'comps':>5s} {'km':>8s}")
    for r in rows:
        print(f"{r[0]:42s} {r[1]:36s} {r[2]:7.3f} {r[3]:6d} {r[4]:6d} {r[5]:5d} {r[6]:8.2f}")


if __name__ == "__main__":
    main()
