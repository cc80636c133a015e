"""A synthetic city: several synthetic districts side by side, their streets joined at the seams.

The kernel behind :func:`gridplan.datasets.sample_city`. Each district is
:func:`gridplan.datasets.sample_district` grown inside one square tile of a
``rows × cols`` layout (EPSG:4545 metres, near the fictional 示例区), with its own
seed from one :class:`numpy.random.SeedSequence`. The generator ends every district's
streets at its own boundary, so at every shared edge the street ends that come within
:data:`SEAM_REACH_M` of the edge are joined to the nearest street end of the neighbour
(at most :data:`SEAM_LINK_M` away) by a short connector street (``kind == "connector"``):
residents and patrols can then cross from one district to the next, which is what
makes the seams of a city real.

Codes follow the hierarchy of the real codes: district ``9901NN`` (the fictional city
9901, district NN), then subdistrict, community and grid digits as the district
generator made them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from . import _validate
from .district import District

CITY_CODE = "9901"
CITY_NAME = "示例市 (Sample city, synthetic)"
ORIGIN = (400_000.0, 2_930_000.0)  # EPSG:4545 metres, near Guiding county (CM 108E)
SEAM_REACH_M = 60.0
"""A street end this close to a shared district edge is a seam end."""
SEAM_LINK_M = 400.0
"""Longest connector street drawn across a seam."""
_METRIC = "EPSG:4545"
_MIN_DISTRICT_KM, _MAX_DISTRICT_KM = 2.0, 11.0  # a square district of 4-120 km², urban throughout


def district_code(i: int) -> str:
    """Code of the i-th district (0-based) of the sample city."""
    return f"{CITY_CODE}{i + 1:02d}"


def _recode(values: pd.Series, code: str) -> pd.Series:
    """Replace the generator's district prefix (first six digits) by ``code``."""
    return pd.Series(
        [code + str(v)[6:] if isinstance(v, str) and len(v) >= 6 else v for v in values], index=values.index, dtype="str"
    )


def _tiles(n_districts: int, km: float) -> list[shapely.Polygon]:
    cols = math.ceil(math.sqrt(n_districts))
    side = km * 1000.0
    x0, y0 = ORIGIN
    return [
        shapely.box(x0 + (i % cols) * side, y0 + (i // cols) * side, x0 + (i % cols + 1) * side, y0 + (i // cols + 1) * side)
        for i in range(n_districts)
    ]


def _seam_links(streets: gpd.GeoDataFrame, tiles: list[shapely.Polygon]) -> list[shapely.LineString]:
    """Connectors between the street ends of neighbouring districts along each shared edge."""
    geoms = np.asarray(streets.geometry.values)
    ends = np.concatenate([shapely.get_point(geoms, 0), shapely.get_point(geoms, -1)])
    owner = np.concatenate([streets["district"].to_numpy(), streets["district"].to_numpy()])
    links = []
    for a in range(len(tiles)):
        for b in range(a + 1, len(tiles)):
            edge = shapely.intersection(tiles[a].boundary, tiles[b].boundary)
            if edge.is_empty or edge.length == 0:
                continue
            near = shapely.distance(ends, edge) <= SEAM_REACH_M
            pa = ends[near & (owner == a)]
            pb = ends[near & (owner == b)]
            if not len(pa) or not len(pb):
                continue
            xa, xb = shapely.get_coordinates(pa), shapely.get_coordinates(pb)
            xa = np.unique(np.round(xa, 2), axis=0)
            xb = np.unique(np.round(xb, 2), axis=0)
            dist, j = cKDTree(xb).query(xa)
            for k in np.flatnonzero(dist <= SEAM_LINK_M):
                if dist[k] > 0:
                    links.append(shapely.LineString([xa[k], xb[j[k]]]))
    return links


def build_city(n_districts: int, seed: int, district_km: float, *, make_district: Callable[..., District]) -> District:
    """The sample city as one :class:`District` whose boundary has one row per district.

    ``make_district`` is :func:`gridplan.datasets.sample_district`, handed down by its caller (this
    kernel sits below ``datasets`` and never imports it).
    """
    sample_district = make_district

    _validate.integer(n_districts, "n_districts", minimum=1)
    _validate.number(
        district_km,
        "district_km (km: a district of 4-120 km², urban throughout)",
        minimum=_MIN_DISTRICT_KM,
        maximum=_MAX_DISTRICT_KM,
    )
    seeds = np.random.SeedSequence(seed).generate_state(int(n_districts))
    tiles = _tiles(int(n_districts), float(district_km))
    layers: dict[str, list[gpd.GeoDataFrame]] = {"streets": [], "communities": [], "population": [], "grids": []}
    rows = []
    for i, tile in enumerate(tiles):
        code = district_code(i)
        d = sample_district(seed=int(seeds[i]), boundary=tile, crs=_METRIC)
        rows.append({"name": f"示例{i + 1}区 (district {i + 1}, synthetic)", "code": code, "geometry": tile})
        st = d.streets.copy()
        st["street_id"] = [f"{code}-{s}" for s in st["street_id"].astype(str)]
        st["district"] = i
        layers["streets"].append(st)
        comm = d.communities.copy()
        comm["code"] = _recode(comm["code"], code)
        comm["subdistrict_code"] = _recode(comm["subdistrict_code"], code)
        comm["district"] = code
        layers["communities"].append(comm)
        pop = d.population.copy()
        pop["district"] = code
        layers["population"].append(pop)
        grids = d.grids.copy()
        grids["code"] = _recode(grids["code"], code)
        grids["district"] = code
        layers["grids"].append(grids)
    frames = {k: gpd.GeoDataFrame(pd.concat(v, ignore_index=True), crs=_METRIC) for k, v in layers.items()}
    links = _seam_links(frames["streets"], tiles)
    if links:
        conn = gpd.GeoDataFrame(
            {"street_id": [f"{CITY_CODE}-seam-{j}" for j in range(len(links))], "name": "", "kind": "connector", "district": -1},
            geometry=links,
            crs=_METRIC,
        )
        frames["streets"] = gpd.GeoDataFrame(pd.concat([frames["streets"], conn], ignore_index=True), crs=_METRIC)
    frames["streets"] = frames["streets"].drop(columns="district")
    boundary = gpd.GeoDataFrame(rows, geometry="geometry", crs=_METRIC)
    city = District.from_frames(
        boundary,
        frames["streets"],
        frames["communities"],
        frames["population"],
        frames["grids"],
        name=CITY_NAME,
        code=CITY_CODE,
        synthetic=True,
    )
    city.notes.append(
        f"synthetic city: {n_districts} synthetic districts of {district_km:g} × {district_km:g} km "
        f"side by side (seed {seed}); {len(links)} connector streets join them at the seams"
    )
    return city
