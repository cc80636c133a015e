"""Balanced patrols (min-max k Chinese / rural postman): invariants, exact optima, bad input, per grid."""

from __future__ import annotations

import heapq
import itertools
import re
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gridplan.district import District
from gridplan.errors import DataError, GridplanError, GridplanWarning, NetworkError
from gridplan.grids import partition
from gridplan.locate import GridIndex
from gridplan.network import StreetNetwork
from gridplan.routes import RoutePlan, balance_routes

from .conftest import ROOT, metric_layers

BENCH = ROOT.parent / "shared" / "bench" / "mmkcpp"


# --------------------------------------------------------------------------- helpers
def check_plan(g: nx.MultiGraph, plan: RoutePlan, depot, required=None) -> list[float]:
    """Every walk closed at the depot and made of real edges; required edges covered; lengths recomputed."""
    walked = set()
    lengths = []
    for nodes, edges in zip(plan.walks, plan.walk_edges):
        assert nodes[0] == depot and nodes[-1] == depot
        assert len(nodes) == len(edges) + 1
        total = 0.0
        for a, b, e in zip(nodes, nodes[1:], edges):
            x, y, key = e
            assert {a, b} == {x, y}, "a walk step does not follow its edge"
            total += g.edges[x, y, key]["length"]
            walked.add(e)
        lengths.append(total)
    need = set(g.edges(keys=True)) if required is None else set(required)
    assert need <= walked, f"edges never walked: {need - walked}"
    np.testing.assert_allclose(plan.lengths.to_numpy(), lengths, rtol=1e-9, atol=1e-9)
    assert plan.max_length >= plan.lower_bound - 1e-9
    return lengths


def random_graph(draw_n: int, extra: list[tuple[int, int, int]], lengths: list[int]) -> nx.MultiGraph:
    """A connected multigraph: a random spanning tree plus extra edges (parallel edges and loops allowed)."""
    g = nx.MultiGraph()
    g.add_nodes_from(range(draw_n))
    it = iter(lengths * 10)
    for i in range(1, draw_n):
        g.add_edge(extra[i % len(extra)][0] % i if extra else 0, i, length=float(next(it)))
    for a, b, _ in extra:
        g.add_edge(a % draw_n, b % draw_n, length=float(next(it)))
    return g


graphs = st.builds(
    random_graph,
    st.integers(2, 7),
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 1)), min_size=1, max_size=6),
    st.lists(st.integers(1, 20), min_size=3, max_size=8),
)


def brute_force_optimum(g: nx.MultiGraph, depot, k: int, required) -> float:
    """Min over assignments of required edges to k walkers of the longest shortest closed walk covering them.

    A walker's best closed walk covering a set S is a shortest path from (depot, {}) to
    (depot, S' ⊇ S) in the graph of states (node, set of required edges walked so far).
    """
    req = list(required)
    bit = {e: 1 << i for i, e in enumerate(req)}
    full = (1 << len(req)) - 1
    adj: dict = {x: [] for x in g.nodes}
    for a, b, key, data in g.edges(keys=True, data=True):
        m = bit.get((a, b, key), 0)
        adj[a].append((b, data["length"], m))
        adj[b].append((a, data["length"], m))
    best = {}
    heap = [(0.0, 0, depot, 0)]
    seen: dict = {}
    count = itertools.count()
    while heap:
        d, _, x, mask = heapq.heappop(heap)
        if seen.get((x, mask), np.inf) <= d:
            continue
        seen[(x, mask)] = d
        if x == depot:
            best[mask] = min(best.get(mask, np.inf), d)
        for y, w, m in adj[x]:
            heapq.heappush(heap, (d + w, next(count), y, mask | m))
    cover = np.full(full + 1, np.inf)  # cheapest walk covering at least the mask
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


