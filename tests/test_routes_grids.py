"""Per-grid patrols on real streets and the road chiefs that come from them (issue 17 items 2-3)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.sparse import csgraph

from gridplan import _grid_streets
from gridplan.district import District
from gridplan.errors import DataError, NetworkError
from gridplan.grids import partition
from gridplan.locate import GridIndex
from gridplan.routes import RoutePlan, balance_routes

from .conftest import SHARED_DATA, metric_layers, needs_shared


def _pieces(n: int, u: np.ndarray, v: np.ndarray) -> int:
    if not len(u):
        return 0
    adj = sparse.coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
    lab = csgraph.connected_components(adj, directed=False)[1]
    return len(np.unique(lab[np.r_[u, v]]))


@pytest.fixture(scope="module")
def block_plan():
    """Grids made of street blocks: every grid line runs along a street."""
    d = District.from_frames(**metric_layers(n_streets=9))
    return partition(d, 4, seed=0, tolerance=0.2, strict=False)


@pytest.fixture(scope="module")
def block_routes(block_plan):
    return balance_routes(block_plan, chiefs_per_grid=2, seed=0, effort=0.1, progress=False)


# --------------------------------------------------------------------------- item 2: streets per grid
def test_streets_along_grid_lines_stay_whole_and_in_one_of_their_grids(block_plan):
    net = block_plan.district.network
    split, owner, cand = _grid_streets.split_at_grids(net, block_plan)
    e = split.edges
    # along a grid line a street is never cut into bits: no piece shorter than the tolerance
    # unless its source edge was
    src_len = net.edges["length"].reindex(e["source_edge"]).to_numpy()
    assert ((e["length"].to_numpy() >= _grid_streets.ON_GRID_LINE) | (src_len < _grid_streets.ON_GRID_LINE)).all()
    assert e["length"].sum() == pytest.approx(net.edges["length"].sum())
    shared = owner == _grid_streets.SHARED
    assert shared.any() and all(len(cand[i]) >= 2 for i in np.flatnonzero(shared))
    # oracle: a shared piece's middle lies on the outline of every grid it may go to
    polys = np.asarray(block_plan.grids.geometry.values)
    mids = shapely.line_interpolate_point(np.asarray(e.geometry.values), 0.5, normalized=True)
    for i in np.flatnonzero(shared):
        assert all(shapely.distance(mids[i], polys[g].boundary) < _grid_streets.ON_GRID_LINE for g in cand[i])
    for i in np.flatnonzero(owner >= 0):
        assert shapely.distance(mids[i], polys[owner[i]]) < _grid_streets.ON_GRID_LINE


def test_streets_on_grid_lines_go_where_they_keep_the_grid_connected(block_plan):
    net = block_plan.district.network
    split, owner, cand = _grid_streets.split_at_grids(net, block_plan)
    e = split.edges
    u, v, w = e["u"].to_numpy(), e["v"].to_numpy(), e["length"].to_numpy()
    settled = _grid_streets.settle_grid_lines(split.n_nodes, u, v, w, owner, cand)
    assert (settled >= 0).all()
    assert all(settled[i] in cand[i] for i in np.flatnonzero(owner == _grid_streets.SHARED))
    first = np.where(owner == _grid_streets.SHARED, [c[0] if c else -1 for c in cand], owner)  # the old rule
    ours = [_pieces(split.n_nodes, u[settled == g], v[settled == g]) for g in range(block_plan.n_grids)]
    old = [_pieces(split.n_nodes, u[first == g], v[first == g]) for g in range(block_plan.n_grids)]
    assert sum(ours) <= sum(old)
    assert max(ours) == 1  # on a lattice every grid's streets can be one piece


def test_per_grid_report_and_every_street_once(block_plan, block_routes):
    rp = block_routes
    cols = {"pieces", "deadhead_share", "max_length", "lower_bound", "gap", "connect_km", "unreachable_km"}
    assert cols <= set(rp.per_grid.columns)
    e = rp.edges
    inside = e[e["grid"].notna()]
    assert inside["chief"].notna().all()
    assert (inside["chief"].str.rsplit("-R", n=1).str[0] == inside["grid"]).all()
    assert (rp.per_grid["max_length"] >= rp.per_grid["lower_bound"] - 1e-6).all()
    assert (rp.per_grid["pieces"] == 1).all()


def test_unreachable_streets_are_listed_per_grid_never_an_anonymous_error():
    layers = metric_layers(n_streets=5)
    x0, y0 = 422000.0, 2937000.0
    stray = gpd.GeoDataFrame(
        {"name": ["孤路"], "kind": "local"}, geometry=[shapely.LineString([(x0 + 300, y0 + 300), (x0 + 600, y0 + 700)])], crs=4545
    )
    streets = pd.concat([layers["streets"], stray], ignore_index=True)
    layers["streets"] = streets
    d = District.from_frames(**layers)
    from gridplan.units import build_units

    plan = partition(d, 2, units=build_units(d, "cells", cell_size=1000), seed=0, tolerance=0.3, strict=False)
    rp = balance_routes(plan, chiefs_per_grid=1, seed=0, effort=0.1, progress=False)
    lost = rp.per_grid[rp.per_grid["unreachable_edges"] > 0]
    assert len(lost) == 1
    code = lost.index[0]
    assert lost["unreachable_km"].iloc[0] == pytest.approx(0.5, abs=0.01)
    assert any(n.startswith(f"grid {code}:") and "cannot be reached" in n for n in rp.notes)
    stray_edges = rp.edges[rp.edges.within(stray.geometry.iloc[0].buffer(0.01))]
    assert len(stray_edges)
    assert stray_edges["chief"].isna().all()
    with pytest.raises(NetworkError, match=f"grid {code}"):
        balance_routes(plan, chiefs_per_grid=1, components="raise", seed=0, effort=0.1, progress=False)


def test_rural_bound_counts_the_connections_between_pieces():
    from gridplan import _routing

    # two required edges 1 km apart along a path: any closed walk covering both walks the gap twice
    u = np.array([0, 1, 2])
    v = np.array([1, 2, 3])
    w = np.array([100.0, 1000.0, 100.0])
    sol = _routing.solve(4, u, v, w, np.array([True, False, True]), 0, 1, seed=0)
    assert sol.lower_bound == pytest.approx(2 * 1200.0)  # exact here: the walk 0-1-2-3-2-1-0
    assert sol.lengths[0] == pytest.approx(2400.0)
    assert sol.pieces == 2 and sol.connect == pytest.approx(1000.0)


@pytest.mark.slow
@needs_shared
def test_real_changan_streets_default_settings(tmp_path):
    roads = gpd.read_file(SHARED_DATA / "changan_roads.gpkg")
    box = shapely.box(108.93, 34.15, 108.98, 34.18)  # the dense northern part
    roads = roads[roads.intersects(box)].drop(columns=["length"])
    boundary = gpd.GeoDataFrame(
        {"name": ["长安区 (part)"]}, geometry=[roads.geometry.union_all().convex_hull.buffer(1e-4)], crs=4326
    )
    d = District.from_frames(boundary, streets=roads)
    plan = partition(d, 4, seed=0, tolerance=0.4)
    rp = balance_routes(plan, chiefs_per_grid=2, seed=0, effort=0.05, progress=False)  # default components
    pg = rp.per_grid
    assert (pg["pieces"] == 1).sum() >= 3  # before: every grid in dozens of dashes along its lines
    for code in pg.index[pg["pieces"] > 1]:  # the peri-urban grid's stray roads: joined, and said so
        assert any(n.startswith(f"grid {code}: its streets form") and "deadhead" in n for n in rp.notes)
    assert (pg["gap"] < 0.25).all()
    e = rp.edges
    routed = e[e["required"]]
    assert (routed["chief"].str.rsplit("-R", n=1).str[0] == routed["grid"]).all()
    lost = e[e["grid"].notna() & ~e["required"]]
    assert len(lost) == pg["unreachable_edges"].sum()
    for code in pg.index[pg["unreachable_edges"] > 0]:
        assert any(n.startswith(f"grid {code}:") and "cannot be reached" in n for n in rp.notes)
    _chiefs_in_their_grid(plan, rp, tmp_path, n=200, seed=1)


# --------------------------------------------------------------------------- item 3: road chiefs
def _random_points_in_grids(plan, n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = plan.grids.total_bounds
    pts = shapely.points(rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n))
    frame = gpd.GeoDataFrame(geometry=pts, crs=plan.grids.crs)
    hit = gpd.sjoin(frame, plan.grids[["code", "geometry"]], predicate="within", how="inner")
    hit = hit[~hit.index.duplicated(keep=False)].head(n)
    return gpd.GeoDataFrame({"expected": hit["code"].to_numpy()}, geometry=hit.geometry.values, crs=plan.grids.crs)


def _check_chiefs(out: pd.DataFrame, pts: gpd.GeoDataFrame, rp: RoutePlan) -> None:
    """Located in the sjoin grid; the chief is one of that grid's, on the nearest of its patrolled streets."""
    assert (out["grid"].to_numpy() == pts["expected"].to_numpy()).all()
    edges = rp.edges[rp.edges["chief"].notna()]
    by_grid = {g: f for g, f in edges.groupby("grid")}
    for geom, grid, chief in zip(pts.geometry, out["grid"], out["road_chief"]):
        mine = by_grid.get(grid)
        if mine is None:
            assert pd.isna(chief)
            continue
        assert chief in set(mine["chief"])
        d = mine.distance(geom)
        assert d[mine["chief"] == chief].min() == pytest.approx(d.min(), abs=1e-6)


