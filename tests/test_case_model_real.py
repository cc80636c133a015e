"""The case model on real data: Xicheng's 15 subdistricts as units of assignment, Chang'an's real roads for 门前三包."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import gridplan
from gridplan._caseflow import CaseLoop, close_loop
from gridplan.catalogue import DeadlineRule, WorkCalendar, load_catalogue
from gridplan.frontage import assign_frontage, sample_frontage_units
from gridplan.locate import GridIndex

from .conftest import SHARED_DATA, needs_shared


@needs_shared
def test_xicheng_cases_assigned_dispatched_closed_and_evaluated():
    subs = gpd.read_file(SHARED_DATA / "xicheng_subdistricts.gpkg")
    index = GridIndex(subs, code="name", overlaps="first")
    rng = np.random.default_rng(0)
    x0, y0, x1, y1 = subs.total_bounds
    n = 3000
    cat = load_catalogue()
    names = cat.table.query("origin == 'standard' and minor_name != ''")["minor_name"].to_numpy(dtype=object)
    cases = pd.DataFrame(
        {
            "lon": rng.uniform(x0, x1, n),
            "lat": rng.uniform(y0, y1, n),
            "category": names[rng.integers(0, len(names), n)],
            "severity": rng.choice(["small", "larger", "hard"], n, p=[0.8, 0.17, 0.03]),
            "reported": pd.Timestamp("2026-09-25") + pd.to_timedelta(rng.random(n) * 20 * 86400, unit="s"),
        }
    )
    cal = WorkCalendar(holidays=["2026-10-01/2026-10-07"], workdays=["2026-09-27", "2026-10-10"])
    out = index.assign(
        cases, x="lon", y="lat", crs="EPSG:4326", severity="severity", time="reported", category="category", calendar=cal
    )
    inside = out["grid"].notna()
    assert 0.3 < inside.mean() < 1.0 and out["category_id"].notna().all()
    assert (out["department"] != "").all()
    # every deadline lies after the report, on a working minute, and the working time between them is the limit
    dl = pd.DatetimeIndex(out["deadline"])
    minutes = cal.between(out["reported"], dl)
    own = out["limit_rule"] == "category"
    expect = np.where(own, np.nan, np.select([out["severity"] == "small", out["severity"] == "larger"], [1, 2], 3) * 480)
    assert np.allclose(minutes[~own], expect[~own])
    value = cat.column(out["category_id"].to_numpy(dtype=object), "limit_value").astype(float)
    unit = cat.column(out["category_id"].to_numpy(dtype=object), "limit_unit")
    per = np.where(unit == "work_hours", 60.0, 480.0)
    assert own.any() and np.allclose(minutes[own], (value * per)[own])
    assert cal.is_working_day(dl).all()
    # the closed loop and the evaluation per subdistrict
    led = pd.DataFrame(
        {
            "type": out["category_id"],
            "source": "hotline_12345",
            "severity": out["severity"],
            "grid": out["grid"].fillna("outside"),
            "community": out["grid"].fillna("outside"),
            "occurred": out["reported"],
            "discovered": out["reported"],
        }
    )
    led = close_loop(
        led, loop=CaseLoop(calendar=cal, rule=DeadlineRule(mode="working")), start=pd.Timestamp("2026-09-25"), seed=0
    )
    ev = gridplan.evaluate(led[led["grid"] != "outside"], by="grid", period=None, min_cases=20, red=3, black=3)
    assert set(ev.table.index.get_level_values("grid")) <= set(subs["name"])
    assert ev.table["reported"].sum() == inside.sum()
    assert (ev.table["flag"] == "red").sum() == 3 and (ev.table["flag"] == "black").sum() == 3


@needs_shared
def test_frontage_on_changan_real_roads():
    roads = gpd.read_file(SHARED_DATA / "changan_roads.gpkg")
    metric = roads.to_crs(gridplan.crs.metric_crs(roads))
    metric = metric[metric.geometry.length > 30].reset_index(drop=True)
    shops = sample_frontage_units(metric, 300, seed=1)
    front = assign_frontage(shops, metric, frontage_m=20)
    g = front.units.geometry.dropna()
    assert len(g) == 300
    lines = np.asarray(g.values)
    tree = shapely.STRtree(lines)
    a, b = tree.query(lines, predicate="intersects")
    pairs = a < b
    assert shapely.length(shapely.intersection(lines[a[pairs]], lines[b[pairs]])).max(initial=0.0) < 1e-6
