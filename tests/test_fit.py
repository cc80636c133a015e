"""IncidentModel.fit: simulate a ledger from known parameters and recover them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gridplan
from gridplan.errors import DataError
from gridplan.grids import partition
from gridplan.simulate import (
    PROFILES,
    IncidentModel,
    _example_layers,
    default_types,
    simulate,
)

STEPS = [
    "occurred",
    "discovered",
    "arrived",
    "resolved",
    "reported",
    "filed",
    "dispatched",
    "handled",
    "feedback",
    "verified",
    "closed",
    "deadline",
    "whistle",
]


@pytest.fixture(scope="module")
def known():
    plan = partition(gridplan.District.from_frames(**_example_layers()), 2, units="cells", seed=0)
    types = default_types().loc[["noise", "dog_keeping", "street_vending"]].copy()
    types["visible"] = False
    types["report_h"] = 0.02  # reported at once: the ledger sees (almost) every case
    types["rate"] = [3.0, 2.0, 0.8]
    types["sources"] = [
        {"hotline_12345": 0.7, "hotline_12319": 0.3},
        {"hotline_12345": 0.5, "community": 0.5},
        {"photo_app": 1.0},
    ]
    # three times the intensity in the first grid's units
    first = plan.units.index[np.asarray(plan.labels) == 0]
    ui = pd.DataFrame(1.0, index=plan.units.index, columns=types.index)
    ui.loc[first] = 3.0
    model = IncidentModel(types=types, unit_intensity=ui)
    runs = 8
    res = simulate(plan, staffing="sample", model=model, days=7, runs=runs, seed=1, keep_incidents=runs, progress=False)
    ledger = res.incidents.copy()
    shift = pd.to_timedelta(ledger["run"] * 7, unit="D")  # run i is week i of the ledger
    for c in STEPS:
        ledger[c] = ledger[c] + shift
    return plan, model, res, ledger


def test_fit_recovers_rates_sources_profiles_and_places(known):
    plan, model, res, ledger = known
    fit = IncidentModel.fit(ledger, plan)
    t, truth = fit.types, model.types
    for name in truth.index:
        assert t.at[name, "rate"] == pytest.approx(truth.at[name, "rate"], rel=0.12)
        true_src, got_src = truth.at[name, "sources"], t.at[name, "sources"]
        assert set(got_src) == set(true_src)
        for s, w in true_src.items():
            assert got_src[s] == pytest.approx(w, abs=0.06)
        hour_of_day = np.asarray(t.at[name, "profile"]).reshape(7, 24).sum(axis=0)
        assert np.corrcoef(hour_of_day, PROFILES[truth.at[name, "profile"]])[0, 1] > 0.9
        for sev in ("p_small", "p_larger", "p_hard"):
            assert t.at[name, sev] == pytest.approx(truth.at[name, sev], abs=0.06)
    first = np.asarray(plan.labels) == 0
    ui = fit.unit_intensity
    ratio = ui[first].mean() / ui[~first].mean()
    assert (ratio > 2.0).all() and (ratio < 4.5).all()  # true ratio 3, shrunk a little towards 1
    rep = fit.fit_report
    assert rep.per_type["cases"].sum() == ledger["reported"].notna().sum()
    assert rep.per_grid["observed"].sum() == pytest.approx(rep.per_grid["expected"].sum())
    assert rep.loop["rework_share"] == pytest.approx(0.08, abs=0.03)  # the CaseLoop default it was made with
    assert fit.loop.filing_min[0] == pytest.approx(10.0, rel=0.15)


def test_simulating_the_fitted_model_reproduces_the_ledger(known):
    plan, model, res, ledger = known
    fit = IncidentModel.fit(ledger, plan)
    again = simulate(
        plan,
        model=fit,
        days=7,
        runs=6,
        seed=5,
        keep_incidents=0,
        progress=False,
        posts=res.posts,
        staffing=res.staffing,
        routes=res.routes,
    )
    assert again.summary().at["incidents_per_day", "mean"] == pytest.approx(
        res.summary().at["incidents_per_day", "mean"], rel=0.1
    )
    per_grid = again.per_grid["incidents_per_day"]
    truth = res.per_grid["incidents_per_day"]
    assert (per_grid / truth).between(0.8, 1.25).all()


def test_a_ledger_of_categories_without_geometry(known):
    plan, model, res, ledger = known
    plain = pd.DataFrame(ledger.drop(columns=["geometry", "type"]))
    plain["category"] = plain["category_name"]  # 商业噪音, 无照经营游商, ... (dog keeping: the extension X01)
    fit = IncidentModel.fit(plain, plan)
    assert set(fit.types.index) == {"noise", "dog_keeping", "street_vending"}
    assert fit.unit_intensity is None
    assert len(fit.fit_report.per_grid) == 2


def test_too_small_a_ledger_is_refused(known):
    plan, model, res, ledger = known
    with pytest.raises(DataError, match="fitting needs at least 200"):
        IncidentModel.fit(ledger.head(150), plan)
    with pytest.raises(DataError, match="'type' or 'category'"):
        IncidentModel.fit(pd.DataFrame(ledger.drop(columns=["type", "geometry", "category_id", "category_name"])), plan)


def test_plain_coordinates_give_the_same_fit_as_geometry(known):
    plan, model, res, ledger = known
    plain = pd.DataFrame(ledger.drop(columns="geometry"))
    plain["x"], plain["y"] = ledger.geometry.x.to_numpy(), ledger.geometry.y.to_numpy()
    a = IncidentModel.fit(ledger, plan)
    b = IncidentModel.fit(plain, plan)
    pd.testing.assert_frame_equal(a.unit_intensity, b.unit_intensity)
    assert (
        (b.fit_report.per_type["per_day"] * b.fit_report.params["days"])
        .round()
        .astype(int)
        .equals(b.fit_report.per_type["cases"])
    )


def test_fit_report_round_trips(known, tmp_path):
    from gridplan._fit import FitReport

    plan, model, res, ledger = known
    rep = IncidentModel.fit(ledger, plan).fit_report
    back = FitReport.read_file(rep.to_file(tmp_path / "fit.gpkg"))
    pd.testing.assert_frame_equal(back.per_type, rep.per_type, check_dtype=False)
    pd.testing.assert_frame_equal(back.per_grid, rep.per_grid, check_dtype=False)
    assert back.loop["rework_share"] == pytest.approx(rep.loop["rework_share"])
    assert back.summary().equals(rep.summary())