def _chiefs_in_their_grid(plan, rp: RoutePlan, tmp_path, *, n: int, seed: int) -> None:
    pts = _random_points_in_grids(plan, n, seed)
    frame = pd.DataFrame({"x": pts.geometry.x, "y": pts.geometry.y})
    path = rp.to_file(tmp_path / "patrols.gpkg")
    back = RoutePlan.read_file(path, streets=plan.district)
    for routes in (rp, back, path, str(path), back.edges, gpd.read_file(path, layer="edges")):
        out = GridIndex(plan, routes=routes, cell_size=50.0).assign(frame, x="x", y="y", crs=plan.grids.crs)
        _check_chiefs(out, pts, rp)


@pytest.mark.slow
def test_chief_of_a_street_of_the_grid_in_memory_and_after_reload(block_plan, block_routes, tmp_path):
    _chiefs_in_their_grid(block_plan, block_routes, tmp_path, n=150, seed=0)


@pytest.fixture(scope="module")
def block_index(block_plan, block_routes):
    return GridIndex(block_plan, routes=block_routes, cell_size=50.0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000))
def test_random_points_in_grids_get_a_chief_of_their_grid(block_plan, block_routes, block_index, seed):
    pts = _random_points_in_grids(block_plan, 60, seed)
    out = block_index.assign(pd.DataFrame({"x": pts.geometry.x, "y": pts.geometry.y}), x="x", y="y", crs=block_plan.grids.crs)
    _check_chiefs(out, pts, block_routes)


