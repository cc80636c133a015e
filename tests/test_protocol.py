"""The one result protocol (docs/results.md), called on every result class.

Each result has ``summary()``, ``plot(ax=None)``, ``_repr_html_``, ``params``, ``to_file`` and a
``read_file`` that gives back the SAME class with equal tables, and ``explore()`` where a map makes
sense (folium is installed for the tests). Small inputs: the 2 km doctest district in 2 grids, and
the session's 15-grid sample plan for the plan classes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import gridplan
from gridplan.errors import DataError
from gridplan.grids import GridPlan, partition
from gridplan.posts import STATUSES, Coverage, Posts, place_posts
from gridplan.routes import RoutePlan, balance_routes
from gridplan.simulate import SimulationResult, _example_layers, simulate
from gridplan.staffing import Staffing


@pytest.fixture(scope="module")
def small():
    """The 2-grid doctest plan with its posts, coverage, staffing, routes and a short simulation."""
    district = gridplan.District.from_frames(**_example_layers())
    plan = partition(district, 2, units="cells", seed=0)
    posts = place_posts(plan, 2, max_walk_m=800, progress=False)
    routes = balance_routes(plan, chiefs_per_grid=2, posts=posts, effort=0.05, seed=0, progress=False)
    sim = simulate(plan, posts=posts, staffing="sample", routes=routes, days=1, runs=2, seed=0, progress=False)
    return {
        "district": district,
        "plan": plan,
        "posts": posts,
        "coverage": posts.coverage(500),
        "routes": routes,
        "staffing": sim.staffing,
        "simulation": sim,
    }


def _frames(obj):
    """The tables a reader compares after a round trip, by class."""
    name = type(obj).__name__
    if name == "District":
        return {k: getattr(obj, k) for k in ("boundary", "streets", "communities", "population", "grids")}
    if name == "GridPlan":
        return {"grids": obj.grids, "units": obj.units}
    if name == "Posts":
        return {"posts": obj.posts}
    if name == "Coverage":
        return {k: getattr(obj, k) for k in ("per_grid", "per_community", "points", "uncovered", "posts")}
    if name == "RoutePlan":
        return {"routes": obj.routes, **({"per_grid": obj.per_grid} if obj.per_grid is not None else {})}
    if name == "Staffing":
        return {"assignments": obj.assignments, "teams": obj.teams, "vacancies": obj.vacancies}
    if name == "SimulationResult":
        return {
            "runs": obj.runs,
            "summary": obj.summary(),
            "per_grid": obj.per_grid,
            "per_community": obj.per_community,
            "per_type": obj.per_type,
        }
    raise AssertionError(name)


CLASSES = ["district", "plan", "posts", "coverage", "routes", "staffing", "simulation"]


@pytest.mark.slow
@pytest.mark.parametrize("name", CLASSES)
def test_protocol(small, name, tmp_path):
    obj = small[name]
    cls = type(obj)
    summary = obj.summary()
    assert isinstance(summary, (pd.Series, pd.DataFrame, dict)) and len(summary) > 0
    assert isinstance(obj.params, dict)
    html = obj._repr_html_()
    assert isinstance(html, str) and html.startswith("<")
    ax = obj.plot()
    assert ax is not None and ax.figure is not None
    plt.close("all")
    fig, given = plt.subplots()
    assert obj.plot(ax=given) is given
    plt.close(fig)
    m = obj.explore()
    assert "folium" in type(m).__module__
    path = obj.to_file(tmp_path / f"{name}.gpkg")
    back = cls.read_file(path)
    assert type(back) is cls
    for table, frame in _frames(obj).items():
        other = _frames(back)[table]
        if isinstance(frame, pd.Series):
            pd.testing.assert_series_equal(other, frame, obj=f"{name}.{table}")
        else:
            pd.testing.assert_frame_equal(other, frame, obj=f"{name}.{table}")
    assert type(back.summary()) is type(summary)


@pytest.mark.slow
def test_grid_plan_summary_and_comparison(sample_plan_15):
    s = sample_plan_15.summary()
    assert s["n_grids"] == 15 and s["balance_max"] == sample_plan_15.metrics()["balance_max"]
    assert s["seed"] == 0


@pytest.mark.parametrize(
    "writer, reader",
    [
        ("posts", GridPlan),
        ("plan", Posts),
        ("simulation", Staffing),
        ("routes", SimulationResult),
        ("staffing", Coverage),
        ("coverage", RoutePlan),
    ],
)
def test_read_file_of_another_class_names_it(small, writer, reader, tmp_path):
    path = small[writer].to_file(tmp_path / "x.gpkg")
    with pytest.raises(DataError, match=type(small[writer]).__name__):
        reader.read_file(path)


def test_one_status_vocabulary(small):
    for name in ("posts", "routes", "staffing"):
        p = small[name].params
        assert p["status"] in STATUSES, (name, p["status"])
        assert "gap" in p


def test_saved_simulation_reads_back_for_the_report(small, tmp_path):
    from gridplan.report import plan_report, read_simulation

    sim = small["simulation"]
    saved = read_simulation(sim.to_file(tmp_path / "sim.gpkg"))
    assert isinstance(saved, SimulationResult)
    assert saved.summary().equals(sim.summary())
    assert 'id="simulation"' in plan_report(small["plan"], simulation=saved)
    with pytest.raises(DataError, match="ci=True"):
        saved.table("grid", ci=True)
    assert repr(saved) == repr(sim)


@pytest.fixture(scope="module")
def newer(small):
    """The newer result classes on small inputs: Teams, Roster, Evaluation, Frontage."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    from gridplan._caseflow import synthetic_ledger
    from gridplan.evaluation import evaluate
    from gridplan.frontage import assign_frontage
    from gridplan.staffing import roster
    from gridplan.teams import place_teams

    streets = gpd.GeoDataFrame({"street": ["s1"]}, geometry=[LineString([(0, 0), (100, 0)])], crs=4545)
    shops = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[Point(20, 8), Point(30, 8)], crs=4545)
    return {
        "teams": place_teams(small["plan"], 2, territory="grids", balance=0.5, progress=False),
        "roster": roster(small["staffing"], start="2026-01-05", days=7),
        "evaluation": evaluate(synthetic_ledger(500, seed=1, days=30), by="subdistrict", period="M"),
        "frontage": assign_frontage(shops, streets, frontage_m=20),
    }


