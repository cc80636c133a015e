"""The standard catalogue, city overrides, the working-time clock and deadlines."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridplan.catalogue import (
    EXTENSIONS,
    RULE_7123,
    TYPE_CATEGORIES,
    DeadlineRule,
    WorkCalendar,
    deadlines,
    load_catalogue,
)
from gridplan.errors import DataError
from gridplan.simulate import default_types

# the major categories as the public sources (S2, S3, S6 of the catalogue) name them
COMPONENT_MAJORS = {"01": "公用设施", "02": "道路交通", "03": "市容环境", "04": "园林绿化", "05": "房屋土地", "06": "其他设施"}
EVENT_MAJORS = {"01": "市容环境", "02": "宣传广告", "03": "施工管理", "04": "突发事件", "05": "街面秩序"}


def test_major_categories_are_the_standards():
    t = load_catalogue(extensions=False).table
    comp = t[t["kind"] == "component"].groupby("major_code")["major_name"].first().to_dict()
    ev = t[t["kind"] == "event"].groupby("major_code")["major_name"].first().to_dict()
    assert comp == COMPONENT_MAJORS
    assert ev == EVENT_MAJORS
    assert t.index.is_unique
    # every id is kind letter + major + minor
    assert all(
        i == ("C" if k == "component" else "E") + a + (b or "00")
        for i, k, a, b in zip(t.index, t["kind"], t["major_code"], t["minor_code"])
    )
    assert (t["evidence"] != "").all()
    # a limit only where a source gives one, and then with its source
    has = t["limit_value"].notna()
    assert (t.loc[has, "limit_source"] != "").all() and (t.loc[~has, "limit_unit"] == "").all()


def test_every_default_type_maps_onto_the_catalogue():
    cat = load_catalogue()
    assert set(TYPE_CATEGORIES) == set(default_types().index)
    ids, known = cat.lookup(list(TYPE_CATEGORIES))
    assert known.all() and list(ids) == list(TYPE_CATEGORIES.values())
    assert set(cat.table.loc[list(EXTENSIONS.index), "origin"]) == {"extension"}
    assert "extension" not in set(load_catalogue(extensions=False).table["origin"])


def test_city_overrides_and_extends(tmp_path):
    city = pd.DataFrame(
        {
            "code": ["LX-0102", "E0501", "LX-DOG"],
            "maps_to": ["E0102", "", ""],
            "kind": ["", "", "event"],
            "minor_name": ["", "", "犬只扰民"],
            "department": ["历下环卫", "历下执法中队", "社区"],
            "limit_value": ["2", "1", ""],
            "limit_unit": ["工作时", "工作日", ""],
        }
    )
    path = tmp_path / "city.csv"
    city.to_csv(path, index=False)
    cat = load_catalogue(path, name="Lixia")
    t = cat.table
    assert t.at["LX-0102", "maps_to"] == "E0102" and t.at["LX-0102", "minor_name"] == "暴露垃圾"
    assert t.at["LX-0102", "limit_unit"] == "work_hours" and t.at["LX-0102", "department"] == "历下环卫"
    assert t.at["E0501", "department"] == "历下执法中队" and t.at["E0501", "origin"] == "city"
    assert t.at["LX-DOG", "kind"] == "event" and t.at["LX-DOG", "maps_to"] == "LX-DOG"
    ids, known = cat.lookup(["LX-0102", "犬只扰民", "E0102"])
    assert ids.tolist() == ["LX-0102", "LX-DOG", "E0102"] and known.all()
    back = cat.to_csv(tmp_path / "cat.csv")
    again = type(cat).read_csv(back)
    pd.testing.assert_frame_equal(again.table, t, check_dtype=False)


@pytest.mark.parametrize(
    "bad, match",
    [
        (pd.DataFrame({"maps_to": ["E0102"]}), "code"),
        (pd.DataFrame({"code": ["A", "A"]}), "unique"),
        (pd.DataFrame({"code": ["A"], "maps_to": ["E9999"]}), "does not have"),
        (pd.DataFrame({"code": ["A"], "minor_name": ["x"]}), "kind"),
        (pd.DataFrame({"code": ["A"], "maps_to": ["E0102"], "limit_value": ["2"], "limit_unit": ["weeks"]}), "limit_unit"),
        (pd.DataFrame({"code": ["A"], "maps_to": ["E0102"], "limit_value": ["-2"], "limit_unit": ["hours"]}), ">= 0"),
    ],
)
def test_bad_city_catalogues_are_refused(bad, match):
    with pytest.raises(DataError, match=match):
        load_catalogue(bad)


# ---------------------------------------------------------------------------- the clock
def brute_add(cal_windows, working_day, start: dt.datetime, minutes: int) -> dt.datetime:
    """Walk minute by minute (independent of the vectorised clock)."""
    t = start
    left = minutes
    if left == 0:
        return start
    while True:
        m = t.hour * 60 + t.minute
        on = working_day(t.date()) and any(a * 60 <= m < b * 60 for a, b in cal_windows)
        if on:
            left -= 1
        t += dt.timedelta(minutes=1)
        if left == 0:
            return t


HOLIDAYS = ["2026-10-01/2026-10-07", "2026-01-01", ("2026-02-16", "2026-02-22")]
WORKDAYS = ["2026-09-27", "2026-10-10", "2026-02-14"]


def _working_day(d: dt.date) -> bool:
    off = {dt.date(2026, 10, i) for i in range(1, 8)} | {dt.date(2026, 1, 1)} | {dt.date(2026, 2, i) for i in range(16, 23)}
    on = {dt.date(2026, 9, 27), dt.date(2026, 10, 10), dt.date(2026, 2, 14)}
    return (d.weekday() < 5 or d in on) and d not in off


@settings(max_examples=60, deadline=None)
@given(day=st.integers(0, 364), minute=st.integers(0, 1439), amount=st.integers(0, 3 * 480))
def test_add_matches_a_minute_by_minute_walk(day, minute, amount):
    windows = ((9, 12), (13, 18))
    cal = WorkCalendar(hours=windows, holidays=HOLIDAYS, workdays=WORKDAYS)
    start = dt.datetime(2026, 1, 1) + dt.timedelta(days=day, minutes=minute)
    got = cal.add(pd.Timestamp(start), minutes=amount)[0]
    assert got.to_pydatetime() == brute_add(windows, _working_day, start, amount)
    if amount:
        assert cal.between(pd.Timestamp(start), got)[0] == pytest.approx(amount)


def test_weekends_holidays_and_makeup_days():
    cal = WorkCalendar(holidays=HOLIDAYS, workdays=WORKDAYS)
    days = pd.date_range("2026-09-26", "2026-10-12")
    on = cal.is_working_day(days)
    assert [d.day for d, w in zip(days, on) if w] == [27, 28, 29, 30, 8, 9, 10, 12]
    # the clock: Friday 17:00 + 2 working hours skips the weekend; 1 working day = 8 h
    assert cal.add("2026-03-06 17:00", hours=2)[0] == pd.Timestamp("2026-03-09 10:00")
    assert cal.add("2026-03-06 17:00", days=1)[0] == pd.Timestamp("2026-03-09 17:00")
    # a start in the lunch break or at night counts from the next working minute
    assert cal.add("2026-03-09 12:15", hours=1)[0] == pd.Timestamp("2026-03-09 14:00")
    assert cal.add("2026-03-09 23:00", hours=3)[0] == pd.Timestamp("2026-03-10 12:00")  # end of a window, not 13:00
    # time zones: wall clock of the zone
    tz = cal.add(pd.Timestamp("2026-03-06 17:00", tz="Asia/Shanghai"), hours=2)[0]
    assert tz == pd.Timestamp("2026-03-09 10:00", tz="Asia/Shanghai")
    assert pd.isna(cal.add([None], hours=1)[0])


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"holidays": ["2026-10-01/2026-10-07", "2026-10-05"]}, "overlap"),
        ({"holidays": ["2026-10-07/2026-10-01"]}, "ends before"),
        ({"holidays": ["2026-13-45"]}, "not a date"),
        ({"holidays": ["2026-10-01 08:00"]}, "time of day"),
        ({"holidays": ["2026-10-10"], "workdays": ["2026-10-10"]}, "both"),
        ({"hours": ((9, 12), (11, 18))}, "overlap"),
        ({"hours": ((18, 9),)}, "later hour"),
        ({"weekend": (7,)}, "weekday"),
    ],
)
def test_malformed_calendars_are_refused(kw, match):
    with pytest.raises(DataError, match=match):
        WorkCalendar(**kw)


def test_deadlines_by_category_then_severity():
    cal = WorkCalendar(holidays=HOLIDAYS, workdays=WORKDAYS)
    t = pd.to_datetime(["2026-09-30 16:00"] * 4)
    d = deadlines(
        t,
        ["道路不洁", "E0102", "无照经营游商", "nonsense"],
        severity=["small", "hard", "larger", 3],
        calendar=cal,
        rule=DeadlineRule(mode="working"),
    )
    # 5 working hours: 16-18 on the 30th, then the holiday week, 3 hours on 8 October
    assert d["deadline"].tolist() == [
        pd.Timestamp("2026-10-08 12:00"),
        pd.Timestamp("2026-10-08 16:00"),
        pd.Timestamp("2026-10-09 16:00"),
        pd.Timestamp("2026-10-10 16:00"),
    ]  # 10 Oct: make-up day
    assert d["limit_rule"].tolist() == ["category", "category", "severity", "severity"]
    assert d["level"].tolist() == ["grid", "subdistrict", "community", "subdistrict"]
    assert d["reason"].isna().tolist() == [True, True, True, False]
    assert d["respond_by"].iloc[0] == pd.Timestamp("2026-09-30 16:07")
    cal_days = deadlines(t[:1], ["无照经营游商"], severity=["hard"], rule=RULE_7123)
    assert cal_days["deadline"].iloc[0] == pd.Timestamp("2026-10-03 16:00")


def test_assign_adds_category_department_and_deadline():
    import geopandas as gpd
    from shapely.geometry import box

    from gridplan.locate import GridIndex

    grids = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=4545)
    index = GridIndex(grids)
    cases = pd.DataFrame(
        {
            "x": [50.0, 150.0, 150.0, 500.0],
            "y": [50.0] * 4,
            "cat": ["暴露垃圾", "井盖异响", "dragons", "道路不洁"],
            "sev": [1, 3, 2, 1],
            "t": pd.to_datetime(["2026-09-30 16:00"] * 4),
        },
        index=[10, 11, 12, 13],
    )
    cal = WorkCalendar(holidays=HOLIDAYS, workdays=WORKDAYS)
    city = load_catalogue(pd.DataFrame({"code": ["LX-9"], "kind": ["部件"], "minor_name": ["井盖异响"]}))  # no department
    out = index.assign(
        cases, severity="sev", time="t", category="cat", catalogue=city, calendar=cal, default_department="指挥中心"
    )
    assert list(out.index) == [10, 11, 12, 13]
    assert out["category_id"].tolist()[:2] == ["E0102", "LX-9"] and pd.isna(out["category_id"].iloc[2])
    assert out["department"].tolist() == ["sanitation", "指挥中心", "指挥中心", "sanitation"]
    assert out["deadline"].iloc[0] == pd.Timestamp("2026-10-08 16:00")  # 1 working day (E0102's own limit)
    assert out["deadline"].iloc[2] == pd.Timestamp("2026-10-09 16:00")  # 2 working days: larger, by severity
    assert out["limit_rule"].tolist() == ["category", "severity", "severity", "category"]
    assert out["deadline"].iloc[1] == pd.Timestamp("2026-10-10 16:00")  # 3 working days (hard), make-up Saturday
    r = out["reason"].tolist()
    assert pd.isna(r[0]) and "no department" in r[1] and "unknown category 'dragons'" in r[2]
    assert "outside every grid" in r[3]
    plain = index.assign(cases.drop(columns="cat"), severity="sev", time="t")
    assert plain["deadline"].iloc[2] == pd.Timestamp("2026-10-02 16:00")  # calendar 7123 without the catalogue


def test_majors_table_names_them_as_the_standard_does():
    m = load_catalogue(extensions=False).majors()
    assert m.xs("component", level="kind")["major_name_full"].tolist() == [n + "类" for n in COMPONENT_MAJORS.values()]
    assert m.xs("event", level="kind")["major_name_full"].tolist() == [n + "类" for n in EVENT_MAJORS.values()]


def test_calendar_edge_cases():
    one = WorkCalendar(holidays="2026-10-01/2026-10-02")  # a single range given as a string
    assert not one.is_working_day(["2026-10-02"])[0]
    with pytest.raises(DataError, match="no working day"):
        WorkCalendar(weekend=(0, 1, 2, 3, 4, 5, 6)).add("2026-03-02 09:00", hours=1)
    with pytest.raises(DataError, match=">= 0"):
        WorkCalendar().add("2026-03-02 09:00", hours=-1)
    cal = WorkCalendar(hours=4)  # one window 9-13
    assert cal.add("2026-03-02 12:00", hours=2)[0] == pd.Timestamp("2026-03-03 10:00")


def test_deadlines_keep_the_reports_time_zone():
    cal = WorkCalendar(holidays=HOLIDAYS, workdays=WORKDAYS)
    t = pd.to_datetime(["2026-09-30 16:00"]).tz_localize("Asia/Shanghai")
    d = deadlines(t, ["道路不洁"], calendar=cal, rule=DeadlineRule(mode="working"))
    assert d["deadline"].iloc[0] == pd.Timestamp("2026-10-08 12:00", tz="Asia/Shanghai")
    assert d["respond_by"].iloc[0] == pd.Timestamp("2026-09-30 16:07", tz="Asia/Shanghai")
