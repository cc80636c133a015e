"""Tests of gridplan.staffing.roster: rest days, rotation, leave, coverage, errors, files."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gridplan.errors import DataError, InfeasibleError
from gridplan.staffing import Roster, assign_staff, roster

SHIFTS = ("early", "middle", "late")


def _team(grids=2, size=5):
    roles = ["leader", "officer", "officer", "worker", "worker"][:size]
    return pd.DataFrame([{"id": f"g{g}p{i}", "grid": f"G{g}", "role": r} for g in range(grids) for i, r in enumerate(roles)])


def _check(r: Roster, people: pd.DataFrame, days: int, rest: int, leave=None):
    """Independent checks of a roster table: one row per person-day, rest per week, leave, no quick return."""
    t = r.table
    assert len(t) == len(people) * days
    assert not t.duplicated(["id", "date"]).any()
    assert set(t["shift"]) <= {*SHIFTS, "rest", "leave"}
    dates = pd.date_range(r.params["start"], periods=days)
    for pid, mine in t.groupby("id"):
        mine = mine.set_index("date").reindex(dates)
        sh = mine["shift"].to_numpy()
        for w in range(0, days, 7):
            block = sh[w : w + 7]
            owed = rest if len(block) == 7 else (rest * len(block)) // 7
            assert (block == "rest").sum() == owed, (pid, w)
        # any seven consecutive days (so every calendar week) hold at least `rest` days off
        off = np.isin(sh, ["rest", "leave"]).astype(int)
        if days >= 7:
            assert (np.convolve(off, np.ones(7, int), "valid") >= rest).all(), pid
        # nobody works late and then early the next day
        assert not ((sh[:-1] == "late") & (sh[1:] == "early")).any(), pid
        want = set() if leave is None else {pd.Timestamp(d) for d in leave.get(pid, [])}
        got = set(mine.index[mine["shift"] == "leave"])
        assert got == {d for d in want if d in set(dates)}
    # fairness: every person's late shifts within one of their share of the team's
    f = r.fairness
    assert (f["late_off"].abs() <= 1 + 1e-6).all()
    # coverage table agrees with the person table
    on = t[t["shift"].isin(SHIFTS)].groupby(["grid", "date", "shift"]).size()
    cov = r.coverage.set_index(["grid", "date", "shift"])["on_duty"]
    assert (cov[cov > 0] == on.reindex(cov[cov > 0].index)).all()
    assert int(r.coverage["covered"].sum()) == len(on)


@pytest.mark.parametrize("days,rest,start", [(30, 1, "2024-10-01"), (14, 2, "2024-10-03"), (10, 1, "2024-10-06")])
def test_full_teams_cover_every_shift(days, rest, start):
    people = _team(2)
    r = roster(people, start=start, days=days, rest_days_per_week=rest)
    _check(r, people, days, rest)
    assert r.params["status"] == "optimal" and r.params["gap"] == 0
    assert r.summary()["covered_share"] == 1.0


def test_too_small_a_team_covers_as_much_as_its_working_days():
    """Two people cannot cover three shifts: the optimum is every working day on a different shift."""
    people = _team(1, size=2)
    r = roster(people, start="2024-10-07", days=21)
    _check(r, people, 21, 1)
    work_days = 2 * 3 * 6  # two people, three weeks, six working days each
    assert r.params["objective"] == work_days == int(r.coverage["covered"].sum())
    assert r.params["status"] == "optimal"
    assert len(r.uncovered) == 21 * 3 - work_days


def test_leave_days_are_kept_and_not_rest():
    people = _team(1)
    leave = {"g0p1": list(pd.date_range("2024-10-02", periods=4)), "g0p3": ["2024-10-20"]}
    r = roster(people, start="2024-10-01", days=28, leave=leave)
    _check(r, people, 28, 1, leave)
    table = pd.DataFrame({"id": ["g0p1"], "start": ["2024-10-02"], "end": ["2024-10-05"]})
    r2 = roster(people, start="2024-10-01", days=28, leave=table)
    assert (r2.table["shift"] == "leave").sum() == 4


def test_infeasible_rest_rules_name_people_and_weeks():
    people = _team(1)
    leave = {"g0p2": list(pd.date_range("2024-10-08", periods=7)), "g0p4": list(pd.date_range("2024-10-01", periods=6))}
    with pytest.raises(InfeasibleError) as e:
        roster(people, start="2024-10-01", days=21, rest_days_per_week=2, leave=leave)
    msg = str(e.value)
    assert "g0p2 in week 2 (2024-10-08..2024-10-14" in msg and "g0p4 in week 1" in msg
    assert "rest_days_per_week" in msg


def _staffing(n_leaders=3, n_officers=5, n_workers=5, model="1+2+2"):
    grids = gpd.GeoDataFrame(
        {"code": ["A", "B"], "weight": [1.0, 1.0]},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)],
        crs=4545,
    )
    rng = np.random.default_rng(0)
    roles = ["leader"] * n_leaders + ["officer"] * n_officers + ["worker"] * n_workers
    ros = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(len(roles))],
            "role": roles,
            "party_member": True,
            "x": rng.uniform(0, 200, len(roles)),
            "y": rng.uniform(0, 100, len(roles)),
        }
    )
    return assign_staff(grids, ros, model=model, distance="euclidean")


def test_rotation_rules_that_cannot_hold():
    s = _staffing(2, 4, 0, model="1+2")
    officers = s.assignments.query("role == 'officer' and grid == 'A'")["id"].tolist()
    # two officers who never share a shift, working 6 and 5 days: their shares of every shift cannot hold within 0.1
    with pytest.raises(InfeasibleError, match="fair_within"):
        roster(s, start="2024-10-01", days=7, fair_within=0.1, leave={officers[0]: ["2024-10-02"]})


def test_bad_input():
    people = _team(1)
    with pytest.raises(DataError, match="rest_days_per_week"):
        roster(people, start="2024-10-01", rest_days_per_week=0)
    with pytest.raises(DataError, match="days"):
        roster(people, start="2024-10-01", days=0)
    with pytest.raises(DataError, match="start"):
        roster(people, start="not a date")
    with pytest.raises(DataError, match="not in the staffing"):
        roster(people, start="2024-10-01", leave={"nobody": ["2024-10-02"]})
    with pytest.raises(DataError, match="id, grid and role"):
        roster(people.drop(columns="grid"), start="2024-10-01")


def test_from_staffing_duty_table_plot_and_files(tmp_path):
    s = _staffing()
    r = roster(s, start="2024-10-01", days=31)
    _check(r, s.assignments[["id", "grid", "role"]], 31, 1)
    # officers of a grid never share a shift (the staffing's rule)
    t = r.table[r.table["role"] == "officer"]
    assert not t[t["shift"].isin(SHIFTS)].duplicated(["grid", "date", "shift"]).any()
    duty = r.duty_table()
    assert duty.shape == (10, 31) and set(np.unique(duty.to_numpy())) <= {"早", "中", "晚", "休", "假"}
    assert list(r.duty_table("A", labels="en").index.get_level_values("grid").unique()) == ["A"]
    r.plot()
    back = Roster.read_file(r.to_file(tmp_path / "roster.gpkg"))
    pd.testing.assert_frame_equal(back.table, r.table, check_dtype=False)
    assert repr(back) == repr(r)
    assert "<b>gridplan Roster</b>" in r._repr_html_()


def test_plot_colours_any_number_of_shifts():
    """Four shifts used to crash plot() (None colours); rest and leave keep their greys at any count."""
    from matplotlib.colors import to_hex

    grids = gpd.GeoDataFrame({"code": ["A"], "weight": [1.0]}, geometry=[shapely.box(0, 0, 100, 100)], crs=4545)
    ros = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(6)],
            "role": ["leader", "officer", "officer", "officer", "worker", "worker"],
            "party_member": True,
            "x": np.linspace(0, 100, 6),
            "y": 50.0,
        }
    )
    for shifts in [("a", "b", "c", "d"), ("day", "night")]:
        r = roster(assign_staff(grids, ros, model="1+2+2", distance="euclidean", shifts=shifts), start="2024-10-01", days=7)
        ax = r.plot()
        ax.figure.canvas.draw()
        legend = {
            t.get_text(): to_hex(p.get_facecolor()) for t, p in zip(ax.get_legend().get_texts(), ax.get_legend().get_patches())
        }
        assert list(legend) == [*shifts, "rest", "leave"]
        assert legend["rest"] == "#f0f0f0" and legend["leave"] == "#bdbdbd"
        assert len({legend[s] for s in shifts}) == len(shifts)  # every shift its own colour


def test_unavailable_shifts_are_never_worked():
    people = _team(1)
    unav = pd.DataFrame({"id": ["g0p0", "g0p3"], "unavailable": ["late", "early;middle"]})
    r = roster(people, start="2024-10-01", days=21, unavailable=unav)
    t = r.table.set_index("id")
    assert not (t.loc["g0p0", "shift"] == "late").any()
    assert set(t.loc["g0p3", "shift"]) <= {"late", "rest"}
    assert r.summary()["covered_share"] == 1.0
    # fairness is among those who can work every shift
    f = r.fairness.set_index("id")
    assert f.loc[["g0p0", "g0p3"], "late_target"].isna().all()
    free = f.drop(index=["g0p0", "g0p3"])
    assert (free["late_off"].abs() <= 1 + 1e-6).all()


@settings(max_examples=5, deadline=None)
@given(leave_start=st.integers(0, 12), leave_len=st.integers(0, 5), start=st.sampled_from(["2024-10-01", "2024-10-05"]))
def test_rules_hold_under_random_leave(leave_start, leave_len, start):
    people = _team(1)
    days = pd.date_range(start, periods=14)
    leave = {"g0p2": list(days[leave_start : leave_start + leave_len])}
    r = roster(people, start=start, days=14, leave=leave)
    _check(r, people, 14, 1, leave)
    assert r.params["status"] == "optimal"
