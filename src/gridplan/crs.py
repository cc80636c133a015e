"""Coordinate systems: GCJ-02 / BD-09 conversions and the choice of a local metric CRS.

Chinese map vendors publish coordinates in two obfuscated datums that PROJ does
not know: **GCJ-02** (Amap/Gaode, Tencent, Apple maps in China; offsets of
100-700 m from WGS84) and **BD-09** (Baidu; GCJ-02 plus a further offset).
Surveying data uses **CGCS2000** (EPSG:4490, within centimetres of WGS84) and
its 3-degree Gauss-Krüger zones. This module converts between all of them,
vectorised over numpy arrays, and picks a projected CRS in metres for local
work (:func:`metric_crs`).

All functions take and return ``(lon, lat)`` order. Scalars in give floats
out; arrays in give arrays of the same shape out. NaN coordinates propagate as
NaN; validating them is the caller's job (:class:`gridplan.District` does).

One point costs microseconds: a single ``(lon, lat)`` pair of plain numbers goes
through a scalar path in pure Python (the same formulas and the same iteration
as the arrays, so the same answer to about 1e-12 degree), and pyproj
transformers are built once per pair of CRS and cached (:func:`point_transformer`).

Examples
--------
>>> lon, lat = wgs84_to_gcj02(116.391, 39.907)  # Tian'anmen
>>> round(lon, 4), round(lat, 4)
(116.3972, 39.9084)
>>> back = gcj02_to_wgs84(lon, lat)
>>> round(back[0], 7), round(back[1], 7)
(116.391, 39.907)
>>> metric_crs((116.3, 39.8, 116.5, 40.0)).to_epsg()
4548
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from pyproj.exceptions import CRSError as _PyprojCRSError

from .errors import CRSError, GeometryError
from .typing import CRSLike, GeoFrameT, GeometryLike, Scalar

__all__ = [
    "GCJ02",
    "BD09",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "in_china",
    "parse_crs",
    "to_wgs84",
    "from_wgs84",
    "transform",
    "to_crs",
    "metric_crs",
    "crs_label",
    "point_transformer",
]

log = logging.getLogger("gridplan")

GCJ02 = "GCJ-02"
"""Name of the Chinese GCJ-02 ("Mars") datum, accepted wherever a CRS is."""
BD09 = "BD-09"
"""Name of Baidu's BD-09 datum, accepted wherever a CRS is."""

_ALIASES = {
    "gcj-02": GCJ02,
    "gcj02": GCJ02,
    "gcj_02": GCJ02,
    "mars": GCJ02,
    "bd-09": BD09,
    "bd09": BD09,
    "bd_09": BD09,
    "bd09ll": BD09,
    "baidu": BD09,
}

# Krasovsky 1940 ellipsoid used by the GCJ-02 algorithm.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
_CHINA_BOUNDS = (72.004, 0.8293, 137.8347, 55.8271)  # lon/lat box outside which GCJ-02 == WGS84
_INVERSE_TOL_DEG = 1e-10  # ~0.01 mm: iterate inverses to this
_INVERSE_MAX_ITER = 30
# GCJ-02 inverse by Newton's method: after a step shorter than _NEWTON_DONE_DEG the error left is below
# M * step**2 / 2 with M < 0.1 per degree (the largest second derivative of the offset, from its
# 6*pi*dx term at 55N), i.e. below 5e-11 degree, under _INVERSE_TOL_DEG. Newton is used only where the
# offset is smooth: inside the China box by _NEWTON_MARGIN_DEG and away from 105E, where sqrt|lon-105|
# has no derivative; elsewhere (and if Newton has not settled in _NEWTON_MAX_STEPS) the fixed-point
# iteration finishes the job.
_NEWTON_DONE_DEG = 3e-5
_NEWTON_MARGIN_DEG = 0.1
_NEWTON_KINK_DEG = 1e-3
_NEWTON_MAX_STEPS = 3
_CHUNK = 1 << 16  # points converted at a time: bounds temporary memory to a few MB

Number = float | int | np.floating
ArrayLike = Any  # numbers or arrays of them: Any, as the scalar fast paths call float() on them


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray, bool]:
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    try:
        x = np.asarray(lon, dtype=float)
        y = np.asarray(lat, dtype=float)
    except (TypeError, ValueError) as exc:
        raise GeometryError(
            f"coordinates must be numeric, got {type(lon).__name__} and {type(lat).__name__}; "
            "pass numbers or numeric numpy arrays"
        ) from exc
    if x.shape != y.shape:
        try:
            x, y = np.broadcast_arrays(x, y)
        except ValueError:
            raise GeometryError(
                f"lon and lat have different shapes {x.shape} and {y.shape}; pass arrays of equal length"
            ) from None
    return x, y, scalar


def _out(x: np.ndarray, y: np.ndarray, scalar: bool) -> tuple[Any, Any]:
    if scalar:
        return float(x), float(y)
    return x, y


@overload
def in_china(lon: Scalar, lat: Scalar) -> bool: ...


@overload
def in_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> np.ndarray: ...