# --------------------------------------------------------------------------- invariants
@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(graphs, st.integers(1, 4), st.integers(0, 3))
def test_walks_cover_every_edge_and_are_closed(g, k, seed):
    depot = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridplanWarning)  # more chiefs than edges is allowed, with a warning
        plan = balance_routes(g, k, depot=depot, seed=seed, effort=0.2)
        again = balance_routes(g, k, depot=depot, seed=seed, effort=0.2)
    assert plan.n_routes == k
    check_plan(g, plan, depot)
    assert again.walk_edges == plan.walk_edges


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(graphs, st.integers(1, 3), st.data())
def test_rural_only_required_edges_must_be_walked(g, k, data):
    edges = list(g.edges(keys=True))
    required = data.draw(st.lists(st.sampled_from(edges), min_size=1, max_size=len(edges), unique=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridplanWarning)
        plan = balance_routes(g, k, depot=0, required=required, seed=0, effort=0.2)
    check_plan(g, plan, 0, required=required)
    assert set(plan.edges.index[plan.edges["required"]]) == set(required)
    assert plan.edges.loc[plan.edges["required"], "chief"].notna().all()


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_small_graphs_reach_the_brute_force_optimum(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 6))
    g = nx.MultiGraph()
    for i in range(1, n):  # a random tree, then a few extra edges (one parallel, maybe a loop)
        g.add_edge(int(rng.integers(0, i)), i, length=float(rng.integers(1, 10)))
    for _ in range(int(rng.integers(1, 4))):
        a, b = rng.integers(0, n, 2)
        g.add_edge(int(a), int(b), length=float(rng.integers(1, 10)))
    edges = list(g.edges(keys=True))[:7]
    for k in (2, 3):
        opt = brute_force_optimum(g, 0, k, edges)
        plan = balance_routes(g, k, depot=0, required=edges, seed=0)
        check_plan(g, plan, 0, required=edges)
        assert plan.max_length == pytest.approx(opt), (seed, k, plan.lengths.tolist(), opt)
        assert plan.lower_bound <= opt + 1e-9


