"""Case ledgers: gridplan.ledger.read_ledger, datasets.sample_ledger, cases as workload and demand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import gridplan
from gridplan import crs as gcrs
from gridplan.datasets import LEDGER_CATEGORIES, sample_ledger
from gridplan.errors import CRSError, DataError
from gridplan.ledger import read_ledger, weigh
from gridplan.units import build_units

from .conftest import SHARED_DATA, needs_shared


@pytest.fixture(scope="module")
def district():
    return gridplan.sample_district(seed=0)


@pytest.fixture(scope="module")
def raw(district):
    return sample_ledger(district, 800, seed=2, broken=0.05)


def test_sample_ledger_is_labelled_synthetic_and_reproducible(district, raw):
    assert raw.attrs["synthetic"] and raw["synthetic"].all()
    assert list(raw.columns[:7]) == ["案件编号", "小类", "案件来源", "上报时间", "结案时间", "经度", "纬度"]
    assert raw.equals(sample_ledger(district, 800, seed=2, broken=0.05))
    assert set(raw["小类"]) <= set(LEDGER_CATEGORIES)


def test_every_row_is_kept_and_bad_rows_say_why(district, raw):
    cases = read_ledger(raw, crs="GCJ-02", district=district)
    assert len(cases) == len(raw) and cases.index.equals(raw.index)
    bad = cases[cases["reason"] != ""]
    assert len(bad) == 40  # 5 % of 800 rows were broken by sample_ledger
    reasons = " ".join(bad["reason"])
    for text in ("coordinates missing", "does not parse", "closed before", "repeats an earlier row"):
        assert text in reasons
    assert (cases.loc[cases["reason"] == "", "weight"] == 1).all() and (bad["weight"] == 0).all()
    assert cases.crs == district.crs
    # independent check of the datum conversion: the usable points, taken back to GCJ-02, are the input
    ok = cases[cases["reason"] == ""].to_crs("EPSG:4326")
    lon, lat = gcrs.wgs84_to_gcj02(ok.geometry.x.to_numpy(), ok.geometry.y.to_numpy())
    src = raw.loc[ok.index, ["经度", "纬度"]].astype(float).to_numpy()
    assert np.allclose(np.column_stack([lon, lat]), src, atol=1e-6)


def test_english_headers_x_y_in_cgcs2000_gauss_kruger(district):
    d = district
    pts = np.asarray(d.population.sample(50, random_state=0).geometry.values)
    frame = pd.DataFrame(
        {
            "Case ID": [f"c{i}" for i in range(50)],
            "Type": "B01",
            "Reported Time": "2024-03-01 10:00",
            "X": shapely.get_x(pts),
            "Y": shapely.get_y(pts),
        }
    )
    cases = read_ledger(frame, crs=d.crs, district=d)
    assert (cases["reason"] == "").all()
    assert np.allclose(shapely.get_coordinates(cases.geometry.values), shapely.get_coordinates(pts), atol=1e-6)


def test_columns_maps_unusual_headers():
    frame = pd.DataFrame({"卷宗": ["a", "b"], "东经": [116.4, 116.41], "北纬": [39.9, 39.91]})
    with pytest.raises(DataError, match="no coordinate columns"):
        read_ledger(frame)
    cases = read_ledger(frame, crs="EPSG:4326", columns={"case_id": "卷宗", "lon": "东经", "lat": "北纬"})
    assert cases["case_id"].tolist() == ["a", "b"] and (cases["reason"] == "").all()
    with pytest.raises(DataError, match="not a header"):
        read_ledger(frame, columns={"case_id": "nope"})
    with pytest.raises(DataError, match="not fields"):
        read_ledger(frame, columns={"identifier": "卷宗"})


def test_unknown_categories_are_reasons_and_weights_follow_categories(raw):
    cases = read_ledger(raw, categories=["A01", "A02", "A03", "B01", "B02"])
    assert cases["reason"].str.contains("'B03' is not in the categories given").sum() == (raw["小类"] == "B03").sum()
    weighted = weigh(cases, {"B01": 3.0})
    usable = weighted["reason"] == ""
    assert weighted.loc[usable & (weighted["category"] == "B01"), "weight"].eq(3.0).all()
    assert weighted.loc[~usable, "weight"].eq(0).all()


def test_no_usable_row_is_an_error():
    frame = pd.DataFrame({"id": ["a", "b"], "lon": ["", "x"], "lat": ["", "y"]})
    with pytest.raises(DataError, match="no usable row"):
        read_ledger(frame, crs="EPSG:4326")


def test_wrong_datum_is_detected_and_named(district):
    raw = sample_ledger(district, 300, seed=4, crs="BD-09", broken=0)
    with pytest.raises(CRSError, match="probably BD-09"):
        read_ledger(raw, crs="EPSG:4326", district=district)
    assert (read_ledger(raw, crs="BD-09", district=district)["reason"] == "").all()


def test_csv_in_gbk_and_excel_round_trip(tmp_path, raw):
    path = tmp_path / "ledger.csv"
    raw.to_csv(path, index=False, encoding="gb18030")
    a = read_ledger(path)
    b = read_ledger(raw)
    assert a["reason"].tolist() == b["reason"].tolist()
    pytest.importorskip("openpyxl")
    xlsx = tmp_path / "ledger.xlsx"
    raw.to_excel(xlsx, index=False)
    assert read_ledger(xlsx)["reason"].tolist() == b["reason"].tolist()


@pytest.mark.slow
def test_cases_per_unit_agree_with_a_spatial_join(district, raw):
    cases = read_ledger(raw, district=district)
    units = build_units(district, workload={"cases": cases})
    ok = cases[cases["reason"] == ""]
    joined = gpd.sjoin(ok, units.frame[["geometry"]], predicate="within")
    assert units.frame["cases"].sum() == len(ok)
    right = "unit" if "unit" in joined.columns else "index_right"
    counts = joined.groupby(right).size().reindex(units.frame.index, fill_value=0)
    # points on a shared edge are within no unit for sjoin; gridplan gives each to one unit
    assert np.abs(units.frame["cases"].to_numpy() - counts.to_numpy()).sum() <= len(ok) - len(joined)
    assert any("rows without a usable point" in n for n in units.notes)


@pytest.mark.slow
def test_workload_must_be_points(district):
    with pytest.raises(DataError, match="GeoDataFrame of points"):
        build_units(district, workload={"cases": pd.DataFrame({"a": [1]})})
    with pytest.raises(DataError, match="computes"):
        build_units(district, workload={"population": gpd.GeoDataFrame(geometry=[], crs=4326)})


@pytest.mark.slow
@needs_shared
def test_real_lixia_boundary_with_a_gcj02_ledger():
    d = gridplan.datasets.real_district("370102", data_dir=SHARED_DATA, seed=0)
    raw = sample_ledger(d, 400, seed=5, crs="GCJ-02", broken=0.02)
    cases = read_ledger(raw, crs="GCJ-02", district=d)
    assert (cases["reason"] == "").sum() == 392
    with pytest.raises(CRSError, match="GCJ-02"):
        read_ledger(raw, crs="BD-09", district=d)


@pytest.mark.slow
def test_posts_where_the_cases_are(district, raw):
    """A ledger is demand for posts: only usable rows count, and the notes say how many were left out."""
    from gridplan.grids import partition
    from gridplan.posts import place_posts

    cases = read_ledger(raw, district=district)
    plan = partition(district, 4, units="communities", seed=0, tolerance=0.3, strict=False)
    posts = place_posts(plan, 8, demand=cases, progress=False)
    assert posts.n_posts == 8
    assert any("40 ledger rows with a reason" in n for n in posts.notes)
    usable = int((cases["reason"] == "").sum())
    assert any(f"{usable} points" in n for n in posts.notes)
