"""Grid codes through redraws: a code means the same grid before and after (issue 17, item 5)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from gridplan.district import District
from gridplan.errors import DataError
from gridplan.grids import GridPlan, partition, resplit

from .conftest import metric_layers


@pytest.fixture(scope="module")
def town():
    """10 x 10 street blocks, two communities, two existing grids coded by the user."""
    layers = metric_layers(n_streets=11)
    layers["grids"] = layers["grids"].rename(columns={"code": "网格编号"}).assign(code=["x", "y"])
    return layers


def brute_force_match(new: GridPlan, old: GridPlan) -> dict[str, str]:
    """New code -> old code of the matching keeping most workload in place (an oracle built from the
    units' grid columns, independent of grids._match_grids)."""
    w = new.units["weight"].to_numpy()
    new_codes, old_codes = sorted(set(new.units["grid"])), sorted(set(old.units["grid"]))
    overlap = np.zeros((len(new_codes), len(old_codes)))
    for a, b, x in zip(new.units["grid"], old.units["grid"], w):
        overlap[new_codes.index(a), old_codes.index(b)] += x
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    return {new_codes[r]: old_codes[c] for r, c in zip(rows, cols) if overlap[r, c] > 0}


def check_continuity(new: GridPlan, old: GridPlan, ever_used: set[str]) -> None:
    match = brute_force_match(new, old)
    codes = set(new.grids["code"])
    # a grid continuing an old one has its code; every other grid has a code never used before
    assert all(new_code == old_code for new_code, old_code in match.items())
    fresh = codes - set(match)
    assert not fresh & ever_used
    assert new.grids["code"].is_unique
    t = new.compare(old).transfers
    assert not (t["old"] == t["new"]).any()  # no grid moves to itself


def test_resplit_keeps_codes_of_continuing_grids(town):
    d = District.from_frames(**town, grid_code="网格编号")
    assert list(d.grids["code"]) == ["G1", "G2"] and list(d.grids["code_source"]) == ["x", "y"]
    first = resplit(d, 5, seed=0)
    old = first.previous
    assert list(old.grids["code"]) == ["G1", "G2"]
    check_continuity(first, old, {"G1", "G2"})
    assert {"G1", "G2"} <= set(first.grids["code"])  # both old grids continue
    # a chain of redraws never hands out a retired code again
    used = {"G1", "G2"} | set(first.grids["code"])
    second = resplit(first, 3, seed=1)
    check_continuity(second, first, used)
    assert set(second.params["retired_codes"]) == used - set(second.grids["code"])
    used |= set(second.grids["code"])
    third = resplit(second, 6, seed=2)
    check_continuity(third, second, used)
    assert not (set(third.grids["code"]) - set(second.grids["code"])) & used


def test_resplit_code_column_and_plain_numbers(town):
    d = District.from_frames(**town)  # grid_code defaults to "code": the user's x / y
    assert list(resplit(d, 3, seed=0).previous.grids["code"]) == ["x", "y"]
    new = resplit(d, 3, seed=0, code="网格编号")  # or name the column at the redraw
    assert list(new.previous.grids["code"]) == ["G1", "G2"]
    check_continuity(new, new.previous, {"G1", "G2"})
    bare = town["grids"].drop(columns=["code", "网格编号"])
    plain = District.from_frames(**{**town, "grids": bare})
    old = GridPlan.from_district_grids(plain)
    assert list(old.grids["code"]) == ["01", "02"]
    assert any("no 'code' column" in n for n in old.notes)
    with pytest.raises(DataError, match="grid_code='编号' is not a column"):
        District.from_frames(**town, grid_code="编号")
    with pytest.raises(DataError, match="code= apply when resplitting a District"):
        resplit(new, 4, code="网格编号")


def test_repeated_or_missing_codes_are_refused(town):
    dup = town["grids"].assign(网格编号=["G1", "G1"])
    with pytest.raises(DataError, match="present and unique"):
        District.from_frames(**{**town, "grids": dup}, grid_code="网格编号")
    d = District.from_frames(**{**town, "grids": dup})
    with pytest.raises(DataError, match="repeats codes"):
        resplit(d, 3, code="网格编号")


def test_locked_partition_and_independent_plans(town):
    d = District.from_frames(**town, grid_code="网格编号")
    plan = partition(d, 5, locked=["G1"], tolerance=0.05)
    assert "G1" in set(plan.grids["code"]) and "G2" not in set(plan.grids["code"])
    assert not any(c.endswith("N") for c in plan.grids["code"])
    # two plans made independently number their grids alike: a shared code that is not the same
    # grid is named so in the transfers
    a, b = partition(d, 4, seed=0), partition(d, 5, seed=0)
    t = b.compare(a).transfers
    assert not (t["old"] == t["new"]).any()
