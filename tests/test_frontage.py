"""门前三包: frontage stretches, case attribution, monthly red/black flags."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from gridplan.errors import CRSError, GeometryError
from gridplan.frontage import Frontage, assign_frontage, sample_frontage_units

STREETS = gpd.GeoDataFrame(
    {"street": ["east", "north"]}, geometry=[LineString([(0, 0), (200, 0)]), LineString([(0, 0), (0, 200)])], crs=4545
)


def test_stretches_in_front_and_cut_between_neighbours():
    shops = gpd.GeoDataFrame(
        {"name": ["a", "b", "c", "far"], "frontage_m": [10, 30, 10, 10]},
        geometry=[Point(50, 6), Point(60, -7), Point(150, 5), Point(500, 500)],
        crs=4545,
        index=[7, 8, 9, 10],
    )
    f = assign_frontage(shops, STREETS)
    u = f.units
    assert list(u.index) == [7, 8, 9, 10]
    assert u.loc[7, "street"] == "east" and u.loc[9, "street"] == "east"
    assert u.loc[7].geometry.bounds == pytest.approx((45, 0, 55, 0))  # 10 m centred on 50, cut at 55 on the right
    assert u.loc[8].geometry.bounds == pytest.approx((55, 0, 75, 0))  # 30 m centred on 60, cut at 55 on the left
    assert u.loc[9].geometry.length == pytest.approx(10)
    assert u.loc[10].geometry is None and "no street within" in u.loc[10, "reason"]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 40))
def test_stretches_never_overlap(seed, n):
    shops = sample_frontage_units(STREETS, n, seed=seed)
    assert shops["synthetic"].all()
    f = assign_frontage(shops, STREETS, frontage_m=25)
    g = f.units.geometry.dropna()
    assert len(g) == n  # every sampled unit is 8 m off a street
    lines = np.asarray(g.values)
    inter = shapely.intersection(lines[:, None], lines[None, :])
    overlap = shapely.length(inter)
    np.fill_diagonal(overlap, 0.0)
    assert overlap.max() < 1e-6


def test_attribution_matches_brute_force_and_flags():
    shops = gpd.GeoDataFrame(
        {"name": ["a", "b", "c"]}, geometry=[Point(50, 6), Point(150, 6), Point(6, 150)], crs=4545, index=["A", "B", "C"]
    )
    f = assign_frontage(shops, STREETS, frontage_m=20)
    cases = gpd.GeoDataFrame(
        {
            "category_id": ["E0504", "E0504", "E0102", "E0401", "E0504", "E0102"],
            "reported": pd.to_datetime(["2026-03-02", "2026-03-05", "2026-03-09", "2026-03-10", "2026-04-01", "2026-03-20"]),
        },
        geometry=[Point(52, 3), Point(48, -4), Point(151, 2), Point(150, 1), Point(100, 3), Point(55, 50)],
        crs=4545,
    )
    unit = f.attribute(cases)
    # brute force: nearest stretch within 15 m, only frontage categories
    d = np.array([[p.distance(s) for s in f.units.geometry] for p in cases.geometry])
    expect = [f.units.index[np.argmin(r)] if r.min() <= 15 and c != "E0401" else None for r, c in zip(d, cases["category_id"])]
    assert unit.tolist() == expect == ["A", "A", "B", None, None, None]
    flags = f.flags(black_min=2)
    assert flags.loc[("2026-03", "A"), "flag"] == "black" and flags.loc[("2026-03", "B"), "flag"] == ""
    assert flags.loc[("2026-03", "C"), "flag"] == "red"  # no case in front of C
    assert set(flags.index.get_level_values("period")) == {"2026-03"}


def test_bad_frontage_input(tmp_path):
    with pytest.raises(GeometryError):
        assign_frontage(gpd.GeoDataFrame(geometry=[LineString([(0, 1), (1, 1)])], crs=4545), STREETS)
    with pytest.raises(CRSError):
        assign_frontage(gpd.GeoDataFrame(geometry=[Point(0, 1)], crs=4326), STREETS.to_crs(4326))
    f = assign_frontage(sample_frontage_units(STREETS, 5, seed=1), STREETS)
    back = Frontage.read_file(f.to_file(tmp_path / "f.gpkg"))
    assert back.units.geometry.geom_equals_exact(f.units.geometry, 1e-6).all()
    assert list(back.units.columns) == list(f.units.columns)
