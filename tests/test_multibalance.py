"""Grids balanced on several measures at once (``partition(..., balance=...)``, ``_multibalance``)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components

import gridplan
from gridplan._multibalance import measure_spreads, partition_multi
from gridplan.errors import DataError, GridplanError, GridplanWarning, InfeasibleError
from gridplan.grids import GridPlan, partition, resplit
from gridplan.units import build_units


def lattice(rows: int, cols: int) -> tuple[sp.csr_array, np.ndarray]:
    """Rook adjacency of unit squares (shared length 1) and their centres."""
    a = sp.kron(sp.eye(rows), sp.diags([1, 1], [-1, 1], (cols, cols))) + sp.kron(
        sp.diags([1, 1], [-1, 1], (rows, rows)), sp.eye(cols)
    )
    xy = np.array([(c + 0.5, r + 0.5) for r in range(rows) for c in range(cols)], float)
    return sp.csr_array(a), xy


def brute_force_feasible(adj: sp.csr_array, x: np.ndarray, tol: np.ndarray, k: int) -> bool:
    """Is there any contiguous k-partition within every box? (every labelling, first unit in part 0)"""
    n = adj.shape[0]
    coo = adj.tocoo()
    mean = x.sum(axis=0) / k
    for rest in itertools.product(range(k), repeat=n - 1):
        lab = np.array((0, *rest))
        if len(set(rest) | {0}) != k:
            continue
        W = np.stack([np.bincount(lab, weights=x[:, j], minlength=k) for j in range(x.shape[1])], axis=1)
        if ((W > (1 + tol) * mean + 1e-9) | (W < (1 - tol) * mean - 1e-9)).any():
            continue
        same = lab[coo.row] == lab[coo.col]
        g = sp.csr_array((np.ones(int(same.sum())), (coo.row[same], coo.col[same])), shape=(n, n))
        if connected_components(g, directed=False)[0] == k:
            return True
    return False


def run(adj, x, tol, k, xy=None, **kw):
    n = adj.shape[0]
    return partition_multi(
        adj,
        x,
        np.asarray(tol, float),
        k,
        names=[f"m{j}" for j in range(x.shape[1])],
        areas=np.ones(n),
        perimeters=np.full(n, 4.0),
        centroids=xy,
        **kw,
    )


def contiguous(adj: sp.csr_array, lab: np.ndarray, k: int) -> bool:
    coo = adj.tocoo()
    same = lab[coo.row] == lab[coo.col]
    n = adj.shape[0]
    g = sp.csr_array((np.ones(int(same.sum())), (coo.row[same], coo.col[same])), shape=(n, n))
    return connected_components(g, directed=False)[0] == k and np.bincount(lab, minlength=k).min() > 0


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 6), min_size=18, max_size=18), st.floats(0.1, 0.4), st.booleans())
def test_finds_a_feasible_plan_whenever_brute_force_does(values, tolerance, with_xy):
    """3 x 3 lattice, two measures, 3 parts: the oracle enumerates every labelling."""
    adj, xy = lattice(3, 3)
    x = np.asarray(values, float).reshape(9, 2) + np.array([1.0, 0.0])  # measure 0 > 0 everywhere
    x[0, 1] += 1  # measure 1 is not zero everywhere
    tol = np.array([tolerance, tolerance])
    res = run(adj, x, tol, 3, xy if with_xy else None, strict=False)
    assert res.labels.shape == (9,) and set(res.labels.tolist()) == {0, 1, 2}
    assert contiguous(adj, res.labels, 3) and res.contiguous
    spread = measure_spreads(x, res.labels, 3)
    assert np.allclose(spread, res.spread)
    if brute_force_feasible(adj, x, tol, 3):
        assert res.feasible, (x.tolist(), tolerance)
    else:
        assert not res.feasible


def test_two_measures_pulling_apart_on_a_lattice():
    """Measure 0 lives on the left, measure 1 on the right: every part must take some of both."""
    adj, xy = lattice(12, 12)
    col = np.tile(np.arange(12), 12)
    x = np.column_stack([np.where(col < 6, 3.0, 1.0), np.where(col < 6, 1.0, 3.0)])
    res = run(adj, x, [0.05, 0.05], 4, xy, seed=0)
    assert res.feasible and res.contiguous
    assert (np.abs(res.spread - 1) <= 0.05 + 1e-9).all()
    same = run(adj, x, [0.05, 0.05], 4, xy, seed=0)
    assert np.array_equal(res.labels, same.labels)  # same seed, same plan


def _ragged_search(seed: int = 0):
    """12 x 12 unit squares in four 6 x 6 quadrants with two teeth: unit (0, 5) swapped with
    (2, 6) and (7, 5) with (9, 6).  Measure 1 alternates by row, so the swaps keep every part
    within its box; with measure 0 held to ±2 % (one unit is 2.8 % of a part) no single move
    may undo a tooth, only a swap."""
    from gridplan import _multibalance as mb

    adj, _ = lattice(12, 12)
    row = np.repeat(np.arange(12), 12)
    col = np.tile(np.arange(12), 12)
    x = np.column_stack([np.ones(144), np.where(row % 2 == 0, 1.0, 3.0)])
    tol = np.array([0.02, 0.10])
    k = 4
    lab = (row // 6) * 2 + col // 6
    for (r1, c1), (r2, c2) in (((0, 5), (2, 6)), ((7, 5), (9, 6))):
        i, j = r1 * 12 + c1, r2 * 12 + c2
        lab[i], lab[j] = lab[j], lab[i]
    scaled = mb._scaled(x, k)
    combined = mb._combined(scaled, tol)
    n = 144
    s = mb._search_for(
        adj, lab, k, scaled, tol, combined, np.ones(n), np.full(n, 4.0), None, np.random.default_rng(seed), float("inf"), None
    )
    assert s.multi_violation() == 0 and contiguous(adj, lab, k)
    return s, adj, x, tol, k


def _pp_oracle(adj: sp.csr_array, lab: np.ndarray, k: int) -> np.ndarray:
    """Polsby-Popper of unit-square parts counted from scratch: 4 sides less the shared ones."""
    coo = adj.tocoo()
    area = np.bincount(lab, minlength=k).astype(float)
    shared = np.bincount(lab[coo.row][lab[coo.row] == lab[coo.col]], minlength=k)
    perim = 4.0 * area - shared
    return 4 * np.pi * area / perim**2


def test_compaction_keeps_every_box_and_gains_shape():
    """From a ragged plan within every box, compactness swaps may only return plans within
    every box, contiguous, and more compact (PP counted from scratch)."""
    s, adj, x, tol, k = _ragged_search()
    before = _pp_oracle(adj, np.asarray(s.lab), k)
    assert s.multi_refine() == 0  # no single move may undo a tooth
    assert s.swap_refine() > 0
    lab = np.asarray(s.lab)
    after = _pp_oracle(adj, lab, k)
    spread = measure_spreads(x, lab, k)
    assert (spread[:, 1] <= 1 + tol + 1e-9).all() and (spread[:, 0] >= 1 - tol - 1e-9).all()
    assert contiguous(adj, lab, k)
    assert after.mean() + 0.5 * after.min() > before.mean() + 0.5 * before.min() + 0.01
    assert np.allclose([s.polsby_popper(p) for p in range(k)], after)  # the incremental bookkeeping agrees
    again, *_ = _ragged_search()
    again.multi_refine()
    again.swap_refine()
    assert again.lab == s.lab  # same seed, same plan


def _bookkeeping_agrees(s, adj, x, lab, k) -> None:
    """The search's part sums, areas, perimeters, members and violations, counted from scratch."""
    from gridplan import _multibalance as mb

    scaled = mb._scaled(x, k)
    W = np.stack([np.bincount(lab, weights=scaled[:, j], minlength=k) for j in range(x.shape[1])], axis=1)
    assert np.allclose(s.Wm, W)
    assert np.allclose(s.A, np.bincount(lab, minlength=k))
    assert np.allclose(s.P, 4.0 * np.bincount(lab, minlength=k) - np.bincount(lab[adj.tocoo().row][_same(adj, lab)], minlength=k))
    assert s.cnt == np.bincount(lab, minlength=k).tolist()
    assert [sorted(m) for m in s.mem] == [np.flatnonzero(lab == p).tolist() for p in range(k)]
    assert np.allclose(s.pviol, [s._part_violation(row) for row in W.tolist()])


