"""Line records (:class:`_Lines`.

Geometry, kind and name per line) and their noding and topology.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from .constants import _GRID


@dataclass
class _Lines:
    """Street lines with per-line attributes (parallel arrays)."""

    geom: np.ndarray
    kind: np.ndarray
    name: np.ndarray
    editable: np.ndarray  # generated local streets that :func:`_edit_locals` may change

    @staticmethod
    def of(geoms: Any, kind: Any, name: Any, editable: Any = False) -> _Lines:
        g = np.asarray(geoms, dtype=object).reshape(-1)
        n = len(g)
        return _Lines(
            g,
            np.broadcast_to(np.asarray(kind, dtype=np.int64), (n,)).copy(),
            np.array(np.broadcast_to(np.asarray(name, dtype=object), (n,)), dtype=object),
            np.broadcast_to(np.asarray(editable, dtype=bool), (n,)).copy(),
        )

    def __len__(self) -> int:
        return len(self.geom)

    def take(self, idx: Any) -> _Lines:
        return _Lines(self.geom[idx], self.kind[idx], self.name[idx], self.editable[idx])


def _concat(*parts: _Lines) -> _Lines:
    return _Lines(
        np.concatenate([p.geom for p in parts]),
        np.concatenate([p.kind for p in parts]),
        np.concatenate([p.name for p in parts]),
        np.concatenate([p.editable for p in parts]),
    )


def _explode(lines: _Lines) -> _Lines:
    """Split multi-part geometries, keep non-empty LineStrings, carry attributes along."""
    parts, idx = shapely.get_parts(lines.geom, return_index=True)
    ok = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 0)
    out = lines.take(idx[ok])
    out.geom = parts[ok]
    return out


def _node(lines: _Lines) -> _Lines:
    """Node line work by snap rounding on the 1 cm grid; each piece inherits its source's attributes.

    Where two sources claim a piece (overlap) the higher-priority kind wins.
    """
    if len(lines) == 0:
        return lines
    merged = shapely.union_all(lines.geom, grid_size=_GRID)
    parts = shapely.get_parts(merged)
    parts = parts[(shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 0)]
    mids = shapely.line_interpolate_point(parts, 0.5, normalized=True)
    tree = shapely.STRtree(lines.geom)
    qi, gi = tree.query(mids, predicate="dwithin", distance=5 * _GRID)
    parent = np.full(len(parts), -1, dtype=np.int64)
    if len(qi):
        order = np.lexsort((gi, lines.kind[gi], qi))
        qi, gi = qi[order], gi[order]
        first = np.flatnonzero(np.r_[True, qi[1:] != qi[:-1]])
        parent[qi[first]] = gi[first]
    missing = np.flatnonzero(parent < 0)
    if len(missing):
        _, near = tree.query_nearest(mids[missing], return_distance=False, all_matches=False)
        parent[missing] = near
    out = lines.take(parent)
    out.geom = parts
    return out


def _topology(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Node ids of segment ends (exact on the snapped grid), node degrees and node coordinates."""
    n = len(geoms)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, np.zeros((0, 2))
    ends = np.concatenate(
        [
            shapely.get_coordinates(shapely.get_point(geoms, 0)),
            shapely.get_coordinates(shapely.get_point(geoms, -1)),
        ]
    )
    xy, inv = np.unique(ends, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    u, v = inv[:n], inv[n:]
    deg = np.bincount(u, minlength=len(xy)) + np.bincount(v, minlength=len(xy))
    return u, v, deg, xy


def _components(u: np.ndarray, v: np.ndarray, n_nodes: int) -> np.ndarray:
    graph = sparse.coo_matrix((np.ones(len(u)), (u, v)), shape=(n_nodes, n_nodes))
    return csgraph.connected_components(graph, directed=False)[1]