def test_route_plan_file_is_lossless(block_routes, tmp_path):
    rp = block_routes
    back = RoutePlan.read_file(rp.to_file(tmp_path / "r.gpkg"))
    assert type(back) is RoutePlan
    pd.testing.assert_frame_equal(back.edges, rp.edges)
    pd.testing.assert_frame_equal(back.routes, rp.routes)
    pd.testing.assert_frame_equal(back.per_grid, rp.per_grid)
    pd.testing.assert_series_equal(back.lengths, rp.lengths)
    pd.testing.assert_frame_equal(back.network.edges, rp.network.edges)
    assert back.walks == rp.walks and back.walk_edges == rp.walk_edges
    assert back.params == rp.params and back.notes == rp.notes and back.lower_bound == rp.lower_bound
    pd.testing.assert_frame_equal(back.summary().to_frame(), rp.summary().to_frame())


def test_route_plan_of_another_plan_or_district_is_refused(block_plan, block_routes, tmp_path):
    path = block_routes.to_file(tmp_path / "r.gpkg")
    other = District.from_frames(**metric_layers(n_streets=5, size=3000.0))
    with pytest.raises(DataError, match="other streets"):
        RoutePlan.read_file(path, streets=other)
    other_plan = partition(other, 3, seed=0, tolerance=0.3, strict=False)
    for routes in (path, block_routes, block_routes.edges):
        with pytest.raises(DataError, match="another plan"):
            GridIndex(other_plan, routes=routes)
    with pytest.raises(DataError, match="chief"):
        GridIndex(block_plan, routes=block_routes.edges.drop(columns="chief"))


# --------------------------------------------------------------------------- issue 23: grids on dask
def test_per_grid_patrols_on_dask_are_identical_to_serial(block_plan, block_routes):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        rp = balance_routes(block_plan, chiefs_per_grid=2, seed=0, effort=0.1, progress=False, client=client)
    assert rp.params["workers"] == 2
    pd.testing.assert_frame_equal(rp.edges, block_routes.edges)  # edge by edge: same chief, same route
    pd.testing.assert_frame_equal(rp.routes, block_routes.routes)
    pd.testing.assert_frame_equal(rp.per_grid, block_routes.per_grid)
    assert rp.walks == block_routes.walks and rp.walk_edges == block_routes.walk_edges
    with pytest.raises(DataError, match="client"):
        balance_routes(block_plan, chiefs_per_grid=2, progress=False, client=client)  # closed now
    with pytest.raises(DataError, match="dask.distributed.Client"):
        balance_routes(block_plan, chiefs_per_grid=2, progress=False, client=object())


def test_bad_search_options_are_refused(block_plan):
    for bad in (dict(target_gap=-0.1), dict(target_gap=1.5), dict(target_gap="small"), dict(components="some")):
        with pytest.raises(DataError):
            balance_routes(block_plan, chiefs_per_grid=1, progress=False, **bad)
    with pytest.raises(DataError, match="client"):
        balance_routes(block_plan.district.network, 2, client=object())
