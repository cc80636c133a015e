"""Hypothesis fuzzing of the public API's arguments and of saved files (issue 18).

Only a :class:`~gridplan.errors.GridplanError` may escape a public function given a bad argument
(a ``TypeError`` only for a wrong number of arguments, which Python raises before gridplan runs);
a damaged or edited file either reads back as a consistent object or raises a ``GridplanError``.
"""

from __future__ import annotations

import sqlite3
import tempfile
import warnings
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridplan import District
from gridplan.errors import DataError, GridplanError, GridplanWarning
from gridplan.grids import GridPlan, partition

from .conftest import metric_layers

BAD_VALUES = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.none(),
    st.booleans(),
    st.lists(st.one_of(st.integers(-3, 3), st.text(max_size=2)), max_size=3),
    st.sampled_from(
        [
            object(),
            np.int64(-1),
            np.float64("nan"),
            pd.NaT,
            b"x",
            (1, 2),
            {},
            {"a": 1},
            -1e-9,
            2**63,
            "0.1",
            "EPSG:4326",
            "GCJ-02",
            np.random.SeedSequence(1),
            pd.Timestamp("2026-01-01"),
        ]
    ),
)


@lru_cache(maxsize=1)
def _world() -> dict[str, Any]:
    """A small town, a 3-grid plan and what the calls need, built once."""
    from gridplan.datasets import sample_roster
    from gridplan.locate import GridIndex
    from gridplan.posts import place_posts

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridplanWarning)
        layers = metric_layers()
        town = District.from_frames(**layers)
        plan = partition(town, 3, seed=0)
        posts = place_posts(plan, 4, seed=0, progress=False)
        roster = sample_roster(plan, seed=0)
    b = plan.grids.total_bounds
    incidents = pd.DataFrame(
        {
            "x": [b[0] + 100, b[2] - 100],
            "y": [b[1] + 100, b[3] - 100],
            "sev": [1, 3],
            "t": ["2026-03-02 08:00", "2026-03-02T09:00:00+08:00"],
        }
    )
    folder = Path(tempfile.mkdtemp(prefix="gridplan-fuzz-"))
    return {
        "layers": layers,
        "town": town,
        "plan": plan,
        "posts": posts,
        "roster": roster,
        "index": GridIndex(plan),
        "incidents": incidents,
        "folder": folder,
        "plan_path": plan.to_file(folder / "plan.gpkg"),
        "town_path": town.to_file(folder / "town.gpkg"),
    }


def _targets() -> dict[str, tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], list[str]]]:
    """name -> (function, valid positional arguments, valid keywords, parameters to fuzz)."""
    from gridplan import crs as gcrs
    from gridplan.datasets import sample_roster
    from gridplan.locate import GridIndex
    from gridplan.network import StreetNetwork
    from gridplan.posts import place_posts
    from gridplan.report import plan_report
    from gridplan.routes import balance_routes
    from gridplan.simulate import coverage, simulate
    from gridplan.staffing import assign_staff
    from gridplan.units import build_units

    w = _world()
    town, plan = w["town"], w["plan"]
    return {
        "GridPlan.read_file": (GridPlan.read_file, (w["plan_path"],), {}, ["path"]),
        "GridPlan.to_file": (plan.to_file, (w["folder"] / "out.gpkg",), {}, ["path", "crs", "district"]),
        "District.from_file": (District.from_file, (w["town_path"],), {}, ["path", "layers", "crs", "metric_crs"]),
        "compare": (plan.compare, (plan,), {}, ["other"]),
        "crs.transform": (
            gcrs.transform,
            ([107.21], [26.56]),
            {"source": "GCJ-02", "target": "EPSG:4545"},
            ["x", "y", "source", "target"],
        ),
        "crs.metric_crs": (gcrs.metric_crs, ((107.1, 26.5, 107.3, 26.7),), {}, ["geometry_or_bounds"]),
        "plan_report": (
            plan_report,
            (plan,),
            {},
            ["previous", "posts", "staffing", "routes", "simulation", "title", "interactive", "top"],
        ),
        "partition": (
            partition,
            (town, 3),
            {"seed": 0},
            ["n_grids", "units", "weight", "tolerance", "seed", "respect", "nested", "method", "locked", "strict", "time_limit"],
        ),
        "build_units": (
            build_units,
            (town,),
            {},
            ["kind", "weight", "incidents", "cell_size", "cell_shape", "min_area", "min_thinness"],
        ),
        "GridIndex": (GridIndex, (plan,), {}, ["code", "streets", "communities", "routes", "overlaps", "cell_size"]),
        "assign": (
            w["index"].assign,
            (w["incidents"],),
            {"severity": "sev", "time": "t"},
            ["incidents", "x", "y", "crs", "severity", "time", "limits", "timezone"],
        ),
        "locate": (w["index"].locate, (np.array([423000.0]), np.array([2938000.0])), {}, ["x", "y", "crs"]),
        "place_posts": (
            place_posts,
            (plan, 4),
            {"seed": 0, "progress": False},
            [
                "n_posts",
                "demand",
                "candidates",
                "max_walk_m",
                "objective",
                "min_per_grid",
                "stations",
                "method",
                "time_limit",
                "mip_gap",
                "seed",
            ],
        ),
        "balance_routes": (
            balance_routes,
            (plan,),
            {"chiefs_per_grid": 1, "seed": 0, "progress": False, "effort": 0.02},
            [
                "n_routes",
                "depot",
                "weight",
                "required",
                "chiefs_per_grid",
                "posts",
                "chiefs",
                "components",
                "snap",
                "seed",
                "time_limit",
                "effort",
            ],
        ),
        "assign_staff": (
            assign_staff,
            (plan, w["roster"]),
            {"seed": 0},
            ["roster", "model", "posts", "shifts", "distance", "strict", "streets", "crs", "seed", "time_limit"],
        ),
        "simulate": (
            simulate,
            (plan,),
            {"posts": w["posts"], "staffing": "sample", "days": 1, "runs": 2, "seed": 0, "progress": False},
            ["posts", "staffing", "routes", "model", "days", "runs", "seed", "client", "keep_incidents", "start"],
        ),
        "coverage": (coverage, (plan, w["posts"]), {}, ["posts", "minutes", "speed_m_per_min", "include_stations", "buffer_m"]),
        "sample_roster": (sample_roster, (plan,), {"seed": 0}, ["seed", "n_people"]),
        "reassign": (plan.reassign, ([0], str(plan.grids["code"].iloc[1])), {"allow_split": True}, ["units", "grid"]),
        "from_lines": (StreetNetwork.from_lines, (w["layers"]["streets"],), {}, ["lines", "snap_tolerance"]),
        "from_frames": (
            District.from_frames,
            (w["layers"]["boundary"],),
            {},
            ["streets", "communities", "population", "grids", "crs", "metric_crs", "population_column", "name", "code", "repair"],
        ),
        "posts.coverage": (w["posts"].coverage, (), {}, ["max_walk_m", "speed_m_per_min", "include_stations"]),
    }


