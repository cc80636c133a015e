"""The output GeoDataFrames (:func:`_frames`)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from .barriers import _Barriers
from .constants import _KIND_NAME, DISTRICT_CODE, DISTRICT_NAME
from .lines import _Lines
from .names import _RAILWAY_NAME, _RIVER_NAME
from .partitions import _Community


def _frames(
    outline: Any,
    streets: _Lines,
    communities: list[_Community],
    people: tuple[np.ndarray, np.ndarray],
    grids: list[tuple[np.ndarray, str, str, Any]],
    barriers: _Barriers,
    crs: pyproj.CRS,
    name: str = DISTRICT_NAME,
    code: str = DISTRICT_CODE,
) -> dict[str, gpd.GeoDataFrame]:
    boundary = gpd.GeoDataFrame({"name": [name], "code": [code]}, geometry=[outline], crs=crs)
    start = shapely.get_coordinates(shapely.get_point(streets.geom, 0))
    order = np.lexsort((start[:, 1], start[:, 0], np.array(streets.name, dtype=str), streets.kind))
    streets = streets.take(order)
    street_frame = gpd.GeoDataFrame(
        {
            "street_id": np.arange(len(streets), dtype=np.int64),
            "name": [str(x) for x in streets.name],
            "kind": [_KIND_NAME[int(k)] for k in streets.kind],
        },
        geometry=list(streets.geom),
        crs=crs,
    )
    comm_frame = gpd.GeoDataFrame(
        {
            "code": [c.code for c in communities],
            "name": [c.name for c in communities],
            "subdistrict": [c.sub_name for c in communities],
            "subdistrict_code": [c.sub_code for c in communities],
        },
        geometry=[c.geometry for c in communities],
        crs=crs,
    )
    pts, pop = people
    pop_frame = gpd.GeoDataFrame({"population": pop.astype(np.int64)}, geometry=list(pts), crs=crs)
    grid_frame = gpd.GeoDataFrame(
        {"code": [g[1] for g in grids], "name": [g[2] for g in grids]},
        geometry=[g[3] for g in grids],
        crs=crs,
    )
    river = gpd.GeoDataFrame({"name": [_RIVER_NAME]}, geometry=[shapely.intersection(barriers.river.drawn, outline)], crs=crs)
    railway = gpd.GeoDataFrame({"name": [_RAILWAY_NAME]}, geometry=[shapely.intersection(barriers.rail.line, outline)], crs=crs)
    return {
        "boundary": boundary,
        "streets": street_frame,
        "communities": comm_frame,
        "population": pop_frame,
        "grids": grid_frame,
        "river": river,
        "railway": railway,
    }
