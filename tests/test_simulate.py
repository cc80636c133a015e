"""Tests of gridplan.simulate: Poisson arrivals, patrol clock, dispatch, KPIs, Dask equality, bad input."""

from __future__ import annotations

import copy
import math

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import gridplan
from gridplan.datasets import sample_roster
from gridplan.errors import DataError
from gridplan.grids import partition
from gridplan.simulate import (
    DAY,
    SOURCES,
    IncidentModel,
    _clock_time,
    _duty_time,
    _example_layers,
    _next_on_duty,
    _next_pass,
    coverage,
    default_types,
    simulate,
)
from gridplan.staffing import assign_staff


@pytest.fixture(scope="module")
def study():
    """A 2 km square district in 2 grids with derived posts, staffing and patrols."""
    district = gridplan.District.from_frames(**_example_layers())
    plan = partition(district, 2, units="cells", seed=0)
    base = simulate(plan, staffing="sample", days=2, runs=2, seed=0, progress=False)
    return plan, base.posts, base.staffing, base.routes


def _sim(study, **kw):
    plan, posts, staffing, routes = study
    kw.setdefault("posts", posts)
    kw.setdefault("staffing", staffing)
    kw.setdefault("routes", routes)
    kw.setdefault("progress", False)
    return simulate(plan, **kw)


# ----------------------------------------------------------------------------- arrivals
def test_poisson_counts_match_the_rates(study):
    plan, *_ = study
    res = _sim(study, days=3, runs=300, seed=1, keep_incidents=0)
    expected = res.params["expected_per_day"]
    # the expected rate is rate x driver: residents / 10,000 or swept street km
    t = default_types()
    residents = float(plan.district.population["population"].sum())
    km = res.params["street_km"]
    for name, lam in expected.items():
        drv = residents / 1e4 if t.loc[name, "driver"] == "population" else km
        assert lam == pytest.approx(t.loc[name, "rate"] * drv)
    total = sum(expected.values()) * 3
    counts = res.runs["incidents"].to_numpy(float)
    # mean within 4 standard errors, dispersion (variance / mean) within the chi-square 99.9 % band
    assert abs(counts.mean() - total) < 4 * math.sqrt(total / len(counts))
    from scipy import stats

    disp = counts.var(ddof=1) / total
    lo, hi = stats.chi2.ppf([0.0005, 0.9995], len(counts) - 1) / (len(counts) - 1)
    assert lo < disp < hi
    # per type, over the pooled runs
    per_type = res.per_type["incidents_per_day"]
    for name, lam in expected.items():
        assert abs(per_type[name] - lam) < 4 * math.sqrt(lam / (3 * 300)) + 1e-12


def test_rate_scale_and_zero_rates(study):
    t = default_types()
    t["rate"] = 0.0
    res = _sim(study, days=2, runs=3, model=IncidentModel(types=t))
    assert (res.runs["incidents"] == 0).all()
    assert np.isnan(res.summary().loc["face_to_face_min", "mean"])
    doubled = _sim(study, days=2, runs=3, model=IncidentModel(rate_scale=2.0))
    single = _sim(study, days=2, runs=3)
    assert sum(doubled.params["expected_per_day"].values()) == pytest.approx(2 * sum(single.params["expected_per_day"].values()))


# ----------------------------------------------------------------------------- the patrol clock
windows = st.tuples(st.floats(0, DAY - 1), st.floats(30, DAY))


@settings(max_examples=200, deadline=None)
@given(
    t=st.floats(0, 10 * DAY),
    w=windows,
    period=st.floats(10, 50_000),
    phase=st.floats(0, 1),
    off=st.floats(0, 1),
    speed=st.floats(10, 300),
)
def test_next_pass_is_the_first_on_duty_pass(t, w, period, phase, off, speed):
    start, length = np.array([w[0]]), np.array([w[1]])
    tt = np.array([t])
    offset, ph = np.array([off * period]), np.array([phase * period])
    p = _next_pass(tt, offset, np.array([period]), ph, start, length, speed)[0]
    assert p >= t - 1e-6
    # on duty at the pass
    assert _next_on_duty(np.array([p]), start, length)[0] == pytest.approx(p, abs=1e-6)
    tau_t, tau_p = _duty_time(tt, start, length)[0], _duty_time(np.array([p]), start, length)[0]
    # the chief is at the offset then, and got there within one sweep of duty time
    pos = (ph[0] + tau_p * speed - offset[0]) % period
    assert min(pos, period - pos) < 1e-6 * max(1.0, period, tau_p * speed)
    assert tau_p - tau_t <= period / speed + 1e-6
    # the duty clock's inverse maps t to the next moment on duty
    assert _clock_time(np.array([tau_t]), start, length)[0] == pytest.approx(_next_on_duty(tt, start, length)[0], abs=1e-6)