def in_china(lon: ArrayLike, lat: ArrayLike) -> Any:
    """Whether points fall inside the box where the GCJ-02 offset applies.

    Outside this box (roughly 72-138°E, 0.8-55.8°N) GCJ-02 equals WGS84.

    >>> in_china(116.4, 39.9), in_china(2.35, 48.85)
    (True, False)
    """
    x, y, scalar = _as_arrays(lon, lat)
    w, s, e, n = _CHINA_BOUNDS
    inside = (x >= w) & (x <= e) & (y >= s) & (y <= n)
    return bool(inside) if scalar else inside


def _gcj_delta(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 offset (degrees) at WGS84 points; zero outside China."""
    dx, dy = x - 105.0, y - 35.0
    sq = np.sqrt(np.abs(dx))
    common = (20.0 * np.sin(6.0 * dx * np.pi) + 20.0 * np.sin(2.0 * dx * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * dx + 3.0 * dy + 0.2 * dy * dy + 0.1 * dx * dy + 0.2 * sq + common
    dlat += (20.0 * np.sin(dy * np.pi) + 40.0 * np.sin(dy / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(dy / 12.0 * np.pi) + 320.0 * np.sin(dy * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + dx + 2.0 * dy + 0.1 * dx * dx + 0.1 * dx * dy + 0.1 * sq + common
    dlon += (20.0 * np.sin(dx * np.pi) + 40.0 * np.sin(dx / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(dx / 12.0 * np.pi) + 300.0 * np.sin(dx / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = y / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    w, s, e, n = _CHINA_BOUNDS
    outside = ~((x >= w) & (x <= e) & (y >= s) & (y <= n))
    dlon[outside] = 0.0
    dlat[outside] = 0.0
    return dlon, dlat


def _forward_gcj(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _gcj_delta(x, y)
    return x + dlon, y + dlat


def _forward_bd(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _invert(
    forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    tx: np.ndarray,
    ty: np.ndarray,
    x0: np.ndarray,
    y0: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(x, y) == (tx, ty)`` by fixed-point iteration from ``(x0, y0)``.

    Both datums are the identity plus a slowly varying offset, so the iteration
    ``p <- p - (forward(p) - target)`` contracts fast (3-5 steps to 1e-10°).
    """
    x, y = np.array(x0, dtype=float), np.array(y0, dtype=float)
    active = np.isfinite(tx) & np.isfinite(ty)
    for _ in range(_INVERSE_MAX_ITER):
        if not active.any():
            break
        fx, fy = forward(x[active], y[active])
        ex, ey = fx - tx[active], fy - ty[active]
        x[active] -= ex
        y[active] -= ey
        done = np.maximum(np.abs(ex), np.abs(ey)) < _INVERSE_TOL_DEG
        idx = np.flatnonzero(active)
        active[idx[done]] = False
    return x, y


def _chunked(
    func: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]], lon: ArrayLike, lat: ArrayLike
) -> tuple[Any, Any]:
    """Apply a flat-array conversion in chunks, so temporaries stay small for millions of points."""
    x, y, scalar = _as_arrays(lon, lat)
    fx, fy = x.ravel(), y.ravel()
    ox, oy = np.empty_like(fx), np.empty_like(fy)
    for start in range(0, fx.size, _CHUNK):
        sl = slice(start, start + _CHUNK)
        ox[sl], oy[sl] = func(fx[sl], fy[sl])
    return _out(ox.reshape(x.shape), oy.reshape(y.shape), scalar)


