"""Heavy units are split for the user (issue 17, item 6): a unit that alone weighs more than a grid may."""

from __future__ import annotations

import numpy as np
import pytest

from gridplan.district import District
from gridplan.errors import InfeasibleError
from gridplan.grids import partition
from gridplan.units import build_units, split_heavy_units

from .conftest import lopsided_layers


@pytest.fixture(scope="module")
def lopsided():
    """A 4 km town whose east half has no streets: one 8 km² block holding half the residents."""
    return District.from_frames(**{k: v for k, v in lopsided_layers().items() if k != "grids"})


def test_heavy_unit_is_split_and_the_plan_meets_the_tolerance(lopsided):
    units = build_units(lopsided)
    w = units.frame["weight"].to_numpy()
    n = 6
    heavy = int(np.argmax(w))
    assert w[heavy] > 1.03 * w.sum() / n  # the east block alone is heavier than a grid may be
    with pytest.raises(InfeasibleError, match=rf"unit {heavy} weighs .* split_heavy=True"):
        partition(lopsided, n, units=units, split_heavy=False)
    plan = partition(lopsided, n, units=units, seed=0)
    m = plan.metrics()
    assert m["within_tolerance"] and m["contiguous"] and m["balance_max"] <= 1.03
    assert any(f"unit {heavy} (" in note and "cells clipped to it" in note for note in plan.notes)
    # the cells tile the heavy unit exactly and every resident is still counted once
    cells = plan.units[plan.units.geometry.within(units.frame.geometry.iloc[heavy].buffer(1e-6))]
    assert len(cells) > 1
    assert cells.area.sum() == pytest.approx(units.frame.geometry.iloc[heavy].area, rel=1e-9)
    assert plan.units["population"].sum() == units.frame["population"].sum() == lopsided.population_total
    assert plan.units.geometry.area.sum() == pytest.approx(lopsided.shape.area, rel=1e-9)


def test_split_heavy_units_directly(lopsided):
    units = build_units(lopsided, weight="area")
    finer, notes = split_heavy_units(units, lopsided, n_grids=6, tolerance=0.03)
    w = finer.frame["weight"].to_numpy()
    assert w.max() <= 1.03 * w.sum() / 6  # none too heavy for a grid any more
    # area is spread evenly: no cell heavier than the target, 3 % of a grid, unless it is a whole small one
    big = units.frame["weight"].to_numpy() > 1.03 * w.sum() / 6
    assert big.sum() == len([n for n in notes if "cells clipped to it" in n])
    assert finer.frame["area_m2"].sum() == pytest.approx(units.frame["area_m2"].sum(), abs=0.01 * len(finer.frame))
    assert (finer.adjacency != finer.adjacency.T).nnz == 0
    assert (finer.frame["perimeter_m"].to_numpy() * 1.05 >= np.asarray(finer.adjacency.sum(axis=1)).ravel()).all()
    heavy = units.frame.geometry[big].union_all().buffer(1e-6)
    cells = finer.frame.geometry.within(heavy).to_numpy()
    assert cells.sum() > big.sum() and (w[cells] <= 0.03 * w.sum() / 6 + 1e-9).all()


def test_split_keeps_a_mixed_weight_on_its_scale(lopsided):
    """A weight of factor shares (scaled by the number of units) keeps its scale when units are split:
    the cells of a split unit weigh what it weighed and every other unit is unchanged (a fresh Hypothesis
    draw of test_partition_properties found a redraw whose workload grew from 56 to 74 units' worth)."""
    units = build_units(lopsided, weight={"population": 0.8, "area": 0.2})
    finer, _ = split_heavy_units(units, lopsided, n_grids=6, tolerance=0.03)
    assert len(finer.frame) > len(units.frame)
    old_w, new_w = units.frame["weight"].to_numpy(), finer.frame["weight"].to_numpy()
    assert new_w.sum() == pytest.approx(old_w.sum(), rel=1e-12)
    old_g, new_g = units.frame.geometry.to_numpy(), finer.frame.geometry.to_numpy()
    parent = np.array([int(np.argmax([g.intersection(o).area for o in old_g])) for g in new_g])
    by_parent = np.bincount(parent, weights=new_w, minlength=len(old_w))
    np.testing.assert_allclose(by_parent, old_w, rtol=1e-6)  # areas move with corners snapped by a micrometre
