"""``gridplan city``: the whole-city pipeline from the command line (public API only)."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``city`` sub-command on the ``gridplan`` parser's sub-parsers."""
    city = sub.add_parser(
        "city",
        help="plan a whole city district by district: grids, posts, patrols, staff, index, coverage (Dask optional)",
        description="Run units -> grids -> posts -> patrols -> staffing -> index -> a coverage study for a whole "
        "city, every district as an independent region (serially, or on a local Dask cluster with --workers), "
        "and write the demo's files, a report and the time of every step. Without --boundary a synthetic city "
        "of --districts sample districts is built (labelled synthetic).",
    )
    city.add_argument(
        "--boundary",
        default=None,
        help="district polygons, one row per district (code, name), any "
        "file geopandas reads; default: a synthetic city (gridplan.datasets.sample_city)",
    )
    city.add_argument("--streets", default=None, help="street centrelines (needed with --boundary)")
    city.add_argument(
        "--population",
        default=None,
        help="residents as points with a 'population' column (needed with --boundary: posts and coverage serve residents)",
    )
    city.add_argument("--communities", default=None, help="community polygons (code, name), optional")
    city.add_argument("--crs", default=None, help="CRS of untagged lon/lat layers (e.g. GCJ-02)")
    city.add_argument("--districts", type=int, default=4, help="districts of the synthetic city (default: 4)")
    city.add_argument("--district-km", type=float, default=6.0, help="side of a synthetic district (default: 6 km)")
    city.add_argument("--grids", type=int, required=True, help="grids for the whole city (e.g. 1652)")
    city.add_argument(
        "--units",
        default=None,
        choices=("blocks", "cells", "communities"),
        help="units the grids are made of (default: street blocks)",
    )
    city.add_argument("--effort", type=float, default=0.2, help="patrol search effort (default: 0.2)")
    city.add_argument(
        "--workers", type=int, default=1, help="local Dask worker processes (needs the [distributed] extra; default: 1, no Dask)"
    )
    city.add_argument(
        "--memory",
        type=float,
        default=None,
        help="GiB one task may use (default: the worker's limit "
        "or the machine's memory); a larger city is refused naming the step",
    )
    city.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    city.add_argument("--out", default="city", help="output folder (default: ./city)")
    city.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="print only errors")
    return city


def _load_city(args: argparse.Namespace) -> Any:
    import geopandas as gpd

    from .datasets import sample_city
    from .district import District
    from .errors import DataError

    if args.boundary is None:
        if args.streets or args.population or args.communities:
            raise DataError("--streets/--population/--communities need --boundary (the district polygons)")
        return sample_city(args.districts, seed=args.seed, district_km=args.district_km)
    if not args.streets:
        raise DataError("--boundary needs --streets (street centrelines for units, patrols and posts)")
    if not args.population:
        raise DataError(
            "--boundary needs --population (points with a 'population' column): posts and the coverage study serve residents"
        )
    layers = {"boundary": args.boundary, "streets": args.streets, "population": args.population, "communities": args.communities}
    frames = {}
    for name, path in layers.items():
        if path is None:
            continue
        if not Path(path).exists():
            raise DataError(f"--{name} file {path} does not exist")
        frames[name] = gpd.read_file(path)
    return District.from_frames(crs=args.crs, **frames)


def run(args: argparse.Namespace, log: logging.Logger) -> int:
    """Run ``gridplan city``; returns the exit code."""
    from . import _dask
    from .city import plan_city, write_city
    from .errors import DataError

    if args.workers < 1:
        raise DataError(f"--workers must be at least 1, got {args.workers}")
    t0 = time.perf_counter()
    city = _load_city(args)
    log.info("city: %r (%.1f s)", city, time.perf_counter() - t0)
    memory = None if args.memory is None else args.memory * 1024**3
    with _dask.local_client(args.workers) as client:
        result = plan_city(
            city,
            args.grids,
            client=client,
            units=args.units,
            effort=args.effort,
            memory_limit=memory,
            seed=args.seed,
            progress=log.isEnabledFor(logging.INFO),
        )
    log.info("%r", result)
    log.info("time per step (s):\n%s", result.times.round(2).to_string())
    write_city(result, Path(args.out), log=log)
    log.info("done in %.1f s", time.perf_counter() - t0)
    return 0
