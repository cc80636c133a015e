"""Grids balanced on several measures: the glue between ``grids`` and ``_multibalance``.

``partition(district, 15, balance={"population": 0.05, "street_km": 0.10, "cases": 0.10})``
names the measures to balance and each one's tolerance.  A name is a unit column
(``population``, ``street_m``, ``area_m2``, a workload counted by
``build_units(..., workload={"cases": ledger})``, or any column of the units) or one
of the planner's words for them (``street_km``, ``street_length``, ``area``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError

__all__: list[str] = []

#: The planner's words for unit columns (the grid table's own column name in brackets).
MEASURE_COLUMNS = {
    "street_km": "street_m",
    "street_length": "street_m",
    "street_m": "street_m",
    "area": "area_m2",
    "area_km2": "area_m2",
    "area_m2": "area_m2",
    "population": "population",
    "patrol_km": "patrol_m",
    "patrol_m": "patrol_m",
}

#: A street network's odd-degree nodes are paired up by a patrol's repeated walking (the Chinese postman
#: tour repeats a shortest matching of them); half the distance from each odd node to its nearest other
#: odd node is that node's share of a lower bound on the repetition.  Straight-line distances are taken
#: times this detour factor (street distance over straight-line distance in a street grid).
DETOUR = 1.3


def check_balance(balance: Any) -> dict[str, float]:
    """``balance=`` as an ordered ``{measure: tolerance}`` dict, checked."""
    if not isinstance(balance, Mapping) or not balance:
        raise DataError(
            "balance= takes a dict of measures and tolerances, e.g. {'population': 0.05, 'street_km': 0.10, 'cases': 0.10}"
        )
    out: dict[str, float] = {}
    for name, tol in balance.items():
        if not isinstance(name, str) or not name:
            raise DataError(f"balance= keys must be measure names; got {name!r}")
        try:
            t = float(tol)
        except (TypeError, ValueError):
            raise DataError(f"the tolerance of {name!r} must be a number, got {tol!r}") from None
        if not (np.isfinite(t) and 0 < t < 1):
            raise DataError(f"the tolerance of {name!r} must be a fraction between 0 and 1 (e.g. 0.05 for ±5 %), got {tol!r}")
        column = MEASURE_COLUMNS.get(name, name)
        if column in {MEASURE_COLUMNS.get(n, n) for n in out}:
            raise DataError(f"balance= names {name!r} twice (under two names); give each measure once")
        out[name] = t
    return out


def measure_matrix(frame: pd.DataFrame, balance: Mapping[str, float]) -> np.ndarray:
    """Every unit's value of every balanced measure, shape (n, m)."""
    cols = []
    for name in balance:
        column = MEASURE_COLUMNS.get(name, name)
        if column not in frame:
            known = sorted(set(MEASURE_COLUMNS) | {c for c in frame.columns if c not in ("geometry", "grid")})
            raise DataError(
                f"balance= names {name!r}, which no unit has; use one of {known}, or count it per unit first "
                f"with build_units(district, workload={{{name!r}: ledger}}) and pass units= to partition"
            )
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            raise DataError(
                f"measure {name!r} has {int(bad.sum())} NaN or negative unit values "
                f"(units {np.flatnonzero(bad)[:5].tolist()}); fix the source column"
            )
        if values.sum() <= 0:
            raise DataError(
                f"no unit has any {name!r} (it is zero everywhere); drop it from balance= or give the "
                "units that workload (build_units(..., workload={...}))"
            )
        cols.append(values)
    return np.column_stack(cols)


def patrol_lengths(frame: pd.DataFrame, district: Any) -> np.ndarray:
    """Street length plus an estimate of the repeated walking a patrol needs, per unit (m).

    A road chief's closed walk covers every street once plus a shortest pairing of the
    network's odd-degree junctions (the Chinese postman's repetition).  Each odd node adds
    half the distance to its nearest other odd node (times :data:`DETOUR`), a unit-additive
    estimate of that pairing, to the unit holding it.  Balancing ``patrol_km`` balances the
    chiefs' walks where ``street_km`` balances only the streets (dead ends and odd junctions
    make some grids' walks much longer than their street length)."""
    from scipy.spatial import cKDTree

    from .units import _point_owner

    nodes = district.network.nodes
    odd = nodes[nodes["degree"] % 2 == 1]
    extra = np.zeros(len(frame))
    if len(odd) >= 2:
        xy = odd[["x", "y"]].to_numpy()
        dist, _ = cKDTree(xy).query(xy, k=2)
        share = 0.5 * DETOUR * dist[:, 1]
        pidx, uidx = _point_owner(np.asarray(frame.geometry.values), np.asarray(odd.geometry.values))
        np.add.at(extra, uidx, share[pidx])
    return frame["street_m"].to_numpy(dtype=float) + extra


def combined_weight(x: np.ndarray, tolerances: np.ndarray) -> np.ndarray:
    """The plan's ``weight`` when several measures are balanced: every measure as the unit's
    share of the district total times the number of units, weighed by 1 / tolerance."""
    shares = x / x.sum(axis=0) * len(x)
    coef = (1.0 / tolerances) / (1.0 / tolerances).sum()
    return shares @ coef


def label(balance: Mapping[str, float]) -> str:
    return "balanced: " + ", ".join(f"{name} ±{tol:.0%}" for name, tol in balance.items())


def spreads(units: pd.DataFrame, labels: np.ndarray, k: int, balance: Mapping[str, float]) -> pd.DataFrame:
    """Per measure: lightest and heaviest grid over the mean, the tolerance and whether it is met."""
    x = measure_matrix(units, balance)
    rows = []
    for j, (name, tol) in enumerate(balance.items()):
        total = np.bincount(labels, weights=x[:, j], minlength=k)
        mean = total.mean()
        lo, hi = float(total.min() / mean), float(total.max() / mean)
        given = bool(np.isfinite(tol))  # a measure reported, not balanced, has no tolerance to meet
        rows.append(
            {
                "measure": name,
                "min": lo,
                "max": hi,
                "tolerance": tol,
                "within": bool(hi <= 1 + tol + 1e-9 and lo >= 1 - tol - 1e-9) if given else None,
                "off_by": max(0.0, hi - 1 - tol, 1 - tol - lo) if given else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("measure")


def miss_message(table: pd.DataFrame) -> str:
    """Which measures miss their tolerance, and by how much."""
    bad = table[table["within"] == False]  # noqa: E712  (None: not balanced, not a miss)
    parts = [
        f"{m} ranges {r['min']:.3f}-{r['max']:.3f} of the mean, outside ±{r['tolerance']:.1%} by {r['off_by']:.1%}"
        for m, r in bad.iterrows()
    ]
    return "no plan within every tolerance was found: " + "; ".join(parts)
