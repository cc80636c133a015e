"""The synthetic roster of grid staff (:func:`gridplan.datasets.sample_roster`), below both datasets and simulate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

__all__ = ["build_roster", "sample_staff_roster"]


def build_roster(district: Any, n_grids: int, seed: int, n: int) -> pd.DataFrame:
    """``n`` people for "1+2+2" teams in ``n_grids`` grids of ``district`` (arguments already checked)."""
    rng = np.random.default_rng(seed)
    n_lead = max(1, round(n / 5))
    n_off = (n - n_lead) // 2
    roles = np.array(["leader"] * n_lead + ["officer"] * n_off + ["worker"] * (n - n_lead - n_off), dtype=object)
    party = np.zeros(n, bool)
    n_party_lead = min(n_lead, max(round(0.85 * n_lead), n_grids + 1))
    party[rng.choice(n_lead, n_party_lead, replace=False)] = True
    rest = np.arange(n_lead, n)
    p_rest = np.where(roles[rest] == "officer", 0.30, 0.15)
    party[rest] = rng.random(len(rest)) < p_rest
    perm = rng.permutation(n)  # mix roles along the id sequence
    roles, party = roles[perm], party[perm]

    pop = district.population
    if len(pop) and "population" in pop.columns and pop["population"].sum() > 0:
        w = pop["population"].to_numpy(float)
        pick = rng.choice(len(pop), n, p=w / w.sum())
        pts = pop.geometry.values[pick]
        x = shapely.get_x(pts) + rng.normal(0, 50, n)
        y = shapely.get_y(pts) + rng.normal(0, 50, n)
    else:
        shape = district.shape
        x0, y0, x1, y1 = shape.bounds
        xs: list[float] = []
        ys: list[float] = []
        while len(xs) < n:
            cx, cy = rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n)
            inside = shapely.contains_xy(shape, cx, cy)
            xs += cx[inside].tolist()
            ys += cy[inside].tolist()
        x, y = np.array(xs[:n]), np.array(ys[:n])

    shifts = ("early", "middle", "late")
    u = rng.random(n)
    unavailable = []
    for i in range(n):
        k = 2 if u[i] < 0.03 else (1 if u[i] < 0.15 else 0)
        unavailable.append(";".join(sorted(rng.choice(shifts, k, replace=False), key=shifts.index)) if k else "")
    family = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
    given = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂")
    names = [
        family[rng.integers(len(family))] + "".join(given[j] for j in rng.integers(len(given), size=rng.integers(1, 3)))
        for _ in range(n)
    ]
    width = max(3, len(str(n)))
    out = pd.DataFrame(
        {
            "id": [f"P{i:0{width}d}" for i in range(1, n + 1)],
            "name": names,
            "role": roles,
            "party_member": party,
            "x": np.round(x, 1),
            "y": np.round(y, 1),
            "unavailable": unavailable,
        }
    )
    out.attrs["crs"] = district.crs.to_string()
    return out


def sample_staff_roster(plan: Any, *, seed: int) -> pd.DataFrame:
    """``sample_roster(plan, seed=seed)`` for a plan that carries its district (for ``simulate(staffing="sample")``)."""
    import math

    n_grids = len(plan.grids)
    return build_roster(plan.district, n_grids, int(seed), math.ceil(1.3 * 5 * n_grids))