def test_empty_walk_never_passes():
    p = _next_pass(np.array([5.0]), np.array([0.0]), np.array([0.0]), np.array([0.0]), np.array([360.0]), np.array([480.0]), 60.0)
    assert np.isinf(p).all()


# ----------------------------------------------------------------------------- reproducibility and scale
def test_same_seed_same_result_other_seed_other(study):
    a = _sim(study, days=2, runs=5, seed=3)
    b = _sim(study, days=2, runs=5, seed=3)
    c = _sim(study, days=2, runs=5, seed=4)
    pd.testing.assert_frame_equal(a.runs, b.runs)
    pd.testing.assert_frame_equal(a.per_grid, b.per_grid)
    pd.testing.assert_frame_equal(a.incidents, b.incidents)
    assert not a.runs.equals(c.runs)
    # run i does not depend on how many runs there are
    more = _sim(study, days=2, runs=8, seed=3)
    pd.testing.assert_frame_equal(a.runs, more.runs.iloc[:5])


@pytest.mark.slow
def test_dask_cluster_gives_identical_results(study):
    distributed = pytest.importorskip("distributed", reason="dask.distributed is in the [test] extra")
    serial = _sim(study, days=2, runs=24, seed=5, keep_incidents=2)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        par = _sim(study, days=2, runs=24, seed=5, keep_incidents=2, client=client)
    assert par.params["workers"] == 2
    pd.testing.assert_frame_equal(serial.runs, par.runs)
    pd.testing.assert_frame_equal(serial.table("community", ci=True), par.table("community", ci=True))
    pd.testing.assert_frame_equal(serial.incidents, par.incidents)


# ----------------------------------------------------------------------------- what the KPIs mean
def test_groupings_add_up_and_ledger_is_consistent(study):
    plan, *_ = study
    res = _sim(study, days=3, runs=6, seed=2, keep_incidents=6)
    total = res.runs["incidents"].mean() / 3
    for by in ("grid", "community", "source", "shift", "type"):
        assert res.table(by)["incidents_per_day"].sum() == pytest.approx(total)
    led = res.incidents
    assert len(led) == res.runs["incidents"].sum()
    assert set(led["source"]) <= set(SOURCES)
    # every case is located exactly once, in the grid whose polygon holds it (grid lines: within 1 mm)
    grids = plan.grids.set_index("code").geometry
    d = shapely.distance(np.asarray(grids.reindex(led["grid"]).values), np.asarray(led.geometry.values))
    assert (d < 1e-3).all()
    # times are ordered and KPIs follow from the ledger
    done = led["resolved"].notna()
    assert (led["discovered"] >= led["occurred"]).all()
    assert (led.loc[done, "resolved"] >= led.loc[done, "arrived"]).all()
    found = led["source"].isin(["patrol", "grid_staff"])
    assert (led.loc[found, "face_to_face_min"] == 0).all()
    run0 = led[led["run"] == 0]
    disp = run0[~run0["source"].isin(["patrol", "grid_staff"])]
    assert res.runs.loc[0, "compliance_7min"] == pytest.approx((disp["face_to_face_min"] <= 7).mean())
    assert res.runs.loc[0, "compliance_deadline"] == pytest.approx(run0["deadline_met"].mean())
    assert res.runs.loc[0, "compliance_7min"] == pytest.approx(disp["respond_met"].mean())
    assert run0.loc[run0["source"].isin(["patrol", "grid_staff"]), "respond_met"].all()
    small = run0[run0["severity"] == "small"]
    assert res.runs.loc[0, "compliance_1d"] == pytest.approx((small["resolution_h"] <= 24).mean())


