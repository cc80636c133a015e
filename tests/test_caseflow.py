"""The closed loop (report → file → dispatch → handle → feed back → verify → close) and evaluate()."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gridplan
from gridplan._caseflow import (
    LEDGER_STEPS,
    CaseLoop,
    HandlingChain,
    Supervisors,
    synthetic_ledger,
)
from gridplan.errors import DataError
from gridplan.evaluation import Evaluation, evaluate


@pytest.fixture(scope="module")
def ledger():
    return synthetic_ledger(6000, seed=3, days=62)


def assert_steps_in_order(led: pd.DataFrame) -> None:
    s = led[list(LEDGER_STEPS)]
    for i, a in enumerate(LEDGER_STEPS):
        for b in LEDGER_STEPS[i + 1 :]:
            both = s[a].notna() & s[b].notna()
            assert (s.loc[both, a] <= s.loc[both, b]).all(), (a, b)
        # a step is empty only after the case stopped: no gaps
        if i:
            assert not (s[a].notna() & s[LEDGER_STEPS[i - 1]].isna()).any(), a
    closed = led["closed"].notna()
    assert led.loc[~closed, "stop_reason"].notna().all() and led.loc[closed, "stop_reason"].isna().all()


def test_synthetic_ledger_steps_in_order_and_reasons(ledger):
    assert_steps_in_order(ledger)
    assert (ledger["reported"] >= ledger["occurred"]).all()
    esc = ledger["escalations"] > 0
    assert (ledger.loc[esc, "whistle"] <= ledger.loc[esc, "handled"]).all()
    assert (ledger.loc[esc, "handled_by"] != "grid").all()
    assert (ledger.loc[~esc & ledger["handled"].notna(), "handled_by"] == "grid").all()
    assert set(ledger["reported_by"]) >= {"supervisor"}
    dispatched = ledger["dispatched"].notna()
    assert ledger.loc[~dispatched, "on_time"].isna().all()
    assert (ledger.loc[dispatched, "on_time"] == (ledger.loc[dispatched, "handled"] <= ledger.loc[dispatched, "deadline"])).all()


def test_escalation_follows_the_allowances():
    never = CaseLoop(chain=HandlingChain(allowance_h={"grid": 1e6, "community": 1e6}), supervisors=None)
    always = CaseLoop(chain=HandlingChain(allowance_h={"grid": 1e-3, "community": 1e-3}), supervisors=None)
    a = synthetic_ledger(800, seed=1, loop=never, days=10)
    b = synthetic_ledger(800, seed=1, loop=always, days=10)
    done_a, done_b = a["handled"].notna(), b["handled"].notna()
    assert (a.loc[done_a, "escalations"] == 0).all() and (a.loc[done_a, "handled_by"] == "grid").all()
    assert (b.loc[done_b, "escalations"] == 2).all() and (b.loc[done_b, "handled_by"] == "squad").all()
    assert_steps_in_order(b)


def test_snapshot_cuts_open_cases():
    led = synthetic_ledger(2000, seed=2, days=10, loop=CaseLoop(snapshot_days=10))
    cut = pd.Timestamp("2026-01-11")
    for c in LEDGER_STEPS:
        assert (led[c].dropna() <= cut).all()
    assert_steps_in_order(led)
    assert led["stop_reason"].str.startswith("open at the snapshot").any()


def test_bad_loop_parameters():
    with pytest.raises(DataError, match="rework_share"):
        CaseLoop(rework_share=1.5)
    with pytest.raises(DataError, match="allowance_h"):
        HandlingChain(allowance_h={"grid": 24.0})
    with pytest.raises(DataError, match="shift"):
        Supervisors(shift=(20, 8))


# ---------------------------------------------------------------------------- evaluate
def test_indicators_add_up_and_match_a_direct_count(ledger):
    ev = evaluate(ledger, by="grid", period="M")
    t = ev.table
    assert t["reported"].sum() == ledger["reported"].notna().sum()
    assert t["filed"].sum() == ledger["filed"].notna().sum()
    assert t["closed"].sum() == ledger["closed"].notna().sum()
    # one group and month by hand
    (p, g), row = next(iter(t.iterrows()))
    sub = ledger[(ledger["grid"] == g) & (ledger["reported"].dt.to_period("M").astype(str) == p)]
    disp = sub[sub["dispatched"].notna()]
    assert row["on_time_rate"] == pytest.approx((disp["handled"] <= disp["deadline"]).mean())
    assert row["closing_rate"] == pytest.approx(sub["closed"].notna().sum() / sub["filed"].notna().sum())
    ver = sub[sub["verified"].notna()]
    assert row["rework_rate"] == pytest.approx((ver["rework"] > 0).mean())
    assert row["mean_handling_h"] == pytest.approx(((disp["handled"] - disp["dispatched"]).dt.total_seconds() / 3600).mean())
    expect = 100 * (0.5 * row["on_time_rate"] + 0.3 * row["closing_rate"] + 0.2 * (1 - row["rework_rate"]))
    assert row["score"] == pytest.approx(expect)
    assert ((t["score"] >= 0) & (t["score"] <= 100)).all()
    # by department: the same totals
    assert evaluate(ledger, by="department").table["filed"].sum() == t["filed"].sum()


def test_rankings_and_flags(ledger):
    ev = evaluate(ledger, by="grid", period="M", red=3, black=0.1, min_cases=20)
    for _, sub in ev.table.groupby(level="period"):
        ranked = sub[sub["rank"].notna()].sort_values("rank")
        if len(ranked) < 5:
            continue
        assert (sub.loc[sub["filed"] < 20, "flag"] == "too few cases").all()
        assert list(ranked["flag"].iloc[:3]) == ["red"] * 3
        assert ranked["score"].is_monotonic_decreasing
        n_black = max(1, round(0.1 * len(ranked)))
        assert list(ranked["flag"].iloc[-n_black:]) == ["black"] * n_black
    assert len(ev.flags("red")) and len(ev.flags("black"))
    assert list(ev.ranking().columns)[-2:] == ["rank", "flag"]


def test_ledger_problems_are_kept_with_a_reason_or_refused(ledger, tmp_path):
    bad = ledger.head(300).copy()
    bad.loc[bad.index[0], "closed"] = bad.loc[bad.index[0], "reported"] - pd.Timedelta(hours=1)
    bad.loc[bad.index[1], "filed"] = pd.NaT  # dispatched without filed
    ev = evaluate(bad, by="grid", period=None)
    assert ev.problems["problem"].tolist()[:2] == ["closed before reported", "dispatched without filed"] or set(
        ev.problems["problem"]
    ) >= {"closed before reported"}
    assert len(ev.problems) == 2
    assert ev.table["reported"].sum() == 300  # still counted as reported
    assert ev.table["filed"].sum() == bad["filed"].notna().sum() - 1  # the out-of-order case is left out
    with pytest.raises(DataError, match="out of order"):
        evaluate(bad, by="grid", strict=True)
    with pytest.raises(DataError, match="no 'street' column"):
        evaluate(bad, by="street")
    with pytest.raises(DataError, match="step columns"):
        evaluate(bad.drop(columns="verified"))
    with pytest.raises(DataError, match="weights"):
        evaluate(bad, weights={"speed": 1.0})
    path = ev.to_file(tmp_path / "ev.gpkg")
    back = Evaluation.read_file(path)
    pd.testing.assert_frame_equal(back.table, ev.table, check_dtype=False)


def test_evaluate_is_exported_and_works_on_a_plain_frame():
    plain = pd.DataFrame(
        {
            "grid": ["A", "A", "B"],
            "reported": pd.to_datetime(["2026-03-01 08:00", "2026-03-02 08:00", "2026-03-03 08:00"]),
            "filed": pd.to_datetime(["2026-03-01 08:10", "2026-03-02 08:10", None]),
            "dispatched": pd.to_datetime(["2026-03-01 08:20", "2026-03-02 08:20", None]),
            "handled": pd.to_datetime(["2026-03-01 10:20", "2026-03-04 08:20", None]),
            "verified": pd.to_datetime(["2026-03-01 12:00", "2026-03-04 12:00", None]),
            "closed": pd.to_datetime(["2026-03-01 13:00", None, None]),
            "deadline": pd.to_datetime(["2026-03-02 08:20", "2026-03-03 08:20", None]),
        }
    )
    ev = gridplan.evaluate(plain, by="grid", min_cases=1)
    a = ev.table.loc[("2026-03", "A")]
    assert (a["reported"], a["filed"], a["on_time"], a["closed"]) == (2, 2, 1, 1)
    assert a["on_time_rate"] == 0.5 and a["closing_rate"] == 0.5 and np.isnan(a["rework_rate"])
    assert a["score"] == pytest.approx(100 * (0.5 * 0.5 + 0.3 * 0.5) / 0.8)  # no rework column: its weight drops
    b = ev.table.loc[("2026-03", "B")]
    assert b["filed"] == 0 and b["flag"] == "too few cases"


def test_simulated_ledger_goes_through_the_loop():
    from gridplan.grids import partition
    from gridplan.simulate import _example_layers, simulate

    plan = partition(gridplan.District.from_frames(**_example_layers()), 2, units="cells", seed=0)
    res = simulate(plan, staffing="sample", days=3, runs=2, seed=0, keep_incidents=2, progress=False)
    led = res.incidents
    assert_steps_in_order(led)
    assert (led["reported"].dropna() <= led.loc[led["reported"].notna(), "discovered"].fillna(pd.Timestamp.max)).all()
    assert led["category_id"].notna().all() and led["street"].notna().all()
    assert set(led["handled_by"].dropna()) <= {"grid", "community", "squad"}
    assert res.params["loop"]["assumption"].startswith("every number")
    again = simulate(
        plan, days=3, runs=2, seed=0, keep_incidents=2, progress=False, posts=res.posts, staffing=res.staffing, routes=res.routes
    )
    pd.testing.assert_frame_equal(again.incidents, led)  # same seed, same ledger
    off = simulate(
        plan, days=3, runs=2, seed=0, progress=False, posts=res.posts, staffing=res.staffing, routes=res.routes, loop=False
    )
    assert "closed" not in off.incidents.columns
    ev = gridplan.evaluate(led, by="street", period="D", min_cases=1)
    assert ev.table["reported"].sum() == led["reported"].notna().sum()


def test_evaluation_is_independent_of_row_order_and_grouping(ledger):
    a = evaluate(ledger, by="grid", period="M")
    b = evaluate(ledger.sample(frac=1.0, random_state=7), by="grid", period="M")
    pd.testing.assert_frame_equal(a.table, b.table)
    totals = ["reported", "filed", "dispatched", "on_time", "closed", "verified", "rework"]
    for by in ("department", "subdistrict", "community"):
        other = evaluate(ledger, by=by, period="M").table
        pd.testing.assert_series_equal(other[totals].sum(), a.table[totals].sum())


def test_loop_is_reproducible_and_seed_sensitive():
    a = synthetic_ledger(500, seed=4, days=5)
    b = synthetic_ledger(500, seed=4, days=5)
    c = synthetic_ledger(500, seed=5, days=5)
    pd.testing.assert_frame_equal(a, b)
    assert not a["closed"].equals(c["closed"])


def test_time_zone_aware_ledgers_are_evaluated_on_their_wall_clock(ledger):
    local = ledger.copy()
    for c in ("reported", "filed", "dispatched", "handled", "verified", "closed", "deadline"):
        local[c] = local[c].dt.tz_localize("Asia/Shanghai")
    local = local.drop(columns="on_time")
    a = evaluate(ledger.drop(columns="on_time"), by="grid", period="M")
    b = evaluate(local, by="grid", period="M")
    pd.testing.assert_frame_equal(a.table, b.table)
