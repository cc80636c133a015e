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


def test_console_script_runs():
    res = subprocess.run([sys.executable, "-m", "gridplan.cli", "--help"], capture_output=True, text=True, check=True)
    assert "gridplan" in res.stdout and "demo" in res.stdout
