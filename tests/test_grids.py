"""Tests for gridplan.grids: partition, resplit, GridPlan, compare, reassign, files."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gridplan.district import District
from gridplan.errors import DataError, GridplanWarning, InfeasibleError
from gridplan.grids import GridPlan, partition, resplit
from gridplan.units import build_units

from .conftest import metric_layers


@pytest.fixture(scope="module")
def town():
    """A 4 km square town: 20 x 20 street blocks, two communities, 2 existing grids."""
    return District.from_frames(**metric_layers(n_streets=21))


def check_plan(plan: GridPlan, n: int, tol: float | None) -> None:
    u = plan.units
    assert len(plan.grids) == n
    assert plan.labels.shape == (len(u),) and set(np.unique(plan.labels)) == set(range(n))
    assert (u["grid"].to_numpy() == plan.grids["code"].to_numpy()[plan.labels]).all()
    assert plan.grids["code"].is_unique
    m = plan.metrics()
    assert m["contiguous"]
    if tol is not None:
        assert m["balance_max"] <= 1 + tol + 1e-9 and m["balance_min"] >= 1 - tol - 1e-9
    # grids tile the district: areas add up and grid geometries do not overlap
    assert plan.grids["area_km2"].sum() == pytest.approx(u["area_m2"].sum() / 1e6)
    assert plan.grids.geometry.area.sum() == pytest.approx(shapely.union_all(plan.grids.geometry.values).area, rel=1e-9)
    assert plan.grids["weight"].sum() == pytest.approx(u["weight"].sum())
    assert plan.grids["n_units"].sum() == len(u)


def test_partition_guarantees(town):
    plan = partition(town, 6, seed=0)
    check_plan(plan, 6, 0.03)
    assert plan.params["seed"] == 0 and plan.params["n_grids"] == 6 and plan.params["weight_by"] == "population"
    assert plan.units.index.equals(build_units(town).frame.index)


def test_codes_follow_unit_grid_style(town):
    plan = partition(town, 6, seed=0)
    codes = plan.grids["code"]
    assert codes.str.len().eq(14).all()  # 12-digit community code + 2-digit sequence
    assert codes.str.startswith("990199001").all()
    for _, g in plan.grids.groupby(codes.str[:12]):
        assert list(g["code"].str[12:]) == [f"{i:02d}" for i in range(1, len(g) + 1)]


def test_same_seed_same_plan(town):
    a, b = partition(town, 5, seed=3), partition(town, 5, seed=3)
    assert np.array_equal(a.labels, b.labels)
    assert_geodataframe_equal(a.grids, b.grids)


def test_bad_input(town):
    with pytest.raises(InfeasibleError, match="at least one grid"):
        partition(town, 0)
    with pytest.raises(InfeasibleError, match="more grids than there are units"):
        partition(town, 10_000)
    with pytest.raises(DataError, match="whole number"):
        partition(town, 2.5)
    with pytest.raises(DataError, match="tolerance"):
        partition(town, 4, tolerance=0)
    with pytest.raises(DataError, match="method"):
        partition(town, 4, method="greedy")


@pytest.mark.slow
def test_infeasible_heavy_unit_strict_and_not():
    layers = metric_layers(n_streets=5)
    pop = layers["population"]
    x0, y0 = layers["boundary"].total_bounds[:2]
    big = gpd.GeoDataFrame({"population": [10**6]}, geometry=[shapely.Point(x0 + 10, y0 + 10)], crs=4545)
    layers["population"] = pd.concat([pop, big], ignore_index=True)
    d = District.from_frames(**layers)
    with pytest.raises(InfeasibleError):
        partition(d, 4)
    with pytest.warns(GridplanWarning, match="no plan within"):
        plan = partition(d, 4, strict=False)
    check_plan(plan, 4, None)
    assert not plan.metrics()["within_tolerance"]


def test_existing_grids_and_resplit(town):
    old = GridPlan.from_district_grids(town)
    assert old.n_grids == 2 and list(old.grids["code"]) == ["G1", "G2"]
    new = resplit(town, 5, seed=0)
    check_plan(new, 5, 0.05)
    assert new.previous is not None and new.previous.n_grids == 2
    cmp = new.compare(new.previous)
    s = cmp.summary
    assert 0 <= s["disruption_lower_bound"] <= s["disruption"] <= 1
    assert s["disruption"] <= 1.15 * s["disruption_lower_bound"] + 1e-9
    assert cmp.transfers["weight"].sum() == pytest.approx(s["disruption"] * new.units["weight"].sum())
    assert set(cmp.matching["old"]) - {""} <= {"G1", "G2"}
    # resplitting a plan object works the same, and identity has no disruption
    again = resplit(old, 2, seed=0)
    check_plan(again, 2, 0.05)
    assert again.compare(old).summary["disruption"] <= 0.05


def test_uncovered_existing_grids_are_reported():
    layers = metric_layers(n_streets=11)
    layers["grids"] = layers["grids"].iloc[:1]  # only the west half has a grid
    d = District.from_frames(**layers)
    with pytest.warns(GridplanWarning, match=r"uncovered"):
        old = GridPlan.from_district_grids(d)
    assert old.n_grids == 1 and len(old.units) == 100


def test_locked_grids_keep_their_shape():
    layers = metric_layers(n_streets=11)
    d = District.from_frames(**layers)
    plan = partition(d, 5, locked=["G1"], tolerance=0.05)
    g1 = plan.grids.set_index("code").loc["G1"]
    assert g1.geometry.symmetric_difference(layers["grids"].geometry.iloc[0]).area < 1e-3
    check_plan(plan, 5, None)
    free = plan.grids[plan.grids["code"] != "G1"]["weight"]
    assert free.max() / free.mean() <= 1.05 and free.min() / free.mean() >= 0.95
    with pytest.raises(DataError, match="not in the existing plan"):
        partition(d, 5, locked=["G9"])


def test_reassign(town):
    plan = partition(town, 4, seed=0)
    adj = plan.adjacency.tocoo()
    # a boundary unit of grid a next to grid b
    i = next(int(r) for r, c in zip(adj.row, adj.col) if plan.labels[r] != plan.labels[c])
    j = next(int(c) for r, c in zip(adj.row, adj.col) if r == i and plan.labels[c] != plan.labels[i])
    target = plan.grids["code"].iloc[plan.labels[j]]
    moved = plan.reassign([plan.units.index[i]], target, allow_split=True)
    assert moved.units["grid"].iloc[i] == target
    assert list(moved.grids["code"]) == list(plan.grids["code"])
    assert moved.grids["weight"].sum() == pytest.approx(plan.grids["weight"].sum())
    # moving a whole row of one grid's interior out would cut it: refused
    a = plan.labels[i]
    members = np.flatnonzero(plan.labels == a)
    with pytest.raises((InfeasibleError,)):
        plan.reassign(plan.units.index[members].tolist(), target)
    with pytest.raises(DataError, match="no grid with code"):
        plan.reassign([0], "nope")


def test_files_round_trip(town, tmp_path):
    plan = partition(town, 4, seed=1)
    back = GridPlan.read_file(plan.to_file(tmp_path / "plan.gpkg"))
    assert_geodataframe_equal(back.grids, plan.grids)
    assert_geodataframe_equal(back.units, plan.units)
    assert np.array_equal(back.labels, plan.labels)
    assert back.params == plan.params and back.notes == plan.notes
    assert (back.adjacency != plan.adjacency).nnz == 0
    shp = plan.to_file(tmp_path / "plan.shp", crs="GCJ-02")
    assert shp.with_suffix(".cpg").read_text() == "UTF-8"
    exported = gpd.read_file(shp)
    assert exported.crs.to_epsg() == 4326 and list(exported["code"]) == list(plan.grids["code"])
    assert exported["comm_codes"].str.len().gt(0).all()  # dBASE names are at most 10 characters
    gj = gpd.read_file(plan.to_file(tmp_path / "plan.geojson"))
    assert len(gj) == 4
    with pytest.raises(DataError, match="unknown file type"):
        plan.to_file(tmp_path / "plan.kml")


def test_plot_and_html(town):
    import matplotlib.pyplot as plt

    plan = partition(town, 4, seed=0)
    ax = plan.plot()
    assert sum(t.get_text() in set(plan.grids["code"].str[-4:]) for t in ax.texts) == 4
    plt.close(ax.figure)
    ax = plan.plot(column="population")
    plt.close(ax.figure)
    assert "GridPlan" in plan._repr_html_() and "pp_mean" in plan._repr_html_()
    cmp = resplit(plan, 5).compare(plan)
    ax = cmp.plot()
    plt.close(ax.figure)
    assert "disruption" in cmp._repr_html_()


def test_explore(town):
    folium = pytest.importorskip("folium", reason="explore() needs the [explore] extra")
    m = partition(town, 3, seed=0).explore()
    assert isinstance(m, folium.Map)
    assert "990199001" in m.get_root().render()


@st.composite
def random_district(draw):
    """A random polygon district with clustered population, cut into square cells."""
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(5, 10))
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = 1500 * rng.uniform(0.6, 1.0, n)
    poly = shapely.Polygon(np.column_stack([422000 + r * np.cos(ang), 2937000 + r * np.sin(ang)]))
    if not poly.is_valid:
        poly = shapely.convex_hull(poly)
    centres = rng.uniform(-800, 800, (3, 2))
    pts = np.concatenate([c + rng.normal(0, 400, (300, 2)) for c in centres]) + [422000, 2937000]
    inner = poly.buffer(-1.0)  # a metre inside: the precision grid may move a point on the very edge out
    pts = pts[shapely.contains_xy(inner, pts[:, 0], pts[:, 1])]
    pop = gpd.GeoDataFrame({"population": rng.integers(1, 30, len(pts))}, geometry=shapely.points(pts), crs=4545)
    pop = pd.concat([pop, gpd.GeoDataFrame({"population": [1]}, geometry=[poly.representative_point()], crs=4545)])
    return District.from_frames(gpd.GeoDataFrame(geometry=[poly], crs=4545), population=pop), seed


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_district(), st.integers(2, 8), st.integers(0, 100))
def test_partition_properties(case, k, seed):
    district, _ = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridplanWarning)  # cells cut at sharp corners may be islands
        units = build_units(district, "cells", cell_size=150, weight={"population": 0.8, "area": 0.2})
    w = units.frame["weight"].to_numpy(float)

    def light(n: int) -> bool:  # no cell holds more than a third of a grid's workload
        return w.max() <= w.sum() / n / 3

    def balanced_or_refused(make, n):  # noqa: ANN001, ANN202
        if light(n):
            out = make()
            check_plan(out, n, 0.05)  # many light cells: balance within 5 % is reachable
            return out
        try:  # a heavy cell (a dense cluster in a small district) may make ±5 % unreachable
            out = make()
        except InfeasibleError as exc:
            assert "±5.0%" in str(exc)
            return None
        check_plan(out, n, 0.05)
        return out

    plan = balanced_or_refused(lambda: partition(district, k, units=units, seed=seed, tolerance=0.05), k)
    if plan is None:
        return
    again = partition(district, k, units=units, seed=seed, tolerance=0.05)
    assert np.array_equal(plan.labels, again.labels)
    new = balanced_or_refused(lambda: resplit(plan, k + 1, seed=seed, tolerance=0.05), k + 1)
    if new is not None:  # the same units, or units too heavy for k + 1 grids cut into cells (split_heavy)
        if len(new.units) != len(plan.units):
            assert any("split" in note for note in new.notes)
        assert np.isclose(new.units["weight"].sum(), plan.units["weight"].sum())
        assert np.isclose(new.units.geometry.area.sum(), plan.units.geometry.area.sum(), rtol=1e-3)


@pytest.mark.slow
def test_sample_district_regression():
    """Regression values for the synthetic sample district (seed 0): the 12 -> 15 case of the demo.

    Exact counts and totals pin the units; plan quality is pinned to the values this version
    reaches, with a little room (a kernel change that loses compactness or disruption fails here).
    """
    from gridplan.datasets import sample_district

    d = sample_district(0)
    units = build_units(d)
    assert len(units) == 1297
    assert units.frame["population"].sum() == d.population_total == 284_425
    assert units.frame["street_m"].sum() == pytest.approx(d.streets.length.sum())
    plan = partition(d, 15, units=units, seed=0)
    m = plan.metrics()
    assert m["within_tolerance"] and m["contiguous"]
    assert m["pp_mean"] >= 0.53 and m["pp_min"] >= 0.22  # 0.545 / 0.230 today; pymetis: 0.414 / 0.220
    before = GridPlan.from_district_grids(d, units=units)
    assert before.metrics()["balance_max"] == pytest.approx(1.4458, abs=1e-3)  # the unbalanced hand-drawn plan
    new = resplit(d, 15, seed=0)
    s = new.compare(new.previous).summary
    assert new.metrics()["within_tolerance"] and new.metrics()["contiguous"]
    assert s["disruption_lower_bound"] == pytest.approx(0.2262, abs=1e-3)
    assert s["ratio_to_bound"] <= 1.15  # 1.112 today
    assert new.metrics()["pp_mean"] >= 0.38  # 0.410 today


# ---------------------------------------------------------------------- grids nested in communities
def _strip_town(n_comm: int) -> District:
    """The 4 km town with ``n_comm`` vertical strip communities of equal width (2 blocks each or more)."""
    layers = metric_layers(n_streets=21)
    x0, y0, x1, y1 = layers["boundary"].total_bounds
    xs = np.linspace(x0, x1, n_comm + 1)
    layers["communities"] = gpd.GeoDataFrame(
        {
            "code": [f"9901990010{i:02d}" for i in range(n_comm)],
            "name": [f"社区{i}" for i in range(n_comm)],
            "subdistrict": "甲街道",
        },
        geometry=[shapely.box(xs[i], y0, xs[i + 1], y1) for i in range(n_comm)],
        crs=layers["boundary"].crs,
    )
    return District.from_frames(**layers)


def _nesting_holds(plan: GridPlan) -> bool:
    """Every grid lies inside one community, or every community it touches lies wholly inside it."""
    u = plan.units
    home = u.groupby("community")["grid"].nunique()
    for _, comms in u.groupby("grid")["community"]:
        names = comms.unique()
        if len(names) > 1 and (home[names] > 1).any():
            return False
    return True


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n_comm=st.sampled_from([2, 4, 5, 10]), n=st.integers(1, 14), seed=st.integers(0, 3))
@example(n_comm=10, n=9, seed=0)  # grouping searched up to the widest tolerance (found by hypothesis)
@example(n_comm=5, n=2, seed=0)  # small whole communities are grouped, never cut (found by hypothesis)
def test_nested_grids_never_cross_community_lines(n_comm: int, n: int, seed: int) -> None:
    town = _strip_town(n_comm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridplanWarning)  # balance is what the communities allow
        plan = partition(town, n, nested=True, strict=False, seed=seed, tolerance=0.03, weight="area")
    check_plan(plan, n, None)
    assert _nesting_holds(plan)
    assert plan.params["nested"] is True
    if n >= n_comm and n % n_comm == 0:  # equal communities (by area) divide into whole grids: balance holds
        m = plan.metrics()
        assert m["balance_max"] <= 1.03 + 1e-9 and m["balance_min"] >= 0.97 - 1e-9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridplanWarning)
        again = partition(town, n, nested=True, strict=False, seed=seed, tolerance=0.03, weight="area")
    np.testing.assert_array_equal(plan.labels, again.labels)


@pytest.mark.slow
def test_nested_grids_split_and_group_communities():
    town = _strip_town(4)
    inside = partition(town, 8, nested=True, seed=0, weight="area")  # two grids in every community
    assert inside.units.groupby("grid")["community"].nunique().max() == 1
    assert inside.units.groupby("community")["grid"].nunique().tolist() == [2, 2, 2, 2]
    whole = partition(town, 2, nested=True, seed=0, weight="area")  # two communities per grid, none cut
    assert whole.units.groupby("community")["grid"].nunique().max() == 1
    assert any("2 are unions of whole communities" in n for n in whole.notes)
    # three grids for four equal communities: not within ±3 %, said and refused unless strict=False
    with pytest.raises(InfeasibleError, match="nested in communities"):
        partition(town, 3, nested=True, seed=0, weight="area")
    with pytest.warns(GridplanWarning, match="nested in communities"):
        loose = partition(town, 3, nested=True, strict=False, seed=0, weight="area")
    assert _nesting_holds(loose)


def test_nested_needs_communities():
    layers = metric_layers(n_streets=9)
    layers.pop("communities")
    with pytest.raises(DataError, match="communities layer"):
        partition(District.from_frames(**layers), 2, nested=True)


def test_partition_on_given_polygons(town):
    f = build_units(town).frame.iloc[::7]
    compounds = gpd.GeoDataFrame(
        {"name": [f"小区{i}" for i in range(len(f))]}, geometry=f.geometry.buffer(-20).values, crs=town.crs
    )
    plan = partition(town, 6, units=compounds, seed=0)
    check_plan(plan, 6, 0.03)
    assert plan.params["units"] == "polygons"
    # every compound lies in exactly one grid
    own = plan.units[plan.units["polygon"] != ""]
    assert own["polygon"].is_unique and len(own) == len(compounds)


def test_grid_polygon_is_valid_where_units_are_not_noded_alike():
    """Three units of a 6 km sample_city district (cells of a split heavy unit): a cell corner lies on its
    neighbour's edge between that edge's vertices. The coverage union returned a self-intersecting grid, which
    GridIndex then refused (issue 23's city run); the grid must be valid and cover exactly its units."""
    from gridplan.grids import _part_geometry

    units = shapely.from_wkt(
        [
            (
                "POLYGON ((414206.865 2932056.6550000003, 414301.815 2932056.6550000003, "
                "414301.815 2932014.2845537816, 414234.64 2931981.99, 414206.865 2931968.6393110235, "
                "414206.865 2932056.6550000003))"
            ),
            (
                "POLYGON ((414206.865 2932009.1750000003, 414206.865 2931968.6393110235, 414206.7 2931968.56, "
                "414192.45 2931961.71, 414187.59 2931973.6, 414178.18 2931996.72, "
                "414173.12150302756 2932009.1750000003, 414206.865 2932009.1750000003))"
            ),
            (
                "POLYGON ((414192.45 2931961.71, 414206.7 2931968.56, 414206.865 2931968.6393110235, "
                "414234.64 2931981.99, 414240.23 2931966.8, 414286.05 2931838.55, 414309.46 2931770.79, "
                "414303.16 2931767.91, 414277.25 2931757.25, 414273.54 2931766.05, 414263.88 2931789.07, "
                "414254.25 2931812.1, 414244.64 2931835.14, 414235.06 2931858.19, 414225.51 2931881.25, "
                "414215.99 2931904.32, 414206.49 2931927.4, 414197.03 2931950.5, 414192.45 2931961.71))"
            ),
        ]
    )
    (grid,) = _part_geometry(units, np.zeros(len(units), dtype=np.int64), 1)
    assert shapely.is_valid(grid), shapely.is_valid_reason(grid)
    assert grid.area == pytest.approx(shapely.area(units).sum(), rel=1e-12)
    assert grid.geom_type == "Polygon"
