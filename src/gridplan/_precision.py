"""The precision grid: every coordinate gridplan works with lies on one 1 cm grid.

Noding, polygonizing and the thresholds after them (snapping, slivers, islands)
are exact computations on coordinates.  Fed two copies of a district that differ
only by floating-point noise (the same roads read from WGS84 and from GCJ-02
files, a constant shift of a millimetre), exact computations disagree wherever
the noise decides whether two lines touch, and the partitioner then amplifies
the differences.  gridplan therefore puts every layer of a district on one grid
of :data:`PRECISION` metres in its metric CRS before anything else
(:func:`snap_geometries`, called by :meth:`gridplan.district.District.from_frames`),
and keeps the numbers the partitioner sees on a grid too (:func:`quantize`):

1. **The grid's origin** (:func:`grid_origin`, per axis) is the *circular mean*
   of the coordinates modulo the precision (the mean direction of the angles
   ``2 pi x / precision``).  It moves exactly with a constant shift of the data,
   so a shifted copy of a district rounds every point the same way relative to the
   others; for coordinates that already sit on a 1 cm grid it is that grid's
   origin (a district fed back in is unchanged), and for such coordinates each
   perturbed by less than a quarter of the precision it is within the
   perturbations' range, so every point rounds back to where it was (up to half
   the precision, less the mean perturbation, in practice: the mean of thousands
   of independent perturbations is tiny).
2. **Rounding** with :func:`shapely.set_precision` on the layers shifted by the
   origin (vertex by vertex; a polygon that rounding makes invalid is rebuilt by
   GEOS's ``valid_output`` mode).  Geometry that collapses on the grid (a street
   shorter than the precision, a polygon thinner than it) becomes empty; the
   caller drops it and names the rows.

References: the GEOS precision model and snap-rounding (Hobby 1999; Halperin &
Packer 2002), used by :func:`shapely.set_precision`; circular statistics (the
mean direction and mean resultant length, Mardia & Jupp 2000, ch. 2).
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["PRECISION", "grid_origin", "snap_geometries", "quantize"]

PRECISION = 0.01
"""Metres: the grid every coordinate of a district is rounded to (1 cm)."""

QUANTUM = {"area_m2": 0.01, "perimeter_m": 1e-3, "street_m": 1e-3, "shared_m": 1e-3, "centroid_m": PRECISION}
"""Resolution of the numbers the partitioner sees: unit areas (m²), perimeters, street lengths,
shared boundary lengths and centroids (m).  Far coarser than floating-point noise (about 1e-9 m
for a district's coordinates), far finer than anything a plan depends on."""


def grid_origin(coords: np.ndarray, precision: float = PRECISION) -> np.ndarray:
    """The origin ``(ox, oy)`` of the precision grid for these coordinates (see the module notes).

    Parameters
    ----------
    coords : ndarray of shape (n, 2)
        Every coordinate of the layers to put on one grid.
    precision : float
        Grid spacing, metres.

    Returns
    -------
    ndarray of shape (2,)
        In ``[0, precision)``.

    Examples
    --------
    >>> import numpy as np
    >>> on_grid = np.array([[100.00, 7.25], [250.31, 9.99], [12.02, 3.40]])
    >>> np.round(grid_origin(on_grid + 0.003), 6).tolist()  # the grid moves with a 3 mm shift
    [0.003, 0.003]
    """
    xy = np.asarray(coords, dtype=float).reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) == 0:
        return np.zeros(2)
    frac = np.mod(xy, precision) / precision  # in [0, 1): exact for |x| < 1e9 m to ~1e-8
    angle = 2.0 * np.pi * frac
    resultant = np.column_stack([np.cos(angle).mean(axis=0), np.sin(angle).mean(axis=0)])
    return np.mod(np.arctan2(resultant[:, 1], resultant[:, 0]) / (2.0 * np.pi), 1.0) * precision


def snap_geometries(geoms: np.ndarray, origin: np.ndarray, precision: float = PRECISION) -> np.ndarray:
    """Geometries rounded to the grid of ``precision`` metres through ``origin``, vertex order kept.

    Lines lose repeated vertices; polygons that rounding makes invalid are rebuilt valid by
    GEOS (``set_precision(..., mode="valid_output")``).  Collapsed geometries (lines shorter than
    the precision, polygons thinner than it) come back empty; points keep their type.
    """
    geoms = np.asarray(geoms, dtype=object)
    ox, oy = float(origin[0]), float(origin[1])
    if ox or oy:
        geoms = shapely.transform(geoms, lambda c: c - (ox, oy))
    out = shapely.set_precision(geoms, precision, mode="pointwise")  # keeps every vertex in its place and order
    kind = shapely.get_type_id(out)
    lines = np.isin(kind, [1, 2, 5])
    out[lines] = shapely.remove_repeated_points(out[lines], 0.0)
    out[lines & (shapely.length(out) == 0)] = shapely.LineString()  # collapsed: shorter than the precision
    polys = np.isin(kind, [3, 6])
    broken = polys & ~(shapely.is_valid(out) & (shapely.area(out) > 0))
    if broken.any():  # rounding made a polygon invalid or flat: GEOS rebuilds it valid (or empty)
        out[broken] = shapely.set_precision(geoms[broken], precision, mode="valid_output")
    if ox or oy:
        out = shapely.transform(out, lambda c: c + (ox, oy))
    return np.asarray(out, dtype=object)


def quantize(values: np.ndarray, quantum: float) -> np.ndarray:
    """``values`` rounded to multiples of ``quantum`` (floats), so that noise far below it vanishes.

    A non-zero value smaller than half the quantum (a speck of a unit) is kept as it is rather than
    rounded to zero.

    Examples
    --------
    >>> quantize(np.array([1234.56789, 1234.56791]), 1e-3).tolist()
    [1234.568, 1234.568]
    """
    values = np.asarray(values, dtype=float)
    # first onto a lattice 200 times finer, then to the quantum with halves rounded up, in integers: a value
    # exactly half-way (the area of a polygon on the 1 cm grid is a multiple of 0.00005 m², half of the
    # 0.01 m² quantum 1 time in 200) rounds the same way however noise moved it
    fine = np.round(values / (quantum / _FINE))
    out = np.floor((fine + _FINE // 2) / _FINE) * quantum
    return np.where((out == 0) & (values != 0), values, out)


_FINE = 200
""":func:`quantize` rounds on a lattice this many times finer than the quantum first (see there)."""
