"""Set covering, p-center and capacitated coverage of gridplan.posts.place_posts, against brute force."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridplan import District
from gridplan.errors import DataError, InfeasibleError
from gridplan.grids import partition
from gridplan.posts import LIFE_CIRCLE_M, LIFE_CIRCLES_M, life_circle_m, place_posts

from .conftest import metric_layers
from .test_posts import _demand_table, _node_distances, _node_grid


@pytest.fixture(scope="module")
def small():
    """4 x 4 street nodes 500 m apart, 2 grids on cells."""
    district = District.from_frames(**metric_layers(n_streets=4, size=1500.0))
    return district, partition(district, 2, units="cells", seed=0)


@pytest.fixture(scope="module")
def tables(small):
    district, plan = small
    D = _node_distances(district)
    node, snap, w = _demand_table(district)
    grid = _node_grid(district, plan)
    return D, node, snap, w, grid, np.flatnonzero(grid >= 0)


def _subsets(cands, grid, k, p, mpg):
    for sub in itertools.combinations(cands, p):
        if (np.bincount(grid[list(sub)], minlength=k) >= mpg).all():
            yield list(sub)


def _walks(D, node, snap, sub):
    return snap + D[np.ix_(sub, node)].min(axis=0)


# --------------------------------------------------------------------------- set covering
@pytest.mark.slow
@pytest.mark.parametrize("walk,mpg", [(400.0, 0), (600.0, 1), (900.0, 0), (900.0, 2)])
def test_set_cover_is_the_fewest_posts(small, tables, walk, mpg):
    district, plan = small
    D, node, snap, w, grid, cands = tables
    res = place_posts(plan, None, objective="set-cover", max_walk_m=walk, min_per_grid=mpg, stations=None, progress=False)
    coverable = _walks(D, node, snap, list(cands)) <= walk + 1e-7
    expected = None
    for p in range(1, len(cands) + 1):
        if any((_walks(D, node, snap, s)[coverable] <= walk + 1e-7).all() for s in _subsets(cands, grid, plan.n_grids, p, mpg)):
            expected = p
            break
    assert res.n_posts == expected == res.params["n_posts"]
    assert res.params["status"] == "optimal" and res.params["gap"] == 0
    chosen = res.posts["node"].to_numpy()
    assert (_walks(D, node, snap, list(chosen))[coverable] <= walk + 1e-6).all()
    assert res.params["covered"] == pytest.approx(w[coverable].sum())
    assert (res.posts.groupby("grid").size().reindex(plan.grids["code"], fill_value=0) >= mpg).all()


def test_set_cover_refuses_a_number_of_posts(small):
    _, plan = small
    with pytest.raises(DataError, match="n_posts=None"):
        place_posts(plan, 3, objective="set-cover", progress=False)
    with pytest.raises(DataError, match="exactly"):
        place_posts(plan, None, objective="set-cover", method="heuristic", progress=False)


# --------------------------------------------------------------------------- p-center
@pytest.mark.parametrize("p,mpg", [(1, 0), (2, 1), (3, 0), (3, 1), (4, 2)])
def test_p_center_minimises_the_worst_walk(small, tables, p, mpg):
    district, plan = small
    D, node, snap, w, grid, cands = tables
    res = place_posts(plan, p, objective="p-center", min_per_grid=mpg, stations=None, progress=False)
    pos = w > 0
    expected = min(_walks(D, node, snap, s)[pos].max() for s in _subsets(cands, grid, plan.n_grids, p, mpg))
    assert res.n_posts == p
    assert res.params["status"] == "optimal"
    assert res.params["objective_value"] == pytest.approx(expected, abs=1e-3)
    assert res.params["worst_walk_m"] == pytest.approx(expected, abs=1e-3)
    assert res.params["bound"] == pytest.approx(expected, abs=1e-3)


def test_p_center_fewer_centres_than_grids(small):
    _, plan = small
    with pytest.raises(InfeasibleError, match=r"n_posts >= 2.*min_per_grid=0"):
        place_posts(plan, 1, objective="p-center", min_per_grid=1, progress=False)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p=st.integers(1, 4), seed=st.integers(0, 3))
def test_p_center_row_order_and_seed_do_not_matter(small, p, seed):
    district, plan = small
    pop = district.population
    demand = pop.rename(columns={"population": "weight"})[["weight", "geometry"]]
    a = place_posts(plan, p, objective="p-center", min_per_grid=0, demand=demand, stations=None, progress=False)
    b = place_posts(
        plan,
        p,
        objective="p-center",
        min_per_grid=0,
        demand=demand.sample(frac=1, random_state=seed),
        stations=None,
        seed=seed,
        progress=False,
    )
    assert a.params["objective_value"] == pytest.approx(b.params["objective_value"], abs=1e-6)


# --------------------------------------------------------------------------- capacitated coverage
def _served(D, node, snap, w, sub, walk, capacity):
    """Max flow residents -> posts within walk -> sink (capacity per post): networkx, independent of HiGHS."""
    g = nx.DiGraph()
    walks = snap[:, None] + D[np.ix_(sub, node)].T
    for i in range(len(node)):
        if w[i] <= 0:
            continue
        g.add_edge("s", ("r", i), capacity=float(w[i]))
        for j in range(len(sub)):
            if walks[i, j] <= walk + 1e-7:
                g.add_edge(("r", i), ("p", j), capacity=float(w[i]))
    for j in range(len(sub)):
        g.add_edge(("p", j), "t", capacity=float(capacity))
    if "s" not in g or "t" not in g:
        return 0.0
    return nx.maximum_flow_value(g, "s", "t")


@pytest.mark.slow
@pytest.mark.parametrize("p,walk,capacity", [(2, 600.0, 2000.0), (2, 700.0, 1500.0), (2, 900.0, 5000.0)])
def test_capacitated_coverage_matches_brute_force(small, tables, p, walk, capacity):
    district, plan = small
    D, node, snap, w, grid, cands = tables
    res = place_posts(plan, p, max_walk_m=walk, capacity=capacity, min_per_grid=1, stations=None, mip_gap=0, progress=False)
    expected = max(_served(D, node, snap, w, s, walk, capacity) for s in _subsets(cands, grid, plan.n_grids, p, 1))
    assert res.params["status"] == "optimal"
    assert res.params["objective_value"] == pytest.approx(expected, rel=1e-6)
    assert res.posts["demand_served"].max() <= capacity + 1e-6
    assert res.posts["demand_served"].sum() == pytest.approx(expected, rel=1e-6)
    # the chosen posts can really serve that much
    assert _served(D, node, snap, w, list(res.posts["node"]), walk, capacity) == pytest.approx(expected, rel=1e-6)


def test_capacitated_set_cover_and_errors(small, tables):
    district, plan = small
    D, node, snap, w, grid, cands = tables
    res = place_posts(
        plan, None, objective="set-cover", max_walk_m=900, capacity=3000, min_per_grid=0, stations=None, progress=False
    )
    assert res.posts["demand_served"].max() <= 3000 + 1e-6
    coverable = _walks(D, node, snap, list(cands)) <= 900 + 1e-7
    assert res.posts["demand_served"].sum() == pytest.approx(w[coverable].sum())
    assert res.n_posts >= int(np.ceil(w[coverable].sum() / 3000))
    with pytest.raises(DataError, match="capacity"):
        place_posts(plan, 2, objective="p-median", capacity=100, progress=False)
    with pytest.raises(DataError, match="capacity must be a positive"):
        place_posts(plan, 2, capacity=0, progress=False)


# --------------------------------------------------------------------------- life circle
def test_life_circle_distances():
    assert LIFE_CIRCLES_M == {5: 300.0, 10: 500.0, 15: 1000.0}
    assert life_circle_m() == LIFE_CIRCLE_M == 1000.0
    assert life_circle_m(10, table={10: 600}) == 600.0
    with pytest.raises(DataError, match="positive"):
        life_circle_m(15, table={15: 0})
    with pytest.raises(DataError, match="positive"):
        life_circle_m(15, table={15: -800.0})
    with pytest.raises(DataError, match="no 20-minute"):
        life_circle_m(20)
