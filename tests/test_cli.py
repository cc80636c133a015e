"""The command line: `gridplan demo` writes what it promises."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import pandas as pd

from gridplan.cli import main
from gridplan.district import District
from gridplan.grids import GridPlan


def test_help_and_version(capsys):
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("gridplan ")


def test_demo_writes_map_tables_and_layers(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--seed", "0", "--quiet"]) == 0
    for name in ("district.png", "district_summary.csv", "communities.csv", "district.gpkg", "README.txt",
                 "grids_12_15.png", "plan_metrics.csv", "redraw_transfers.png", "redraw_transfers.csv",
                 "plan_partition_15.gpkg", "plan_resplit_12_to_15.gpkg", "plan_existing_12.gpkg"):
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
    grids = pd.read_csv(out / "patrol_grids.csv", index_col="code")
    assert (grids["max_length"] >= grids["lower_bound"] - 1e-6).all()


def test_console_script_runs():
    res = subprocess.run([sys.executable, "-m", "gridplan.cli", "--help"], capture_output=True, text=True, check=True)
    assert "gridplan" in res.stdout and "demo" in res.stdout


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
    assert main(["locate", str(tmp_path / "in.csv"), "--grids", str(plan_path), "--crs", "GCJ-02",
                 "--severity", "sev", "--out", str(out), "--chunksize", "700", "-q"]) == 0
    got = pd.read_csv(out, dtype={"grid": str, "community": str})
    assert got["id"].tolist() == list(range(2500))
    expect = GridIndex(sample_plan_15).codes_at(x, y)
    ok = got["reason"].isna()
    assert (got.loc[ok, "grid"].astype(str).to_numpy() == expect[ok.to_numpy()]).all()
    assert got.loc[7, "reason"].startswith("missing") and (got["reason"] == "outside every grid").sum() > 0
    assert set(got.loc[ok, "level"]) == {"grid", "community", "subdistrict"}
    assert main(["locate", str(tmp_path / "missing.csv"), "--grids", str(plan_path), "--out", str(out)]) == 2