def test_more_staff_never_worse_on_average(study):
    """Controlled case: the same teams, once with only the leaders, once complete (a superset)."""
    plan, posts, full, routes = study
    leaders = copy.copy(full)
    leaders.assignments = full.assignments[full.assignments["role"] == "leader"]
    assert set(leaders.assignments["grid"]) == set(plan.grids["code"])  # every grid keeps someone
    a = _sim(study, staffing=leaders, days=3, runs=40, seed=7, keep_incidents=0)
    b = _sim(study, staffing=full, days=3, runs=40, seed=7, keep_incidents=0)
    # the same incidents arrive in both (common random numbers), and every case is answered
    assert a.runs["incidents"].equals(b.runs["incidents"])
    assert a.summary().loc["unmet_per_day", "mean"] == 0 == b.summary().loc["unmet_per_day", "mean"]
    assert b.runs["face_to_face_min"].mean() <= a.runs["face_to_face_min"].mean()
    assert b.runs["compliance_7min"].mean() >= a.runs["compliance_7min"].mean()
    assert b.runs["compliance_deadline"].mean() >= a.runs["compliance_deadline"].mean() - 0.01


def test_grid_without_staff_reports_unmet_cases(study):
    plan, posts, staffing, routes = study
    lonely = copy.copy(staffing)
    keep_code = plan.grids["code"].iloc[0]
    lonely.assignments = staffing.assignments[staffing.assignments["grid"] == keep_code]
    res = _sim(study, staffing=lonely, days=2, runs=5, seed=1)
    g = res.per_grid
    other = plan.grids["code"].iloc[1]
    assert g.loc[other, "unmet_per_day"] > 0
    assert g.loc[other, "compliance_7min"] == 0
    assert g.loc[keep_code, "unmet_per_day"] == 0
    assert any("nobody on their team" in n for n in res.notes)
    assert res.summary().loc["unmet_per_day", "mean"] > 0


def test_faster_patrols_find_visible_problems_sooner(study):
    slow = _sim(study, days=3, runs=20, seed=9, model=IncidentModel(patrol_speed_m_per_min=30.0), keep_incidents=0)
    fast = _sim(study, days=3, runs=20, seed=9, model=IncidentModel(patrol_speed_m_per_min=240.0), keep_incidents=0)
    assert fast.summary().loc["visible_discovery_min", "mean"] < slow.summary().loc["visible_discovery_min", "mean"]
    assert fast.summary().loc["patrol_found_share", "mean"] > slow.summary().loc["patrol_found_share", "mean"]


def test_compare_and_intervals(study):
    a = _sim(study, days=2, runs=10, seed=0)
    same = a.compare(a)
    assert (same["difference"].dropna() == 0).all()
    b = _sim(study, days=2, runs=10, seed=0, model=IncidentModel(response_speed_m_per_min=80.0))
    cmp = a.compare(b)
    assert cmp.loc["face_to_face_min", "B"] > cmp.loc["face_to_face_min", "A"]
    assert cmp.loc["face_to_face_min", "low"] <= cmp.loc["face_to_face_min", "difference"] <= cmp.loc["face_to_face_min", "high"]
    s = a.summary()
    assert (s["low"] <= s["mean"] + 1e-12).all() and (s["mean"] <= s["high"] + 1e-12).all() or s["low"].isna().any()
    ci = a.table("grid", ci=True)
    assert ("compliance_7min", "low") in ci.columns
    assert np.allclose(ci.xs("mean", axis=1, level=1).to_numpy(), a.per_grid.to_numpy(), equal_nan=True)


def test_display(study):
    res = _sim(study, days=2, runs=4, seed=0)
    assert "SimulationResult" in repr(res) and "<table" in res._repr_html_()
    ax = res.plot()
    assert ax.get_title()
    ax2 = res.plot(kind="runs")
    assert len(ax2.get_xticklabels()) == 5
    plt.close("all")
    with pytest.raises(DataError, match="kind"):
        res.plot(kind="pie")
    with pytest.raises(DataError, match="column"):
        res.plot(column="nope")
    # the deadline KPI's old name still works, with a FutureWarning naming the new one
    assert "compliance_all" not in res.per_grid.columns and "closed by their deadline" in repr(res)
    with pytest.warns(FutureWarning, match="compliance_deadline"):
        ax3 = res.plot(column="compliance_all")
    assert ax3.get_title().startswith("compliance_deadline")
    plt.close("all")