def _call(name: str, param: str, value: Any) -> None:
    import inspect

    func, args, kwargs, _ = _targets()[name]
    args, kwargs = list(args), dict(kwargs)
    names = [
        p.name for p in inspect.signature(func).parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if param in names and names.index(param) < len(args):
        args[names.index(param)] = value
    else:
        kwargs[param] = value
    func(*args, **kwargs)


@st.composite
def _bad_calls(draw: Any) -> tuple[str, str, Any]:
    name = draw(st.sampled_from(sorted(_targets())))
    param = draw(st.sampled_from(_targets()[name][3]))
    return name, param, draw(BAD_VALUES)


@pytest.mark.slow
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_bad_calls())
def test_fuzz_public_api_bad_arguments_raise_only_gridplan_errors(call):
    name, param, value = call
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings are results here, not failures
        try:
            _call(name, param, value)
        except GridplanError:
            pass


def test_fuzz_every_target_runs_with_its_valid_arguments():
    """The fuzz harness is honest: each target succeeds with its base arguments."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for func, args, kwargs, _ in _targets().values():
            func(*args, **kwargs)


def test_fuzz_wrong_arity_is_a_type_error():
    plan = _world()["plan"]
    with pytest.raises(TypeError):
        partition(plan.district, 3, 0.03)  # tolerance is keyword-only


# ----------------------------------------------------------------------------------------- files
@lru_cache(maxsize=1)
def _saved_plan() -> bytes:
    return _world()["plan_path"].read_bytes()


def _consistent(plan: GridPlan) -> None:
    assert set(plan.units["grid"].astype(str)) == set(plan.grids["code"].astype(str))
    assert len(plan.labels) == len(plan.units) and plan.labels.max() < plan.n_grids


def _read_or_refuse(path: Path) -> None:
    try:
        plan = GridPlan.read_file(path)
    except GridplanError:
        return
    _consistent(plan)


@settings(max_examples=60, deadline=None)
@given(cut=st.floats(0.0, 0.999), flips=st.lists(st.tuples(st.floats(0, 0.999), st.integers(0, 255)), max_size=8))
def test_fuzz_truncated_and_corrupted_files(cut, flips):
    data = bytearray(_saved_plan())
    for where, byte in flips:
        data[int(where * len(data))] = byte
    data = data[: max(int(cut * len(data)), 1)] if cut > 0.02 else data
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plan.gpkg"
        path.write_bytes(bytes(data))
        _read_or_refuse(path)


_LAYERS = ["grids", "units", "adjacency", "gridplan_meta"]


def _editable_copy(folder: str) -> tuple[Path, sqlite3.Connection]:
    """A copy of the saved plan opened with sqlite, its GeoPackage triggers dropped so any edit goes in."""
    path = Path(folder) / "plan.gpkg"
    path.write_bytes(_saved_plan())
    con = sqlite3.connect(path)
    for (trigger,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f'DROP TRIGGER "{trigger}"')
    return path, con


@settings(max_examples=20, deadline=None)
@given(
    layer=st.sampled_from(_LAYERS),
    action=st.sampled_from(["delete", "update", "drop_column"]),
    row=st.integers(1, 60),
    value=st.one_of(st.none(), st.integers(-5, 10**6), st.text(max_size=8), st.floats()),
)
def test_fuzz_files_edited_outside_gridplan(layer, action, row, value):
    with tempfile.TemporaryDirectory() as folder:
        path, con = _editable_copy(folder)
        with con:
            cols = [c[1] for c in con.execute(f'PRAGMA table_info("{layer}")') if c[1] not in ("fid", "geom")]
            col = cols[row % len(cols)]
            if action == "delete":
                con.execute(f'DELETE FROM "{layer}" WHERE fid = ?', (row,))
            elif action == "update":
                con.execute(f'UPDATE "{layer}" SET "{col}" = ? WHERE fid = ?', (value, row))
            else:
                con.execute(f'ALTER TABLE "{layer}" DROP COLUMN "{col}"')
        _read_or_refuse(path)


@pytest.mark.parametrize("meta", ["0", "[]", '"x"', '{"kind": "GridPlan", "layers": 3, "params": {}}'])
def test_table_of_contents_that_is_not_a_table_is_refused(meta):
    """Found by the fuzz test above: the meta table's value edited to ``0`` raised AttributeError."""
    with tempfile.TemporaryDirectory() as folder:
        path, con = _editable_copy(folder)
        with con:
            con.execute('UPDATE "gridplan_meta" SET "value" = ? WHERE fid = 1', (meta,))
        with pytest.raises(DataError, match="gridplan_meta"):
            GridPlan.read_file(path)