@pytest.mark.parametrize("name", ["teams", "roster", "evaluation", "frontage"])
def test_protocol_of_the_newer_results(newer, name, tmp_path):
    obj = newer[name]
    cls = type(obj)
    assert len(obj.summary()) > 0
    assert isinstance(obj.params, dict)
    assert obj._repr_html_().startswith("<")
    assert obj.plot() is not None
    plt.close("all")
    back = cls.read_file(obj.to_file(tmp_path / f"{name}.gpkg"))
    assert type(back) is cls
    mine, theirs = obj.summary(), back.summary()
    if isinstance(mine, pd.DataFrame):
        pd.testing.assert_frame_equal(theirs, mine, check_dtype=False)
    else:
        pd.testing.assert_series_equal(pd.Series(theirs), pd.Series(mine), check_dtype=False)
    if hasattr(obj, "explore") and name != "evaluation":  # Evaluation.explore(grids) maps onto polygons you give
        assert "folium" in type(obj.explore()).__module__
    if "status" in obj.params:
        assert obj.params["status"] in STATUSES


def test_plan_comparison_draws_and_explores(sample_plan_15):
    from gridplan.grids import resplit

    new = resplit(sample_plan_15, 16, seed=0)
    cmp = new.compare(sample_plan_15)
    assert cmp.summary["new_grids"] == 16 and cmp.summary["old_grids"] == 15  # summary is a Series field here
    assert cmp.params["new"]["n_grids"] == 16 and cmp.params["old"]["n_grids"] == 15
    assert cmp._repr_html_().startswith("<")
    assert cmp.plot() is not None
    plt.close("all")
    assert "folium" in type(cmp.explore()).__module__


def test_files_saved_with_the_old_status_words_read_back_in_the_new(small, tmp_path):
    from gridplan import _io

    staffing, routes = small["staffing"], small["routes"]
    path = staffing.to_file(tmp_path / "staff.gpkg")
    frames, params = _io.read_frames(path, "Staffing")
    _io.write_frames(path, "Staffing", frames, {**params, "status": "time limit"})  # as gridplan 0.1 wrote it
    assert Staffing.read_file(path).params["status"] == "time_limit"
    path = routes.to_file(tmp_path / "routes.gpkg")
    frames, params = _io.read_frames(path, "RoutePlan")
    old = {**params, "params": {k: v for k, v in params["params"].items() if k not in ("status", "gap")}}
    _io.write_frames(path, "RoutePlan", frames, old)
    back = RoutePlan.read_file(path)
    assert back.params["status"] == routes.params["status"] and back.params["gap"] == routes.params["gap"]
