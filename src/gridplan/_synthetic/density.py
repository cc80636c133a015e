"""Population density (:class:`_Density`).

A dense core, 2-3 secondary centres and a sparse base; it drives street density, building
points and people per point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely


@dataclass(frozen=True)
class _Density:
    """Relative density in [base, 1]: a sum of Gaussian centres, the first being the core."""

    cx: np.ndarray
    cy: np.ndarray
    sigma: np.ndarray
    weight: np.ndarray
    base: float

    @property
    def core(self) -> tuple[float, float]:
        return float(self.cx[0]), float(self.cy[0])

    def __call__(self, x: Any, y: Any) -> np.ndarray:
        x = np.asarray(x, dtype=float)[..., None]
        y = np.asarray(y, dtype=float)[..., None]
        d2 = (x - self.cx) ** 2 + (y - self.cy) ** 2
        g = (self.weight * np.exp(-d2 / (2.0 * self.sigma**2))).sum(axis=-1)
        return self.base + (1.0 - self.base) * np.minimum(g, 1.0)

    def at(self, points: np.ndarray) -> np.ndarray:
        xy = shapely.get_coordinates(points)
        return self(xy[:, 0], xy[:, 1])


def _main_part(poly: shapely.Polygon | shapely.MultiPolygon) -> shapely.Polygon:
    parts = shapely.get_parts(poly)
    return parts[int(np.argmax(shapely.area(parts)))]


def _make_density(rng: np.random.Generator, poly: Any) -> _Density:
    """A core near the centre of the main part and 2-3 secondary centres 2-3 km out."""
    main = _main_part(poly)
    inner = main.buffer(-400.0)
    if inner.is_empty:
        inner = main
    c = main.centroid
    if not inner.contains(c):
        c = inner.point_on_surface()
    core = np.array([c.x, c.y])
    for _ in range(20):
        trial = core + rng.normal(0.0, 350.0, 2)
        if inner.contains(shapely.Point(trial)):
            core = trial
            break
    shapely.prepare(inner)
    n_sec = int(rng.integers(2, 4))
    start = rng.uniform(0, 2 * np.pi)
    cx, cy = [core[0]], [core[1]]
    for i in range(n_sec):
        ang = start + 2 * np.pi * i / n_sec + rng.uniform(-0.5, 0.5)
        dist = rng.uniform(2000.0, 3000.0)
        for _ in range(8):
            p = core + dist * np.array([math.cos(ang), math.sin(ang)])
            if shapely.contains_xy(inner, p[0], p[1]):
                break
            dist *= 0.8
        cx.append(p[0])
        cy.append(p[1])
    sigma = np.concatenate([[rng.uniform(1200.0, 1600.0)], rng.uniform(400.0, 650.0, n_sec)])
    weight = np.concatenate([[1.0], rng.uniform(0.5, 0.85, n_sec)])
    return _Density(np.array(cx), np.array(cy), sigma, weight, base=0.012)