@lru_cache(maxsize=1)
def _method_calls() -> dict[str, Callable[[Any], Any]]:
    """name -> a method of a result called with one bad argument."""
    from gridplan.routes import balance_routes
    from gridplan.simulate import simulate
    from gridplan.staffing import assign_staff

    w = _world()
    plan = w["plan"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridplanWarning)
        sim = simulate(plan, staffing="sample", posts=w["posts"], days=1, runs=2, seed=0, progress=False)
        routes = balance_routes(plan, chiefs_per_grid=1, effort=0.02, progress=False)
        staff = assign_staff(plan, w["roster"], seed=0)
    net = plan.district.network
    return {
        "GridPlan.plot(column)": lambda v: plan.plot(column=v),
        "SimulationResult.table(by)": lambda v: sim.table(by=v),
        "SimulationResult.table(level)": lambda v: sim.table(ci=True, level=v),
        "SimulationResult.summary(level)": lambda v: sim.summary(level=v),
        "SimulationResult.compare(other)": lambda v: sim.compare(v),
        "SimulationResult.compare(method)": lambda v: sim.compare(sim, method=v),
        "SimulationResult.plot(kind)": lambda v: sim.plot(kind=v),
        "SimulationResult.plot(column)": lambda v: sim.plot(column=v),
        "Staffing.shift_table(grid)": lambda v: staff.shift_table(v),
        "Staffing.shift_table(label)": lambda v: staff.shift_table(label=v),
        "RoutePlan.frequency(speed)": lambda v: routes.frequency(speed_m_per_min=v),
        "RoutePlan.frequency(shift)": lambda v: routes.frequency(shift_hours=v),
        "RoutePlan.revisit_interval": lambda v: routes.revisit_interval(speed_m_per_min=v),
        "StreetNetwork.nearest_nodes": lambda v: net.nearest_nodes(v, v),
        "StreetNetwork.shortest_path_lengths": lambda v: net.shortest_path_lengths(v),
        "StreetNetwork.shortest_path_lengths(cutoff)": lambda v: net.shortest_path_lengths([0], cutoff=v),
        "Posts.plot(title)": lambda v: w["posts"].plot(title=v),
        "District.to_source_crs": lambda v: plan.district.to_source_crs(v),
        "GridIndex.codes_at": lambda v: w["index"].codes_at(v, v),
        "GridIndex.locate_one": lambda v: w["index"].locate_one(v, v),
    }


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_result_methods_bad_arguments_raise_only_gridplan_errors(data):
    import matplotlib.pyplot as plt

    calls = _method_calls()
    name = data.draw(st.sampled_from(sorted(calls)))
    value = data.draw(BAD_VALUES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            calls[name](value)
        except GridplanError:
            pass
        finally:
            plt.close("all")
