"""Reliability: every probe of the bad-input audit (issue 18), replayed.

Each test names the probe class it belongs to (saves, files, cli, times, units, parameters, drops,
batches); ``benchmarks/RELIABILITY.md`` counts them. The hypothesis fuzzing of the public API's
arguments and of saved files is in ``tests/test_reliability_fuzz.py``.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridplan import District, _io
from gridplan.cli import main
from gridplan.errors import (
    CRSError,
    DataError,
    GridplanError,
    GridplanWarning,
    InfeasibleError,
    LayerNotFoundError,
)
from gridplan.grids import GridPlan, partition
from gridplan.locate import GridIndex

from .conftest import metric_layers


@pytest.fixture(scope="module")
def town() -> District:
    return District.from_frames(**metric_layers())


@pytest.fixture(scope="module")
def plan(town) -> GridPlan:
    return partition(town, 3, seed=0)


def _same_plan(a: GridPlan, b: GridPlan) -> None:
    pd.testing.assert_frame_equal(pd.DataFrame(a.grids.drop(columns="geometry")), pd.DataFrame(b.grids.drop(columns="geometry")))
    assert list(a.units["grid"]) == list(b.units["grid"])


# ----------------------------------------------------------------------------------------- saves
def test_saves_failed_save_keeps_the_old_file(tmp_path, plan):
    path = plan.to_file(tmp_path / "plan.gpkg")
    before = path.read_bytes()
    bad = partition(plan.district, 3, seed=0)
    bad.grids["pair"] = [(1, 2)] * len(bad.grids)  # tuples: a GeoPackage cannot hold them
    with pytest.raises(DataError, match="'pair'"):
        bad.to_file(path)
    assert path.read_bytes() == before
    _same_plan(GridPlan.read_file(path), plan)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.gpkg"]  # no temporary left behind


def test_saves_interrupted_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("last good")

    def half(tmp: Path) -> None:
        tmp.write_text("half writ")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _io.atomic_write(target, half)
    assert target.read_text() == "last good"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_saves_verification_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")

    def verify(tmp: Path) -> None:
        raise DataError("read back differs")

    with pytest.raises(DataError, match="differs"):
        _io.atomic_write(target, lambda tmp: tmp.write_text("new"), verify=verify)
    assert target.read_text() == "old"


def test_saves_unwritable_place_is_a_data_error(tmp_path, plan):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="cannot create the folder"):
        plan.to_file(blocker / "plan.gpkg")  # the "folder" is a file
    (tmp_path / "dir.gpkg").mkdir()
    with pytest.raises(DataError, match="is a folder"):
        plan.to_file(tmp_path / "dir.gpkg")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file permissions")
def test_saves_permission_error_keeps_the_old_file(tmp_path, plan):
    path = plan.to_file(tmp_path / "plan.gpkg")
    before = path.read_bytes()
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(DataError, match="cannot write"):
            plan.to_file(path)
    finally:
        tmp_path.chmod(0o700)
    assert path.read_bytes() == before


def test_saves_exports_are_atomic(tmp_path, plan):
    for name in ("grids.geojson", "grids.shp"):
        path = plan.to_file(tmp_path / name)
        assert len(gpd.read_file(path)) == plan.n_grids
    assert not [p for p in tmp_path.iterdir() if "gridplan-tmp" in p.name]


# ----------------------------------------------------------------------------------------- files
COLUMNS = {
    "fid": lambda n: np.arange(n) * 7,
    "FID": lambda n: np.arange(n),
    "Name_case": lambda n: [f"a{i}" for i in range(n)],
    "name_CASE": lambda n: np.arange(n) * 1.5,
    "cat_int": lambda n: pd.Categorical(np.arange(n) % 2),
    "cat_str": lambda n: pd.Categorical(["甲", "乙", "丙"] * n)[:n],
    "ns": lambda n: pd.Timestamp("2026-03-02 08:00:00.000000001") + pd.to_timedelta(np.arange(n), "ns"),
    "tz": lambda n: pd.date_range("2026-03-02 08:00", periods=n, freq="37s", tz="Asia/Shanghai"),
    "td": lambda n: pd.to_timedelta(np.arange(n) * 1001, "us"),
    "mixed": lambda n: pd.Series(([1, "a", 2.5, None, True] * n)[:n], dtype=object),
    "object_text": lambda n: pd.Series(([None, "甲", "b"] * n)[:n], dtype=object),  # text kept as object, not str
    "nullable_int": lambda n: pd.array(([2**60, None, -3] * n)[:n], dtype="Int64"),
    "big_uint": lambda n: np.array(([2**64 - 1, 0, 5] * n)[:n], dtype="uint64"),
    "boolean": lambda n: pd.array(([True, None, False] * n)[:n], dtype="boolean"),
    "int8": lambda n: np.arange(n, dtype="int8"),
    "float32": lambda n: np.linspace(0, 1, n, dtype="float32"),
}


@pytest.mark.slow
@pytest.mark.parametrize("column", list(COLUMNS))
def test_files_every_column_type_round_trips(tmp_path, plan, column):
    p = partition(plan.district, 3, seed=0)
    p.grids[column] = COLUMNS[column](len(p.grids))
    back = GridPlan.read_file(p.to_file(tmp_path / "plan.gpkg"))
    pd.testing.assert_series_equal(back.grids[column], p.grids[column], check_exact=True)
    assert list(back.grids.columns) == list(p.grids.columns)


def test_files_every_result_class_round_trips(tmp_path, plan):
    from gridplan.datasets import sample_roster
    from gridplan.posts import Posts, place_posts
    from gridplan.report import read_simulation
    from gridplan.simulate import simulate
    from gridplan.staffing import Staffing, assign_staff

    d = District.read_file(plan.district.to_file(tmp_path / "d.gpkg"))
    for k in ("boundary", "streets", "communities", "population", "grids"):
        pd.testing.assert_frame_equal(getattr(d, k), getattr(plan.district, k))
    p2 = GridPlan.read_file(plan.to_file(tmp_path / "p.gpkg", district=True))
    _same_plan(p2, plan)
    assert p2.district is not None and len(p2.district.streets) == len(plan.district.streets)
    posts = place_posts(plan, 4, seed=0, progress=False)
    back = Posts.read_file(posts.to_file(tmp_path / "posts.gpkg"))
    pd.testing.assert_frame_equal(back.posts, posts.posts)
    staff = assign_staff(plan, sample_roster(plan, seed=0), posts=posts, seed=0)
    sback = Staffing.read_file(staff.to_file(tmp_path / "staff.gpkg"))
    pd.testing.assert_frame_equal(sback.teams, staff.teams)
    pd.testing.assert_frame_equal(sback.assignments, staff.assignments)
    sim = simulate(plan, posts=posts, staffing=staff, days=1, runs=2, seed=0, progress=False)
    saved = read_simulation(sim.to_file(tmp_path / "sim.gpkg"))
    pd.testing.assert_frame_equal(saved.summary(), sim.summary())
    pd.testing.assert_frame_equal(saved.incidents, sim.incidents)


def _sql(path: Path, statement: str) -> None:
    """Edit a GeoPackage as a desktop tool would (its spatial-index triggers need SpatiaLite: dropped first)."""
    with sqlite3.connect(path) as con:
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            con.execute(f'DROP TRIGGER "{name}"')
        con.execute(statement)


def test_files_grid_row_deleted_is_refused(tmp_path, plan):
    path = plan.to_file(tmp_path / "plan.gpkg")
    _sql(path, "DELETE FROM grids WHERE fid = (SELECT MIN(fid) FROM grids)")
    with pytest.raises(DataError, match="grids.*rows"):
        GridPlan.read_file(path)


def test_files_units_referring_to_missing_grids_are_refused(tmp_path, plan):
    path = plan.to_file(tmp_path / "plan.gpkg")
    _sql(path, "UPDATE units SET grid = 'NOPE' WHERE fid = 1")
    with pytest.raises(DataError, match="disagree.*NOPE"):
        GridPlan.read_file(path)


def test_files_missing_layer_is_layer_not_found(tmp_path, plan):
    path = plan.to_file(tmp_path / "plan.gpkg")
    with pytest.raises(LayerNotFoundError, match="nope"):
        _io.read_layer(path, "nope")
    with pytest.raises(LayerNotFoundError, match="nope"):
        District.from_file(path, layers={"boundary": "nope"})
    _sql(path, "DROP TABLE adjacency")
    _sql(path, "DELETE FROM gpkg_contents WHERE table_name = 'adjacency'")
    with pytest.raises(LayerNotFoundError, match="adjacency"):
        GridPlan.read_file(path)


def test_files_truncated_corrupted_and_foreign_files(tmp_path, plan):
    good = plan.to_file(tmp_path / "plan.gpkg").read_bytes()
    cases = {
        "truncated.gpkg": good[: len(good) // 3],
        "empty.gpkg": b"",
        "noise.gpkg": bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)),
        "text.gpkg": b"code,x\nA,1\n",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataError):
            GridPlan.read_file(tmp_path / name)
    meta = tmp_path / "meta.gpkg"
    meta.write_bytes(good)
    _sql(meta, "UPDATE gridplan_meta SET value = '{not json'")
    with pytest.raises(DataError, match="damaged"):
        GridPlan.read_file(meta)
    with pytest.raises(DataError, match="holds a gridplan 'GridPlan'"):
        District.read_file(tmp_path / "plan.gpkg")
    with pytest.raises(DataError, match="does not exist"):
        GridPlan.read_file(tmp_path / "missing.gpkg")


# ----------------------------------------------------------------------------------------- cli
@pytest.fixture
def cli_files(tmp_path, plan):
    plan.to_file(tmp_path / "plan.gpkg")
    rng = np.random.default_rng(0)
    b = plan.grids.total_bounds
    frame = pd.DataFrame(
        {"id": range(30), "x": rng.uniform(b[0], b[2], 30), "y": rng.uniform(b[1], b[3], 30), "备注": ["路灯损坏"] * 30}
    )
    return tmp_path, frame


def _locate(folder: Path, *extra: str) -> int:
    return main(
        ["locate", str(folder / "in.csv"), "--grids", str(folder / "plan.gpkg"), "--out", str(folder / "out.csv"), "-q", *extra]
    )


def test_cli_out_equal_to_input_is_refused(cli_files, capsys):
    folder, frame = cli_files
    frame.to_csv(folder / "in.csv", index=False)
    before = (folder / "in.csv").read_bytes()
    assert (
        main(
            ["locate", str(folder / "in.csv"), "--grids", str(folder / "plan.gpkg"), "--out", str(folder / "." / "in.csv"), "-q"]
        )
        == 2
    )
    assert (
        main(["locate", str(folder / "in.csv"), "--grids", str(folder / "plan.gpkg"), "--out", str(folder / "plan.gpkg"), "-q"])
        == 2
    )
    assert (folder / "in.csv").read_bytes() == before
    assert "destroy the input" in capsys.readouterr().err
    assert main(["report", str(folder / "plan.gpkg"), "--out", str(folder / "plan.gpkg"), "-q"]) == 2


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig"])
def test_cli_chinese_encodings(cli_files, encoding):
    folder, frame = cli_files
    frame.to_csv(folder / "in.csv", index=False, encoding=encoding)
    assert _locate(folder) == 0
    out = pd.read_csv(folder / "out.csv")
    assert len(out) == 30 and (out["备注"] == "路灯损坏").all()


def test_cli_explicit_encoding_and_unknown_encoding(cli_files):
    folder, frame = cli_files
    frame.to_csv(folder / "in.csv", index=False, encoding="big5", errors="replace")
    assert _locate(folder, "--encoding", "big5") == 0
    assert _locate(folder, "--encoding", "klingon") == 2


def test_cli_bad_csvs_are_one_line_exit_2(cli_files, capsys):
    folder, frame = cli_files
    (folder / "in.csv").write_text("id,x,y\n1,2,3\n4,5,6,7,8\n")
    assert _locate(folder) == 2
    (folder / "in.csv").write_text("")
    assert _locate(folder) == 2
    frame.to_csv(folder / "in.csv", index=False)
    assert _locate(folder, "--chunksize", "0") == 2
    assert _locate(folder, "--x", "x") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("gridplan: error:") for line in err), err
    assert "Traceback" not in "".join(err)


@pytest.mark.slow
def test_cli_header_only_and_all_zero_batches(cli_files):
    folder, frame = cli_files
    frame.iloc[:0].to_csv(folder / "in.csv", index=False)
    assert _locate(folder) == 0
    assert len(pd.read_csv(folder / "out.csv")) == 0
    zero = frame.assign(x=0.0, y=0.0)
    mixed = pd.concat([zero.iloc[:10], frame.iloc[10:]], ignore_index=True)
    mixed.to_csv(folder / "in.csv", index=False)
    results = []
    for chunk in ("5", "10", "1000"):  # the same file, whatever the chunks
        assert _locate(folder, "--chunksize", chunk) == 0
        results.append(pd.read_csv(folder / "out.csv", dtype=str))
    for r in results[1:]:
        pd.testing.assert_frame_equal(r, results[0])
    out = results[0]
    assert len(out) == 30 and out["reason"].iloc[:10].str.contains("0, 0").all()


def test_cli_unexpected_errors_are_one_line_and_verbose_shows_the_traceback(cli_files, capsys, monkeypatch):
    folder, frame = cli_files
    frame.to_csv(folder / "in.csv", index=False)
    import gridplan.locate

    def boom(*args, **kwargs):
        raise ZeroDivisionError("deep inside")

    monkeypatch.setattr(gridplan.locate.GridIndex, "assign", boom)
    assert _locate(folder) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ZeroDivisionError: deep inside" in err
    assert _locate(folder, "--verbose") == 2
    assert "Traceback" in capsys.readouterr().err
    assert not (folder / "out.csv").exists()  # nothing half-written


def test_cli_usage_errors_exit_2_in_one_line(capsys):
    assert main(["locate"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gridplan: error:")


# ----------------------------------------------------------------------------------------- times
def test_times_with_zones_are_converted_and_said(plan):
    index = GridIndex(plan)
    x, y = plan.grids.geometry.iloc[0].representative_point().xy
    inc = pd.DataFrame(
        {
            "x": [x[0]] * 5,
            "y": [y[0]] * 5,
            "t": ["2026-03-02T08:00:00+08:00", "2026-03-02T00:00:00Z", "2026-03-02 08:00", "soon", None],
        }
    )
    out = index.assign(inc, time="t")
    assert list(out["respond_by"].iloc[:3]) == [pd.Timestamp("2026-03-02 08:07")] * 3
    assert "2 report times" in out.attrs["notes"][0]
    assert out["reason"].iloc[3] == "unparseable time 'soon'" and out["reason"].iloc[4] == "missing time"
    assert out["grid"].notna().all()  # a bad time does not lose the grid
    aware = inc.iloc[:1].assign(t=pd.to_datetime(["2026-03-02 00:00"]).tz_localize("UTC"))
    assert index.assign(aware, time="t")["deadline"].iloc[0] == pd.Timestamp("2026-03-03 08:00")
    urumqi = index.assign(inc.iloc[:1], time="t", timezone="Asia/Urumqi")
    assert urumqi["respond_by"].iloc[0] == pd.Timestamp("2026-03-02 06:07")
    with pytest.raises(DataError, match="timezone"):
        index.assign(inc, time="t", timezone="Mars/Olympus")


def test_times_simulate_beyond_the_calendar_is_refused_up_front(plan):
    from gridplan.simulate import simulate

    with pytest.raises(DataError, match="at most"):  # refused before any work (it used to fail after all of it)
        simulate(plan, staffing="sample", days=100_000, runs=1, progress=False)
    with pytest.raises(DataError, match="start"):
        simulate(plan, staffing="sample", days=1, runs=1, start="not a date", progress=False)


# ----------------------------------------------------------------------------------------- units
def test_units_lonlat_homes_without_crs_are_refused(plan):
    from gridplan.staffing import assign_staff

    roster = pd.DataFrame(
        {
            "id": ["a", "b"],
            "role": ["leader", "officer"],
            "party_member": [True, False],
            "x": [107.21, 107.22],
            "y": [26.56, 26.57],
        }
    )
    with pytest.raises(CRSError, match="lon/lat"):
        assign_staff(plan, roster, model="1+1", distance="euclidean")


def test_units_crs_that_cannot_be_true(town):
    layers = metric_layers()
    lonlat = gpd.GeoDataFrame(geometry=[shapely.box(107.20, 26.55, 107.24, 26.58)], crs=4545)  # degrees tagged metres
    with pytest.raises(CRSError, match="look like lon/lat"):
        District.from_frames(lonlat)
    metres = layers["boundary"].set_crs(4326, allow_override=True)  # metres tagged degrees
    with pytest.raises(CRSError, match="look like metres"):
        District.from_frames(metres)
    with pytest.raises(CRSError, match="US survey foot|foot"):
        District.from_frames(layers["boundary"], metric_crs="EPSG:2227")  # California, US feet
    with pytest.raises(CRSError, match="not a projected CRS"):
        District.from_frames(layers["boundary"], metric_crs="EPSG:4326")


def _two_part_town() -> District:
    layers = metric_layers()

    def moved(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        out = frame.copy()
        out.geometry = frame.geometry.translate(200_000, 0)  # 200 km east
        return out

    both = {k: pd.concat([v, moved(v)], ignore_index=True) for k, v in layers.items() if k != "grids"}
    both["boundary"] = gpd.GeoDataFrame(geometry=[shapely.MultiPolygon(list(both["boundary"].geometry))], crs=4545)
    both["communities"]["code"] = [f"99019900100{i}" for i in range(4)]
    return District.from_frames(**both)


def test_units_multipart_district_partitioned_part_by_part():
    d = _two_part_town()
    parts = list(shapely.get_parts(d.shape))
    for n in (2, 4):
        p = partition(d, n, seed=0)
        assert bool(p.metrics()["contiguous"])
        for g in p.grids.geometry:  # independent oracle: every grid lies inside exactly one part
            assert sum(part.buffer(1).covers(g) for part in parts) == 1
        assert any("km apart" in note for note in p.notes)
    with pytest.raises(InfeasibleError, match="at least 2 grids"):
        partition(d, 1, seed=0)


# ----------------------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("seed", [-1, 1.5, "abc", True, np.int64(-1)])
def test_parameters_bad_seeds_are_data_errors(plan, seed):
    from gridplan.datasets import sample_roster
    from gridplan.posts import place_posts
    from gridplan.routes import balance_routes

    for call in (
        lambda: partition(plan.district, 3, seed=seed),
        lambda: balance_routes(plan, seed=seed, progress=False),
        lambda: place_posts(plan, 4, seed=seed, progress=False),
        lambda: sample_roster(plan, seed=seed),
    ):
        with pytest.raises(DataError, match="seed"):
            call()


def test_parameters_seed_none_and_seed_sequence(plan):
    from gridplan.routes import balance_routes

    drawn = partition(plan.district, 3, seed=None)
    again = partition(plan.district, 3, seed=drawn.params["seed"])  # the recorded seed reproduces it
    _same_plan(drawn, again)
    ss = np.random.SeedSequence(42)
    _same_plan(partition(plan.district, 3, seed=ss), partition(plan.district, 3, seed=np.random.SeedSequence(42)))
    assert balance_routes(plan, seed=None, progress=False, effort=0.05).n_routes == 2 * plan.n_grids


def test_parameters_tolerance_limits_and_enums(plan):
    from gridplan.routes import balance_routes

    with pytest.raises(DataError, match="tolerance"):
        partition(plan.district, 3, tolerance="abc")
    with pytest.raises(DataError, match="time_limit"):
        balance_routes(plan, time_limit=-1, progress=False)
    with pytest.raises(DataError, match="'raise', 'largest'.*did you mean 'largest'"):
        balance_routes(plan, components="larges", progress=False)
    with pytest.raises(DataError, match="method"):
        partition(plan.district, 3, method="metsi")
    with pytest.raises(DataError, match="x= and y= go together"):
        GridIndex(plan).assign(pd.DataFrame({"lon": [1.0], "lat": [2.0], "e": [1.0]}), x="e")


def test_parameters_zero_length_streets_are_network_errors():
    from gridplan.errors import NetworkError
    from gridplan.routes import balance_routes

    lines = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (0, 0)])] * 3, crs=4545)
    with pytest.raises(NetworkError):
        balance_routes(lines, 2, progress=False)


# ----------------------------------------------------------------------------------------- drops
def test_drops_incidents_outside_are_noted(town):
    from gridplan.units import build_units

    b = town.boundary.total_bounds
    inc = gpd.GeoDataFrame(geometry=shapely.points([b[0] + 10, b[2] + 5000], [b[1] + 10, b[3] + 5000]), crs=town.crs)
    u = build_units(town, "cells", incidents=inc, cell_size=1000)
    assert u.frame["incidents"].sum() == 1
    assert any("1 of 2 lie outside" in n for n in u.notes)


def test_drops_misspelt_population_column_is_refused():
    layers = metric_layers()
    with pytest.raises(DataError, match="did you mean 'population'"):
        District.from_frames(**layers, population_column="populaton")


def test_drops_too_many_sample_communities_refused_quickly():
    from gridplan.datasets import sample_district

    with pytest.raises(InfeasibleError, match="at most"):
        sample_district(n_communities=5000)


def test_drops_duplicate_existing_grid_codes_caught_at_input():
    layers = metric_layers()
    layers["grids"]["code"] = ["G1", "G1"]
    with pytest.raises(DataError, match="must be present and unique: rows 0, 1"):
        District.from_frames(**layers)


# ----------------------------------------------------------------------------------------- batches
@pytest.mark.slow
@pytest.mark.parametrize("batch", ["outside", "nan", "empty", "zero", "mixed_zero"])
def test_batches_keep_every_row_with_a_reason(plan, batch):
    index = GridIndex(plan)
    b = plan.grids.total_bounds
    frames = {
        "outside": pd.DataFrame({"x": [b[2] + 1e4] * 3, "y": [b[3] + 1e4] * 3}),
        "nan": pd.DataFrame({"x": [np.nan] * 3, "y": [np.nan] * 3}),
        "empty": pd.DataFrame({"x": pd.Series([], dtype=float), "y": pd.Series([], dtype=float)}),
        "zero": pd.DataFrame({"x": [0.0] * 3, "y": [0.0] * 3}),
        "mixed_zero": pd.DataFrame({"x": [0.0, np.nan, b[2] + 1e4], "y": [0.0, 1.0, b[3]]}),
    }
    inc = frames[batch].assign(id=lambda f: range(len(f)))
    out = index.assign(inc)
    assert len(out) == len(inc) and list(out["id"]) == list(inc["id"])
    assert out["grid"].isna().all() and out["reason"].notna().all()


def test_batches_real_lonlat_near_china_still_refused(plan):
    with pytest.raises(CRSError, match="lon/lat"):
        GridIndex(plan).assign(pd.DataFrame({"x": [107.21, 0.0], "y": [26.56, 0.0]}))


def test_cli_console_script_error_exit_code(tmp_path):
    """The installed entry point, not just main(): exit status 2 and one line on stderr."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gridplan.cli",
            "locate",
            str(tmp_path / "none.csv"),
            "--grids",
            str(tmp_path / "none.gpkg"),
            "--out",
            str(tmp_path / "o.csv"),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("gridplan: error:")


def test_warnings_are_still_gridplan_warnings(town):
    """The reliability work does not turn notes into silent drops: population outside still warns."""
    layers = metric_layers()
    far = layers["population"].copy()
    far.geometry = far.geometry.translate(1e5, 0)
    with pytest.warns(GridplanWarning, match="outside the boundary"):
        District.from_frames(layers["boundary"], population=pd.concat([layers["population"], far.iloc[:1]]))
    assert issubclass(LayerNotFoundError, GridplanError)