def _same(adj: sp.csr_array, lab: np.ndarray) -> np.ndarray:
    coo = adj.tocoo()
    return lab[coo.row] == lab[coo.col]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**16), st.sampled_from([0.03, 0.06, 0.15]), st.booleans())
def test_annealing_never_leaves_a_box_and_keeps_parts_whole(seed, tolerance, groups):
    """Random two-measure weights on an 8 x 8 lattice, a plan within every box (4 quadrants,
    the tolerances set from the plan's own spread): the annealing returns a plan within every
    box, every part connected, no less compact (its objective, PP counted from scratch
    included), bookkeeping that agrees with a count from scratch, and the same plan for the
    same seed."""
    from gridplan import _multibalance as mb

    rng = np.random.default_rng(seed)
    adj, _ = lattice(8, 8)
    x = rng.uniform(0.5, 2.0, (64, 2))
    row, col = np.repeat(np.arange(8), 8), np.tile(np.arange(8), 8)
    lab = (row // 4) * 2 + col // 4
    k = 4
    spread = measure_spreads(x, lab, k)
    tol = np.maximum(np.abs(spread - 1).max(axis=1) + 1e-6, tolerance)  # the quadrants are within every box
    grp = (row // 2) if groups else None

    def search():
        scaled, n = mb._scaled(x, k), 64
        return mb._search_for(
            adj,
            lab,
            k,
            scaled,
            tol,
            mb._combined(scaled, tol),
            np.ones(n),
            np.full(n, 4.0),
            grp,
            np.random.default_rng(seed),
            float("inf"),
            None,
        )

    s = search()
    assert s.multi_violation() == 0
    before = sum(s.compactness_objective(s.A[p], s.P[p]) for p in range(k)) - s.group_cut_weight * 0  # shapes
    s.anneal(sweeps=200)
    out = np.asarray(s.lab)
    sp_out = measure_spreads(x, out, k)
    assert (sp_out[:, 1] <= 1 + tol + 1e-9).all() and (sp_out[:, 0] >= 1 - tol - 1e-9).all()
    assert contiguous(adj, out, k)
    _bookkeeping_agrees(s, adj, x, out, k)
    assert np.allclose([s.polsby_popper(p) for p in range(k)], _pp_oracle(adj, out, k))
    if not groups:  # the objective is the shapes alone: the best plan met is no worse than the start
        assert sum(s.compactness_objective(s.A[p], s.P[p]) for p in range(k)) >= before - 1e-9
    again = search()
    again.anneal(sweeps=200)
    assert again.lab == s.lab  # same seed, same plan


@pytest.mark.slow
def test_annealing_makes_the_sample_grids_more_compact(district, monkeypatch):
    """Sample district, 15 grids on residents (±5 %) and street length (±10 %): the plan with
    the annealing is within every box and more compact (Polsby-Popper mean counted by
    GridPlan.metrics) than the same seed's plan without it."""
    from gridplan import _multibalance as mb

    balance = {"population": 0.05, "street_km": 0.10}
    with_anneal = partition(district, 15, balance=balance, seed=0)
    monkeypatch.setattr(mb, "ANNEAL_SWEEPS", 0.0)
    without = partition(district, 15, balance=balance, seed=0)
    for plan in (with_anneal, without):
        m = plan.metrics()
        assert m["contiguous"] and m["within_tolerance"]
    assert with_anneal.metrics()["pp_mean"] >= without.metrics()["pp_mean"] + 0.02


def test_annealing_steps_follow_the_budget():
    """The annealing draws ``sweeps`` steps per cut edge, at most ``max_steps`` (what ``effort=``
    scales): counted, not timed."""
    s, *_ = _ragged_search()
    lab = np.asarray(s.lab)
    coo = s.adj.tocoo()
    cut = int((lab[coo.row] != lab[coo.col]).sum())
    assert s.anneal(sweeps=3.0) == 3 * cut
    s, *_ = _ragged_search()
    assert s.anneal(sweeps=3.0, max_steps=cut) == cut


def test_effort_scales_the_kernel_starts():
    """effort=1 is the default budget; more effort, at least as many starts and polished starts."""
    from gridplan._partition import partition as kernel

    for n, k in ((50, 3), (400, 8), (5000, 15)):
        assert kernel.n_starts(n, k) == kernel.n_starts(n, k, effort=1.0)
        assert kernel.n_polished(n, k) == kernel.n_polished(n, k, effort=1.0)
        assert kernel.n_starts(n, k, effort=4.0) >= kernel.n_starts(n, k)
        assert kernel.n_polished(n, k, effort=4.0) >= kernel.n_polished(n, k)
        assert kernel.n_starts(n, k, effort=0.1) >= kernel.MIN_STARTS
    assert kernel.n_starts(5000, 15, effort=4.0) > kernel.n_starts(5000, 15)


@pytest.mark.parametrize("effort", [0, -1, float("nan"), "more"])
def test_bad_effort_is_a_typed_error(district, effort):
    with pytest.raises(DataError, match="effort"):
        partition(district, 4, effort=effort)


@pytest.mark.slow
def test_effort_is_kept_and_reproducible(district):
    """More annealing on the multi-measure grids: every box kept, parts whole, same effort and
    seed same plan, and the effort in the plan's parameters."""
    balance = {"population": 0.05, "street_km": 0.10}
    plan = partition(district, 8, balance=balance, seed=0, effort=2.0)
    m = plan.metrics()
    assert m["contiguous"] and m["within_tolerance"] and plan.params["effort"] == 2.0
    assert np.array_equal(plan.labels, partition(district, 8, balance=balance, seed=0, effort=2.0).labels)


def test_annealing_refuses_a_redraw():
    """The annealing has no home term: a search with home labels (a redraw) is refused."""
    from gridplan import _multibalance as mb

    adj, _ = lattice(4, 4)
    x = np.ones((16, 1))
    lab = np.repeat([0, 1], 8)
    scaled = mb._scaled(x, 2)
    s = mb._search_for(
        adj,
        lab,
        2,
        scaled,
        np.array([0.1]),
        mb._combined(scaled, np.array([0.1])),
        np.ones(16),
        np.full(16, 4.0),
        None,
        np.random.default_rng(0),
        float("inf"),
        lab,
    )
    with pytest.raises(ValueError, match="redraw"):
        s.anneal()


def test_exchange_repair_takes_one_unit_in_and_gives_one_out():
    """A path of 9 units in three parts B | A | C.  A is short of measure 0 and at the top of
    measure 1: taking u2 from B (rich in measure 0, carrying some measure 1) alone pushes A
    over on measure 1, giving u5 to C alone leaves A short; no single move, swap or chain
    lowers the violation, but u2 in and u5 out at once puts every part within its box."""
    from gridplan import _multibalance as mb

    adj = sp.csr_array(sp.diags([1.0, 1.0], [-1, 1], (9, 9)))
    x = np.array(
        [
            [4.5, 4.75],
            [4.5, 4.75],
            [3.0, 0.5],  # B: (12, 10)
            [3.0, 5.0],
            [3.0, 5.0],
            [0.0, 0.5],  # A: (6, 10.5), boxes [7, 13] and [9.4, 10.6]
            [0.0, 3.0],
            [6.0, 3.5],
            [6.0, 3.0],
        ]
    )  # C: (12, 9.5)
    tol = np.array([0.3, 0.06])
    k = 3
    lab = np.repeat([1, 0, 2], 3)
    scaled = mb._scaled(x, k)
    s = mb._search_for(
        adj,
        lab,
        k,
        scaled,
        tol,
        mb._combined(scaled, tol),
        np.ones(9),
        np.full(9, 4.0),
        None,
        np.random.default_rng(0),
        float("inf"),
        None,
    )
    assert s.multi_violation() > 0
    assert s.greedy_repair() == 0 and s.swap_repair() == 0 and not s.chain_repair()
    assert s.lab == lab.tolist()  # the older repairs leave it as it was
    assert s.exchange_repair() == 1 and s.multi_violation() == 0
    out = np.asarray(s.lab)
    assert out.tolist() == [1, 1, 0, 0, 0, 2, 2, 2, 2]
    spread = measure_spreads(x, out, k)  # counted from scratch, not from the search's sums
    assert (spread[:, 1] <= 1 + tol + 1e-9).all() and (spread[:, 0] >= 1 - tol - 1e-9).all()
    assert contiguous(adj, out, k)
    W = np.stack([np.bincount(out, weights=scaled[:, j], minlength=k) for j in range(2)], axis=1)
    assert np.allclose(s.Wm, W)  # the incremental bookkeeping agrees


def test_region_repair_reaches_past_neighbours_and_keeps_parts_whole():
    """Region re-splits grow along the part graph to a part that has measure to spare; the
    repaired plan is kept only if better, and every part stays connected (oracle: scipy)."""
    from gridplan import _multibalance as mb

    adj, xy = lattice(6, 12)
    col = np.tile(np.arange(12), 6)
    lab = col // 3  # four 6 x 3 strips holding 0.42, 0.83, 1.50 and 1.25 x the mean of measure 0
    x = np.column_stack([np.array([0.5, 1.0, 1.8, 1.5])[lab], np.ones(72)])
    tol = np.array([0.05, 0.05])
    k = 4
    scaled = mb._scaled(x, k)
    s = mb._search_for(
        adj,
        lab,
        k,
        scaled,
        tol,
        mb._combined(scaled, tol),
        np.ones(72),
        np.full(72, 4.0),
        None,
        np.random.default_rng(0),
        float("inf"),
        None,
    )
    geo = mb._Geometry(adj, xy, scaled, tol, np.ones(72), np.full(72, 4.0))
    # strip 1 (short) grows towards strip 2 (rich), not towards strip 0 (poorer still, and
    # further outside its box, which a region of the worst neighbours would take first)
    assert s._region_parts(1) == [1, 2, 0, 3]
    before = s.multi_violation()
    s.region_repair(geo)
    out = np.asarray(s.lab)
    assert contiguous(adj, out, k)
    assert s.multi_violation() < before
    W = np.stack([np.bincount(out, weights=scaled[:, j], minlength=k) for j in range(2)], axis=1)
    assert np.allclose(s.Wm, W)
    assert s.multi_violation() == pytest.approx(float(s._viol_rows(W).sum()))


def test_kernel_errors_name_the_measure():
    adj, xy = lattice(4, 4)
    x = np.ones((16, 2))
    with pytest.raises(DataError, match="tolerance of 'm1'"):
        run(adj, x, [0.1, -0.1], 2, xy)
    x0 = x.copy()
    x0[:, 1] = 0
    with pytest.raises(DataError, match="no unit has any 'm1'"):
        run(adj, x0, [0.1, 0.1], 2, xy)
    heavy = x.copy()
    heavy[5, 1] = 40  # one unit holds more than a part's share of m1
    with pytest.raises(InfeasibleError, match="m1"):
        run(adj, heavy, [0.1, 0.1], 2, xy)
    res = run(adj, heavy, [0.1, 0.1], 2, xy, strict=False)
    assert not res.feasible and res.worst()[0] == "m1" and res.worst()[1] > 0.5


# ---------------------------------------------------------------------- through partition()
@pytest.fixture(scope="module")
def district():
    return gridplan.sample_district(seed=0)


@pytest.fixture(scope="module")
def balanced(district):
    return partition(district, 8, balance={"population": 0.05, "street_km": 0.10}, seed=0)


@pytest.mark.slow
def test_partition_balances_every_measure(balanced):
    table = balanced.spreads()
    assert list(table.index) == ["population", "street_km"] and table["within"].all()
    g = balanced.grids
    for col, tol in (("population", 0.05), ("street_km", 0.10)):  # independent of spreads(): the grid table
        share = g[col] / g[col].mean()
        assert share.max() <= 1 + tol + 1e-9 and share.min() >= 1 - tol - 1e-9
    m = balanced.metrics()
    assert m["contiguous"] and m["within_tolerance"]
    assert {"population_min", "population_max", "street_km_min", "street_km_max"} <= set(m.index)
    assert balanced.params["balance"] == {"population": 0.05, "street_km": 0.10}
    assert balanced.units["grid"].notna().all() and len(balanced.units) == balanced.grids["n_units"].sum()


def test_balanced_plan_survives_a_round_trip(balanced, tmp_path):
    path = balanced.to_file(tmp_path / "plan.gpkg")
    back = GridPlan.read_file(path)
    assert back.params["balance"] == balanced.params["balance"]
    assert back.spreads().round(9).equals(balanced.spreads().round(9))


def test_population_plan_reports_street_spread_too(sample_plan_15):
    m = sample_plan_15.metrics()
    assert m["street_km_max"] > 1.3  # a population-only plan leaves street length unbalanced


@pytest.mark.slow
def test_cases_from_a_ledger_as_a_third_measure(district):
    from gridplan.datasets import sample_ledger
    from gridplan.ledger import read_ledger

    ledger = read_ledger(sample_ledger(district, 1200, seed=3), district=district)
    units = build_units(district, workload={"cases": ledger})
    assert units.frame["cases"].sum() == (ledger["reason"] == "").sum()
    plan = partition(district, 6, units=units, balance={"population": 0.05, "street_km": 0.1, "cases": 0.1}, seed=1)
    assert plan.spreads()["within"].all() and "cases" in plan.grids.columns
    assert plan.grids["cases"].sum() == units.frame["cases"].sum()


@pytest.mark.slow
def test_infeasible_balance_names_the_measure_and_the_miss(district):
    """17 communities cannot make 5 grids within ±2 % on both measures."""
    bal = {"population": 0.02, "street_km": 0.02}
    with pytest.raises(InfeasibleError, match=r"population ranges .*outside ±2\.0% by"):
        partition(district, 5, units="communities", balance=bal, seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = partition(district, 5, units="communities", balance=bal, seed=0, strict=False)
    assert any(issubclass(w.category, GridplanWarning) and "population" in str(w.message) for w in caught)
    table = plan.spreads()
    assert (~table["within"]).any() and (table["off_by"] > 0).any()
    assert plan.notes and "population" in plan.notes[-1] and plan.metrics()["contiguous"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "balance, message",
    [
        ({"population": -0.05}, "between 0 and 1"),
        ({"population": 0.05, "cases": 0.1}, "workload="),
        ({}, "dict of measures"),
        ({"street_km": 0.1, "street_length": 0.1}, "twice"),
    ],
)
def test_bad_balance_is_a_typed_error(district, balance, message):
    with pytest.raises(GridplanError, match=message):
        partition(district, 5, balance=balance)


def test_weight_and_balance_together_is_an_error(district):
    with pytest.raises(DataError, match="not both"):
        partition(district, 5, weight="population", balance={"population": 0.05})


@pytest.mark.slow
def test_resplit_takes_balance(district):
    plan = resplit(district, 14, balance={"population": 0.05, "street_km": 0.10}, seed=0)
    assert plan.spreads()["within"].all() and plan.metrics()["contiguous"]
    assert plan.previous is not None and plan.previous.n_grids == 12
