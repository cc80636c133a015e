"""Constants shared by the generator's steps.

The sample district's CRS, centre and codes, street kind codes, limits and densities.
"""

from __future__ import annotations

SAMPLE_EPSG = 4545
"""EPSG code of every frame: CGCS2000 / 3-degree Gauss-Kruger CM 108E (metres)."""
SAMPLE_CENTRE_LONLAT = (107.23, 26.58)
"""Lon/lat (CGCS2000) the default district is centred on (Guiding county, Guizhou)."""
DISTRICT_CODE = "990101"
"""A clearly fictional 6-digit administrative division code (99 is no province)."""
DISTRICT_NAME = "示例区"
STREET_KINDS = ("arterial", "secondary", "local", "lane", "bridge")
"""Values of the ``kind`` column of ``streets``."""
N_SAMPLE_GRIDS = 12
"""Number of grids in the existing plan (the "before" of a 12 → 15 redraw)."""


# Kind codes, ordered by priority when two source lines claim one noded piece.
_BRIDGE, _ART, _SEC, _LOC, _LANE, _RING = range(6)
_KIND_NAME = {_BRIDGE: "bridge", _ART: "arterial", _SEC: "secondary", _LOC: "local", _LANE: "lane"}

_GRID = 0.01  # snap-rounding precision (m): every output coordinate is on this grid
_UNNAMED = "无名道路"
_MAX_SEGMENTS_DEFAULT = 6000
_MAX_SEGMENTS_GIVEN = 8000
_MIN_GIVEN_AREA = 4e6  # m²: smaller boundaries cannot hold 12 grids of street blocks
_MAX_PARTS = 4  # subdistricts must be contiguous and there are at most 4 of them
_CORE_PEOPLE_PER_KM2 = 18000.0  # people per km² where density == 1 (given boundary)


_URBAN_BASE = 0.2  # relative density everywhere in the urban core of a given boundary
_RURAL_PEOPLE_PER_KM2 = 100.0
_ALL_URBAN_KM2 = 120.0  # boundaries up to this size are urban throughout by default
_DEFAULT_URBAN_KM2 = 30.0  # the urban core of a larger boundary: a county seat
_VILLAGE_KM2 = 3.0  # rural land per village
_MAX_VILLAGES = 500
_MAX_RASTER_CELLS = 80_000
_MIN_CELL = 150.0  # m
_PEOPLE_PER_POINT = 9.0
