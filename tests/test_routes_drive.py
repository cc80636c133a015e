"""balance_routes(mode="drive"): one-way streets driven only in their direction (the mixed postman case)."""

from __future__ import annotations

import heapq
import itertools
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gridplan import _mixed
from gridplan.errors import DataError, NetworkError
from gridplan.network import StreetNetwork
from gridplan.routes import balance_routes

from .conftest import SHARED_DATA, needs_shared


# --------------------------------------------------------------------------- oracle
def brute_force_mixed(n, u, v, w, oneway, req, depot, k) -> float:
    """Exact min-max k mixed postman: Dijkstra over (node, required arcs done) with legal arcs only,
    then the best assignment of required edges to k drivers (independent of the solver)."""
    bit = {int(e): 1 << i for i, e in enumerate(req)}
    full = (1 << len(req)) - 1
    adj: list[list[tuple[int, float, int]]] = [[] for _ in range(n)]
    for e in range(len(u)):
        m = bit.get(e, 0)
        if oneway[e] >= 0:
            adj[u[e]].append((int(v[e]), float(w[e]), m))
        if oneway[e] <= 0:
            adj[v[e]].append((int(u[e]), float(w[e]), m))
    seen: dict = {}
    best: dict = {}
    heap = [(0.0, 0, depot, 0)]
    count = itertools.count()
    while heap:
        d, _, x, mask = heapq.heappop(heap)
        if seen.get((x, mask), np.inf) <= d:
            continue
        seen[(x, mask)] = d
        if x == depot:
            best[mask] = min(best.get(mask, np.inf), d)
        for y, c, m in adj[x]:
            heapq.heappush(heap, (d + c, next(count), y, mask | m))
    cover = np.full(full + 1, np.inf)
    for mask, d in best.items():
        cover[mask] = min(cover[mask], d)
    for i in range(len(req)):
        for mask in range(full, -1, -1):
            if not mask & (1 << i):
                cover[mask] = min(cover[mask], cover[mask | (1 << i)])
    opt = np.inf
    for assign in itertools.product(range(k), repeat=len(req)):
        masks = [0] * k
        for i, r in enumerate(assign):
            masks[r] |= 1 << i
        opt = min(opt, max(cover[m] for m in masks))
    return float(opt)


def check_legal_walks(sol, u, v, oneway, req, depot) -> None:
    """Closed walks from the depot, each step a legal arc, every required edge driven."""
    for wk in sol.walks:
        if not wk:
            continue
        assert wk[0][1] == depot and wk[-1][2] == depot
        for (_, _, b), (_, a2, _) in zip(wk, wk[1:]):
            assert b == a2, "the walk jumps"
        for e, a, b in wk:
            assert {a, b} == {u[e], v[e]}
            if oneway[e] == 1:
                assert (a, b) == (u[e], v[e]), f"one-way edge {e} driven against its direction"
            if oneway[e] == -1:
                assert (a, b) == (v[e], u[e]), f"one-way edge {e} driven against its direction"
    driven = {e for wk in sol.walks for e, _, _ in wk}
    assert set(req.tolist()) <= driven
    served = np.concatenate(sol.served)
    assert sorted(served.tolist()) == sorted(req.tolist()), "every required edge served by exactly one driver"


def small_mixed(draw):
    n = draw(st.integers(2, 5))
    m = draw(st.integers(1, 7))
    u = np.array([draw(st.integers(0, n - 1)) for _ in range(m)] + list(range(n - 1)))
    v = np.array([draw(st.integers(0, n - 1)) for _ in range(m)] + list(range(1, n)))
    w = np.array([draw(st.integers(1, 9)) for _ in range(len(u))], dtype=float)
    oneway = np.array([draw(st.sampled_from([0, 0, 1, -1])) for _ in range(len(u))])
    req = np.zeros(len(u), bool)
    req[draw(st.lists(st.integers(0, len(u) - 1), min_size=1, max_size=5, unique=True))] = True
    return n, u, v, w, oneway, req