# ----------------------------------------------------------------------------- coverage
def test_life_circle_coverage(study):
    plan, posts, *_ = study
    lc = coverage(plan, posts, minutes=10, speed_m_per_min=80)
    assert lc.coverage.max_walk_m == pytest.approx(800)
    assert len(lc.isochrones) == len(posts.posts)
    pts = lc.coverage.points
    covered = pts[pts["covered"]]
    # every covered resident's street node lies in the isochrones
    nodes = posts._network.nodes.geometry.reindex(covered["node"]).to_numpy()
    assert shapely.covers(shapely.union_all(lc.isochrones.geometry.values), nodes).all()
    smaller = coverage(plan, posts, minutes=5)
    assert smaller.share <= lc.share
    assert 0 < lc.share <= 1
    ax = lc.plot()
    assert ax.get_title()
    plt.close("all")
    with pytest.raises(DataError, match="minutes"):
        coverage(plan, posts, minutes=0)


# ----------------------------------------------------------------------------- bad input
def test_bad_input(study):
    plan, posts, staffing, routes = study
    for days in (0, -3, 1.5, True):
        with pytest.raises(DataError, match="days must be a whole number >= 1"):
            _sim(study, days=days)
    with pytest.raises(DataError, match="runs"):
        _sim(study, runs=0)
    with pytest.raises(DataError, match="GridPlan"):
        simulate(plan.grids, staffing="sample")
    t = default_types()
    t.loc["garbage", "rate"] = -1.0
    with pytest.raises(DataError, match="garbage"):
        IncidentModel(types=t)
    t = default_types()
    t.at["noise", "sources"] = {"patrol": 1.0}
    with pytest.raises(DataError, match="patrol"):
        IncidentModel(types=t)
    with pytest.raises(DataError, match="speed"):
        IncidentModel(response_speed_m_per_min=0)
    with pytest.raises(DataError, match="shift"):
        IncidentModel(shifts={"day": (8, 8)})
    with pytest.raises(DataError, match="shifts"):
        _sim(study, model=IncidentModel(shifts={"day": (8, 20)}, patrol_shifts=("day",)))


def test_profile_edited_after_the_model_checked_it(study):
    """A types table edited after IncidentModel checked it: a DataError naming the type (was an AttributeError)."""
    model = IncidentModel()
    name = model.types.index[0]
    model.types.at[name, "profile"] = "no such profile"
    with pytest.raises(DataError, match=f"not so for types \\['{name}'\\]"):
        _sim(study, model=model, days=1, runs=1)


def test_refuses_parts_of_another_district(study):
    plan, posts, staffing, routes = study
    layers = _example_layers()
    for k in layers:
        layers[k] = layers[k].set_geometry(layers[k].translate(5000, 0))
    other_plan = partition(gridplan.District.from_frames(**layers), 2, units="cells", seed=0)
    other_staff = assign_staff(other_plan, sample_roster(other_plan, seed=0), seed=0)
    with pytest.raises(DataError, match="another plan|other shapes"):
        _sim(study, staffing=other_staff)
    three = partition(plan.district, 3, units="cells", seed=0)
    with pytest.raises(DataError, match="another plan"):
        simulate(three, posts=posts, staffing=staffing, routes=routes, progress=False)
    with pytest.raises(DataError, match="another plan"):
        simulate(three, staffing="sample", routes=routes, progress=False)


def test_to_file_writes_every_table(study, tmp_path):
    import pyogrio

    res = _sim(study, days=2, runs=3, seed=0)
    path = res.to_file(tmp_path / "sim.gpkg")
    layers = set(pyogrio.list_layers(path)[:, 0])
    assert {"per_grid", "runs", "summary", "per_source", "per_shift", "per_type", "incidents"} <= layers
    per_grid = gpd.read_file(path, layer="per_grid")
    assert len(per_grid) == len(res.per_grid) and per_grid.geometry.notna().all()
    runs = gpd.read_file(path, layer="runs")
    assert np.allclose(runs["compliance_7min"], res.runs["compliance_7min"], equal_nan=True)
    assert len(gpd.read_file(path, layer="incidents")) == len(res.incidents)


