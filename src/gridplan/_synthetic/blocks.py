"""Street blocks (faces of streets + boundary), their adjacency, and residents as address points
drawn from the density.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from scipy import sparse

from .barriers import _Barriers
from .constants import _ART, _BRIDGE, _RING
from .density import _Density
from .lines import _concat, _Lines, _node


def _faces(noded: np.ndarray, poly: Any) -> np.ndarray:
    """Faces of noded line work that lie inside ``poly`` (not in its holes)."""
    faces = shapely.get_parts(shapely.polygonize(noded))
    faces = faces[shapely.area(faces) > 0]
    return faces[shapely.contains(poly, shapely.point_on_surface(faces))]


def _close_with_boundary(lines: _Lines, poly: Any, extra: np.ndarray | None = None) -> tuple[_Lines, np.ndarray, Any]:
    """Node streets with the boundary rings (and ``extra`` lines blocks must not cross).

    Returns streets, blocks and the exact outline they tile.
    """
    rings = shapely.get_parts(poly.boundary)
    if extra is not None and len(extra):
        rings = np.concatenate([rings, np.asarray(extra, dtype=object)])
    both = _concat(lines, _Lines.of(rings, _RING, ""))
    noded = _node(both)
    faces = _faces(noded.geom, poly)
    outline = shapely.coverage_union_all(faces)
    streets = noded.take(noded.kind != _RING)
    # snapping can leave 1 cm stubs of a street just outside or along the outline
    mids = shapely.line_interpolate_point(streets.geom, 0.5, normalized=True)
    streets = streets.take(shapely.contains(outline, mids))
    return streets, faces, outline


def _face_adjacency(faces: np.ndarray) -> sparse.csr_matrix:
    """Blocks sharing a stretch of street (not just a corner)."""
    tree = shapely.STRtree(faces)
    i, j = tree.query(faces, predicate="touches")
    sel = i < j
    i, j = i[sel], j[sel]
    shared = shapely.relate_pattern(faces[i], faces[j], "****1****")
    i, j = i[shared], j[shared]
    n = len(faces)
    adj = sparse.coo_matrix((np.ones(2 * len(i)), (np.r_[i, j], np.r_[j, i])), shape=(n, n))
    return adj.tocsr()


def _population_targets(rng: np.random.Generator) -> tuple[int, int]:
    """Residents and address points of the default district."""
    return int(rng.integers(240_000, 360_001)), int(rng.integers(26_000, 40_001))


def _population(
    rng: np.random.Generator,
    poly: Any,
    faces: np.ndarray,
    streets: _Lines,
    barriers: _Barriers,
    density: _Density,
    total: int,
    n_points: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Residential address points (set back from streets, outside river/railway/non-residential blocks)."""
    area = shapely.area(faces)
    rep = shapely.get_coordinates(shapely.point_on_surface(faces))
    residential = (rng.random(len(faces)) >= 0.08) | (area < 5000.0)
    residential &= ~barriers.contains_xy(rep[:, 0], rep[:, 1])
    all_tree = shapely.STRtree(streets.geom)
    art_tree = shapely.STRtree(streets.geom[np.isin(streets.kind, (_ART, _BRIDGE))])
    idle_tree = shapely.STRtree(faces[~residential])  # parks, schools, works, river, railway
    minx, miny, maxx, maxy = poly.bounds
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    got, rate = 0, 0.1
    for _ in range(60):
        need = n_points - got
        if need <= 0:
            break
        m = int(min(2_000_000, max(20_000, 1.3 * need / rate)))
        x = rng.uniform(minx, maxx, m)
        y = rng.uniform(miny, maxy, m)
        ok = rng.random(m) < density(x, y) ** 0.8
        x, y = x[ok], y[ok]
        ok = shapely.contains_xy(poly, x, y) & ~barriers.contains_xy(x, y)
        x, y = x[ok], y[ok]
        pts = shapely.points(x, y)
        clear = np.ones(len(pts), dtype=bool)
        clear[all_tree.query(pts, predicate="dwithin", distance=11.0)[0]] = False
        clear[art_tree.query(pts, predicate="dwithin", distance=20.0)[0]] = False
        clear[idle_tree.query(pts, predicate="intersects")[0]] = False
        rate = max(1e-3, clear.sum() / m)
        xs.append(x[clear])
        ys.append(y[clear])
        got += int(clear.sum())
    x = np.concatenate(xs)[:n_points]
    y = np.concatenate(ys)[:n_points]
    weight = density(x, y) ** 0.45 * np.exp(rng.normal(0.0, 0.55, len(x)))
    people = np.maximum(1, np.round(weight / weight.sum() * total)).astype(np.int64)
    return shapely.points(x, y), people


def _points_per_face(people: tuple[np.ndarray, np.ndarray], faces: np.ndarray) -> np.ndarray:
    pts, pop = people
    pi, fi = shapely.STRtree(faces).query(pts, predicate="within")
    return np.bincount(fi, weights=pop[pi], minlength=len(faces))
