"""Shared test fixtures: paths to the real data (../shared/data, else cases/data) and the sample district."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import pytest
import shapely
from hypothesis import settings

matplotlib.use("Agg")

# The test command (CI, README) draws a fixed set of Hypothesis examples, so a red run is the code's, not the
# draw's; HYPOTHESIS_PROFILE=explore draws fresh examples to hunt for new failures (docs/index.md).
settings.register_profile("fixed", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fixed"))

ROOT = Path(__file__).resolve().parents[1]
CASES_DATA = ROOT / "cases" / "data"
"""The copies of the real boundaries that ship with the case notebooks (county boundaries, Xicheng)."""


def _real_data() -> Path:
    """$GRIDPLAN_SHARED_DATA, else ../shared/data, else cases/data (a clean checkout has the boundaries there)."""
    if os.environ.get("GRIDPLAN_SHARED_DATA"):
        return Path(os.environ["GRIDPLAN_SHARED_DATA"])
    shared = ROOT.parent / "shared" / "data"
    if shared.is_dir() or not (CASES_DATA / "county_boundaries_gcj02.gpkg").is_file():
        return shared
    return CASES_DATA


SHARED_DATA = _real_data()
"""Folder of the real boundaries the tests read (county_boundaries_gcj02, xicheng_boundary_gcj02,
xicheng_subdistricts): every one of them is also in cases/data."""

needs_shared = pytest.mark.skipif(
    not SHARED_DATA.is_dir(),
    reason=f"real data folder {SHARED_DATA} not present, nor cases/data (set GRIDPLAN_SHARED_DATA to use it)",
)


def metric_layers(n_streets: int = 9, size: float = 4000.0) -> dict:
    """A square district (default 4 km, streets every 500 m) in EPSG:4545 with streets, communities, population and grids."""
    x0, y0 = 422000.0, 2937000.0
    boundary = gpd.GeoDataFrame(
        {"name": ["方块区"], "adcode": ["990199"]}, geometry=[shapely.box(x0, y0, x0 + size, y0 + size)], crs=4545
    )
    xs = np.linspace(0, size, n_streets)
    lines = [shapely.LineString([(x0 + v, y0), (x0 + v, y0 + size)]) for v in xs]
    lines += [shapely.LineString([(x0, y0 + v), (x0 + size, y0 + v)]) for v in xs]
    streets = gpd.GeoDataFrame({"name": [f"路{i}" for i in range(len(lines))], "kind": "local"}, geometry=lines, crs=4545)
    communities = gpd.GeoDataFrame(
        {"code": ["990199001001", "990199001002"], "name": ["东社区", "西社区"], "subdistrict": ["甲街道", "甲街道"]},
        geometry=[shapely.box(x0, y0, x0 + size / 2, y0 + size), shapely.box(x0 + size / 2, y0, x0 + size, y0 + size)],
        crs=4545,
    )
    rng = np.random.default_rng(1)
    pts = shapely.points(x0 + rng.uniform(1, size - 1, 500), y0 + rng.uniform(1, size - 1, 500))
    population = gpd.GeoDataFrame({"population": rng.integers(1, 50, 500)}, geometry=pts, crs=4545)
    grids = gpd.GeoDataFrame({"code": ["G1", "G2"]}, geometry=list(communities.geometry), crs=4545)
    return dict(boundary=boundary, streets=streets, communities=communities, population=population, grids=grids)


def lopsided_layers() -> dict:
    """:func:`metric_layers` whose east half has no streets: one 8 km² block holding half the residents
    (too heavy for one grid once there are 3 or more; the existing grids G1 west, G2 east)."""
    import pandas as pd

    layers = metric_layers(n_streets=9)
    streets = layers["streets"]
    x0 = layers["boundary"].total_bounds[0]
    west = streets.geometry.apply(lambda g: g.bounds[2] <= x0 + 2000 + 1e-6)
    cross = streets.geometry.apply(lambda g: g.bounds[1] == g.bounds[3])  # east-west streets: keep their west half
    clipped = streets[cross].copy()
    clipped["geometry"] = clipped.geometry.intersection(shapely.box(x0, 0, x0 + 2000, 1e8))
    layers["streets"] = pd.concat([streets[west & ~cross], clipped])
    return layers


@pytest.fixture(scope="session")
def sample_plan_15():
    """15 grids on the sample district's street blocks (seed 0), shared by the tests that only read it."""
    from gridplan.datasets import sample_district
    from gridplan.grids import partition

    return partition(sample_district(), 15, seed=0)


#: Notebooks and case studies (nbmake) run for minutes, and these doctests for more than 2 s (measured
#: with ``--durations=0``): they are ``slow``, out of the quick loop ``pytest -m "not slow"`` (tests
#: carry the mark themselves); CI runs everything.
_SLOW_SUFFIXES = (".ipynb",)
_SLOW_DOCTESTS = {
    "src/gridplan/__init__.py::gridplan",
    "src/gridplan/city.py::gridplan.city",
    "src/gridplan/datasets.py::gridplan.datasets.sample_district",
    "src/gridplan/grids.py::gridplan.grids",
    "src/gridplan/grids.py::gridplan.grids.GridPlan.report",
    "src/gridplan/report.py::gridplan.report",
    "src/gridplan/report.py::gridplan.report.plan_report",
    "src/gridplan/report.py::gridplan.report.write_report",
    "src/gridplan/units.py::gridplan.units.split_heavy_units",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if str(item.path).endswith(_SLOW_SUFFIXES) or item.nodeid in _SLOW_DOCTESTS:
            item.add_marker(pytest.mark.slow)
