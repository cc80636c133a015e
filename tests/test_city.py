"""City pipeline: a synthetic city of two districts, serially and on a 2-worker Dask cluster."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csgraph

from gridplan import _dask, _regions
from gridplan.city import estimate_memory, plan_city
from gridplan.datasets import sample_city
from gridplan.errors import DataError, GridplanWarning, InfeasibleError
from gridplan.staffing import assign_staff

N_GRIDS = 8
OPTIONS = {"effort": 0.05, "progress": False, "staffing_time_limit": 60.0}


@pytest.fixture(scope="module")
def city():
    return sample_city(2, seed=0, district_km=2.0)


@pytest.fixture(scope="module")
def serial(city):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridplanWarning)  # vacancies of the sample roster are warned; checked below
        return plan_city(city, N_GRIDS, seed=0, **OPTIONS)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as lc,
        distributed.Client(lc) as c,
    ):
        yield c


@pytest.mark.slow
def test_sample_city_tiles_and_joins_at_the_seams(city):
    again = sample_city(2, seed=0, district_km=2.0)
    assert again.streets.geometry.equals(city.streets.geometry)
    b = city.boundary
    assert list(b["code"]) == ["990101", "990102"]
    assert b.geometry.iloc[0].intersection(b.geometry.iloc[1]).area == 0  # side by side, no overlap
    assert city.synthetic and "synthetic" in city.name
    # connector streets make the two districts one network (a resident can walk across the seam)
    net = city.network
    _, lab = csgraph.connected_components(net.to_sparse(), directed=False)
    owner = np.asarray(shapely.covers(b.geometry.iloc[1], shapely.points(net.nodes[["x", "y"]].to_numpy())))
    biggest = np.bincount(lab).argmax()
    assert (lab[owner] == biggest).any() and (lab[~owner] == biggest).any()
    assert set(city.communities["code"].str[:6]) == {"990101", "990102"}


@pytest.mark.slow
def test_grids_stay_inside_their_district_and_tile_the_city(city, serial):
    plan = serial.plan
    assert plan.n_grids == N_GRIDS
    assert sum(serial.params["grids_per_district"].values()) == N_GRIDS
    polys = dict(zip(city.boundary["code"], city.boundary.geometry))
    for code, geom in zip(plan.grids["code"], plan.grids.geometry):
        district = polys[code[:6]]
        assert geom.difference(district.buffer(0.01)).area < 1.0, code
    assert abs(plan.grids.geometry.area.sum() - city.shape.area) < 1e-3 * city.shape.area
    assert plan.metrics()["contiguous"]


def test_posts_every_grid_covered_score_matches_brute_force(city, serial):
    posts = serial.posts
    frame = posts.posts
    per_grid = frame[frame["kind"] == "post"].groupby("grid").size()
    assert set(per_grid.index) == set(serial.plan.grids["code"]) and (per_grid >= 1).all()
    assert frame.index.is_unique
    # oracle: a full (not min_only) Dijkstra from every post on the city's streets
    net = city.network
    nodes = net.nearest_nodes(frame.geometry.x[frame["kind"] == "post"], frame.geometry.y[frame["kind"] == "post"])
    d = csgraph.dijkstra(net.to_sparse(), directed=False, indices=np.unique(nodes)).min(axis=0)
    pop = city.population
    xy = shapely.get_coordinates(pop.geometry.values)
    node, snap = net.nearest_nodes(xy[:, 0], xy[:, 1], return_dist=True)
    covered = pop["population"].to_numpy(float)[snap + d[node] <= 1200 + 1e-7].sum()
    assert posts.params["covered"] == pytest.approx(covered)
    assert serial.coverage.overall["covered"] == pytest.approx(covered)
    assert posts.params["covered"] <= posts.params["bound"] + 1e-6 and 0 <= posts.params["gap"] < 0.05
    assert serial.coverage.per_district["demand"].sum() == pytest.approx(pop["population"].sum())


def test_patrols_cover_every_grid_with_streets(serial):
    rg = serial.route_grids
    assert set(rg.index) == set(serial.plan.grids["code"])
    assert (rg["chiefs"] == 2).all()
    walked = serial.routes.groupby("grid")["length"].sum()
    with_streets = rg.index[rg["streets_km"] > 0]
    assert (walked.reindex(with_streets) >= rg.loc[with_streets, "streets_km"] * 1000 - 1e-6).all()
    assert (rg["max_length"] >= rg["lower_bound"] - 1e-6).all()


def test_staffing_by_district_is_a_restriction_of_the_city_programme(city, serial):
    st = serial.staffing
    a = st.assignments
    assert a["id"].is_unique
    # everyone works in the district they live in
    owner = dict(zip(city.boundary["code"], city.boundary.geometry))
    for _, row in a.iterrows():
        assert owner[row["district"]].covers(shapely.Point(row["home_x"], row["home_y"]))
        assert row["grid"].startswith(row["district"])
    assert st.params["exact_decomposition"] and st.params["status"] == "optimal"
    # oracle: one programme for the whole city in which people may cross districts (a relaxation) fills at least
    # as many slots, and with no more slots filled never walks farther
    from gridplan.datasets import sample_roster

    roster = sample_roster(serial.plan, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridplanWarning)
        whole = assign_staff(serial.plan, roster, posts=serial.posts.posts, seed=0)
    assert len(whole.assignments) >= len(a)
    if len(whole.assignments) == len(a):
        assert whole.total_distance_m <= a["distance_m"].sum() + 1e-6


@pytest.mark.slow
def test_dask_gives_identical_results(city, serial, client):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridplanWarning)
        res = plan_city(city, N_GRIDS, seed=0, client=client, **OPTIONS)
    assert res.params["workers"] == 2
    pd.testing.assert_series_equal(res.plan.grids["code"], serial.plan.grids["code"])
    assert res.plan.grids.geometry.geom_equals_exact(serial.plan.grids.geometry, 1e-9).all()
    pd.testing.assert_frame_equal(
        pd.DataFrame(res.posts.posts.drop(columns="geometry")), pd.DataFrame(serial.posts.posts.drop(columns="geometry"))
    )
    pd.testing.assert_series_equal(res.routes["length"], serial.routes["length"])
    pd.testing.assert_frame_equal(
        pd.DataFrame(res.staffing.assignments.drop(columns="post")),
        pd.DataFrame(serial.staffing.assignments.drop(columns="post")),
    )
    assert list(res.times.index) == ["grids", "posts", "patrols", "staffing", "index", "coverage"]
    assert (res.times.loc[["grids", "patrols"], "tasks"] == 2).all()


def _add(item, *deps):
    if item == "fail":
        raise DataError("no good")
    return item + sum(deps)


def test_task_graph_runs_after_its_dependencies_serially_and_on_dask(client):
    # 0 and 1 alone; 2 after both; 3 after 2 and 0: the results are the serial run's on any worker
    tasks = [
        _dask.Task(_add, 1, priority=0),
        _dask.Task(_add, 10, priority=5),
        _dask.Task(_add, 100, after=(0, 1), priority=9),
        _dask.Task(_add, 1000, after=(2, 0)),
    ]
    serial_out, serial_t = _dask.run_graph(tasks)
    assert serial_out == [1, 10, 111, 1112]
    dask_out, dask_t = _dask.run_graph(tasks, client=client)
    assert dask_out == serial_out and len(dask_t.task_seconds) == 4 and dask_t.workers == 2
    with pytest.raises(ValueError, match="only earlier tasks"):
        _dask.run_graph([_dask.Task(_add, 1, after=(1,)), _dask.Task(_add, 2)])
    with pytest.raises(DataError, match="posts D2: no good"):
        failing = [_dask.Task(_add, 1), _dask.Task(_add, "fail", after=(0,))]
        _dask.run_graph(failing, client=client, desc="posts", names=["D1", "D2"])


@pytest.mark.slow
def test_seams_read_only_the_neighbours_within_reach(monkeypatch):
    """A district's seam task sees only the districts within 2 x max_walk_m: the same posts as when it
    sees every other district (a row of three 2-km districts: the first and the third are 2 km apart)."""
    city5 = sample_city(5, seed=0, district_km=2.0)
    options = {**OPTIONS, "posts_per_grid": 1.0, "max_walk_m": 400.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridplanWarning)
        near_only = plan_city(city5, 5 * 8, seed=0, **options)
        assert near_only.posts.params["reconciled"], "the seams must change some district's posts to test them"
        import gridplan.city as city_module

        def every_other(regions, i, distance_m):
            return [j for j in range(len(regions)) if j != i]

        assert len(city_module._seam_neighbours(_regions.split_city(city5, max_walk_m=400.0), 0, 800.0)) < 4
        monkeypatch.setattr(city_module, "_seam_neighbours", every_other)
        everyone = plan_city(city5, 5 * 8, seed=0, **options)
    assert near_only.posts.params["reconciled"] == everyone.posts.params["reconciled"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(near_only.posts.posts.drop(columns="geometry")), pd.DataFrame(everyone.posts.posts.drop(columns="geometry"))
    )


def test_closed_client_and_client_without_workers_are_refused(city, monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as lc:
        c = distributed.Client(lc)
        c.close()
        with pytest.raises(DataError, match="client is closed"):
            plan_city(city, N_GRIDS, client=c, **OPTIONS)
    monkeypatch.setattr(_dask, "WAIT_FOR_WORKERS_S", 0.5)
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as lc, distributed.Client(lc) as c:
        with pytest.raises(DataError, match="no workers"):
            plan_city(city, N_GRIDS, client=c, **OPTIONS)


def test_city_too_large_for_the_memory_names_the_step(city):
    est = estimate_memory(city, N_GRIDS)
    assert set(est.index) == {"grids", "posts", "patrols", "staffing", "index", "coverage"}
    with pytest.raises(InfeasibleError, match=r"too large for the memory given: the \w+ step needs about"):
        plan_city(city, N_GRIDS, memory_limit=50e6, **OPTIONS)


def test_fewer_grids_than_districts_and_other_objectives_are_refused(city):
    with pytest.raises(InfeasibleError, match="fewer than the city's 2 districts"):
        plan_city(city, 1, **OPTIONS)
    with pytest.raises(DataError, match="are for the coverage objective, got 'p-median'"):
        plan_city(city, N_GRIDS, post_options={"objective": "p-median"}, **OPTIONS)


@pytest.mark.slow
def test_district_without_staff_is_warned_by_name(city, serial):
    from gridplan.datasets import sample_roster

    roster = sample_roster(serial.plan, seed=0)
    west = city.boundary.geometry.iloc[0]
    roster = roster[np.asarray(shapely.covers(west, shapely.points(roster["x"], roster["y"])))]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GridplanWarning)
        res = plan_city(city, N_GRIDS, roster=roster, **OPTIONS)
    said = [str(w.message) for w in caught if issubclass(w.category, GridplanWarning)]
    assert any(m.startswith("district 990102 (") and "has no staff" in m for m in said), said
    vac = res.staffing.vacancies
    assert (vac.loc[vac["district"] == "990102", "reason"].str.contains("nobody in the roster lives")).all()
    assert vac.loc[vac["district"] == "990102", "missing"].sum() == 5 * res.params["grids_per_district"]["990102"]


@pytest.mark.slow
def test_cli_city_from_files_writes_the_demo_files(city, tmp_path):
    from gridplan.cli import main

    paths = {}
    for layer in ("boundary", "streets", "population"):  # a user's own files: one boundary row per district
        paths[layer] = tmp_path / f"{layer}.gpkg"
        getattr(city, layer).to_file(paths[layer])
    out = tmp_path / "city"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridplanWarning)
        code = main(
            [
                "city",
                "--boundary",
                str(paths["boundary"]),
                "--streets",
                str(paths["streets"]),
                "--population",
                str(paths["population"]),
                "--grids",
                "4",
                "--effort",
                "0.05",
                "--out",
                str(out),
                "-q",
            ]
        )
    assert code == 0
    for name in (
        "plan_city_4.gpkg",
        "posts.gpkg",
        "patrols.gpkg",
        "coverage_districts.csv",
        "staffing_teams.csv",
        "times.csv",
        "report.html",
        "README.txt",
    ):
        assert (out / name).is_file(), name
    times = pd.read_csv(out / "times.csv", index_col="step")
    assert list(times.index) == ["grids", "posts", "patrols", "staffing", "index", "coverage"]
    from gridplan.grids import GridPlan

    plan = GridPlan.read_file(out / "plan_city_4.gpkg")
    assert plan.n_grids == 4 and plan.district is not None
    assert main(["city", "--grids", "4", "--streets", "x.gpkg", "-q"]) == 2  # streets without a boundary
    assert (
        main(["city", "--grids", "4", "--boundary", str(paths["boundary"]), "--streets", str(paths["streets"]), "-q"]) == 2
    )  # no residents for posts and coverage


@pytest.mark.slow
def test_assign_on_parquet_partitions_matches_in_memory(serial, client, tmp_path):
    dgpd = pytest.importorskip("dask_geopandas")
    from gridplan.locate import GridIndex

    rng = np.random.default_rng(0)
    x0, y0, x1, y1 = serial.plan.grids.total_bounds
    n = 20_000
    pts = gpd.GeoDataFrame(
        {"severity": rng.choice(["small", "larger", "hard"], n)},
        geometry=gpd.points_from_xy(rng.uniform(x0 - 200, x1 + 200, n), rng.uniform(y0 - 200, y1 + 200, n)),
        crs=serial.plan.crs,
    )
    for i, part in enumerate(np.array_split(np.arange(n), 4)):  # four files on disk
        pts.iloc[part].to_parquet(tmp_path / f"part{i}.parquet")
    ddf = dgpd.read_parquet(sorted(tmp_path.glob("part*.parquet")))
    assert ddf.npartitions == 4
    index = GridIndex(serial.plan)
    lazy = index.assign(ddf, severity="severity")
    got = client.compute(lazy).result()
    expect = index.assign(pts, severity="severity")
    pd.testing.assert_frame_equal(
        pd.DataFrame(got.drop(columns="geometry")), pd.DataFrame(expect.drop(columns="geometry")), check_dtype=False
    )
    # independent oracle: sjoin puts every point strictly inside a grid in that grid
    joined = gpd.sjoin(pts, serial.plan.grids[["code", "geometry"]], predicate="within", how="left")
    inside = joined["code"].notna()
    assert (expect.loc[inside.index[inside], "grid"].to_numpy() == joined.loc[inside, "code"].to_numpy()).all()
    # written back partition by partition, nothing gathered
    text = {c: lazy[c].astype("string") for c in ("street", "road_chief")}  # Parquet needs one type a column
    lazy.assign(**text).to_parquet(tmp_path / "out")
    back = dgpd.read_parquet(tmp_path / "out").compute()
    assert len(back) == n and (back["grid"].isna() == expect["grid"].isna().to_numpy()).all()


@pytest.mark.slow
def test_grid_without_streets_is_named(city):
    # no streets in the east district but a 300 m strip at the seam: grids of square cells there have no street
    east = city.boundary.geometry.iloc[1]
    x0, y0, x1, y1 = east.bounds
    hole = shapely.box(x0 + 300, y0 - 1, x1 + 1, y1 + 1)
    streets = city.streets[~city.streets.intersects(hole)]
    from gridplan.district import District

    holed = District.from_frames(city.boundary, streets, city.communities, city.population, synthetic=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GridplanWarning)
        res = plan_city(holed, N_GRIDS, units="cells", **OPTIONS)
    said = [str(w.message) for w in caught if issubclass(w.category, GridplanWarning)]
    bare = [m for m in said if "have no street node of their own" in m]
    assert bare and bare[0].startswith("district 990102: grids ['990102"), said
    no_post = sorted(set(res.plan.grids["code"]) - set(res.posts.posts.query("kind == 'post'")["grid"]))
    assert no_post and all(code in bare[0] for code in no_post)
    # their patrols: nothing to walk, said by grid
    rg = res.route_grids
    assert all(f"grid {code} has no streets" in " ".join(said) for code in rg.index[rg["streets_km"] == 0])
    # streets cut off from their grid's depot are left out of the patrols and named by grid
    cut = [m for m in said if "not connected to the rest of the grid's streets" in m]
    assert cut and all(m.startswith("district 990102: grid 990102") for m in cut), said
    # their residents still count, served across the grid line
    assert res.coverage.per_grid.loc[no_post, "demand"].sum() > 0


@pytest.mark.slow
def test_one_boundary_row_in_clusters_of_grids():
    town = sample_city(1, seed=1, district_km=2.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridplanWarning)
        res = plan_city(town, 6, clusters=2, **OPTIONS)
    assert res.params["regions"] == "clusters of grids" and res.params["districts"] == ["C01", "C02"]
    assert not res.times.loc["grids", "parallel"]
    assert sorted(res.params["grids_per_district"].values()) == [3, 3]
    assert res.plan.n_grids == 6 and res.plan.metrics()["contiguous"]
    assert (res.posts.posts.query("kind == 'post'").groupby("grid").size() >= 1).all()
    assert not res.staffing.params["exact_decomposition"]
    with pytest.raises(DataError, match="clusters= is for a city given as one boundary row"):
        plan_city(sample_city(2, seed=0, district_km=2.0), 4, clusters=2, **OPTIONS)


@pytest.mark.slow
def test_staffing_falls_back_to_the_greedy_when_the_solver_finds_nothing_in_time(city, monkeypatch):
    from gridplan import staffing

    def no_solution(*args, **kwargs):  # HiGHS stopping at its time limit with no primal solution, as at scale
        raise InfeasibleError("the staffing solver found no solution (Time limit reached.)")

    monkeypatch.setattr(staffing, "_exact", no_solution)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GridplanWarning)
        res = plan_city(city, N_GRIDS, **OPTIONS)
    said = [str(w.message) for w in caught if issubclass(w.category, GridplanWarning)]
    assert sum("staffed by the nearest-grid greedy" in m for m in said) == 2, said
    assert res.staffing.params["status"] == "not proven optimal"
    assert {v["status"] for v in res.staffing.params["per_district"].values()} == {"heuristic"}
    assert len(res.staffing.assignments) > 0 and res.staffing.assignments["id"].is_unique


# --- the region kernels: invariants ---------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=20), st.integers(0, 3), st.integers(0, 500))
def test_allocate_shares_out_exactly_within_one_of_the_quota(weights, minimum, extra):
    total = minimum * len(weights) + extra
    share = _regions.allocate(total, weights, minimum=minimum)
    assert share.sum() == total and (share >= minimum).all()
    w = np.asarray(weights) if sum(weights) > 0 else np.ones(len(weights))
    quota = minimum + extra * w / w.sum()
    assert (np.abs(share - quota) < 1 + 1e-9).all()  # largest remainders: never a whole grid off
    assert (_regions.allocate(total, weights, minimum=minimum) == share).all()  # deterministic


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 9), st.integers(2, 7), st.integers(2, 7), st.floats(0, 3000))
def test_colours_keep_same_coloured_regions_apart(k, rows, cols, distance):
    boxes = [shapely.box(c * 1000.0, r * 1000.0, (c + 1) * 1000.0, (r + 1) * 1000.0) for r in range(rows) for c in range(cols)][
        : k * 3
    ]
    colour = _regions.colour_regions(boxes, distance_m=distance)
    for i in range(len(boxes)):
        for j in range(i):
            if colour[i] == colour[j]:
                assert boxes[i].distance(boxes[j]) > distance


def test_clusters_put_every_grid_in_one_compact_cluster(serial):
    plan = serial.plan
    for k in (1, 2, 3, plan.n_grids):
        label = _regions.cluster_grids(plan, k)
        assert sorted(set(label)) == list(range(k))
        sizes = np.bincount(label)
        assert sizes.max() - sizes.min() <= 1 + (plan.n_grids % k > 0)
        sub = _regions.sub_plan(plan, np.flatnonzero(label == 0))
        assert set(sub.grids["code"]) == set(plan.grids["code"][label == 0])
        assert len(sub.units) == int(np.isin(plan.labels, np.flatnonzero(label == 0)).sum())
