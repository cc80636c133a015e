"""Tests of the graph-partitioning kernel ``gridplan._partition``."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components

from gridplan._partition import PartitionResult, partition_graph, resplit_graph
from gridplan.errors import DataError, InfeasibleError

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------


def grid_graph(
    nx: int, ny: int, holes: np.ndarray | None = None, side: float = 10.0
) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    """Square cells of an ``ny`` x ``nx`` grid without the ``holes`` (a boolean mask).

    Returns adjacency (shared length ``side``), areas and perimeters; the largest
    connected piece is kept.
    """
    keep = np.ones((ny, nx), bool) if holes is None else ~holes
    idx = -np.ones((ny, nx), np.int64)
    idx[keep] = np.arange(int(keep.sum()))
    pairs = []
    for a, b in ((idx[:, :-1], idx[:, 1:]), (idx[:-1, :], idx[1:, :])):
        m = (a >= 0) & (b >= 0)
        pairs.append(np.c_[a[m], b[m]])
    e = np.concatenate(pairs)
    n = int(keep.sum())
    adj = sp.csr_array(
        (np.full(2 * len(e), side), (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])),
        shape=(n, n),
    )
    nc, comp = connected_components(adj, directed=False)
    big = np.flatnonzero(comp == np.argmax(np.bincount(comp)))
    adj = sp.csr_array(adj[big][:, big])
    m = adj.shape[0]
    return adj, np.full(m, side * side), np.full(m, 4.0 * side)


def assert_valid(res: PartitionResult, adj: sp.csr_array, k: int) -> None:
    labels = res.labels
    assert labels.shape == (adj.shape[0],)
    assert labels.min() == 0 and labels.max() == k - 1
    assert (np.bincount(labels, minlength=k) > 0).all()
    for p in range(k):
        idx = np.flatnonzero(labels == p)
        nc, _ = connected_components(adj[idx][:, idx], directed=False)
        assert nc == 1, f"part {p} has {nc} pieces"
    assert res.contiguous


def _search(
    adj: sp.csr_array, lab: np.ndarray, k: int, w: np.ndarray, areas: np.ndarray, perims: np.ndarray, tolerance: float = 0.03
):
    """A partition search over ``lab`` with the kernel's default weights, seed 0, no deadline."""
    from gridplan._partition.problem import Problem, bounds
    from gridplan._partition.search import Search

    _, lo, hi = bounds(float(w.sum()), k, tolerance)
    problem = Problem(adj, k, w, areas, perims, lo, hi, tolerance, float("inf"))
    return Search.for_partition(problem, lab, np.random.default_rng(0))


