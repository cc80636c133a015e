"""Offline, deterministic synthetic sample district (示例区) for examples, tests and benchmarks.

:func:`build_sample_frames` grows a fictional but realistic Chinese urban district near
Guiding county (lon 107.23, lat 26.58) in CGCS2000 / 3-degree Gauss-Krüger CM 108E
(EPSG:4545, metres). Nothing is downloaded; the same seed always gives the same frames.

How the district is built (each step is one private function below):

1. **Boundary** (:func:`_random_boundary`): a smoothed noisy radius around the projected
   centre, scaled to 36-54 km², snapped to a 1 cm grid.
2. **Population density** (:class:`_Density`): a dense core, 2-3 secondary centres and a
   sparse base; it drives street density, building points and people per point.
3. **River and railway** (:func:`_make_river`, :func:`_make_railway`): a meandering river
   through the core with riverside roads on both banks (the edge of a "river zone") and a
   gently curved railway with frontage roads (the edge of a "railway zone"). Streets never
   enter a zone except at the 3-5 chosen bridges and 2-4 railway crossings, picked so that
   every part of the district stays reachable (:func:`_pick_crossings`).
4. **Arterials** (:func:`_arterial_lines`): a warped grid at ~760-940 m spacing plus a
   partial ring road, some arterials ending at a T.
5. **Secondary and local streets** (:func:`_local_lines`): the faces of the major network
   ("superblocks") are filled with a jittered, slightly bent, locally oriented street grid
   whose spacing (95-330 m) follows the density (the checkered road pattern of
   Parish & Müller 2001); nothing is built where density is negligible.
6. **Irregularity** (:func:`_edit_locals`): local segments are removed (irregular blocks),
   truncated (cul-de-sacs) and short lanes are added; everything is noded with GEOS snap
   rounding on a 1 cm grid, short dangles are pruned, only the largest connected
   component is kept and degree-2 chains of the same street are merged.
7. **Blocks, population, communities, grids**: street blocks are the faces of
   streets + boundary; building points are drawn from the density, set back from street
   centrelines and kept out of the river, railway and non-residential blocks. Subdistricts
   and communities are contiguous unions of blocks of roughly equal population made by
   recursive weighted bisection (:func:`_bisect`); the existing 12 grids merge and split
   communities until the population max/min ratio lands in 1.5-3, like a hand-drawn plan.

Everything is vectorised with shapely 2 array functions; the default district builds in
about 2 s. Use :func:`gridplan.datasets.sample_district` rather than this module directly.

**A given (real) boundary** (:func:`_build_given`) is kept as it is and filled in two zones:
an *urban core* (:func:`_urban_core`: an irregular blob of ``urban_km2`` around the centre,
clipped to the boundary; the whole boundary when it is small) gets steps 2-6 above with the
core as their outline and the densities scaled to its size, closed by a ring road on its
edge; the *rural land* around it gets villages and township seats on a terrain-like cost
raster, joined by county roads (seat to town), township roads (town to town), village
roads and loops between neighbouring villages, all grown as shortest paths on that raster
and smoothed (:func:`_rural_network`), plus roads leaving the district every ~2.5 km of
boundary; they cross the river and the railway only on bridges and level crossings.
Subdistricts (街道 in the core, 镇 outside, or given polygons) and communities (社区 / 村)
are contiguous unions of blocks; islands and slivers too small for streets join the
nearest community (:func:`_link_components`). The street budget (at most 8,000 segments,
≤ 500 villages) keeps any boundary, even a 1,600 km² county, to a few seconds.

Modules
-------
``build`` (entry points and the default district's steps in order), ``constants``, ``names``,
``density``, ``barriers``, ``lines`` (line records, noding), ``urban`` (major and local
streets), ``irregular`` (step 6), ``blocks`` (blocks and population), ``partitions``
(subdistricts, communities, grids), and for a given boundary ``options``, ``given``, ``raster``,
``rural``, ``tidy``, ``admin`` (its subdistricts and communities), then ``frames``.
"""

from __future__ import annotations

from .build import build_sample, build_sample_frames
from .constants import (
    DISTRICT_CODE,
    DISTRICT_NAME,
    N_SAMPLE_GRIDS,
    SAMPLE_CENTRE_LONLAT,
    SAMPLE_EPSG,
    STREET_KINDS,
)

__all__ = [
    "build_sample_frames",
    "build_sample",
    "SAMPLE_EPSG",
    "SAMPLE_CENTRE_LONLAT",
    "DISTRICT_CODE",
    "DISTRICT_NAME",
    "STREET_KINDS",
    "N_SAMPLE_GRIDS",
]