def read_carp(path):
    text = path.read_text(encoding="latin-1")
    g = nx.MultiGraph()
    for u, v, c in re.findall(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*coste\s+(\d+(?:\.\d+)?)", text):
        g.add_edge(int(u), int(v), length=float(c))
    m = re.search(r"DEPOSITO\s*:\s*(\d+)", text)
    return g, int(m.group(1)) if m else 1


def proven_optima():
    if not (BENCH / "optima.csv").is_file():  # the benchmark instances live in ../shared/bench
        return [pytest.param(None, 0, 0.0, marks=pytest.mark.skip(reason=f"benchmark instances not found in {BENCH}"))]
    table = pd.read_csv(BENCH / "optima.csv")
    return [(r.instance, int(r.k), float(r.optimum_high)) for r in table.itertuples() if r.status == "optimal"]


@pytest.mark.slow
@pytest.mark.parametrize("instance,k,optimum", proven_optima())
def test_proven_optima_of_the_benchmark_are_matched(instance, k, optimum):
    g, depot = read_carp(BENCH / "instances" / f"{instance}.dat")
    plan = balance_routes(g, k, depot=depot, seed=0)
    check_plan(g, plan, depot)
    assert plan.max_length == pytest.approx(optimum)
    assert plan.lower_bound <= optimum


# --------------------------------------------------------------------------- inputs
def grid_network(n: int = 4, step: float = 100.0) -> StreetNetwork:
    import geopandas as gpd

    lines = [shapely.LineString([(0, i * step), ((n - 1) * step, i * step)]) for i in range(n)]
    lines += [shapely.LineString([(i * step, 0), (i * step, (n - 1) * step)]) for i in range(n)]
    return StreetNetwork.from_lines(gpd.GeoDataFrame({"name": [f"s{i}" for i in range(len(lines))]}, geometry=lines, crs=32650))


def test_street_network_geodataframe_and_networkx_inputs_agree():
    net = grid_network()
    a = balance_routes(net, 3, depot=0, seed=1)
    b = balance_routes(net.edges[["name", "geometry"]], 3, depot=(0.0, 0.0), seed=1)
    c = balance_routes(net.graph, 3, depot=0, seed=1)
    assert a.max_length == pytest.approx(b.max_length) == pytest.approx(c.max_length)
    assert set(a.edges["chief"]) == set(a.lengths.index)
    assert a.edges["chief"].notna().all()
    routes = a.routes
    assert list(routes.columns[:3]) == ["route", "chief", "grid"]
    assert routes["length"].sum() == pytest.approx(a.lengths.sum())
    assert ((routes["deadhead_share"] >= 0) & (routes["deadhead_share"] < 1)).all()
    assert a.params["seed"] == 1 and a.params["n_routes"] == 3


def test_bad_input_gets_typed_errors():
    net = grid_network()
    for k in (0, -1, 1.5, True):
        with pytest.raises(DataError, match="n_routes"):
            balance_routes(net, k)
    g = nx.MultiGraph()
    g.add_edge(0, 1, length=5.0)
    g.add_edge(1, 2, length=float("nan"))
    with pytest.raises(DataError, match="negative, NaN"):
        balance_routes(g, 2, depot=0)
    g[1][2][0]["length"] = -3.0
    with pytest.raises(DataError, match="negative, NaN"):
        balance_routes(g, 2, depot=0)
    with pytest.raises(DataError, match="not a node"):
        balance_routes(net, 2, depot=999)
    with pytest.raises(DataError, match="snap=True"):
        balance_routes(net, 2, depot=(5.0, 3.0), snap=False)
    with pytest.raises(DataError, match="weight"):
        balance_routes(net, 2, weight="minutes")
    with pytest.raises(DataError, match="undirected"):
        balance_routes(nx.DiGraph([(0, 1)]), 1)
    assert issubclass(DataError, GridplanError)


def test_snapped_depot_is_reported():
    plan = balance_routes(grid_network(), 2, depot=(3.0, 4.0), seed=0)
    assert plan.walks[0][0] == 0
    assert any("snapped" in n for n in plan.notes)


def test_disconnected_network_raises_or_routes_the_depot_part():
    g = nx.MultiGraph()
    g.add_edge(0, 1, length=10.0)
    g.add_edge(1, 2, length=10.0)
    g.add_edge(5, 6, length=4.0)
    with pytest.raises(NetworkError, match="2 disconnected parts"):
        balance_routes(g, 2, depot=0)
    plan = balance_routes(g, 2, depot=0, components="largest")
    check_plan(g, plan, 0, required=[(0, 1, 0), (1, 2, 0)])
    assert any("left out" in n for n in plan.notes)
    assert pd.isna(plan.edges.loc[[(5, 6, 0)], "chief"]).all()


def test_more_chiefs_than_edges_leaves_idle_chiefs_with_a_warning():
    g = nx.MultiGraph()
    g.add_edge(0, 1, length=3.0)
    g.add_edge(0, 0, length=2.0)  # a loop at the depot must be walked too
    with pytest.warns(GridplanWarning, match="nothing to walk"):
        plan = balance_routes(g, 4, depot=0)
    check_plan(g, plan, 0)
    assert sorted(plan.lengths.tolist()) == [0.0, 0.0, 2.0, 6.0]
    assert [len(w) for w in plan.walks].count(1) == 2  # an idle chief's walk is just the depot


def test_frequency_and_revisit_interval():
    plan = balance_routes(grid_network(), 2, depot=0, seed=0)
    f = plan.frequency(speed_m_per_min=50, shift_hours=8)
    np.testing.assert_allclose(f["sweep_min"], plan.lengths / 50)
    np.testing.assert_allclose(f["sweeps_per_shift"], 480 / (plan.lengths / 50))
    rev = plan.revisit_interval(speed_m_per_min=50)
    chief = plan.edges["chief"]
    assert rev.loc[chief == plan.lengths.index[0]].eq(plan.lengths.iloc[0] / 50).all()
    with pytest.raises(DataError):
        plan.frequency(speed_m_per_min=0)


def test_plot_explore_file_and_html(tmp_path):
    import geopandas as gpd

    plan = balance_routes(grid_network(), 3, depot=0, seed=0)
    ax = plan.plot()
    assert len(ax.get_lines()) + len(ax.collections) > 0
    assert "RoutePlan" in plan._repr_html_()
    assert "folium" in type(plan.explore()).__module__
    path = plan.to_file(tmp_path / "routes.gpkg")
    routes = gpd.read_file(path, layer="routes")
    edges = gpd.read_file(path, layer="edges")
    assert len(routes) == 3 and len(edges) == len(plan.edges)
    assert routes["length"].tolist() == pytest.approx(plan.routes["length"].tolist())
    assert edges["chief"].tolist() == plan.edges["chief"].tolist()


# --------------------------------------------------------------------------- per grid
@pytest.fixture(scope="module")
def square_plan():
    from gridplan.units import build_units

    d = District.from_frames(**metric_layers())
    cells = build_units(d, "cells", cell_size=700)  # cell lines cross the streets
    return partition(d, 4, units=cells, seed=0, tolerance=0.1, strict=False)


def test_per_grid_patrols_cover_each_grid_with_its_own_chiefs(square_plan):
    rp = balance_routes(square_plan, chiefs_per_grid=2, depot="centroid", seed=0, progress=False)
    e = rp.edges
    # the streets were cut at the grid lines (cells do not follow streets)
    assert rp.network.n_edges > square_plan.district.network.n_edges
    assert e["length"].sum() == pytest.approx(square_plan.district.network.edges["length"].sum())
    inside = e[e["grid"].notna()]
    assert inside["chief"].notna().all()
    assert (inside["chief"].str.split("-R").str[0] == inside["grid"]).all()
    assert rp.n_routes == 2 * square_plan.n_grids
    assert list(rp.per_grid.index) == square_plan.grids["code"].tolist()
    assert (rp.per_grid["max_length"] >= rp.per_grid["lower_bound"] - 1e-6).all()
    assert rp.lower_bound == pytest.approx(rp.per_grid["lower_bound"].max())
    # every piece of a grid's streets lies in that grid
    polys = square_plan.grids.set_index("code").geometry
    mids = shapely.line_interpolate_point(np.asarray(inside.geometry.values), 0.5, normalized=True)
    assert all(polys[c].buffer(1e-6).covers(p) for c, p in zip(inside["grid"], mids))
    # the walks are real: each route's walk is a chain of its network's edges from its depot
    net = rp.network.edges
    for nodes, edges in zip(rp.walks, rp.walk_edges):
        for a, b, eid in zip(nodes, nodes[1:], edges):
            assert {a, b} == {net.loc[eid, "u"], net.loc[eid, "v"]}


def test_per_grid_post_depots_and_locate_names_the_chief(square_plan):
    import geopandas as gpd

    g = square_plan.grids
    posts = gpd.GeoDataFrame({"grid": g["code"], "kind": "post"}, geometry=g.geometry.representative_point(), crs=g.crs)
    rp = balance_routes(square_plan, chiefs_per_grid=2, posts=posts, seed=0, progress=False)
    assert not any("no posts" in n for n in rp.notes)
    index = GridIndex(square_plan, routes=rp)
    pts = rp.edges[rp.edges["grid"].notna()].geometry.interpolate(0.5, normalized=True)
    out = index.assign(pd.DataFrame({"x": pts.x.to_numpy(), "y": pts.y.to_numpy()}), x="x", y="y", crs=g.crs)
    assert out["road_chief"].notna().all()
    assert (out["road_chief"].str.split("-R").str[0] == out["grid"]).all()


def test_per_grid_needs_streets_when_the_plan_has_no_district(square_plan, tmp_path):
    from gridplan.grids import GridPlan

    path = square_plan.to_file(tmp_path / "plan.gpkg")
    plan = GridPlan.read_file(path)
    with pytest.raises(DataError, match="streets="):
        balance_routes(plan, chiefs_per_grid=1, progress=False)
    rp = balance_routes(plan, chiefs_per_grid=1, streets=square_plan.district, seed=0, progress=False)
    assert rp.n_routes == plan.n_grids
    with pytest.raises(DataError, match="chiefs_per_grid"):
        balance_routes(plan, chiefs_per_grid=0, streets=square_plan.district)


def test_networkx_graph_with_coordinates_draws_itself():
    g = nx.grid_2d_graph(4, 4)
    nx.set_edge_attributes(g, 100.0, "length")
    for node in g.nodes:
        g.nodes[node]["x"], g.nodes[node]["y"] = node[0] * 100.0, node[1] * 100.0
    plan = balance_routes(g, 3, depot=(0, 0), seed=0)
    assert plan.walks[0][0] == (0, 0)  # tuple node labels are nodes, not points to snap
    ax = plan.plot()  # deadhead edges are looked up by (u, v) tuple ids
    assert len(ax.collections) >= 3


@pytest.mark.parametrize("seed", range(3))
def test_large_matching_bound_and_pairs_bracket_the_exact_matching(seed, monkeypatch):
    """Beyond the exact size: the assignment bound <= the exact minimum matching <= the pairs used."""
    from gridplan import _routing

    rng = np.random.default_rng(seed)
    g = nx.grid_2d_graph(12, 12)
    g.remove_edges_from([e for e in list(g.edges) if rng.random() < 0.25])
    g = g.subgraph(max(nx.connected_components(g), key=len)).copy()
    nodes = list(g.nodes)
    pos = {x: i for i, x in enumerate(nodes)}
    u = np.array([pos[a] for a, b in g.edges])
    v = np.array([pos[b] for a, b in g.edges])
    w = rng.uniform(1, 10, len(u))
    dist = _routing._Distances(len(nodes), u, v, w)
    deg = np.bincount(u, minlength=len(nodes)) + np.bincount(v, minlength=len(nodes))
    odd = np.flatnonzero(deg % 2)
    assert len(odd) > 20
    exact_pairs, exact, is_exact = _routing._odd_matching(dist, odd)
    assert is_exact
    monkeypatch.setattr(_routing, "_EXACT_MATCHING", 10)
    pairs, bound, is_exact = _routing._odd_matching(dist, odd)
    assert not is_exact
    assert sorted(x for p in pairs for x in p) == sorted(odd.tolist())  # a perfect matching of the odd nodes
    cost = sum(dist.row(a)[b] for a, b in pairs)
    assert bound <= exact + 1e-9 <= cost + 2e-9
    nearest = np.sort(dist.D[np.ix_(odd, odd)] + np.diag(np.full(len(odd), np.inf)), axis=1)[:, 0]
    assert bound >= nearest.sum() / 2 - 1e-9  # at least the simple half-nearest bound