@st.composite
def grid_instances(draw: st.DrawFn) -> dict:
    nx = draw(st.integers(6, 16))
    ny = draw(st.integers(6, 16))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    holes = rng.random((ny, nx)) < draw(st.floats(0.0, 0.2))
    adj, areas, perims = grid_graph(nx, ny, holes)
    n = adj.shape[0]
    # many light units: each part gets >= 6 units, units weigh <= 2x the lightest
    k = draw(st.integers(1, max(1, n // 12)))
    weights = rng.uniform(1.0, 2.0, n)
    return dict(adj=adj, areas=areas, perims=perims, weights=weights, k=k, seed=seed)


# ----------------------------------------------------------------------------------------
# properties
# ----------------------------------------------------------------------------------------


@SETTINGS
@given(grid_instances())
def test_partition_properties(inst: dict) -> None:
    adj, k = inst["adj"], inst["k"]
    tol = 0.1
    res = partition_graph(
        adj,
        inst["weights"],
        k,
        areas=inst["areas"],
        perimeters=inst["perims"],
        tolerance=tol,
        seed=inst["seed"],
    )
    assert_valid(res, adj, k)
    assert res.feasible
    W = np.bincount(res.labels, weights=inst["weights"], minlength=k)
    mean = W.sum() / k
    assert (W <= (1 + tol) * mean * (1 + 1e-9)).all() and (W >= (1 - tol) * mean * (1 - 1e-9)).all()
    assert np.all((res.polsby_popper > 0) & (res.polsby_popper <= 1 + 1e-9))
    # deterministic for a seed
    again = partition_graph(
        adj,
        inst["weights"],
        k,
        areas=inst["areas"],
        perimeters=inst["perims"],
        tolerance=tol,
        seed=inst["seed"],
    )
    np.testing.assert_array_equal(res.labels, again.labels)


@pytest.mark.slow
@SETTINGS
@given(grid_instances(), st.integers(0, 1000))
def test_fixed_units_keep_labels(inst: dict, salt: int) -> None:
    adj, k = inst["adj"], inst["k"]
    if k < 2:
        k = 2
    n = adj.shape[0]
    # lock a small connected piece (a unit and some neighbours) to part k - 1
    rng = np.random.default_rng(salt)
    start = int(rng.integers(n))
    fixed = np.full(n, -1)
    fixed[start] = k - 1
    nbrs = adj.indices[adj.indptr[start] : adj.indptr[start + 1]]
    fixed[nbrs[:2]] = k - 1
    res = partition_graph(
        adj,
        inst["weights"],
        k,
        areas=inst["areas"],
        perimeters=inst["perims"],
        tolerance=0.15,
        seed=inst["seed"],
        fixed=fixed,
        strict=False,
    )
    # The property: locked units keep their part, and every part stays whole. Whether ±15 % is reached
    # with a locked piece is not (a sparse 68-unit instance, k=5, was missed by the search and is not
    # proven infeasible: --hypothesis-seed=18322696429454489824898954640077570586; balance is the subject
    # of test_partition_properties).
    assert_valid(res, adj, k)
    assert (res.labels[fixed >= 0] == fixed[fixed >= 0]).all()
    assert res.feasible or res.balance_max > 1.15 or res.balance_min < 0.85  # a miss is reported, never hidden


@pytest.mark.slow
@SETTINGS
@given(grid_instances(), st.integers(-2, 3))
def test_resplit_properties(inst: dict, dk: int) -> None:
    adj = inst["adj"]
    n = adj.shape[0]
    k_old = max(1, inst["k"])
    k_new = int(np.clip(k_old + dk, 1, max(1, n // 12)))
    tol = 0.1
    old = partition_graph(
        adj,
        inst["weights"],
        k_old,
        areas=inst["areas"],
        perimeters=inst["perims"],
        tolerance=tol,
        seed=1,
    ).labels
    # sparse grids with holes may admit no balanced plan for k_new (a near-tree graph):
    # resplit must succeed whenever a fresh partition does
    try:
        partition_graph(
            adj,
            inst["weights"],
            k_new,
            areas=inst["areas"],
            perimeters=inst["perims"],
            tolerance=tol,
            seed=2,
        )
    except InfeasibleError:
        assume(False)
    res = resplit_graph(
        adj,
        inst["weights"],
        old * 3 + 7,
        k_new,
        areas=inst["areas"],
        perimeters=inst["perims"],
        tolerance=tol,
        seed=inst["seed"],
    )
    assert_valid(res, adj, k_new)
    assert res.feasible
    assert 0.0 <= res.disruption_lower_bound <= res.disruption + 1e-9 <= 1.0 + 1e-9
    assert res.retained == pytest.approx(1 - res.disruption)
    assert res.matching.shape == (k_new,)
    matched = res.matching[res.matching >= 0]
    assert len(set(matched.tolist())) == matched.size
    assert set(matched.tolist()) <= set((old * 3 + 7).tolist())
    if k_new == k_old:
        assert res.disruption == pytest.approx(0.0)


# ----------------------------------------------------------------------------------------
# brute force on tiny graphs
# ----------------------------------------------------------------------------------------


def _exists_balanced(adj: sp.csr_array, w: np.ndarray, k: int, tol: float) -> bool:
    n = adj.shape[0]
    mean = w.sum() / k
    for labels in itertools.product(range(k), repeat=n):
        lab = np.array(labels)
        if lab[0] != 0 or len(set(labels)) < k:
            continue
        W = np.bincount(lab, weights=w, minlength=k)
        if (W > (1 + tol) * mean + 1e-9).any() or (W < (1 - tol) * mean - 1e-9).any():
            continue
        ok = True
        for p in range(k):
            idx = np.flatnonzero(lab == p)
            if connected_components(adj[idx][:, idx], directed=False)[0] != 1:
                ok = False
                break
        if ok:
            return True
    return False


@pytest.mark.slow
@pytest.mark.parametrize("case", range(25))
def test_brute_force_tiny(case: int) -> None:
    rng = np.random.default_rng(case)
    nx, ny = int(rng.integers(2, 4)), int(rng.integers(2, 4))
    adj, areas, perims = grid_graph(nx, ny)
    n = adj.shape[0]
    k = int(rng.integers(2, min(4, n) + 1))
    w = rng.integers(1, 5, n).astype(float)
    tol = float(rng.choice([0.0, 0.1, 0.25]))
    exists = _exists_balanced(adj, w, k, tol)
    if exists:
        res = partition_graph(adj, w, k, areas=areas, perimeters=perims, tolerance=tol, seed=case)
        assert res.feasible
        assert_valid(res, adj, k)
    else:
        with pytest.raises(InfeasibleError):
            partition_graph(adj, w, k, areas=areas, perimeters=perims, tolerance=tol, seed=case)
        res = partition_graph(adj, w, k, areas=areas, perimeters=perims, tolerance=tol, seed=case, strict=False)
        assert not res.feasible
        assert_valid(res, adj, k)


# ----------------------------------------------------------------------------------------
# errors and small cases
# ----------------------------------------------------------------------------------------


@pytest.fixture
def small() -> tuple[sp.csr_array, np.ndarray, np.ndarray, np.ndarray]:
    adj, areas, perims = grid_graph(4, 4)
    return adj, np.ones(adj.shape[0]), areas, perims


def test_more_parts_than_units(small: tuple) -> None:
    adj, w, a, p = small
    with pytest.raises(InfeasibleError, match="more than the 16 units"):
        partition_graph(adj, w, 17, areas=a, perimeters=p)
    with pytest.raises(InfeasibleError):
        partition_graph(adj, w, 17, areas=a, perimeters=p, strict=False)


@pytest.mark.parametrize("k", [0, -3])
def test_too_few_parts(small: tuple, k: int) -> None:
    adj, w, a, p = small
    with pytest.raises(InfeasibleError, match="at least 1"):
        partition_graph(adj, w, k, areas=a, perimeters=p)


def test_heavy_unit(small: tuple) -> None:
    adj, w, a, p = small
    w = w.copy()
    w[5] = 10.0
    with pytest.raises(InfeasibleError, match="unit 5 alone weighs"):
        partition_graph(adj, w, 4, areas=a, perimeters=p)
    res = partition_graph(adj, w, 4, areas=a, perimeters=p, strict=False)
    assert not res.feasible
    assert_valid(res, adj, 4)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, np.inf])
def test_bad_weights(small: tuple, bad: float) -> None:
    adj, w, a, p = small
    w = w.copy()
    w[3] = bad
    with pytest.raises(DataError, match="weights must be finite and > 0"):
        partition_graph(adj, w, 2, areas=a, perimeters=p)


def test_bad_shapes_and_adjacency(small: tuple) -> None:
    adj, w, a, p = small
    with pytest.raises(DataError, match="one value per unit"):
        partition_graph(adj, w[:-1], 2, areas=a, perimeters=p)
    asym = adj.tolil()
    asym[0, 1] = 3.0
    with pytest.raises(DataError, match="symmetric"):
        partition_graph(sp.csr_array(asym), w, 2, areas=a, perimeters=p)
    with pytest.raises(DataError, match="perimeters must be at least"):
        partition_graph(adj, w, 2, areas=a, perimeters=p / 10)


def test_disconnected_graph() -> None:
    adj, areas, perims = grid_graph(3, 3)
    island = sp.block_diag([adj, adj[:2][:, :2]], format="csr")
    n = island.shape[0]
    with pytest.raises(InfeasibleError, match="disconnected: 2 components.*islands must be joined"):
        partition_graph(island, np.ones(n), 2, areas=np.full(n, 100.0), perimeters=np.full(n, 40.0))


def test_fixed_disconnected_lock(small: tuple) -> None:
    adj, w, a, p = small
    fixed = np.full(16, -1)
    fixed[[0, 15]] = 1
    with pytest.raises(InfeasibleError, match="separate pieces"):
        partition_graph(adj, w, 2, areas=a, perimeters=p, fixed=fixed)


def test_one_part_and_all_units(small: tuple) -> None:
    adj, w, a, p = small
    res = partition_graph(adj, w, 1, areas=a, perimeters=p)
    assert (res.labels == 0).all() and res.feasible
    assert res.polsby_popper[0] == pytest.approx(4 * np.pi * 1600 / 160**2)
    res = partition_graph(adj, w, 16, areas=a, perimeters=p, tolerance=0.0)
    assert sorted(res.labels.tolist()) == list(range(16))


def test_groups_followed_when_balance_allows() -> None:
    # two 4x4 halves side by side; groups are the halves: the cut should follow them
    adj, areas, perims = grid_graph(8, 4)
    n = adj.shape[0]
    groups = np.tile(np.r_[np.zeros(4), np.ones(4)], 4)
    res = partition_graph(adj, np.ones(n), 2, areas=areas, perimeters=perims, tolerance=0.0, groups=groups)
    for g in (0, 1):
        assert len(np.unique(res.labels[groups == g])) == 1


def test_square_grid_is_compact() -> None:
    adj, areas, perims = grid_graph(20, 20)
    n = adj.shape[0]
    res = partition_graph(adj, np.ones(n), 4, areas=areas, perimeters=perims, tolerance=0.03)
    assert res.feasible
    assert res.polsby_popper.min() > 0.6  # 10 x 10 squares score pi/4 = 0.785


# ----------------------------------------------------------------------------------------
# METIS starts, fallback, and non-empty parts
# ----------------------------------------------------------------------------------------


def _polsby_popper(adj: sp.csr_array, labels: np.ndarray, k: int, areas: np.ndarray, perims: np.ndarray) -> np.ndarray:
    """4 pi A / P**2 of every part, P = cell perimeters less twice the length shared inside."""
    out = np.empty(k)
    for p in range(k):
        idx = np.flatnonzero(labels == p)
        perimeter = perims[idx].sum() - adj[idx][:, idx].sum()  # each shared side counted twice
        out[p] = 4 * np.pi * areas[idx].sum() / perimeter**2
    return out


def _parts_connected(adj: sp.csr_array, labels: np.ndarray, k: int) -> bool:
    """Every one of the ``k`` parts non-empty and connected (checked part by part)."""
    for p in range(k):
        idx = np.flatnonzero(labels == p)
        if idx.size == 0 or connected_components(adj[idx][:, idx], directed=False)[0] != 1:
            return False
    return True


@pytest.mark.parametrize("use_metis", [True, False])
def test_metis_and_fallback_paths(monkeypatch: pytest.MonkeyPatch, use_metis: bool) -> None:
    from gridplan._partition import starts

    if use_metis:
        pytest.importorskip("pymetis")
        assert starts._pymetis is not None  # the METIS path really runs
    monkeypatch.setattr(starts, "USE_METIS", use_metis)
    assert starts.metis_available() is use_metis
    adj, areas, perims = grid_graph(18, 14)
    n = adj.shape[0]
    w = np.random.default_rng(3).uniform(1.0, 2.0, n)
    lab = starts.metis_init(adj, 6, w, 0.03, 0)
    if use_metis:
        # a METIS start: one label per unit, all six parts used, each connected (contig=1),
        # and no part more than METIS's own balance factor allows away from the mean
        assert lab is not None and lab.shape == (n,)
        assert set(np.unique(lab).tolist()) == set(range(6))
        assert _parts_connected(adj, lab, 6)
        loads = np.bincount(lab, weights=w, minlength=6) / (w.sum() / 6)
        assert loads.max() < 1.5
    else:
        assert lab is None
    res = partition_graph(adj, w, 6, areas=areas, perimeters=perims, tolerance=0.03, seed=4)
    assert_valid(res, adj, 6)
    assert res.feasible
    assert res.polsby_popper.min() > 0.4
    again = partition_graph(adj, w, 6, areas=areas, perimeters=perims, tolerance=0.03, seed=4)
    np.testing.assert_array_equal(res.labels, again.labels)


@pytest.mark.slow
@pytest.mark.parametrize("heavy", [0, 5, 15])
@pytest.mark.parametrize("big", [100.0, 1e6])
def test_infeasible_plan_has_no_empty_part(heavy: int, big: float) -> None:
    # one unit holds almost all the workload: no balanced plan, but the returned
    # plan must still have every part non-empty and contiguous
    adj, areas, perims = grid_graph(4, 4)
    w = np.ones(16)
    w[heavy] = big
    for seed in range(3):
        res = partition_graph(adj, w, 4, areas=areas, perimeters=perims, seed=seed, strict=False)
        assert not res.feasible
        assert_valid(res, adj, 4)
        old = np.repeat([0, 1], 8)
        rs = resplit_graph(adj, w, old, 4, areas=areas, perimeters=perims, seed=seed, strict=False)
        assert_valid(rs, adj, 4)


def test_pair_resplit_keeps_guarantees() -> None:
    from gridplan._partition.metrics import evaluate
    from gridplan._partition.polish import polish

    adj, areas, perims = grid_graph(12, 12)
    n = adj.shape[0]
    w = np.ones(n)
    # a poor but valid start: four horizontal strips
    lab = np.repeat(np.arange(4), n // 4)
    s = _search(adj, lab, 4, w, areas, perims)
    before = sum(s.compactness_objective(s.A[p], s.P[p]) for p in range(4))
    polish(s, np.random.default_rng(0), 40, np.inf)
    after = sum(s.compactness_objective(s.A[p], s.P[p]) for p in range(4))
    out = np.asarray(s.lab)
    res = evaluate(adj, out, 4, w, areas, perims, 0.03, 0)
    assert res.contiguous and res.feasible
    assert after > before
    # independent of the kernel's bookkeeping: the parts' Polsby-Popper from the cells
    assert _polsby_popper(adj, out, 4, areas, perims).mean() > _polsby_popper(adj, lab, 4, areas, perims).mean()


# ----------------------------------------------------------------------------------------
# resplit quality: near the disruption bound, and compact
# ----------------------------------------------------------------------------------------


def _hotspot_case(nx: int, ny: int) -> tuple:
    adj, areas, perims = grid_graph(nx, ny)
    n = adj.shape[0]
    rng = np.random.default_rng(7)
    xy = np.c_[np.arange(n) % nx, np.arange(n) // nx]
    # a dense centre: the old grids near it are overloaded
    w = 1.0 + 2.0 * np.exp(-((xy - [nx * 0.3, ny * 0.6]) ** 2).sum(1) / 60.0)
    w += rng.uniform(0.0, 0.5, n)
    return adj, w, areas, perims


@pytest.mark.slow
@pytest.mark.parametrize("nx, ny, k_old, k_new, tol", [(36, 30, 8, 10, 0.05), (40, 32, 9, 12, 0.03)])
def test_resplit_near_bound_and_compact(nx: int, ny: int, k_old: int, k_new: int, tol: float) -> None:
    adj, w, areas, perims = _hotspot_case(nx, ny)
    old = partition_graph(adj, w, k_old, areas=areas, perimeters=perims, tolerance=0.03, seed=1).labels
    res = resplit_graph(adj, w, old, k_new, areas=areas, perimeters=perims, tolerance=tol, seed=0)
    assert_valid(res, adj, k_new)
    assert res.feasible
    # the larger of the two balance bounds (as GridPlan.compare reports it)
    total, mean = w.sum(), w.sum() / k_new
    W_old = np.bincount(old, weights=w)
    keep = np.sort(np.minimum(W_old, (1 + tol) * mean))[::-1][: min(k_old, k_new)]
    bound = max(1 - keep.sum() / total, (k_new - k_old) * (1 - tol) * mean / total)
    assert res.disruption_lower_bound == pytest.approx(bound)
    assert res.disruption <= 1.10 * bound
    # compact: not far below a fresh partition (the old kernel reached 0.6-0.75 of it)
    fresh = partition_graph(adj, w, k_new, areas=areas, perimeters=perims, tolerance=tol, seed=0)
    assert res.polsby_popper.mean() >= 0.8 * fresh.polsby_popper.mean()
    assert res.polsby_popper.min() >= 0.5 * fresh.polsby_popper.min()
    again = resplit_graph(adj, w, old, k_new, areas=areas, perimeters=perims, tolerance=tol, seed=0)
    np.testing.assert_array_equal(res.labels, again.labels)


def test_resplit_budget_keeps_equal_count_plan() -> None:
    # same number of parts and a balanced old plan: nothing may move
    adj, w, areas, perims = _hotspot_case(20, 16)
    old = partition_graph(adj, w, 5, areas=areas, perimeters=perims, tolerance=0.03, seed=2).labels
    res = resplit_graph(adj, w, old, 5, areas=areas, perimeters=perims, tolerance=0.05, seed=0)
    assert res.disruption == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_array_equal(res.matching[res.labels], old)


def test_chain_repair_clustered_grid() -> None:
    # heavy clustered cells (a few cells per part in the core): ejection chains must
    # lower the squared balance violation, keep parts contiguous and be deterministic
    from gridplan._partition.metrics import is_contiguous
    from gridplan._partition.repair import chain_repair

    nx = ny = 24
    adj, areas, perims = grid_graph(nx, ny)
    n = adj.shape[0]
    xy = np.c_[np.arange(n) % nx, np.arange(n) // nx]
    w = 1.0 + 6.0 * np.exp(-((xy - [8, 12]) ** 2).sum(1) / 20.0)
    k = 24
    lab = (xy[:, 0] // 4) * 4 + xy[:, 1] // 6  # 6 x 4 blocks: far from balanced

    def run() -> tuple[np.ndarray, float, float]:
        s = _search(adj, lab, k, w, areas, perims)
        before = s.sq_violation()
        assert chain_repair(s)  # the old path repair stopped ~2 % of a mean part short
        return np.asarray(s.lab), before, s.sq_violation()

    out, before, after = run()
    assert before > 0 and after == 0.0
    assert is_contiguous(adj, out, k) and _parts_connected(adj, out, k)
    assert np.bincount(out, minlength=k).min() > 0
    np.testing.assert_array_equal(out, run()[0])


def test_repack_heavy_cells() -> None:
    # a few heavy cells per part: an exact re-split of a part and its neighbours
    # brings it within the bounds, keeps parts contiguous and is deterministic
    from gridplan._partition.problem import bounds
    from gridplan._partition.repair import repack

    nx, ny, k = 8, 4, 4
    adj, areas, perims = grid_graph(nx, ny)
    n = adj.shape[0]
    w = np.random.default_rng(3).uniform(1.0, 2.0, n)
    xy = np.c_[np.arange(n) % nx, np.arange(n) // nx]
    lab = xy[:, 0] // 2  # 2 x 4 blocks of random weights: not balanced
    mean, lo, hi = bounds(float(w.sum()), k, 0.03)

    def run() -> np.ndarray:
        s = _search(adj, lab, k, w, areas, perims)
        p = int(np.argmax([abs(x - mean) for x in s.W]))
        assert not lo <= s.W[p] <= hi
        assert repack(s, p)
        assert lo <= s.W[p] <= hi
        return np.asarray(s.lab)

    out = run()
    assert _parts_connected(adj, out, k)
    np.testing.assert_array_equal(out, run())


def test_centroids_give_straight_cuts() -> None:
    adj, areas, perims = grid_graph(20, 20)
    n = adj.shape[0]
    xy = np.c_[np.arange(n) % 20, np.arange(n) // 20].astype(float)
    res = partition_graph(adj, np.ones(n), 4, areas=areas, perimeters=perims, tolerance=0.03, centroids=xy)
    assert res.feasible and res.contiguous
    assert res.polsby_popper.min() > 0.75  # 10 x 10 squares score pi/4 = 0.785
    with pytest.raises(DataError, match="centroids"):
        partition_graph(adj, np.ones(n), 4, areas=areas, perimeters=perims, centroids=xy[:, :1])