@settings(max_examples=60, deadline=None)
@given(st.composite(small_mixed)(), st.integers(1, 3), st.integers(0, 3))
def test_drives_are_legal_closed_and_within_the_exact_optimum_bounds(case, k, seed):
    n, u, v, w, oneway, req = case
    idx = np.flatnonzero(req)
    try:
        sol = _mixed.solve(n, u, v, w, req, 0, k, oneway, seed=seed, starts=16)
    except _mixed.Unreachable as err:  # the oracle agrees: no closed drive covers them
        assert brute_force_mixed(n, u, v, w, oneway, idx, 0, 1) == np.inf
        assert set(err.edges.tolist()) <= set(idx.tolist())
        return
    check_legal_walks(sol, u, v, oneway, idx, 0)
    opt = brute_force_mixed(n, u, v, w, oneway, idx, 0, k)
    assert sol.lower_bound <= opt + 1e-9, "the lower bound exceeds the exact optimum"
    assert sol.lengths.max() >= opt - 1e-9
    lengths = [sum(w[e] for e, _, _ in wk) for wk in sol.walks]
    np.testing.assert_allclose(sorted(lengths), sorted(sol.lengths))


def test_a_one_way_cycle_is_driven_round_once_and_walked_either_way():
    # a triangle of one-way streets: the drive goes round it once; on foot too
    u, v, w = np.array([0, 1, 2]), np.array([1, 2, 0]), np.array([1.0, 2.0, 3.0])
    sol = _mixed.solve(3, u, v, w, np.ones(3, bool), 0, 1, np.array([1, 1, 1]))
    assert sol.walks[0] == [(0, 0, 1), (1, 1, 2), (2, 2, 0)]
    # reversed drawing (dir = -1): driven the other way round
    sol = _mixed.solve(3, u, v, w, np.ones(3, bool), 0, 1, np.array([-1, -1, -1]))
    assert sol.walks[0] == [(2, 0, 2), (1, 2, 1), (0, 1, 0)]


def _lines(coords, **cols):
    return gpd.GeoDataFrame(cols, geometry=[shapely.LineString(c) for c in coords], crs=32650)


def ladder(oneway):
    """Two parallel streets joined by three rungs; the long streets may be one-way."""
    coords = [
        [(0, 0), (100, 0)],
        [(100, 0), (200, 0)],
        [(200, 100), (100, 100)],
        [(100, 100), (0, 100)],
        [(0, 0), (0, 100)],
        [(100, 0), (100, 100)],
        [(200, 0), (200, 100)],
    ]
    names = ["南街", "南街", "北街", "北街", "西巷", "中巷", "东巷"]
    return _lines(coords, name=names, oneway=oneway)


def test_drive_mode_keeps_directions_and_names_the_streets():
    lines = ladder(["yes", "yes", "yes", "yes", "no", "no", "no"])
    net = StreetNetwork.from_lines(lines)
    walk = balance_routes(net, 2, depot=(0, 0), seed=0)
    drive = balance_routes(net, 2, depot=(0, 0), seed=0, mode="drive")
    assert drive.params["mode"] == "drive" and walk.params["mode"] == "walk"
    e = net.edges
    for nodes, edges in zip(drive.walks, drive.walk_edges):
        for a, b, eid in zip(nodes, nodes[1:], edges):
            if e.loc[eid, "oneway"] in ("yes", True):
                assert (a, b) == (e.loc[eid, "u"], e.loc[eid, "v"]), f"{eid} driven against its direction"
    assert drive.max_length >= drive.lower_bound - 1e-9
    assert drive.max_length >= walk.lower_bound - 1e-9  # a legal drive is also a walk
    assert set(drive.edges["name"]) == {"南街", "北街", "西巷", "中巷", "东巷"}
    assert all(set(s.split("; ")) <= set(lines["name"]) for s in drive.routes["names"] if s)
    assert set("; ".join(drive.routes["names"]).split("; ")) == set(lines["name"])


def test_a_one_way_street_that_cannot_be_left_is_named():
    # a dead end reached by a one-way street: a car gets in and not out
    lines = _lines(
        [[(0, 0), (100, 0)], [(100, 0), (100, 100)], [(100, 100), (0, 0)], [(100, 0), (200, 0)]],
        name=["甲路", "乙路", "丙路", "死胡同"],
        oneway=[False, False, False, True],
    )
    net = StreetNetwork.from_lines(lines)
    with pytest.raises(NetworkError, match="死胡同"):
        balance_routes(net, 1, depot=(0, 0), mode="drive")
    plan = balance_routes(net, 1, depot=(0, 0), mode="drive", components="largest")
    assert "死胡同" not in set(plan.routes["names"].iloc[0].split("; "))
    assert any("死胡同" in note for note in plan.notes)
    balance_routes(net, 1, depot=(0, 0))  # on foot it is walked both ways


