"""Data sets: the offline synthetic sample district and loaders for real files.

:func:`sample_district` needs nothing but gridplan itself. The loaders for real
data (:func:`county_boundary`, :func:`xicheng_subdistricts`,
:func:`changan_streets`) read the GeoPackages that accompany the project's
tests (``shared/data``); point them at the folder with ``data_dir=`` or the
``GRIDPLAN_SHARED_DATA`` environment variable. County boundaries there are
published by map vendors in **GCJ-02**: the loaders convert them with
:mod:`gridplan.crs`, they never treat them as WGS84.

Examples
--------
>>> d = sample_district(seed=0)
>>> d.synthetic, 30 <= d.area_km2 <= 60, len(d.grids)
(True, True, 12)
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd

from . import _io
from . import crs as gcrs
from .district import District
from .errors import DataError

__all__ = ["sample_district", "find_data_dir", "county_boundary", "xicheng_subdistricts", "changan_streets", "COUNTIES", "sample_roster"]

SAMPLE_NAME = "示例区 (Sample district, synthetic)"

COUNTIES = {
    "522723": "贵定县 Guiding county (Qiannan, Guizhou)",
    "370102": "历下区 Lixia district (Jinan)",
    "511102": "市中区 Shizhong district (Leshan)",
    "410181": "巩义市 Gongyi (Zhengzhou)",
    "410102": "中原区 Zhongyuan district (Zhengzhou)",
}
"""Adcodes of the real county-level boundaries shipped with the test data."""


@lru_cache(maxsize=8)
def _sample_frames(seed: int) -> dict[str, gpd.GeoDataFrame]:
    from ._synthetic import build_sample_frames

    return build_sample_frames(seed)


def sample_district(seed: int = 0) -> District:
    """A synthetic but realistic district of 30-60 km², built offline.

    An irregular boundary; an organic street network (warped arterial grid,
    secondary and local streets thinning from a dense core, dead ends, a river
    crossed by a few bridges and a railway crossed by a few streets; 2,000-6,000
    segments in one connected component); 10-20 communities in 2-4 subdistricts
    tiling the boundary along streets; 200k-400k residents as unevenly clustered
    address points (column ``population``); and an existing, unbalanced plan of
    12 grids (the "before" of a 12 → 15 redraw). It lies near Guiding county,
    Guizhou, in CGCS2000 / 3-degree Gauss-Krüger CM 108E (EPSG:4545). Same seed,
    identical district. Everything about it is synthetic, and it says so
    (``district.synthetic``, summaries and map titles).

    Parameters
    ----------
    seed : int
        Seed of the generator.

    Returns
    -------
    District
    """
    frames = _sample_frames(int(seed))
    layers = {k: frames[k] for k in ("boundary", "streets", "communities", "population", "grids")}
    district = District.from_frames(**layers, name=SAMPLE_NAME, code=str(frames["boundary"]["code"].iloc[0]),
                                    synthetic=True)
    district.notes.append(f"synthetic sample district (seed={seed}): streets, communities, population and grids are generated")
    return district


def find_data_dir(path: str | Path | None = None) -> Path:
    """Folder of the real test data (``shared/data``).

    Looks at ``path``, then ``$GRIDPLAN_SHARED_DATA``, then ``shared/data`` beside the
    current folder or any of its parents.
    """
    candidates: list[Path] = []
    if path is not None:
        candidates.append(Path(path))
    elif os.environ.get("GRIDPLAN_SHARED_DATA"):
        candidates.append(Path(os.environ["GRIDPLAN_SHARED_DATA"]))
    else:
        here = Path.cwd().resolve()
        for folder in (here, *here.parents):
            candidates += [folder / "shared" / "data", folder / "data"]
    for c in candidates:
        if (c / "county_boundaries_gcj02.gpkg").exists() or (c / "xicheng_subdistricts.gpkg").exists():
            return c
    raise DataError(
        f"real data folder not found (looked in {[str(c) for c in candidates[:4]]}...); pass data_dir= "
        "or set GRIDPLAN_SHARED_DATA to the folder holding county_boundaries_gcj02.gpkg"
    )


def county_boundary(adcode: str | int, *, data_dir: str | Path | None = None, **kwargs: Any) -> District:
    """A real county-level boundary (GCJ-02 in the file) as a :class:`District`.

    Parameters
    ----------
    adcode : str or int
        One of :data:`COUNTIES` (names such as 市中区 are not unique in China; the adcode is).
    data_dir : path, optional
        Folder of the real data (see :func:`find_data_dir`).
    **kwargs
        Passed to :meth:`District.from_frames` (e.g. ``metric_crs=``).
    """
    folder = find_data_dir(data_dir)
    frame = _io.read_layer(folder / "county_boundaries_gcj02.gpkg", "county_boundaries_gcj02")
    rows = frame[frame["adcode"].astype(str) == str(adcode)]
    if rows.empty:
        raise DataError(f"no boundary with adcode {adcode!r}; available: {sorted(frame['adcode'].astype(str))}")
    return District.from_frames(rows.reset_index(drop=True), crs=gcrs.GCJ02, **kwargs)


def xicheng_subdistricts(*, data_dir: str | Path | None = None) -> gpd.GeoDataFrame:
    """The 15 real subdistricts (街道) of Xicheng, Beijing, in WGS84 (EPSG:4326)."""
    folder = find_data_dir(data_dir)
    return _io.read_layer(folder / "xicheng_subdistricts.gpkg", "xicheng_subdistricts")


def changan_streets(*, data_dir: str | Path | None = None) -> gpd.GeoDataFrame:
    """The real Chang'an (Xi'an) road links in WGS84: 3,267 links, 470.8 km, messy as real data is."""
    folder = find_data_dir(data_dir)
    return _io.read_layer(folder / "changan_roads.gpkg", "changan_roads")


def sample_roster(district_or_plan: Any, seed: int = 0, n_people: int | None = None) -> Any:
    """A synthetic roster of grid staff for :func:`gridplan.staffing.assign_staff`.

    Enough people for "1+2+2" teams in every grid plus about 30 % spare
    (``ceil(1.3 × 5 × n_grids)`` by default; 15 grids when given a district), in the
    ratio 1 leader : 2 officers : 2 workers. Party members: about 85 % of leaders (and
    never fewer than one per grid plus one), 30 % of officers, 15 % of workers. Homes
    are drawn from the district's population points in proportion to their residents,
    jittered by about 50 m (uniformly inside the boundary when there are none). About
    12 % of people cannot work one shift and 3 % two (column ``unavailable``,
    ``";"``-separated). Same seed, same roster.

    Parameters
    ----------
    district_or_plan : District or GridPlan
        A plan must carry its district (plans made by ``partition`` do).
    seed : int
    n_people : int, optional
        Roster size (at least 3).

    Returns
    -------
    pandas.DataFrame
        ``id``, ``name``, ``role`` (leader/officer/worker), ``party_member``, ``x``, ``y``
        (homes in the district's metric CRS, also in ``.attrs["crs"]``), ``unavailable``.

    Examples
    --------
    >>> r = sample_roster(sample_district(seed=0), seed=0)
    >>> len(r), sorted(r["role"].value_counts().items())
    (98, [('leader', 20), ('officer', 39), ('worker', 39)])
    """
    import math

    import numpy as np
    import pandas as pd
    import shapely

    if isinstance(district_or_plan, District):
        district, n_grids = district_or_plan, 15
    elif hasattr(district_or_plan, "grids") and hasattr(district_or_plan, "district"):
        district, n_grids = district_or_plan.district, len(district_or_plan.grids)
        if district is None:
            raise DataError("the plan carries no district (read from a file?); pass the District instead")
    else:
        raise DataError(f"sample_roster needs a District or a GridPlan, got {type(district_or_plan).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise DataError(f"seed must be a whole number, got {seed!r}")
    n = math.ceil(1.3 * 5 * n_grids) if n_people is None else n_people
    if isinstance(n, bool) or not isinstance(n, int) or n < 3:
        raise DataError(f"n_people must be a whole number >= 3, got {n_people!r}")
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
        xs, ys = [], []
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
    names = [family[rng.integers(len(family))] + "".join(given[j] for j in rng.integers(len(given), size=rng.integers(1, 3)))
             for _ in range(n)]
    width = max(3, len(str(n)))
    out = pd.DataFrame({
        "id": [f"P{i:0{width}d}" for i in range(1, n + 1)],
        "name": names,
        "role": roles,
        "party_member": party,
        "x": np.round(x, 1),
        "y": np.round(y, 1),
        "unavailable": unavailable,
    })
    out.attrs["crs"] = district.crs.to_string()
    return out
