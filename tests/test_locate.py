"""gridplan.locate: exact point → grid lookup, incidents routed with the "7123" rule."""

from __future__ import annotations

import pickle

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridplan import crs as gcrs
from gridplan.errors import CRSError, DataError, GeometryError
from gridplan.locate import INVALID, OUTSIDE, TIME_LIMITS_7123, GridIndex, TimeLimits

from .conftest import metric_layers

X0, Y0 = 422000.0, 2937000.0


def exact_rule(geoms: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The documented rule by brute force: lowest grid whose closed polygon holds the point."""
    pts = shapely.points(x, y)
    out = np.full(len(x), OUTSIDE)
    for g in range(len(geoms) - 1, -1, -1):
        out[shapely.intersects(geoms[g], pts)] = g
    return out


def voronoi_grids(seed: int, n: int, *, size: float = 1000.0, hole: bool = False) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    frame = shapely.box(X0, Y0, X0 + size, Y0 + size)
    pts = shapely.multipoints(rng.uniform((X0, Y0), (X0 + size, Y0 + size), (n, 2)))
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=frame)), frame)
    cells = cells[~shapely.is_empty(cells)]
    if hole:  # a gap inside the district: a lake no grid covers
        lake = shapely.buffer(shapely.Point(X0 + size / 2, Y0 + size / 2), size / 10)
        cells = shapely.difference(cells, lake)
        cells = cells[~shapely.is_empty(cells) & (shapely.get_type_id(cells) != 7)]
    order = rng.permutation(len(cells))
    return gpd.GeoDataFrame({"code": [f"G{i:03d}" for i in range(len(cells))]}, geometry=cells[order], crs=4545)


def probe_points(grids: gpd.GeoDataFrame, seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Random points, plus every vertex, plus points exactly on segments (midpoints of axis-aligned ones)."""
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = grids.total_bounds
    pad = 0.1 * (xmax - xmin)
    xy = [rng.uniform((xmin - pad, ymin - pad), (xmax + pad, ymax + pad), (n, 2))]
    verts = shapely.get_coordinates(grids.geometry.values)
    xy.append(verts[rng.choice(len(verts), min(n, len(verts)), replace=False)])
    box = shapely.get_coordinates(shapely.boundary(shapely.box(xmin, ymin, xmax, ymax)))
    xy.append((box[:-1] + box[1:]) / 2)  # on the outer boundary
    near = verts[rng.choice(len(verts), n)] + rng.normal(0, 1e-7, (n, 2))  # within a micrometre of a vertex
    xy.append(near)
    pts = np.vstack(xy)
    return pts[:, 0], pts[:, 1]


# ----------------------------------------------------------------------------- basics
def test_two_squares_boundary_rule():
    grids = gpd.GeoDataFrame(
        {"code": ["A", "B"]}, geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=4545
    )
    index = GridIndex(grids)
    x = np.array([50, 150, 100, 100, 0, 200, 200.0000001, 100, -1e-9, np.nan, np.inf])
    y = np.array([50, 50, 50, 100, 0, 100, 50, 0, 50, 1, 1])
    assert index.locate(x, y).tolist() == [0, 1, 0, 0, 0, 1, OUTSIDE, 0, OUTSIDE, INVALID, INVALID]
    assert index.locate_one(100.0, 50.0) == "A" and index.locate_one(150.0, 99.0) == "B"
    assert index.codes_at([150.0, 500.0], [5.0, 5.0]).tolist() == ["B", None]
    # the rule is the position given: listing B first gives the shared line to B
    flipped = GridIndex(grids.iloc[::-1])
    assert flipped.locate([100.0], [50.0]).tolist() == [0] and flipped.codes[0] == "B"


@pytest.mark.parametrize("cell_size", [None, 0.7, 50.0, 5000.0])
def test_voronoi_matches_exact_rule_at_any_cell_size(cell_size):
    grids = voronoi_grids(3, 40, hole=True)
    index = GridIndex(grids, cell_size=cell_size)
    x, y = probe_points(grids, 4, 3000)
    got = index.locate(x, y)
    assert got.shape == x.shape and got.dtype.kind == "i"
    np.testing.assert_array_equal(got, exact_rule(grids.geometry.values, x, y))
    ones = [index.locate_one(a, b) for a, b in zip(x[::7], y[::7])]
    assert ones == [None if p < 0 else index.codes[p] for p in got[::7]]


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(1, 30), cells=st.sampled_from([None, 3.0, 40.0]), hole=st.booleans())
def test_property_every_point_located_exactly_once(seed, n, cells, hole):
    grids = voronoi_grids(seed, n, hole=hole)
    index = GridIndex(grids, cell_size=cells)
    x, y = probe_points(grids, seed + 1, 300)
    got = index.locate(x, y)
    assert len(got) == len(x)
    np.testing.assert_array_equal(got, exact_rule(grids.geometry.values, x, y))