@pytest.mark.slow
def test_cli_simulate_compares_two_plans(study, tmp_path, capsys, monkeypatch):
    import logging

    from gridplan.cli import main

    monkeypatch.setattr(logging.getLogger("gridplan.cli"), "handlers", [])  # log to this test's stderr
    plan, *_ = study
    plan.to_file(tmp_path / "two.gpkg", district=True)  # the plan file holds its district: no --district
    three = partition(plan.district, 3, units="cells", seed=0)
    three.to_file(tmp_path / "three.gpkg")  # without its district: it uses the first plan's
    out = tmp_path / "sim"
    code = main(
        [
            "simulate",
            "--plan",
            str(tmp_path / "two.gpkg"),
            "--compare",
            str(tmp_path / "three.gpkg"),
            "--runs",
            "3",
            "--days",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    for name in (
        "plan_summary.csv",
        "plan_per_grid.csv",
        "compare_per_grid.csv",
        "comparison.csv",
        "plan_compliance.png",
        "plan_simulation.gpkg",
    ):
        assert (out / name).is_file(), name
    per_grid = pd.read_csv(out / "compare_per_grid.csv", dtype={"grid": str})
    assert len(per_grid) == 3
    cmp = pd.read_csv(out / "comparison.csv", index_col=0)
    assert "compliance_7min" in cmp.index
    # two plans: the incidents fall on other street pieces, so the runs are not paired
    assert set(cmp["method"]) == {"welch"}
    err = capsys.readouterr().err
    assert f"compare: using the district saved in {tmp_path / 'two.gpkg'}" in err and "Welch's unpaired" in err
    assert main(["simulate", "--plan", str(tmp_path / "two.gpkg"), "--workers", "0", "-q"]) == 2


# ----------------------------------------------------------------------------- configurable sources
def _renamed_types(old: str, new: str) -> pd.DataFrame:
    t = default_types()
    t["sources"] = [{(new if k == old else k): w for k, w in mix.items()} for mix in t["sources"]]
    return t


def test_sources_can_be_renamed_added_and_dropped(study):
    base = _sim(study, days=2, runs=3, seed=4, keep_incidents=3)
    # a pure rename (same order, same weights) draws the same cases under the new names
    names = {s: s for s in SOURCES}
    names.update({"photo_app": "wechat_app", "patrol": "road_chief", "grid_staff": "self_found"})
    labels = dict(zip(names.values(), ["12345", "12319", "路长", "网格员", "微信随手拍", "媒体", "上级", "社区", "视频"]))
    types = _renamed_types("photo_app", "wechat_app")
    model = IncidentModel(types=types, sources=labels, discovery_sources=("road_chief", "self_found"))
    assert model.sources["wechat_app"] == "微信随手拍" and "photo_app" not in model.reporting_sources()
    renamed = _sim(study, days=2, runs=3, seed=4, keep_incidents=3, model=model)
    pd.testing.assert_frame_equal(renamed.runs, base.runs)
    assert list(renamed.per_source.index) == list(model.sources)
    pd.testing.assert_frame_equal(renamed.per_source, base.per_source.rename(index=names))
    assert renamed.incidents["source"].tolist() == base.incidents["source"].map(names).tolist()
    assert {"road_chief", "wechat_app"} <= set(renamed.incidents["source"])
    assert renamed.params["model"]["sources"] == labels
    # an added source: the 110 police line takes half of the noise complaints
    types = default_types()
    types.at["noise", "sources"] = {"hotline_12345": 0.25, "hotline_12319": 0.25, "police_110": 0.5}
    added = _sim(
        study, days=2, runs=3, seed=4, keep_incidents=3, model=IncidentModel(types=types, sources=[*SOURCES, "police_110"])
    )
    assert list(added.per_source.index) == [*SOURCES, "police_110"]
    led = added.incidents
    assert set(led["source"]) <= set(SOURCES) | {"police_110"}
    noise = led[led["type"] == "noise"]
    assert (noise["source"] == "police_110").any() and (led.loc[led["type"] != "noise", "source"] != "police_110").all()
    per = added.per_source["incidents_per_day"]
    assert per.sum() == pytest.approx(added.runs["incidents"].mean() / 2)
    assert per["police_110"] == pytest.approx((led["source"] == "police_110").sum() / (3 * 2))
    # a dropped source no problem type uses
    types = default_types()
    types["sources"] = [{k: w for k, w in mix.items() if k != "media"} for mix in types["sources"]]
    fewer = IncidentModel(types=types, sources=[s for s in SOURCES if s != "media"])
    assert "media" not in _sim(study, days=1, runs=2, model=fewer).per_source.index


def test_sources_are_checked():
    with pytest.raises(DataError, match=r"type 'drainage' names sources \['media'\] that the model does not have"):
        IncidentModel(sources=[s for s in SOURCES if s != "media"])
    with pytest.raises(DataError, match=r"type 'street_vending' names sources \['hotline_12345'\]"):
        IncidentModel(sources=[s for s in SOURCES if s != "hotline_12345"])
    with pytest.raises(DataError, match="sources lacks \\['patrol'\\].*discovery_sources"):
        IncidentModel(sources=[s for s in SOURCES if s != "patrol"])
    with pytest.raises(DataError, match="finds those cases itself"):
        IncidentModel(
            types=_renamed_types("photo_app", "self_found"),
            sources=[*SOURCES, "self_found"],
            discovery_sources=("patrol", "self_found"),
        )
    with pytest.raises(DataError, match="discovery_sources must be two different"):
        IncidentModel(discovery_sources=("patrol", "patrol"))
    with pytest.raises(DataError, match="repeat"):
        IncidentModel(sources=[*SOURCES, "media"])
    with pytest.raises(DataError, match="list of source names"):
        IncidentModel(sources="hotline_12345")
    with pytest.raises(DataError, match="non-empty text"):
        IncidentModel(sources=[*SOURCES, ""])


# ----------------------------------------------------------------------------- paired comparisons, share intervals
def test_compare_pairs_runs_that_share_their_incidents(study):
    plan, *_ = study
    a = _sim(study, days=2, runs=8, seed=0)
    walk = _sim(study, days=2, runs=8, seed=0, model=IncidentModel(response_speed_m_per_min=80.0))
    assert a.pairs_with(walk) and a.params["incident_stream"] == walk.params["incident_stream"]
    cmp = a.compare(walk)
    assert cmp.attrs["method"] == "paired" and (cmp["method"] == "paired").all()
    # the paired interval by hand: a t-interval of the run-by-run differences
    from scipy import stats

    d = (walk.runs["face_to_face_min"] - a.runs["face_to_face_min"]).to_numpy()
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    row = cmp.loc["face_to_face_min"]
    assert row["pairs"] == 8 and row["difference"] == pytest.approx(d.mean())
    assert (row["low"], row["high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(d.mean()) / (d.std(ddof=1) / math.sqrt(len(d))), len(d) - 1))
    # the same incidents: no difference in counts, and pairing removes their noise from the interval
    assert cmp.loc["incidents", ["difference", "low", "high"]].tolist() == [0, 0, 0]
    assert cmp.loc["incidents", "p_value"] == 1
    welch = a.compare(walk, method="welch")
    assert welch.attrs["method"] == "welch" and (welch["pairs"] == 0).all()
    assert welch.loc["incidents", "high"] > 0
    for kpi in ("face_to_face_min", "compliance_7min"):
        assert cmp.loc[kpi, "high"] - cmp.loc[kpi, "low"] < welch.loc[kpi, "high"] - welch.loc[kpi, "low"]
    # other seed, other number of runs, another plan (other street pieces): Welch
    assert a.compare(_sim(study, days=2, runs=8, seed=1)).attrs["method"] == "welch"
    assert a.compare(_sim(study, days=2, runs=6, seed=0)).attrs["method"] == "welch"
    three = simulate(
        partition(plan.district, 3, units="cells", seed=0), staffing="sample", days=2, runs=8, seed=0, progress=False
    )
    assert not a.pairs_with(three) and a.compare(three).attrs["method"] == "welch"
    assert a.compare(three, method="paired").attrs["method"] == "paired"  # valid for any two studies of equal runs
    with pytest.raises(DataError, match="as many runs"):
        a.compare(_sim(study, days=2, runs=6, seed=0), method="paired")
    with pytest.raises(DataError, match="method"):
        a.compare(walk, method="exact")


def test_share_intervals_stay_within_0_and_1(study):
    from gridplan.simulate import _interval

    plan, posts, staffing, routes = study
    nobody = copy.copy(staffing)
    nobody.assignments = staffing.assignments.iloc[:0]
    for res in (_sim(study, days=1, runs=3, seed=2), _sim(study, days=1, runs=3, seed=2, staffing=nobody)):
        shares = [c for c in res.runs.columns if c.startswith("compliance_") or c.endswith("_share")]
        s = res.summary()
        assert (s.loc[shares, "low"].dropna() >= 0).all() and (s.loc[shares, "high"].dropna() <= 1).all()
        assert (s["low"] <= s["mean"] + 1e-12).where(s["low"].notna(), True).all()
        ci = res.table("grid", ci=True)
        for kpi in shares:
            assert (ci[(kpi, "low")].dropna() >= 0).all() and (ci[(kpi, "high")].dropna() <= 1).all()
    # with 3 runs the plain t-interval of a share reaches outside [0, 1]: the cut is real
    raw = _interval(res.runs[shares].to_numpy(float), 0.95)
    assert (np.nan_to_num(raw["low"]) < 0).any() or (np.nan_to_num(raw["high"], nan=0) > 1).any()
    assert res.summary().loc["unmet_per_day", "mean"] > 0  # nobody on duty: unmet, never divided by zero
    cmp = _sim(study, days=1, runs=3, seed=2).compare(res, method="welch")
    assert (cmp.loc[shares, "low"].dropna() >= -1).all() and (cmp.loc[shares, "high"].dropna() <= 1).all()


# ----------------------------------------------------------------------------- more bad input, coverage, progress
def test_refuses_parts_in_another_crs(study):
    from gridplan.posts import place_posts
    from gridplan.routes import balance_routes

    plan, *_ = study
    layers = {k: v.to_crs(32649) for k, v in _example_layers().items()}
    utm = partition(gridplan.District.from_frames(**layers, metric_crs=32649), 2, units="cells", seed=0)
    assert list(utm.grids["code"]) == list(plan.grids["code"]) and not utm.grids.crs.equals(plan.grids.crs)
    staff = assign_staff(utm, sample_roster(utm, seed=0), seed=0)
    with pytest.raises(DataError, match="staff assignments are in EPSG:32649, the plan in EPSG:4545"):
        _sim(study, staffing=staff)
    with pytest.raises(DataError, match="posts are in EPSG:32649, the plan in EPSG:4545"):
        _sim(study, posts=place_posts(utm, 2, max_walk_m=800, progress=False))
    with pytest.raises(DataError, match="routes are in EPSG:32649, the plan in EPSG:4545"):
        _sim(study, routes=balance_routes(utm, chiefs_per_grid=1, effort=0.05, seed=0, progress=False), days=1, runs=1)


def test_life_circle_per_community_adds_up():
    from gridplan.posts import place_posts

    layers = _example_layers()
    x0, y0 = 422000.0, 2937000.0
    layers["communities"] = gpd.GeoDataFrame(
        {"code": ["990101001001", "990101001002"], "name": ["西社区", "东社区"]},
        crs=4545,
        geometry=[shapely.box(x0, y0, x0 + 1000, y0 + 2000), shapely.box(x0 + 1000, y0, x0 + 2000, y0 + 2000)],
    )
    plan = partition(gridplan.District.from_frames(**layers), 2, units="cells", seed=0)
    lc = coverage(plan, place_posts(plan, 2, max_walk_m=800, progress=False), minutes=5)
    per = lc.per_community
    assert list(per.index) == ["990101001001", "990101001002"]
    assert per["demand"].sum() == pytest.approx(float(lc.overall["demand"]))
    assert per["covered"].sum() == pytest.approx(float(lc.overall["covered"]))
    assert lc.per_grid["demand"].sum() == pytest.approx(float(lc.overall["demand"]))
    assert ((per["share"] >= 0) & (per["share"] <= 1)).all()


def test_progress_bar_smoke(study, capsys):
    plan, *_ = study
    # the defaults are derived with their own progress bars
    res = simulate(plan, staffing="sample", days=1, runs=2, seed=0, progress=True)
    assert len(res.runs) == 2
    assert "simulate" in capsys.readouterr().err


# ----------------------------------------------------------------------------- command line: the command
@pytest.mark.slow
def test_cli_simulate_plan_alone_on_two_workers(study, tmp_path):
    """``gridplan simulate --plan PLAN.gpkg --runs N --workers 2``: the district comes from the plan file."""
    pytest.importorskip("distributed", reason="dask.distributed is in the [test] extra")
    from gridplan.cli import main
    from gridplan.grids import GridPlan

    plan, *_ = study
    path = plan.to_file(tmp_path / "plan.gpkg", district=True)
    back = GridPlan.read_file(path)
    assert back.params == plan.params
    for layer in ("boundary", "streets", "population", "communities", "grids"):
        pd.testing.assert_frame_equal(getattr(back.district, layer), getattr(plan.district, layer), check_like=False)
    assert back.district.crs.equals(plan.district.crs) and back.district.notes == plan.district.notes
    assert GridPlan.read_file(plan.to_file(tmp_path / "bare.gpkg")).district is None
    out = tmp_path / "sim"
    assert main(["simulate", "--plan", str(path), "--runs", "4", "--days", "1", "--workers", "2", "--out", str(out), "-q"]) == 0
    runs = pd.read_csv(out / "plan_runs.csv", index_col="run")
    assert len(runs) == 4 and len(pd.read_csv(out / "plan_per_grid.csv")) == 2
    # the same study in one process gives the same numbers
    serial = simulate(back, staffing="sample", days=1, runs=4, seed=0, progress=False)
    assert np.allclose(runs["compliance_7min"], serial.runs["compliance_7min"], equal_nan=True)
    assert np.array_equal(runs["incidents"], serial.runs["incidents"])


def test_cli_simulate_says_what_to_pass_without_a_district(study, tmp_path, capsys, monkeypatch):
    import logging

    from gridplan.cli import main

    monkeypatch.setattr(logging.getLogger("gridplan.cli"), "handlers", [])  # log to this test's stderr
    plan, *_ = study
    plan.to_file(tmp_path / "plan.gpkg")
    assert main(["simulate", "--plan", str(tmp_path / "plan.gpkg"), "--runs", "2", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "does not hold its district" in err and "--district" in err and "district=True" in err
    with pytest.raises(DataError, match="district=True needs"):
        plan.to_file(tmp_path / "plan.geojson", district=True)
    from gridplan.grids import GridPlan

    with pytest.raises(DataError, match="does not know its district"):
        GridPlan.read_file(tmp_path / "plan.gpkg").to_file(tmp_path / "again.gpkg", district=True)
    # --district gives it (the study then starts: here it stops at once on --runs 0)
    plan.district.to_file(tmp_path / "district.gpkg")
    assert (
        main(
            [
                "simulate",
                "--plan",
                str(tmp_path / "plan.gpkg"),
                "--district",
                str(tmp_path / "district.gpkg"),
                "--runs",
                "0",
                "--out",
                str(tmp_path / "s"),
            ]
        )
        == 2
    )
    assert "runs must be a whole number from 1 to" in capsys.readouterr().err
    # a compare plan without its district takes the first plan's only when it is a plan of that district
    plan.to_file(tmp_path / "with.gpkg", district=True)
    out = tmp_path / "cmp"
    layers = _example_layers()
    for k in layers:
        layers[k] = layers[k].set_geometry(layers[k].translate(5000, 0))
    partition(gridplan.District.from_frames(**layers), 2, units="cells", seed=0).to_file(tmp_path / "elsewhere.gpkg")
    assert (
        main(
            [
                "simulate",
                "--plan",
                str(tmp_path / "with.gpkg"),
                "--compare",
                str(tmp_path / "elsewhere.gpkg"),
                "--runs",
                "2",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "is not a plan of the district saved in" in capsys.readouterr().err


def test_simulate_never_invents_staff_unasked(study):
    """No staffing: a DataError that says how to get one; "sample" asks for the synthetic roster, and says so."""
    plan, posts, _, routes = study
    with pytest.raises(DataError, match=r"staffing=assign_staff\(plan, roster.*staffing='sample'"):
        simulate(plan, posts=posts, routes=routes, days=1, runs=1, progress=False)
    with pytest.raises(DataError, match="'sample'"):
        simulate(plan, posts=posts, staffing="samples", routes=routes, days=1, runs=1, progress=False)
    res = simulate(plan, posts=posts, staffing="sample", routes=routes, days=1, runs=1, seed=0, progress=False)
    assert any("SYNTHETIC" in n and "sample_roster(plan, seed=0)" in n for n in res.notes)
    mine = assign_staff(plan, sample_roster(plan, seed=0), posts=posts, shifts=tuple(res.model.shifts), seed=0)
    pd.testing.assert_frame_equal(pd.DataFrame(res.staffing.assignments), pd.DataFrame(mine.assignments))


def test_coverage_moved_to_posts_and_old_path_works():
    # gridplan.simulate is the root verb (the function); the module's names come with a from-import
    import gridplan.posts
    from gridplan.simulate import LifeCircle, coverage

    assert coverage is gridplan.posts.coverage
    assert LifeCircle is gridplan.posts.LifeCircle
