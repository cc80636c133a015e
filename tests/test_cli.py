"""The command line: `gridplan demo` writes what it promises."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest

from gridplan.cli import DEMO_POSTS_SECONDS, _locate_counts, main
from gridplan.district import District
from gridplan.grids import GridPlan
from gridplan.posts import Posts


def test_help_and_version(capsys):
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("gridplan ")


@pytest.mark.slow
def test_demo_writes_map_tables_and_layers(tmp_path):
    out = tmp_path / "demo"
    # a quicker patrol search and fewer simulated weeks than the default, to keep CI short
    assert main(["demo", "--out", str(out), "--seed", "0", "--effort", "0.2", "--runs", "10", "--quiet"]) == 0
    for name in (
        "district.png",
        "district_summary.csv",
        "communities.csv",
        "district.gpkg",
        "README.txt",
        "grids_12_15.png",
        "plan_metrics.csv",
        "redraw_transfers.png",
        "redraw_transfers.csv",
        "plan_partition_15.gpkg",
        "plan_resplit_12_to_15.gpkg",
        "plan_existing_12.gpkg",
    ):
        assert (out / name).stat().st_size > 0, name
    summary = pd.read_csv(out / "district_summary.csv", index_col="fact")["value"]
    assert summary["streets_are"] == "synthetic"
    assert int(summary["existing_grids"]) == 12
    d = District.read_file(out / "district.gpkg")
    assert d.synthetic and len(d.grids) == 12
    assert len(pd.read_csv(out / "communities.csv")) == len(d.communities)
    assert gpd.read_file(out / "district.gpkg", layer="grids").crs == d.crs
    metrics = pd.read_csv(out / "plan_metrics.csv", index_col="plan")
    assert list(metrics.index) == ["existing_12", "partition_15", "resplit_12_to_15"]
    assert metrics["contiguous"].all()
    assert metrics.loc["partition_15", "balance_max"] <= 1.03 and metrics.loc["resplit_12_to_15", "balance_max"] <= 1.05
    plan = GridPlan.read_file(out / "plan_resplit_12_to_15.gpkg")
    assert plan.n_grids == 15 and plan.params["previous_n_grids"] == 12
    # patrols: two chiefs per grid, every street of every grid walked by one of its chiefs
    for name in ("patrols.png", "patrols.gpkg", "patrol_grids.csv", "patrol_frequency.csv"):
        assert (out / name).stat().st_size > 0, name
    routes = gpd.read_file(out / "patrols.gpkg", layer="routes")
    edges = gpd.read_file(out / "patrols.gpkg", layer="edges")
    assert len(routes) == 30 and set(routes["grid"]) == set(plan.grids["code"])
    inside = edges[edges["grid"].notna()]
    assert inside["chief"].notna().all() and (inside["chief"].str.split("-R").str[0] == inside["grid"]).all()
    # patrol-aware grids (issue 20): street length balanced too, the walks come out balanced across grids
    walks = pd.read_csv(out / "patrol_balance.csv", index_col="plan")["longest_over_shortest"]
    assert walks.iloc[1] <= 1.3 < walks.iloc[0]
    grids = pd.read_csv(out / "patrol_grids.csv", index_col="code")
    assert (grids["max_length"] >= grids["lower_bound"] - 1e-6).all()
    codes = set(plan.grids["code"])
    # posts: 42 key posts, at least one per grid, one liaison station per community, and their coverage
    for name in ("posts.png", "coverage.png", "posts.gpkg", "posts.csv", "coverage_grids.csv", "coverage_communities.csv"):
        assert (out / name).stat().st_size > 0, name
    posts = Posts.read_file(out / "posts.gpkg", streets=d)
    assert posts.n_posts == 42 and posts.n_stations == len(d.communities)
    table = pd.read_csv(out / "posts.csv", index_col="post", dtype={"grid": str, "community": str})
    assert len(table) == 42 + len(d.communities) and set(table["kind"]) == {"post", "station"}
    own = table[table["kind"] == "post"]
    assert set(own["grid"]) == codes  # every grid has a post
    assert sorted(table.loc[table["kind"] == "station", "community"]) == sorted(d.communities["code"])
    # the demo's posts stop at DEMO_POSTS_SECONDS: proven within mip_gap, or stopped there with a finite gap said
    status, gap = posts.params["status"], posts.params["gap"]
    assert status in ("optimal", "within_gap", "time_limit") and 0 <= gap < 1
    assert status == "time_limit" or gap <= posts.params["mip_gap"] + 1e-12
    assert posts.params["time_limit"] == DEMO_POSTS_SECONDS
    cover = pd.read_csv(out / "coverage_grids.csv", index_col="grid", dtype={"grid": str})
    assert set(cover.index) == codes and cover["share"].between(0, 1).all()
    assert cover["covered"].sum() == pytest.approx(own["demand_served"].sum())
    assert cover["covered"].sum() / cover["demand"].sum() > 0.99
    assert pd.read_csv(out / "coverage_communities.csv")["demand"].sum() == pytest.approx(cover["demand"].sum())
    # staffing: "1+2+2" in every grid on early/middle/late shifts, nobody twice, nobody lost
    for name in (
        "staffing.png",
        "staffing_assignments.csv",
        "staffing_teams.csv",
        "staffing_vacancies.csv",
        "staffing_unassigned.csv",
        "staffing_shifts.csv",
    ):
        assert (out / name).stat().st_size > 0, name
    a = pd.read_csv(out / "staffing_assignments.csv", dtype={"grid": str})
    un = pd.read_csv(out / "staffing_unassigned.csv")
    assert a["id"].is_unique and not set(a["id"]) & set(un["id"]) and len(a) + len(un) == 98
    teams = pd.read_csv(out / "staffing_teams.csv", index_col="grid", dtype={"grid": str})
    vac = pd.read_csv(out / "staffing_vacancies.csv", dtype={"grid": str})
    assert set(teams.index) == codes and set(a["grid"]) <= codes
    assert int(teams["missing"].sum()) == (int(vac["missing"].sum()) if len(vac) else 0)
    full = teams.index[teams["complete"]]
    assert (
        (a[a["grid"].isin(full)].groupby("grid")["role"].value_counts().unstack()[["leader", "officer", "worker"]] == [1, 2, 2])
        .all()
        .all()
    )
    assert a.loc[a["role"] == "leader", "party_member"].all()
    officers = a[a["role"] == "officer"]
    assert not officers.duplicated(["grid", "shift"]).any()  # the two officers of a grid on different shifts
    assert a["post_id"].isin(own.index).all() and (own.loc[a["post_id"], "grid"].to_numpy() == a["grid"]).all()
    shifts = pd.read_csv(out / "staffing_shifts.csv", index_col=[0, 1], dtype={"grid": str})
    assert len(shifts) == 15 * 3 and list(shifts.columns) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    # the 12 vs 15 simulation and the report
    for name in (
        "simulation_comparison.csv",
        "simulation_existing_12_grids.csv",
        "simulation_redrawn_15_grids.csv",
        "simulation_12_15.png",
        "report.html",
    ):
        assert (out / name).stat().st_size > 0, name
    cmp = pd.read_csv(out / "simulation_comparison.csv", index_col="kpi")
    assert {"compliance_7min", "compliance_1d", "compliance_deadline", "face_to_face_min"} <= set(cmp.index)
    assert cmp["A"].notna().all() and cmp["B"].notna().all()
    assert cmp.loc["compliance_7min", ["A", "B"]].between(0, 1).all()
    sim15 = pd.read_csv(out / "simulation_redrawn_15_grids.csv", index_col="grid", dtype={"grid": str})
    assert set(sim15.index) == codes
    assert len(pd.read_csv(out / "simulation_existing_12_grids.csv")) == 12
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "compliance_7min" in html or "7min" in html
    # the saved staffing and simulation feed `gridplan report`
    for name in ("staffing.gpkg", "simulation_existing_12.gpkg", "simulation_redrawn_15.gpkg"):
        assert (out / name).stat().st_size > 0, name
    assert (
        main(
            [
                "report",
                str(out / "plan_resplit_12_to_15.gpkg"),
                "--staffing",
                str(out / "staffing.gpkg"),
                "--simulation",
                str(out / "simulation_redrawn_15.gpkg"),
                "--out",
                str(tmp_path / "r.html"),
                "-q",
            ]
        )
        == 0
    )
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert '<section id="staffing">' in page and '<section id="simulation">' in page
    readme = (out / "README.txt").read_text(encoding="utf-8")
    for word in (
        "posts (42 key posts",
        "coverage:",
        "staffing ('1+2+2'",
        "staffing_shifts.csv",
        "posts.gpkg",
        "simulation (",
        "report.html",
    ):
        assert word in readme, word


def test_console_script_runs():
    res = subprocess.run([sys.executable, "-m", "gridplan.cli", "--help"], capture_output=True, text=True, check=True)
    assert "gridplan" in res.stdout and "demo" in res.stdout


@pytest.mark.slow
def test_locate_streams_a_csv_in_chunks(tmp_path, sample_plan_15):
    import numpy as np

    from gridplan import crs as gcrs
    from gridplan.locate import GridIndex

    plan_path = tmp_path / "plan.gpkg"
    sample_plan_15.to_file(plan_path)
    rng = np.random.default_rng(0)
    xmin, ymin, xmax, ymax = sample_plan_15.grids.total_bounds
    x, y = rng.uniform(xmin - 500, xmax + 500, 2500), rng.uniform(ymin - 500, ymax + 500, 2500)
    lon, lat = gcrs.wgs84_to_gcj02(*gcrs.to_wgs84(x, y, sample_plan_15.crs))
    df = pd.DataFrame({"id": range(2500), "lng": lon, "lat": lat, "sev": rng.choice([1, 2, 3], 2500)})
    df.loc[7, "lng"] = None
    df.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.csv"
    assert (
        main(
            [
                "locate",
                str(tmp_path / "in.csv"),
                "--grids",
                str(plan_path),
                "--crs",
                "GCJ-02",
                "--severity",
                "sev",
                "--out",
                str(out),
                "--chunksize",
                "700",
                "-q",
            ]
        )
        == 0
    )
    got = pd.read_csv(out, dtype={"grid": str, "community": str})
    assert got["id"].tolist() == list(range(2500))
    expect = GridIndex(sample_plan_15).codes_at(x, y)
    ok = got["reason"].isna()
    assert (got.loc[ok, "grid"].astype(str).to_numpy() == expect[ok.to_numpy()]).all()
    assert got.loc[7, "reason"].startswith("missing") and (got["reason"] == "outside every grid").sum() > 0
    assert set(got.loc[ok, "level"]) == {"grid", "community", "subdistrict"}
    # the summary counts every row outside, also those whose severity is unknown as well
    index = GridIndex(sample_plan_15)
    odd = df.assign(sev=np.where(np.arange(2500) % 2 == 0, "no such level", df["sev"].astype(str)))
    routed = index.assign(odd, x="lng", y="lat", crs="GCJ-02", severity="sev")
    counts = _locate_counts(routed)
    truly_outside = int(((index.codes_at(x, y) == None) & df["lng"].notna().to_numpy()).sum())  # noqa: E711
    assert counts["outside"] == truly_outside > 0
    assert counts["rows"] == 2500 and counts["located"] + counts["outside"] + 1 == 2500
    assert counts["flagged"] == int(routed["reason"].notna().sum()) > counts["outside"]
    assert main(["locate", str(tmp_path / "missing.csv"), "--grids", str(plan_path), "--out", str(out)]) == 2