def test_agrees_with_sjoin_off_boundary_on_a_plan(sample_plan_15):
    plan = sample_plan_15
    index = GridIndex(plan)
    rng = np.random.default_rng(7)
    xmin, ymin, xmax, ymax = plan.grids.total_bounds
    x, y = rng.uniform(xmin - 300, xmax + 300, 50_000), rng.uniform(ymin - 300, ymax + 300, 50_000)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=plan.grids.crs)
    joined = gpd.sjoin(pts, plan.grids[["geometry"]].reset_index(drop=True), predicate="within")
    ref = np.full(len(x), OUTSIDE)
    ref[joined.index.to_numpy()] = joined["index_right"].to_numpy()
    assert joined.index.is_unique
    np.testing.assert_array_equal(index.locate(x, y), ref)
    assert 0 < (ref == OUTSIDE).mean() < 0.5


def test_gcj02_bd09_cgcs2000_land_where_the_wgs84_truth_does(sample_plan_15):
    index = GridIndex(sample_plan_15)
    rng = np.random.default_rng(2)
    xmin, ymin, xmax, ymax = sample_plan_15.grids.total_bounds
    x, y = rng.uniform(xmin, xmax, 5000), rng.uniform(ymin, ymax, 5000)
    truth = index.locate(x, y)
    lon, lat = gcrs.to_wgs84(x, y, index.crs)
    np.testing.assert_array_equal(index.locate(lon, lat, crs="EPSG:4326"), truth)
    np.testing.assert_array_equal(index.locate(*gcrs.wgs84_to_gcj02(lon, lat), crs="GCJ-02"), truth)
    np.testing.assert_array_equal(index.locate(*gcrs.wgs84_to_bd09(lon, lat), crs="BD-09"), truth)
    np.testing.assert_array_equal(index.locate(lon, lat, crs="EPSG:4490"), truth)
    # GCJ-02 read as if it were WGS84 lands hundreds of metres off: some points change grid
    assert (index.locate(*gcrs.wgs84_to_gcj02(lon, lat), crs="EPSG:4326") != truth).mean() > 0.02
    glon, glat = gcrs.wgs84_to_gcj02(lon[:50], lat[:50])
    assert [index.locate_one(a, b, crs="GCJ-02") for a, b in zip(glon, glat)] == [
        None if p < 0 else index.codes[p] for p in truth[:50]
    ]


def test_lonlat_grids_are_exact_in_their_own_crs():
    grids = voronoi_grids(5, 25).to_crs(4326)
    index = GridIndex(grids)
    assert index.crs.is_geographic and index.metric_crs.is_projected
    x, y = probe_points(grids, 6, 2000)
    np.testing.assert_array_equal(index.locate(x, y), exact_rule(grids.geometry.values, x, y))


def test_multipolygon_grids_and_holes():
    a = shapely.MultiPolygon([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)])
    ring = shapely.box(40, 0, 70, 30).difference(shapely.box(50, 10, 60, 20))
    b = shapely.box(50, 10, 60, 20)
    grids = gpd.GeoDataFrame({"code": ["multi", "ring", "island"]}, geometry=[a, ring, b], crs=4545)
    index = GridIndex(grids)
    assert index.codes_at([5, 25, 15, 45, 55, 50], [5, 5, 5, 5, 15, 15]).tolist() == [
        "multi",
        "multi",
        None,
        "ring",
        "island",
        "ring",
    ]


def test_same_input_same_index():
    grids = voronoi_grids(11, 30)
    x, y = probe_points(grids, 12, 500)
    np.testing.assert_array_equal(GridIndex(grids).locate(x, y), GridIndex(grids).locate(x, y))


