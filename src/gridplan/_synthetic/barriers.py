"""River and railway.

A meandering river through the core and a gently curved railway, each the edge of a zone that
streets enter only at chosen crossings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely


@dataclass(frozen=True)
class _Barrier:
    """A linear barrier: centreline, its drawn polygon and the zone no street may enter."""

    line: shapely.LineString
    drawn: shapely.Geometry  # water polygon (river) or the track line (railway)
    zone: shapely.Polygon  # the barrier plus its verge; its edge carries the side roads
    half: float  # zone half-width


def _reach(poly: Any, point: np.ndarray) -> float:
    minx, miny, maxx, maxy = poly.bounds
    corners = np.array([[minx, miny], [minx, maxy], [maxx, miny], [maxx, maxy]])
    return float(np.hypot(*(corners - point).T).max()) + 1500.0


def _meander(
    rng: np.random.Generator,
    anchor: np.ndarray,
    angle: float,
    length: float,
    amps: tuple[float, float],
    waves: tuple[float, float],
    n_terms: int,
) -> shapely.LineString:
    """A curve through ``anchor`` in direction ``angle`` with sinusoidal lateral offsets."""
    t = np.arange(-length, length + 25.0, 25.0)
    lateral = np.zeros_like(t)
    for _ in range(n_terms):
        lateral += rng.uniform(*amps) * np.sin(2 * np.pi * t / rng.uniform(*waves) + rng.uniform(0, 2 * np.pi))
    lateral -= np.interp(0.0, t, lateral)  # pass through the anchor
    d = np.array([math.cos(angle), math.sin(angle)])
    n = np.array([-d[1], d[0]])
    return shapely.LineString(anchor + t[:, None] * d + lateral[:, None] * n)


def _make_river(rng: np.random.Generator, poly: Any, core: tuple[float, float], scale: float = 1.0) -> _Barrier:
    core_xy = np.asarray(core)
    angle = rng.uniform(0, np.pi)
    normal = np.array([-math.sin(angle), math.cos(angle)])
    anchor = core_xy + normal * (rng.uniform(300.0, 1100.0) * scale) * rng.choice([-1.0, 1.0])
    line = _meander(rng, anchor, angle, _reach(poly, core_xy), (60.0, 140.0), (2500.0, 7000.0), 3)
    half_water = rng.uniform(30.0, 55.0)
    half = half_water + rng.uniform(25.0, 40.0)
    water = line.buffer(half_water, quad_segs=4, cap_style="flat")
    zone = line.buffer(half, quad_segs=4, cap_style="flat")
    return _Barrier(line, water, zone, half)


def _make_railway(
    rng: np.random.Generator, poly: Any, core: tuple[float, float], river: _Barrier, scale: float = 1.0
) -> _Barrier:
    core_xy = np.asarray(core)
    coords = shapely.get_coordinates(river.line)
    river_angle = math.atan2(*(coords[-1] - coords[0])[::-1])
    angle = river_angle + rng.choice([-1.0, 1.0]) * rng.uniform(np.radians(45), np.radians(90))
    normal = np.array([-math.sin(angle), math.cos(angle)])
    anchor = core_xy + normal * (rng.uniform(900.0, 2000.0) * scale) * rng.choice([-1.0, 1.0])
    line = _meander(rng, anchor, angle, _reach(poly, core_xy), (60.0, 160.0), (9000.0, 16000.0), 2)
    half = rng.uniform(25.0, 40.0)
    zone = line.buffer(half, quad_segs=4, cap_style="flat")
    return _Barrier(line, line, zone, half)


class _Barriers:
    """River and railway zones, their side roads and the regions they cut the district into."""

    def __init__(self, river: _Barrier, rail: _Barrier, poly: Any) -> None:
        self.river = river
        self.rail = rail
        self.zones = shapely.union(river.zone, rail.zone)
        shapely.prepare(self.zones)
        rest = shapely.difference(poly, self.zones)
        self.regions = shapely.get_parts(rest)

    def contains_xy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return shapely.contains_xy(self.zones, x, y)
