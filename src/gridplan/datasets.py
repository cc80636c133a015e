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

__all__ = ["sample_district", "find_data_dir", "county_boundary", "xicheng_subdistricts", "changan_streets", "COUNTIES"]

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