def test_pickles_for_dask_workers():
    grids = voronoi_grids(1, 20)
    index = GridIndex(grids)
    back = pickle.loads(pickle.dumps(index))
    x, y = probe_points(grids, 2, 500)
    np.testing.assert_array_equal(back.locate(x, y), index.locate(x, y))
    assert back.locate_one(float(x[0]), float(y[0])) == index.locate_one(float(x[0]), float(y[0]))


def test_summary_reports_memory():
    index = GridIndex(voronoi_grids(1, 20))
    s = index.summary()
    assert s["grids"] == len(index.codes) and s["memory_mb"] * 2**20 == index.memory_bytes > 0
    assert "GridIndex" in index._repr_html_() and "cells" in repr(index)


# ----------------------------------------------------------------------------- bad input
def test_bad_points():
    index = GridIndex(voronoi_grids(1, 10))
    with pytest.raises(DataError, match="differ in length"):
        index.locate([1.0, 2.0], [1.0])
    with pytest.raises(DataError, match="numeric"):
        index.locate(["a"], ["b"])
    with pytest.raises(CRSError):
        index.locate([1.0], [1.0], crs="GCJ-03")
    with pytest.raises(CRSError, match="lon/lat"):
        index.locate([107.25, 107.26], [26.6, 26.61])
    with pytest.raises(CRSError, match="lon/lat"):
        index.locate_one(107.25, 26.6)
    assert index.locate_one(float("nan"), 1.0) is None  # as locate answers INVALID: never an exception
    assert index.locate([np.nan], [1.0]).tolist() == [INVALID]
    assert index.locate([], []).tolist() == []


def test_bad_grids():
    sq = [shapely.box(0, 0, 10, 10), shapely.box(5, 0, 15, 10), shapely.box(20, 0, 30, 10)]
    grids = gpd.GeoDataFrame({"code": ["A", "B", "C"]}, geometry=sq, crs=4545)
    with pytest.raises(GeometryError, match="'A'/'B'.*overlaps='first'"):
        GridIndex(grids)
    first = GridIndex(grids, overlaps="first")
    assert first.codes_at([7, 12], [5, 5]).tolist() == ["A", "B"] and "overlap" in first.notes[0]
    with pytest.raises(GeometryError, match="no geometry: 'B'"):
        GridIndex(grids.set_geometry([sq[0], shapely.Polygon(), sq[2]]))
    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    with pytest.raises(GeometryError, match="invalid.*make_valid"):
        GridIndex(grids.iloc[:1].set_geometry([bowtie]))
    with pytest.raises(GeometryError, match="Polygons"):
        GridIndex(grids.iloc[:1].set_geometry([shapely.Point(0, 0)]))
    with pytest.raises(CRSError, match="no CRS"):
        GridIndex(gpd.GeoDataFrame(geometry=sq[:1]))
    with pytest.raises(GeometryError, match="empty"):
        GridIndex(grids.iloc[:0])
    with pytest.raises(DataError, match="not unique"):
        GridIndex(grids.iloc[[0, 2]].assign(code=["X", "X"]))
    with pytest.raises(DataError, match="code column"):
        GridIndex(grids.iloc[[0, 2]], code="nope")


# ----------------------------------------------------------------------------- time limits
def test_time_limits_7123_and_custom():
    rule = TIME_LIMITS_7123
    assert rule.respond == pd.Timedelta(minutes=7)
    assert [rule.limit(s) for s in ("small", 2, "疑难")] == [pd.Timedelta(days=d) for d in (1, 2, 3)]
    level, limit, unknown = rule.resolve([1, "2", "hard", None, "??"])
    assert level.tolist() == ["grid", "community", "subdistrict", "grid", None]
    assert unknown.tolist() == [False, False, False, False, True] and pd.isna(limit[4])
    night = TimeLimits(
        respond=pd.Timedelta(minutes=15),
        levels={"urgent": ("grid", pd.Timedelta(hours=2))},
        aliases={"u": "urgent"},
        default="urgent",
    )
    assert night.limit("u") == pd.Timedelta(hours=2)
    with pytest.raises(DataError, match="unknown severity"):
        rule.limit("catastrophic")
    with pytest.raises(DataError, match="levels"):
        TimeLimits(levels={"a": ("grid", pd.Timedelta(days=1))}, aliases={1: "b"}, default="a")


