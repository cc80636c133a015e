"""One point from a caller's CRS into a :class:`~gridplan.locate.GridIndex`: the low-latency path.

:meth:`GridIndex.locate_one` with ``crs=`` must convert the point (GCJ-02 → WGS84 → the grids'
metric CRS, say) before it can look it up. Done exactly, one point costs a few microseconds
(:func:`gridplan.crs.point_transformer`). Most points do not need it exactly: a point deep inside
a raster cell that no grid boundary touches has its answer whatever its last millimetres are.

So each input CRS gets a table: the exact conversion at the nodes of a ``_TABLE_CELLS`` x
``_TABLE_CELLS`` lattice over the grids' extent (in the input CRS), interpolated bilinearly in
between. Both conversions are smooth at the scale of a table cell (the shortest wave of the
GCJ-02 offset is 1/3 degree, about 30 km, BD-09's about 13 km; a table cell over a district is
about a hundred metres), so the interpolation error is about a millimetre for GCJ-02 and a few
centimetres for BD-09. The table measures it where bilinear interpolation errs most for a map
whose second derivatives are constant over a cell, at the centre and the edge midpoints of every
table cell, and keeps ``_SAFETY`` times the largest as its bound (the second derivatives change
by a few per cent across a table cell). A point whose interpolated position lies more than that
bound inside an interior raster cell gets that cell's answer, which is the answer of every point
of the cell, the exactly converted one included: the same answer :meth:`GridIndex.locate` gives.
Every other point (near a cell edge, in a boundary cell, off the table) goes through
:meth:`GridIndex.locate` itself, whose vectorised conversion may differ from a scalar one in the last
bits: enough to flip a point lying on a grid line (three of the sample's 3,884 grid vertices in BD-09).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pyproj

from . import crs as _crs

_TABLE_CELLS = 128  # lattice cells per side: 16,384 cells of 8 coefficients, about 5 MB per input CRS
_SAFETY = 4.0  # the bound kept: this many times the largest interpolation error measured
_MARGIN = 0.1  # the table reaches this share of the grids' extent beyond it on every side (points just outside)
_EDGE_SAMPLES = 64  # points per side of the grids' bounding box converted to find the table's extent
UNSURE = object()
"""What :attr:`PointPath.fast` returns when the point must be converted exactly."""


class PointPath:
    """The conversion of single points from ``crs`` into an index's CRS: exact, and a certified shortcut.

    Parameters
    ----------
    crs : CRS-like
        The points' CRS (``"GCJ-02"``, ``"BD-09"``, ``4326`` ...).
    index_crs : pyproj.CRS
        The index's CRS.
    bounds : tuple of float
        The grids' bounding box in ``index_crs``.
    grid : tuple
        The index's ``_fast`` tuple (raster origin, inverse cell size, size, raster, codes).

    Attributes
    ----------
    exact : callable
        ``exact(x, y)``: the point in the index CRS, converted exactly.
    fast : callable
        ``fast(x, y)``: the point's grid code (``None`` outside) when the table settles it,
        else :data:`UNSURE`.
    error_bound : float
        The table's interpolation error bound, in the index CRS's units (``inf`` without a table).
    """

    def __init__(self, crs: Any, index_crs: pyproj.CRS, bounds: tuple[float, float, float, float], grid: tuple[Any, ...]) -> None:
        parsed = _crs.parse_crs(crs)
        self.crs = parsed
        self.geographic = isinstance(parsed, str) or parsed.is_geographic
        self.exact: Callable[[float, float], tuple[float, float]] = _crs.point_transformer(parsed, index_crs)
        self.error_bound = math.inf
        self._table: tuple[Any, ...] | None = None
        self._coef_metres: list[tuple[float, ...]] | None = None
        self._build_table(index_crs, bounds)
        self.fast: Callable[[float, float], Any] = self.fast_for(grid)

    def _build_table(self, index_crs: pyproj.CRS, bounds: tuple[float, float, float, float]) -> None:
        xmin, ymin, xmax, ymax = bounds
        t = np.linspace(0.0, 1.0, _EDGE_SAMPLES)
        ex = np.concatenate([xmin + t * (xmax - xmin), np.full_like(t, xmax), xmax - t * (xmax - xmin), np.full_like(t, xmin)])
        ey = np.concatenate([np.full_like(t, ymin), ymin + t * (ymax - ymin), np.full_like(t, ymax), ymax - t * (ymax - ymin)])
        with np.errstate(invalid="ignore"):
            sx, sy = _crs.transform(ex, ey, source=index_crs, target=self.crs)
        if not (np.isfinite(sx).all() and np.isfinite(sy).all()):
            return  # the grids do not map into the input CRS everywhere: exact conversion only
        w, e, s, n = sx.min(), sx.max(), sy.min(), sy.max()
        pad_x, pad_y = _MARGIN * max(e - w, 1e-9), _MARGIN * max(n - s, 1e-9)
        w, e, s, n = w - pad_x, e + pad_x, s - pad_y, n + pad_y
        cells = _TABLE_CELLS
        gx, gy = np.meshgrid(np.linspace(w, e, cells + 1), np.linspace(s, n, cells + 1))
        with np.errstate(invalid="ignore"):
            tx, ty = _crs.transform(gx.ravel(), gy.ravel(), source=self.crs, target=index_crs)
        if not (np.isfinite(tx).all() and np.isfinite(ty).all()):
            return
        TX, TY = tx.reshape(cells + 1, cells + 1), ty.reshape(cells + 1, cells + 1)
        xs, ys = np.linspace(w, e, cells + 1), np.linspace(s, n, cells + 1)
        xm, ym = (xs[:-1] + xs[1:]) / 2.0, (ys[:-1] + ys[1:]) / 2.0
        # where bilinear interpolation errs most for a map with (locally) constant second derivatives:
        # cell centres (the mean of 4 corners) and edge midpoints (the mean of 2)
        probes = [
            (
                np.meshgrid(xm, ym),
                (TX[:-1, :-1] + TX[:-1, 1:] + TX[1:, :-1] + TX[1:, 1:]) / 4.0,
                (TY[:-1, :-1] + TY[:-1, 1:] + TY[1:, :-1] + TY[1:, 1:]) / 4.0,
            ),
            (np.meshgrid(xm, ys), (TX[:, :-1] + TX[:, 1:]) / 2.0, (TY[:, :-1] + TY[:, 1:]) / 2.0),
            (np.meshgrid(xs, ym), (TX[:-1, :] + TX[1:, :]) / 2.0, (TY[:-1, :] + TY[1:, :]) / 2.0),
        ]
        worst = 0.0
        for (px, py), mx, my in probes:
            with np.errstate(invalid="ignore"):
                ux, uy = _crs.transform(px.ravel(), py.ravel(), source=self.crs, target=index_crs)
            if not (np.isfinite(ux).all() and np.isfinite(uy).all()):
                return
            worst = max(worst, float(np.max(np.maximum(np.abs(mx.ravel() - ux), np.abs(my.ravel() - uy)))))
        magnitude = float(np.max(np.abs(np.concatenate([tx, ty]))))
        self.error_bound = _SAFETY * worst + 1e-12 * magnitude  # plus rounding of the coordinates
        self._table = (float(w), float(s), cells / (e - w), cells / (n - s), cells, TX, TY)

    def _coefficients(self, origin: tuple[float, float], scale: float) -> list[tuple[float, ...]]:
        """Per table cell, the bilinear map ``(fu, fv) -> ((X - x0) * scale, (Y - y0) * scale)`` as
        ``a + b * fu + c * fv + d * fu * fv`` for X then Y: 8 numbers, row-major over the cells."""
        _, _, _, _, cells, TX, TY = self._table  # type: ignore[misc]
        out = []
        for T, o in ((TX, origin[0]), (TY, origin[1])):
            t = (T - o) * scale
            out += [
                t[:-1, :-1],
                t[:-1, 1:] - t[:-1, :-1],
                t[1:, :-1] - t[:-1, :-1],
                t[1:, 1:] - t[1:, :-1] - t[:-1, 1:] + t[:-1, :-1],
            ]
        return list(map(tuple, np.stack([a.ravel() for a in out], axis=1).tolist()))

    def interpolate(self, x: float, y: float) -> tuple[float, float] | None:
        """``(x, y)`` in the index CRS from the table (within :attr:`error_bound`), or ``None`` off the table."""
        if self._table is None:
            return None
        w, s, inv_x, inv_y, cells, _, _ = self._table
        u = (x - w) * inv_x
        v = (y - s) * inv_y
        if not (0.0 <= u < cells and 0.0 <= v < cells):  # NaN too
            return None
        if self._coef_metres is None:
            self._coef_metres = self._coefficients((0.0, 0.0), 1.0)
        i, j = int(u), int(v)
        fu, fv = u - i, v - j
        a, b, c, d, e, f, g, h = self._coef_metres[j * cells + i]
        return a + fu * (b + fv * d) + fv * c, e + fu * (f + fv * h) + fv * g

    def fast_for(self, grid: tuple[Any, ...]) -> Callable[[float, float], Any]:
        """``fast(x, y)``: the grid code of the point (``None`` outside) when the table settles it, else
        :data:`UNSURE`. ``grid`` is the index's ``_fast`` tuple (raster origin, inverse cell size, size,
        raster, codes). The table is turned into raster-cell units and bound into the function with
        the other constants: this is the per-request path."""
        if self._table is None:
            return _unsure
        w, s, inv_x, inv_y, cells, _, _ = self._table
        x0, y0, inv, width, height, raster, codes = grid
        coef = self._coefficients((x0, y0), inv)
        m = self.error_bound * inv  # the bound in raster cells
        hi = 1.0 - m
        unsure = UNSURE

        def fast(x: float, y: float) -> Any:
            u = (x - w) * inv_x
            v = (y - s) * inv_y
            if not (0.0 <= u < cells and 0.0 <= v < cells):  # off the table; NaN too
                return unsure
            i, j = int(u), int(v)
            fu, fv = u - i, v - j
            a, b, c, d, e, f, g, h = coef[j * cells + i]
            cu = a + fu * (b + fv * d) + fv * c
            cv = e + fu * (f + fv * h) + fv * g
            if not (0.0 <= cu < width and 0.0 <= cv < height):
                # off the raster: the exact point is off it too or in its rim (2 cells wide, outside every grid)
                return None if m < 1.0 else unsure
            ci, cj = int(cu), int(cv)
            val = raster[cj * width + ci]
            # a boundary cell (val < -1), or too near a cell edge: the exact position decides
            if val < -1 or not (m < cu - ci < hi and m < cv - cj < hi):
                return unsure
            return codes[val] if val >= 0 else None

        return fast


def _unsure(x: float, y: float) -> Any:
    return UNSURE