def _gcj_delta_jac(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """GCJ-02 offset and its Jacobian at WGS84 points inside the China box (not on 105E).

    Returns ``dlon, dlat, dlon/dx, dlon/dy, dlat/dx, dlat/dy``: :func:`_gcj_delta` written as
    ``R(dx, dy) * S(y)`` (the polynomial-and-sines part times the ellipsoid's degree length) and
    differentiated term by term.
    """
    pi = np.pi
    dx, dy = x - 105.0, y - 35.0
    sq = np.sqrt(np.abs(dx))
    dsq = np.sign(dx) * 0.5 / sq
    common = (20.0 * np.sin(6.0 * dx * pi) + 20.0 * np.sin(2.0 * dx * pi)) * 2.0 / 3.0
    dcommon = (120.0 * pi * np.cos(6.0 * dx * pi) + 40.0 * pi * np.cos(2.0 * dx * pi)) * 2.0 / 3.0
    rlat = -100.0 + 2.0 * dx + 3.0 * dy + 0.2 * dy * dy + 0.1 * dx * dy + 0.2 * sq + common
    rlat += (20.0 * np.sin(dy * pi) + 40.0 * np.sin(dy / 3.0 * pi)) * 2.0 / 3.0
    rlat += (160.0 * np.sin(dy / 12.0 * pi) + 320.0 * np.sin(dy * pi / 30.0)) * 2.0 / 3.0
    rlat_x = 2.0 + 0.1 * dy + 0.2 * dsq + dcommon
    rlat_y = (
        3.0
        + 0.4 * dy
        + 0.1 * dx
        + (
            20.0 * pi * np.cos(dy * pi)
            + 40.0 * pi / 3.0 * np.cos(dy / 3.0 * pi)
            + 160.0 * pi / 12.0 * np.cos(dy / 12.0 * pi)
            + 320.0 * pi / 30.0 * np.cos(dy * pi / 30.0)
        )
        * 2.0
        / 3.0
    )
    rlon = 300.0 + dx + 2.0 * dy + 0.1 * dx * dx + 0.1 * dx * dy + 0.1 * sq + common
    rlon += (20.0 * np.sin(dx * pi) + 40.0 * np.sin(dx / 3.0 * pi)) * 2.0 / 3.0
    rlon += (150.0 * np.sin(dx / 12.0 * pi) + 300.0 * np.sin(dx / 30.0 * pi)) * 2.0 / 3.0
    rlon_x = (
        1.0
        + 0.2 * dx
        + 0.1 * dy
        + 0.1 * dsq
        + dcommon
        + (
            20.0 * pi * np.cos(dx * pi)
            + 40.0 * pi / 3.0 * np.cos(dx / 3.0 * pi)
            + 150.0 * pi / 12.0 * np.cos(dx / 12.0 * pi)
            + 300.0 * pi / 30.0 * np.cos(dx / 30.0 * pi)
        )
        * 2.0
        / 3.0
    )
    rlon_y = 2.0 + 0.1 * dx
    radlat = y / 180.0 * pi
    sin_l, cos_l = np.sin(radlat), np.cos(radlat)
    magic = 1.0 - _EE * sin_l**2
    sqrtmagic = np.sqrt(magic)
    dmagic = -_EE * 2.0 * sin_l * cos_l * (pi / 180.0)
    slat = 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    slat_y = 180.0 / (_A * (1.0 - _EE) * pi) * 1.5 * sqrtmagic * dmagic
    slon = 180.0 / (_A / sqrtmagic * cos_l * pi)
    slon_y = 180.0 / (_A * pi) * (0.5 / sqrtmagic * dmagic / cos_l + sqrtmagic * sin_l / cos_l**2 * (pi / 180.0))
    return (rlon * slon, rlat * slat, rlon_x * slon, rlon_y * slon + rlon * slon_y, rlat_x * slat, rlat_y * slat + rlat * slat_y)


def _newton_ok(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    w, s, e, n = _CHINA_BOUNDS
    m = _NEWTON_MARGIN_DEG
    return (x >= w + m) & (x <= e - m) & (y >= s + m) & (y <= n - m) & (np.abs(x - 105.0) >= _NEWTON_KINK_DEG)


def _gcj_inverse(tx: np.ndarray, ty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _gcj_delta(tx, ty)
    x, y = tx - dlon, ty - dlat
    todo = np.flatnonzero(_newton_ok(tx, ty) & _newton_ok(x, y))
    rest = np.ones(len(tx), dtype=bool)
    for _ in range(_NEWTON_MAX_STEPS):
        if len(todo) == 0:
            break
        px, py = x[todo], y[todo]
        dlon, dlat, jxx, jxy, jyx, jyy = _gcj_delta_jac(px, py)
        rx, ry = px + dlon - tx[todo], py + dlat - ty[todo]
        a, d = 1.0 + jxx, 1.0 + jyy
        det = a * d - jxy * jyx
        sx, sy = (d * rx - jxy * ry) / det, (a * ry - jyx * rx) / det
        x[todo], y[todo] = px - sx, py - sy
        settled = np.maximum(np.abs(sx), np.abs(sy)) < _NEWTON_DONE_DEG
        rest[todo[settled]] = False
        todo = todo[~settled]
    if rest.any():
        x[rest], y[rest] = _invert(_forward_gcj, tx[rest], ty[rest], x[rest], y[rest])
    return x, y


def _bd_inverse(tx: np.ndarray, ty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _invert(_forward_bd, tx, ty, tx - 0.0065, ty - 0.006)


# ----------------------------------------------------------------------------- one point, pure Python
# The same formulas as the array versions above, operation for operation, on Python floats: one
# point then costs about a microsecond instead of the tens of microseconds numpy's call overhead takes.
_PI = math.pi


def _is_pair(lon: Any, lat: Any) -> bool:
    """True for one point given as two plain numbers (the scalar fast path)."""
    return type(lon) in _SCALAR_TYPES and type(lat) in _SCALAR_TYPES


_SCALAR_TYPES = frozenset({float, int, np.float64, np.float32, np.int64, np.int32})


def _gcj_delta_one(x: float, y: float) -> tuple[float, float]:
    """:func:`_gcj_delta` of one point."""
    w, s, e, n = _CHINA_BOUNDS
    if not (w <= x <= e and s <= y <= n):  # also every NaN: no offset, as in the array version
        return 0.0, 0.0
    sin = math.sin
    dx, dy = x - 105.0, y - 35.0
    sq = math.sqrt(abs(dx))
    common = (20.0 * sin(6.0 * dx * _PI) + 20.0 * sin(2.0 * dx * _PI)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * dx + 3.0 * dy + 0.2 * dy * dy + 0.1 * dx * dy + 0.2 * sq + common
    dlat += (20.0 * sin(dy * _PI) + 40.0 * sin(dy / 3.0 * _PI)) * 2.0 / 3.0
    dlat += (160.0 * sin(dy / 12.0 * _PI) + 320.0 * sin(dy * _PI / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + dx + 2.0 * dy + 0.1 * dx * dx + 0.1 * dx * dy + 0.1 * sq + common
    dlon += (20.0 * sin(dx * _PI) + 40.0 * sin(dx / 3.0 * _PI)) * 2.0 / 3.0
    dlon += (150.0 * sin(dx / 12.0 * _PI) + 300.0 * sin(dx / 30.0 * _PI)) * 2.0 / 3.0
    radlat = y / 180.0 * _PI
    magic = 1.0 - _EE * sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * _PI)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * _PI)
    return dlon, dlat


def _forward_gcj_one(x: float, y: float) -> tuple[float, float]:
    dlon, dlat = _gcj_delta_one(x, y)
    return x + dlon, y + dlat


def _forward_bd_one(x: float, y: float) -> tuple[float, float]:
    if not (math.isfinite(x) and math.isfinite(y)):
        return math.nan, math.nan
    z = math.hypot(x, y) + 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) + 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def _invert_one(
    forward: Callable[[float, float], tuple[float, float]], tx: float, ty: float, x: float, y: float
) -> tuple[float, float]:
    """:func:`_invert` of one point: the same fixed-point iteration and stopping rule."""
    if not (math.isfinite(tx) and math.isfinite(ty)):
        return x, y
    for _ in range(_INVERSE_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - tx, fy - ty
        x -= ex
        y -= ey
        if max(abs(ex), abs(ey)) < _INVERSE_TOL_DEG:
            break
    return x, y


def _gcj_delta_jac_one(x: float, y: float) -> tuple[float, float, float, float, float, float]:
    """:func:`_gcj_delta_jac` of one point."""
    sin, cos, pi = math.sin, math.cos, _PI
    dx, dy = x - 105.0, y - 35.0
    sq = math.sqrt(abs(dx))
    dsq = math.copysign(0.5 / sq, dx)
    common = (20.0 * sin(6.0 * dx * pi) + 20.0 * sin(2.0 * dx * pi)) * 2.0 / 3.0
    dcommon = (120.0 * pi * cos(6.0 * dx * pi) + 40.0 * pi * cos(2.0 * dx * pi)) * 2.0 / 3.0
    rlat = -100.0 + 2.0 * dx + 3.0 * dy + 0.2 * dy * dy + 0.1 * dx * dy + 0.2 * sq + common
    rlat += (20.0 * sin(dy * pi) + 40.0 * sin(dy / 3.0 * pi)) * 2.0 / 3.0
    rlat += (160.0 * sin(dy / 12.0 * pi) + 320.0 * sin(dy * pi / 30.0)) * 2.0 / 3.0
    rlat_x = 2.0 + 0.1 * dy + 0.2 * dsq + dcommon
    rlat_y = (
        3.0
        + 0.4 * dy
        + 0.1 * dx
        + (
            20.0 * pi * cos(dy * pi)
            + 40.0 * pi / 3.0 * cos(dy / 3.0 * pi)
            + 160.0 * pi / 12.0 * cos(dy / 12.0 * pi)
            + 320.0 * pi / 30.0 * cos(dy * pi / 30.0)
        )
        * 2.0
        / 3.0
    )
    rlon = 300.0 + dx + 2.0 * dy + 0.1 * dx * dx + 0.1 * dx * dy + 0.1 * sq + common
    rlon += (20.0 * sin(dx * pi) + 40.0 * sin(dx / 3.0 * pi)) * 2.0 / 3.0
    rlon += (150.0 * sin(dx / 12.0 * pi) + 300.0 * sin(dx / 30.0 * pi)) * 2.0 / 3.0
    rlon_x = (
        1.0
        + 0.2 * dx
        + 0.1 * dy
        + 0.1 * dsq
        + dcommon
        + (
            20.0 * pi * cos(dx * pi)
            + 40.0 * pi / 3.0 * cos(dx / 3.0 * pi)
            + 150.0 * pi / 12.0 * cos(dx / 12.0 * pi)
            + 300.0 * pi / 30.0 * cos(dx / 30.0 * pi)
        )
        * 2.0
        / 3.0
    )
    rlon_y = 2.0 + 0.1 * dx
    radlat = y / 180.0 * pi
    sin_l, cos_l = sin(radlat), cos(radlat)
    magic = 1.0 - _EE * sin_l**2
    sqrtmagic = math.sqrt(magic)
    dmagic = -_EE * 2.0 * sin_l * cos_l * (pi / 180.0)
    slat = 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    slat_y = 180.0 / (_A * (1.0 - _EE) * pi) * 1.5 * sqrtmagic * dmagic
    slon = 180.0 / (_A / sqrtmagic * cos_l * pi)
    slon_y = 180.0 / (_A * pi) * (0.5 / sqrtmagic * dmagic / cos_l + sqrtmagic * sin_l / cos_l**2 * (pi / 180.0))
    return (rlon * slon, rlat * slat, rlon_x * slon, rlon_y * slon + rlon * slon_y, rlat_x * slat, rlat_y * slat + rlat * slat_y)


def _newton_ok_one(x: float, y: float) -> bool:
    w, s, e, n = _CHINA_BOUNDS
    m = _NEWTON_MARGIN_DEG
    return w + m <= x <= e - m and s + m <= y <= n - m and abs(x - 105.0) >= _NEWTON_KINK_DEG


def _gcj_inverse_one(tx: float, ty: float) -> tuple[float, float]:
    """:func:`_gcj_inverse` of one point: the same Newton steps, the same fallback."""
    dlon, dlat = _gcj_delta_one(tx, ty)
    x, y = tx - dlon, ty - dlat
    if _newton_ok_one(tx, ty) and _newton_ok_one(x, y):
        for _ in range(_NEWTON_MAX_STEPS):
            dlon, dlat, jxx, jxy, jyx, jyy = _gcj_delta_jac_one(x, y)
            rx, ry = x + dlon - tx, y + dlat - ty
            a, d = 1.0 + jxx, 1.0 + jyy
            det = a * d - jxy * jyx
            sx, sy = (d * rx - jxy * ry) / det, (a * ry - jyx * rx) / det
            x, y = x - sx, y - sy
            if max(abs(sx), abs(sy)) < _NEWTON_DONE_DEG:
                return x, y
    return _invert_one(_forward_gcj_one, tx, ty, x, y)


def _bd_inverse_one(tx: float, ty: float) -> tuple[float, float]:
    return _invert_one(_forward_bd_one, tx, ty, tx - 0.0065, ty - 0.006)


def _bd_to_wgs_one(x: float, y: float) -> tuple[float, float]:
    return _gcj_inverse_one(*_bd_inverse_one(x, y))


def _wgs_to_bd_one(x: float, y: float) -> tuple[float, float]:
    return _forward_bd_one(*_forward_gcj_one(x, y))


def _dispatch(
    one: Callable[[float, float], tuple[float, float]],
    many: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    lon: ArrayLike,
    lat: ArrayLike,
) -> tuple[Any, Any]:
    if _is_pair(lon, lat):
        return one(float(lon), float(lat))
    return _chunked(many, lon, lat)


@overload
def wgs84_to_gcj02(lon: Scalar, lat: Scalar) -> tuple[float, float]: ...


@overload
def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]: ...


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert WGS84 lon/lat to GCJ-02 (identity outside China).

    >>> wgs84_to_gcj02(2.35, 48.85)  # Paris: no offset
    (2.35, 48.85)
    """
    return _dispatch(_forward_gcj_one, _forward_gcj, lon, lat)


@overload
def gcj02_to_wgs84(lon: Scalar, lat: Scalar) -> tuple[float, float]: ...


@overload
def gcj02_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]: ...


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert GCJ-02 lon/lat to WGS84 by iterating the forward formula.

    The usual one-step inverse is off by up to a few metres; this one
    round-trips to about a millimetre (:data:`_INVERSE_TOL_DEG`).

    >>> x, y = gcj02_to_wgs84(*wgs84_to_gcj02(121.4737, 31.2304))
    >>> abs(x - 121.4737) < 1e-9 and abs(y - 31.2304) < 1e-9
    True
    """
    return _dispatch(_gcj_inverse_one, _gcj_inverse, lon, lat)


@overload
def gcj02_to_bd09(lon: Scalar, lat: Scalar) -> tuple[float, float]: ...


@overload
def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]: ...


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert GCJ-02 lon/lat to Baidu BD-09."""
    return _dispatch(_forward_bd_one, _forward_bd, lon, lat)


@overload
def bd09_to_gcj02(lon: Scalar, lat: Scalar) -> tuple[float, float]: ...


@overload
def bd09_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]: ...


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert Baidu BD-09 lon/lat to GCJ-02 (iterated, exact to ~1 mm)."""
    return _dispatch(_bd_inverse_one, _bd_inverse, lon, lat)


@overload
def wgs84_to_bd09(lon: Scalar, lat: Scalar) -> tuple[float, float]: ...


@overload
def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]: ...


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert WGS84 lon/lat to Baidu BD-09 (via GCJ-02)."""
    if _is_pair(lon, lat):
        return _wgs_to_bd_one(float(lon), float(lat))
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


@overload
def bd09_to_wgs84(lon: Scalar, lat: Scalar) -> tuple[float, float]: ...


@overload
def bd09_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]: ...


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """Convert Baidu BD-09 lon/lat to WGS84 (via GCJ-02)."""
    if _is_pair(lon, lat):
        return _bd_to_wgs_one(float(lon), float(lat))
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def parse_crs(crs: CRSLike) -> str | pyproj.CRS:
    """Normalise a CRS: ``"GCJ-02"``/``"BD-09"`` (any common spelling) or a :class:`pyproj.CRS`.

    Raises :class:`~gridplan.errors.CRSError` for ``None`` and for anything pyproj rejects.
    Strings and EPSG numbers are parsed once and remembered (parsing costs milliseconds).

    >>> parse_crs("gcj02"), parse_crs("EPSG:4490").name
    ('GCJ-02', 'China Geodetic Coordinate System 2000')
    """
    if isinstance(crs, (str, int)) and not isinstance(crs, bool):
        return _parse_cached(crs)
    return _parse(crs)


@functools.lru_cache(maxsize=256)
def _parse_cached(crs: str | int) -> str | pyproj.CRS:
    return _parse(crs)


def _parse(crs: CRSLike) -> str | pyproj.CRS:
    if crs is None:
        raise CRSError(
            "no CRS given; pass the CRS of the coordinates, e.g. crs='EPSG:4326' (WGS84), "
            "crs='GCJ-02' (Amap/Tencent), crs='BD-09' (Baidu) or crs='EPSG:4490' (CGCS2000)"
        )
    if isinstance(crs, str) and crs.strip().lower() in _ALIASES:
        return _ALIASES[crs.strip().lower()]
    if isinstance(crs, pyproj.CRS):
        return crs
    try:
        return pyproj.CRS.from_user_input(crs)
    except _PyprojCRSError as exc:
        raise CRSError(
            f"unknown CRS {crs!r}; use 'GCJ-02', 'BD-09', an EPSG code such as 'EPSG:4326' "
            "or 4490, or anything pyproj.CRS.from_user_input accepts"
        ) from exc


def _is_datum(parsed: str | pyproj.CRS, name: str) -> bool:
    # compare as strings only: pyproj.CRS.__eq__ would try to parse "GCJ-02" as a CRS (slow, then False)
    return isinstance(parsed, str) and parsed == name


def crs_label(crs: CRSLike) -> str:
    """A short human-readable label: ``'GCJ-02'``, ``'EPSG:4548 (CGCS2000 / 3-degree Gauss-Kruger CM 117E)'``."""
    parsed = parse_crs(crs)
    if isinstance(parsed, str):
        return parsed
    epsg = parsed.to_epsg()
    return f"EPSG:{epsg} ({parsed.name})" if epsg else parsed.name


def _crs_key(crs: Any) -> Any:
    """A cheap hashable key for a CRS (``pyproj.CRS.__hash__`` writes its WKT: tens of microseconds)."""
    if isinstance(crs, pyproj.CRS):
        return ("crs", crs.srs or crs.to_wkt())
    return crs


@functools.lru_cache(maxsize=64)
def _cached_transformer(src_key: Any, dst_key: Any) -> pyproj.Transformer:
    src = pyproj.CRS.from_user_input(src_key[1]) if isinstance(src_key, tuple) else src_key
    dst = pyproj.CRS.from_user_input(dst_key[1]) if isinstance(dst_key, tuple) else dst_key
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def _transformer(src: Any, dst: Any) -> pyproj.Transformer:
    """A pyproj transformer from ``src`` to ``dst`` (lon/lat order), built once per pair and cached.

    pyproj transformers are thread-safe since pyproj 3.1 (one PROJ object per thread).
    """
    return _cached_transformer(_crs_key(src), _crs_key(dst))


_FORWARD = pyproj.enums.TransformDirection.FORWARD


def _pyproj_point(tr: pyproj.Transformer) -> Callable[[float, float], tuple[float, float]]:
    """One-point transform with ``tr``: pyproj's own single-point routine (what ``tr.transform`` tries
    first for scalars) without the keyword handling around it; ``tr.transform`` where that is missing."""
    try:
        tr._transformer._transform_point(0.0, 0.0, None, None, _FORWARD, False, False)
    except (AttributeError, TypeError):  # another pyproj: its public path

        def public(x: float, y: float) -> tuple[float, float]:
            return tr.transform(x, y, errcheck=False)

        return public

    def point(x: float, y: float) -> tuple[float, float]:
        # ``_transformer`` is the calling thread's own PROJ object
        return tr._transformer._transform_point(x, y, None, None, _FORWARD, False, False)

    return point


def _pyproj_transform(x: ArrayLike, y: ArrayLike, src: Any, dst: Any) -> tuple[Any, Any]:
    xs, ys, scalar = _as_arrays(x, y)
    ox, oy = _transformer(src, dst).transform(xs, ys)
    return _out(np.asarray(ox, dtype=float), np.asarray(oy, dtype=float), scalar)


@overload
def to_wgs84(x: Scalar, y: Scalar, crs: CRSLike) -> tuple[float, float]: ...


@overload
def to_wgs84(x: npt.ArrayLike, y: npt.ArrayLike, crs: CRSLike) -> tuple[np.ndarray, np.ndarray]: ...


def to_wgs84(x: ArrayLike, y: ArrayLike, crs: CRSLike) -> tuple[Any, Any]:
    """Convert coordinates in ``crs`` to WGS84 lon/lat.

    ``crs`` may be ``"GCJ-02"``, ``"BD-09"`` or anything pyproj accepts
    (EPSG:4490 CGCS2000, a Gauss-Krüger zone, UTM, ...).

    >>> lon, lat = to_wgs84(500000.0, 3000000.0, "EPSG:4545")  # CGCS2000 GK CM 108E
    >>> round(lon, 6), round(lat, 3)
    (108.0, 27.112)
    """
    parsed = parse_crs(crs)
    if _is_datum(parsed, GCJ02):
        return gcj02_to_wgs84(x, y)
    if _is_datum(parsed, BD09):
        return bd09_to_wgs84(x, y)
    return _pyproj_transform(x, y, parsed, "EPSG:4326")


@overload
def from_wgs84(lon: Scalar, lat: Scalar, crs: CRSLike) -> tuple[float, float]: ...


@overload
def from_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, crs: CRSLike) -> tuple[np.ndarray, np.ndarray]: ...


def from_wgs84(lon: ArrayLike, lat: ArrayLike, crs: CRSLike) -> tuple[Any, Any]:
    """Convert WGS84 lon/lat into ``crs`` (the inverse of :func:`to_wgs84`)."""
    parsed = parse_crs(crs)
    if _is_datum(parsed, GCJ02):
        return wgs84_to_gcj02(lon, lat)
    if _is_datum(parsed, BD09):
        return wgs84_to_bd09(lon, lat)
    return _pyproj_transform(lon, lat, "EPSG:4326", parsed)


def point_transformer(source: CRSLike, target: CRSLike) -> Callable[[float, float], tuple[float, float]]:
    """A function converting one point ``(x, y)`` from ``source`` to ``target``, built once and cached.

    Either CRS may be ``"GCJ-02"`` or ``"BD-09"``. The function takes and returns plain floats
    (NaN and infinite values come back non-finite, never raise) and costs about a microsecond
    per call between two pyproj CRS, a few for GCJ-02 and BD-09: the path for a service that
    converts one coordinate per request. Its results equal :func:`transform`'s.

    >>> to_metres = point_transformer("GCJ-02", "EPSG:4548")
    >>> x, y = to_metres(116.3972, 39.9084)
    >>> round(x), round(y)
    (447921, 4419380)
    >>> point_transformer("GCJ-02", "EPSG:4548") is to_metres
    True
    """
    return _cached_point_transformer(_crs_key(parse_crs(source)), _crs_key(parse_crs(target)))


def _identity(x: float, y: float) -> tuple[float, float]:
    return x, y


@functools.lru_cache(maxsize=64)
def _cached_point_transformer(src_key: Any, dst_key: Any) -> Callable[[float, float], tuple[float, float]]:
    to_wgs = {GCJ02: _gcj_inverse_one, BD09: _bd_to_wgs_one}
    from_wgs = {GCJ02: _forward_gcj_one, BD09: _wgs_to_bd_one}
    if src_key == dst_key:
        return _identity
    if src_key == GCJ02 and dst_key == BD09:
        return _forward_bd_one
    if src_key == BD09 and dst_key == GCJ02:
        return _bd_inverse_one
    wgs = pyproj.CRS.from_epsg(4326)
    first = to_wgs.get(src_key)
    last = from_wgs.get(dst_key)
    src = "EPSG:4326" if first else (src_key if not isinstance(src_key, tuple) else src_key[1])
    dst = "EPSG:4326" if last else (dst_key if not isinstance(dst_key, tuple) else dst_key[1])
    src_crs, dst_crs = parse_crs(src), parse_crs(dst)
    # the datum keys (GCJ-02, BD-09) were routed through WGS84 above: both ends are pyproj CRS here
    assert isinstance(src_crs, pyproj.CRS) and isinstance(dst_crs, pyproj.CRS)
    middle = (
        None
        if src_crs == dst_crs or (src_crs.equals(wgs) and dst_crs.equals(wgs))
        else _pyproj_point(_transformer(src_crs, dst_crs))
    )
    steps = [f for f in (first, middle, last) if f is not None]
    if not steps:
        return _identity
    if len(steps) == 1:
        return steps[0]

    def chain(x: float, y: float) -> tuple[float, float]:
        for step in steps:
            x, y = step(x, y)
        return x, y

    return chain


@overload
def transform(x: Scalar, y: Scalar, *, source: CRSLike, target: CRSLike) -> tuple[float, float]: ...


@overload
def transform(x: npt.ArrayLike, y: npt.ArrayLike, *, source: CRSLike, target: CRSLike) -> tuple[np.ndarray, np.ndarray]: ...


def transform(x: ArrayLike, y: ArrayLike, *, source: CRSLike, target: CRSLike) -> tuple[Any, Any]:
    """Convert coordinates from ``source`` to ``target``; either may be GCJ-02 or BD-09.

    >>> x, y = transform(116.391, 39.907, source="BD-09", target="GCJ-02")
    >>> bx, by = transform(x, y, source="GCJ-02", target="BD-09")
    >>> round(bx, 9), round(by, 9)
    (116.391, 39.907)
    """
    if _is_pair(x, y):
        return point_transformer(source, target)(float(x), float(y))
    src, dst = parse_crs(source), parse_crs(target)
    if isinstance(src, str) or isinstance(dst, str):
        if isinstance(src, str) and isinstance(dst, str):
            if src == dst:
                xs, ys, scalar = _as_arrays(x, y)
                return _out(xs.copy(), ys.copy(), scalar)
            return gcj02_to_bd09(x, y) if src == GCJ02 else bd09_to_gcj02(x, y)
        return from_wgs84(*to_wgs84(x, y, src), dst)
    return _pyproj_transform(x, y, src, dst)


def to_crs(frame: GeoFrameT, target: CRSLike, *, source: CRSLike | None = None) -> GeoFrameT:
    """Reproject a GeoDataFrame or GeoSeries to ``target``, understanding GCJ-02 and BD-09.

    Parameters
    ----------
    frame : GeoDataFrame or GeoSeries
    target : CRS-like
        Where to go; ``"GCJ-02"``/``"BD-09"`` give lon/lat data tagged EPSG:4326
        (no EPSG code exists for them, so that is how vendors ship them).
    source : CRS-like, optional
        The CRS the coordinates are really in when the frame's tag does not say it:
        GCJ-02 and BD-09 files are tagged EPSG:4326 (or nothing).

    Returns
    -------
    A new frame of the same type and index.
    """
    src = parse_crs(source if source is not None else frame.crs)
    dst = parse_crs(target)
    if isinstance(src, str) and frame.crs is not None and not pyproj.CRS(frame.crs).is_geographic:
        raise CRSError(
            f"source={src} says lon/lat in {src}, but the layer is tagged with the projected "
            f"{crs_label(frame.crs)}; GCJ-02/BD-09 data are always lon/lat: drop source= or fix the tag"
        )
    if not isinstance(src, str) and not isinstance(dst, str):
        out = frame.set_crs(src, allow_override=True) if frame.crs is None or source is not None else frame
        return out.to_crs(dst)

    def func(coords: np.ndarray) -> np.ndarray:
        x, y = transform(coords[:, 0], coords[:, 1], source=src, target=dst)
        return np.column_stack([x, y])

    geoms = shapely.transform(np.asarray(frame.geometry.values), func)
    out_crs = "EPSG:4326" if isinstance(dst, str) else dst
    if hasattr(frame, "set_geometry"):
        out = frame.copy()
        out = out.set_geometry(type(frame.geometry)(geoms, index=frame.index, crs=out_crs), crs=out_crs)
        return out
    return type(frame)(geoms, index=frame.index, crs=out_crs)


def _lonlat_bounds(obj: Any) -> tuple[float, float, float, float]:
    if isinstance(obj, (tuple, list, np.ndarray)) and len(obj) == 4 and not hasattr(obj, "geom_type"):
        bounds = tuple(float(v) for v in obj)
    elif isinstance(obj, shapely.Geometry):
        if obj.is_empty:
            raise GeometryError("metric_crs got an empty geometry; pass a non-empty lon/lat geometry or bounds")
        bounds = tuple(float(v) for v in obj.bounds)
    elif hasattr(obj, "total_bounds") and hasattr(obj, "crs"):
        if obj.crs is None:
            raise CRSError(
                "the layer has no CRS, so its location is unknown; set one with "
                "gdf.set_crs('EPSG:4326') (or the CRS the coordinates really are in)"
            )
        if len(obj) == 0 or obj.geometry.is_empty.all():
            raise GeometryError("metric_crs got an empty layer; pass a layer with geometries")
        crs = pyproj.CRS(obj.crs)
        bounds = tuple(float(v) for v in obj.total_bounds)
        if not crs.is_geographic or crs.to_epsg() != 4326:
            lon, lat = _pyproj_transform(
                [bounds[0], bounds[2], bounds[0], bounds[2]], [bounds[1], bounds[1], bounds[3], bounds[3]], crs, "EPSG:4326"
            )
            bounds = (min(lon), min(lat), max(lon), max(lat))
    else:
        raise GeometryError(
            f"metric_crs needs a shapely geometry in lon/lat, a GeoDataFrame/GeoSeries with a CRS, "
            f"or lon/lat bounds (minx, miny, maxx, maxy); got {type(obj).__name__}"
        )
    if not all(np.isfinite(bounds)):
        raise GeometryError(f"bounds {bounds} contain NaN or infinite values; drop or fix those coordinates")
    minx, miny, maxx, maxy = bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise CRSError(
            f"bounds {bounds} are not lon/lat degrees; metric_crs takes lon/lat bounds or a GeoDataFrame with its CRS set"
        )
    return bounds  # type: ignore[return-value]


def metric_crs(geometry_or_bounds: GeometryLike | tuple[float, float, float, float]) -> pyproj.CRS:
    """Pick a projected CRS in metres for local work on the given area.

    Inside China: the CGCS2000 3-degree Gauss-Krüger zone whose central meridian
    is nearest the data's centre (EPSG:4534 for 75°E ... EPSG:4554 for 135°E,
    the series without zone prefix in the easting). Elsewhere: the WGS84 UTM
    zone of the centre. The choice is logged on the ``gridplan`` logger.

    Parameters
    ----------
    geometry_or_bounds : shapely geometry, GeoDataFrame, GeoSeries or tuple
        A lon/lat geometry, a layer with a CRS (any), or lon/lat bounds
        ``(minx, miny, maxx, maxy)``.

    Examples
    --------
    >>> metric_crs((107.0, 26.3, 107.4, 26.8)).to_epsg()  # Guiding county: CM 108E
    4545
    >>> metric_crs((2.2, 48.8, 2.5, 48.9)).to_epsg()  # Paris: UTM 31N
    32631
    """
    minx, miny, maxx, maxy = _lonlat_bounds(geometry_or_bounds)
    lon, lat = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    if in_china(lon, lat) and 73.5 <= lon <= 136.5:
        cm = int(min(135, max(75, 3 * round(lon / 3.0))))
        crs = pyproj.CRS.from_epsg(4534 + (cm - 75) // 3)
    else:
        zone = int(min(60, max(1, np.floor((lon + 180.0) / 6.0) + 1)))
        crs = pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)
    log.info("gridplan picked %s for metric work (centre %.4f, %.4f)", crs_label(crs), lon, lat)
    return crs