def test_bad_mode_and_oneway_values_are_refused():
    net = StreetNetwork.from_lines(ladder(["yes"] * 7))
    with pytest.raises(DataError, match="mode"):
        balance_routes(net, 2, mode="bike")
    net = StreetNetwork.from_lines(ladder(["sometimes"] * 7))
    with pytest.raises(DataError, match="oneway"):
        balance_routes(net, 2, mode="drive")


@needs_shared
def test_changan_one_way_links_are_driven_as_drawn():
    roads = gpd.read_file(SHARED_DATA / "changan_roads.gpkg").to_crs(32649).drop(columns="length")
    centre = roads.union_all().centroid
    piece = roads[roads.distance(centre) < 1500]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = StreetNetwork.from_lines(piece)
    plan = balance_routes(net, 3, seed=0, mode="drive", components="largest")
    e = net.edges
    one = e["dir"].to_numpy() == 1
    assert one.any() and (~one).any()
    pos = {x: i for i, x in enumerate(e.index)}
    for nodes, edges in zip(plan.walks, plan.walk_edges):
        for a, b, eid in zip(nodes, nodes[1:], edges):
            if one[pos[eid]]:
                assert (a, b) == (e.loc[eid, "u"], e.loc[eid, "v"])
    served = plan.edges["route"] >= 0
    assert (served | ~plan.edges["required"]).all()
    assert plan.edges["name"].str.len().gt(0).mean() > 0.9  # road_name carried to the edges table
    assert plan.max_length >= plan.lower_bound


@needs_shared
def test_per_grid_drives_on_changan_respect_directions_and_name_their_streets():
    from gridplan.district import District
    from gridplan.grids import partition

    roads = gpd.read_file(SHARED_DATA / "changan_roads.gpkg")
    roads = roads[roads.intersects(shapely.box(108.93, 34.15, 108.98, 34.18))].drop(columns=["length"])
    boundary = gpd.GeoDataFrame(
        {"name": ["长安区 (part)"]}, geometry=[roads.geometry.union_all().convex_hull.buffer(1e-4)], crs=4326
    )
    plan = partition(District.from_frames(boundary, streets=roads), 4, seed=0, tolerance=0.4)
    rp = balance_routes(plan, chiefs_per_grid=2, seed=0, effort=0.05, progress=False, mode="drive")
    net = rp.network  # the network cut at grid lines: pieces keep their link's dir and drawing direction
    e = net.edges
    assert set(e["dir"].unique()) <= {0, 1} and (e["dir"] == 1).any()
    for nodes, edges in zip(rp.walks, rp.walk_edges):
        for a, b, eid in zip(nodes, nodes[1:], edges):
            if e.loc[eid, "dir"] == 1:
                assert (a, b) == (e.loc[eid, "u"], e.loc[eid, "v"]), f"{eid} driven against its direction"
    pg = rp.per_grid
    assert (pg["max_length"] >= pg["lower_bound"] - 1e-6).all()
    lost = rp.edges["grid"].notna() & ~rp.edges["required"]
    assert lost.sum() == pg["unreachable_edges"].sum()  # listed, never silently dropped
    for code in pg.index[pg["unreachable_edges"] > 0]:
        assert any(n.startswith(f"grid {code}") and "cannot be driven" in n for n in rp.notes)
    assert rp.routes["names"].str.len().gt(0).all()
    assert rp.params["travel"] == "drive"


def test_same_seed_same_drive_and_every_street_named_once():
    net = StreetNetwork.from_lines(ladder([True, True, False, True, False, False, True]))
    a = balance_routes(net, 2, depot=(0, 0), seed=3, mode="drive")
    b = balance_routes(net, 2, depot=(0, 0), seed=3, mode="drive")
    assert a.walk_edges == b.walk_edges and a.walks == b.walks
    assert a.edges["route"].ge(0).all()  # every street has its chief