# ----------------------------------------------------------------------------- assign
@pytest.fixture(scope="module")
def square_district():
    from gridplan.district import District

    return District.from_frames(**metric_layers())


def incidents(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = X0 + rng.uniform(-200, 4200, n)
    y = Y0 + rng.uniform(-200, 4200, n)
    lon, lat = gcrs.wgs84_to_gcj02(*gcrs.to_wgs84(x, y, "EPSG:4545"))
    return pd.DataFrame(
        {
            "lon": lon,
            "lat": lat,
            "severity": rng.choice(["small", "larger", "hard"], n),
            "reported": pd.Timestamp("2026-11-23 08:00") + pd.to_timedelta(rng.uniform(0, 86400, n), unit="s"),
        },
        index=pd.Index(np.arange(n) * 3 + 100, name="case"),
    )


def test_assign_routes_every_row(square_district):
    d = square_district
    index = GridIndex(d.grids, streets=d)
    df = incidents(400)
    df.loc[100, "lon"] = np.nan
    df.loc[103, "lat"] = 123.0
    df.loc[106, "severity"] = "apocalyptic"
    df["lon"] = df["lon"].astype(object)
    df.loc[109, "lon"] = "n/a"
    out = index.assign(df, crs="GCJ-02", severity="severity", time="reported")
    assert out.index.equals(df.index) and len(out) == len(df)
    pd.testing.assert_frame_equal(out[df.columns], df)
    assert out.loc[100, "reason"].startswith("missing") and out.loc[109, "reason"] == "non-numeric coordinate"
    assert "out of range" in out.loc[103, "reason"] and out.loc[106, "reason"].endswith("unknown severity")
    x, y = gcrs.from_wgs84(
        *gcrs.gcj02_to_wgs84(pd.to_numeric(df["lon"], errors="coerce").to_numpy(float), df["lat"].to_numpy(float)), "EPSG:4545"
    )
    truth = index.codes_at(x, y)
    ok = out["reason"].isna() | (out["reason"] == "unknown severity")
    assert pd.isna(out.loc[106, "level"]) and pd.isna(out.loc[106, "deadline"])
    assert (out.loc[ok, "grid"].to_numpy(dtype=object) == truth[ok.to_numpy()]).all()
    outside = out["reason"] == "outside every grid"
    assert outside.sum() > 0 and out.loc[outside, "grid"].isna().all()
    # community and subdistrict from the district's communities; the street lies in the grid
    located = out["grid"].notna()
    pts = shapely.points(x[located.to_numpy()], y[located.to_numpy()])
    comm = d.communities.set_index("code").geometry
    assert shapely.intersects(comm.loc[out.loc[located, "community"]].values, pts).all()
    assert (out.loc[located, "subdistrict"] == "甲街道").all()
    edges = d.network.edges.dissolve("street")  # a street may be split into several edges
    grid_geom = d.grids.set_index("code").geometry
    assert shapely.intersects(
        edges.geometry.loc[out.loc[located, "street"]].values, grid_geom.loc[out.loc[located, "grid"]].values
    ).all()
    assert (out.loc[located, "road_chief"] == out.loc[located, "street"]).all()
    # the nearest street in the grid is no farther than any other street in the grid
    i = out.index[located][0]
    p = shapely.Point(x[df.index.get_loc(i)], y[df.index.get_loc(i)])
    in_grid = edges[shapely.intersects(edges.geometry.values, grid_geom.loc[out.loc[i, "grid"]])]
    assert edges.geometry.loc[out.loc[i, "street"]].distance(p) == pytest.approx(in_grid.distance(p).min())
    # "7123": level, handler and deadlines by severity
    row = out.loc[located & (out["severity"] == "larger")].iloc[0]
    assert row["level"] == "community" and row["handler"] == row["community"]
    assert row["deadline"] - row["reported"] == pd.Timedelta(days=2)
    assert row["respond_by"] - row["reported"] == pd.Timedelta(minutes=7)
    hard = out.loc[located & (out["severity"] == "hard")].iloc[0]
    assert hard["handler"] == "甲街道" and hard["deadline"] - hard["reported"] == pd.Timedelta(days=3)


@pytest.mark.slow
def test_assign_plan_geodataframe_and_chiefs(sample_plan_15):
    from gridplan.datasets import sample_district

    d = sample_district()
    edges = d.network.edges
    chiefs = pd.Series([f"路长{i % 30:02d}" for i in range(len(edges))], index=edges.index)
    index = GridIndex(sample_plan_15, streets=d.network, routes=chiefs)
    rng = np.random.default_rng(3)
    xmin, ymin, xmax, ymax = sample_plan_15.grids.total_bounds
    pts = gpd.GeoDataFrame(
        {"kind": ["garbage"] * 300},
        geometry=gpd.points_from_xy(rng.uniform(xmin, xmax, 300), rng.uniform(ymin, ymax, 300)),
        crs=sample_plan_15.grids.crs,
    )
    pts.loc[5, "geometry"] = shapely.box(0, 0, 1, 1)
    out = index.assign(pts)
    assert isinstance(out, gpd.GeoDataFrame) and out.loc[5, "reason"] == "geometry is not a point"
    ok = out["grid"].notna()
    units = sample_plan_15.units
    # community comes from the plan's units and agrees with the unit under the point
    hit = gpd.sjoin(out[ok][["geometry"]], units[["geometry", "community"]], predicate="within")
    assert (hit["community"] == out.loc[hit.index, "community"]).all()
    assert out.loc[ok, "road_chief"].str.startswith("路长").all()
    assert (out.loc[ok, "level"] == "grid").all() and (out.loc[ok, "deadline"] == pd.Timedelta(days=1)).all()
    with pytest.raises(DataError, match="already have"):
        index.assign(out)
    with pytest.raises(DataError, match="severity column 'sev'"):
        index.assign(pts, severity="sev")
    with pytest.raises(DataError, match="coordinate columns"):
        index.assign(pd.DataFrame({"a": [1.0]}))


def test_assign_dask_matches_in_memory(square_district):
    import dask.dataframe as dd  # in the [test] extra: the dask path is always tested
    import dask_geopandas as dgpd

    d = square_district
    index = GridIndex(d.grids, streets=d)
    df = incidents(600, seed=4)
    expect = index.assign(df, crs="GCJ-02", severity="severity")
    got = index.assign(dd.from_pandas(df, npartitions=4), crs="GCJ-02", severity="severity").compute()
    pd.testing.assert_frame_equal(got, expect, check_dtype=False)

    x, y = gcrs.from_wgs84(*gcrs.gcj02_to_wgs84(df["lon"].to_numpy(), df["lat"].to_numpy()), "EPSG:4545")
    g = gpd.GeoDataFrame(df[["severity"]], geometry=gpd.points_from_xy(x, y), crs=4545)
    got = index.assign(dgpd.from_geopandas(g, npartitions=3), severity="severity").compute()
    pd.testing.assert_frame_equal(
        pd.DataFrame(got.drop(columns="geometry")),
        pd.DataFrame(index.assign(g, severity="severity").drop(columns="geometry")),
        check_dtype=False,
    )


def test_cases_above_grid_level_without_communities_get_their_grid_and_a_reason():
    grids = voronoi_grids(3, 6)  # grid polygons only: no community or subdistrict is known anywhere
    index = GridIndex(grids)
    rng = np.random.default_rng(4)
    xmin, ymin, xmax, ymax = grids.total_bounds
    df = pd.DataFrame(
        {"x": rng.uniform(xmin, xmax, 60), "y": rng.uniform(ymin, ymax, 60), "sev": np.tile(["small", "larger", "hard"], 20)}
    )
    out = index.assign(df, severity="sev")
    assert out["grid"].notna().all() and out["handler"].notna().all()
    above = out["level"] != "grid"
    assert (out.loc[above, "handler"] == out.loc[above, "grid"]).all()
    assert out.loc[above, "reason"].str.match(r"no (community|subdistrict) known here: handled by its grid").all()
    assert out.loc[~above, "reason"].isna().all() and (out.loc[~above, "handler"] == out.loc[~above, "grid"]).all()
