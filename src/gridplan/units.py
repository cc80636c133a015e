"""Units: the atoms grids are built from, with workloads and rook adjacency.

Three kinds of unit:

* ``"blocks"`` (the default when the district has streets): the faces of the
  noded street network inside the boundary, so that grid lines follow roads
  as the unit-grid standards (CJ/T 213, GB/T 30428) ask. Community lines are
  added to the linework so that every block lies in one community, and slivers
  (tiny or thread-thin faces, which real data is full of) are merged into the
  neighbour they share the longest edge with.
* ``"communities"``: the community polygons themselves.
* ``"cells"``: square or hexagonal cells of a given size, clipped to the boundary.

Each unit carries its ``area_m2``, ``perimeter_m``, ``population``,
``street_m`` (street length, a street on a unit edge counting half to each
side), its ``community`` and ``subdistrict``, and a ``weight``: the workload
grids are balanced on. Adjacency is **rook**: two units are neighbours when
they share a boundary of positive length, and the shared length is kept (it
drives compactness).

Examples
--------
>>> import gridplan
>>> units = build_units(gridplan.sample_district(seed=0), kind="communities")
>>> units.weight_by
'population'
>>> bool((units.frame["weight"] > 0).all()), units.adjacency.shape[0] == len(units.frame)
(True, True)
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from . import _validate
from ._precision import PRECISION, QUANTUM, grid_origin, quantize, snap_geometries
from .errors import CRSError, DataError, GeometryError, GridplanWarning

if TYPE_CHECKING:  # pragma: no cover
    from .district import District
    from .typing import WeightLike

__all__ = ["Units", "build_units", "split_heavy_units", "UNIT_KINDS"]

UNIT_KINDS = ("blocks", "communities", "cells")
_COMPUTED = {
    "geometry",
    "area_m2",
    "perimeter_m",
    "population",
    "street_m",
    "incidents",
    "community",
    "subdistrict",
    "weight",
    "grid",
    "polygon",
}
FACTORS = ("population", "street_m", "area_m2", "incidents")
_FACTOR_NAMES = {"street_length": "street_m", "area": "area_m2", "street_km": "street_m"}  # user words -> columns
_SHARED_TOL = 0.5  # m: boundaries closer than this count as shared (real community layers are not noded)
_MIN_SHARED = 1.0  # m: shorter contacts (corner touches, digitising noise) are not adjacency
SNAP_M = 1.0
"""Metres: a street end this close to another line (street, boundary, community line) joins it before
blocks are polygonized, as in :meth:`gridplan.network.StreetNetwork.from_lines`."""
RING_SNAP_M = 5 * PRECISION
"""Metres: street vertices this close to a boundary or community line move onto it (a street drawn
along the boundary, off it by noise or a centimetre, runs on it); real geometry is left as drawn."""


@dataclass
class Units:
    """Units of a district with workloads and adjacency.

    Attributes
    ----------
    frame : GeoDataFrame
        One row per unit (index ``unit``, 0..n-1): ``geometry``, ``area_m2``,
        ``perimeter_m``, ``population``, ``street_m``, ``community``,
        ``subdistrict``, ``weight`` (and ``incidents`` when given).
    adjacency : scipy.sparse.csr_matrix
        Symmetric n × n; entry (i, j) is the boundary length (m) units i and j share.
    kind : str
        ``"blocks"``, ``"communities"`` or ``"cells"``.
    weight_by : str
        What the weight is made of, in words.
    notes : list of str
        What was done: slivers merged, islands joined, factors used.
    islands : list of list of int
        Units that were not connected to the rest and were joined to their nearest unit.
    """

    frame: gpd.GeoDataFrame
    adjacency: sparse.csr_matrix
    kind: str
    weight_by: str
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    islands: list[list[int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def weights(self) -> np.ndarray:
        return self.frame["weight"].to_numpy(dtype=float)

    def neighbours(self, unit: int) -> np.ndarray:
        """Indices of the units that share a boundary with ``unit``."""
        a = self.adjacency
        return a.indices[a.indptr[unit] : a.indptr[unit + 1]]


# ---------------------------------------------------------------------- geometry of units
def _polygon_parts(geoms: np.ndarray) -> np.ndarray:
    parts = shapely.get_parts(geoms)
    return parts[np.isin(shapely.get_type_id(parts), [3])]


def _faces(district: District, extra: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """The faces of the district's street, boundary, community (and ``extra``) lines inside it, in the
    precision grid's own frame: returns the faces with ``origin`` subtracted, ``origin`` and the number
    of lines.  In that frame two copies of a district that differ by less than the precision have
    bit-identical linework, hence bit-identical faces; every decision taken on the faces (slivers, the
    longest shared edge) is taken there, and the result moved back with :func:`_from_grid_frame`."""
    shape = district.shape
    rings = [shapely.get_parts(shapely.boundary(_polygon_parts(np.asarray(district.boundary.geometry.values))))]
    if len(district.communities):
        rings.append(shapely.get_parts(shapely.boundary(_polygon_parts(np.asarray(district.communities.geometry.values)))))
    rings_all = np.concatenate(rings)
    streets = _snap_to_rings(np.asarray(district.streets.geometry.values), rings_all)
    lines = [shapely.get_parts(shapely.intersection(streets, shape))]
    if extra is not None:
        lines.append(shapely.get_parts(shapely.intersection(extra, shape)))
    linework = np.concatenate([*lines, rings_all])
    linework = linework[np.isin(shapely.get_type_id(linework), [1, 2]) & (shapely.length(linework) > 0)]
    # node and polygonize on the precision grid moved to the origin (exact multiples of 1 cm, which
    # the network's micrometre noding grid keeps): a shifted copy of the district gives the same faces
    origin = grid_origin(shapely.get_coordinates(rings_all))
    # anchored on the boundary's lowest grid point: the origin is known modulo the precision only (two
    # copies may differ by one step), and in one frame the two copies' linework is bit-identical
    lowest = shapely.get_coordinates(rings_all).min(axis=0) - origin
    origin = origin + np.round(lowest / PRECISION) * PRECISION
    local = snap_geometries(_to_grid_frame(linework, origin), np.zeros(2))
    local = local[~shapely.is_empty(local)]
    local = local[np.argsort(shapely.to_wkb(shapely.normalize(local)), kind="stable")]  # row order never breaks a tie
    faces = shapely.get_parts(shapely.polygonize(_snapped_linework(local)))
    faces = faces[shapely.area(faces) > 0]
    inside = shapely.covers(shapely.buffer(_to_grid_frame(shape, origin), 0.01), shapely.point_on_surface(faces))
    return _canonical(faces[inside]), origin, len(linework)


def _to_grid_frame(geoms: Any, origin: np.ndarray) -> Any:
    """``geoms`` with the precision grid's ``origin`` subtracted (see :func:`_faces`)."""
    return shapely.transform(geoms, lambda c: c - origin)


def _from_grid_frame(geoms: Any, origin: np.ndarray) -> Any:
    """``geoms`` moved back from the precision grid's frame to the district's coordinates."""
    return shapely.transform(geoms, lambda c: c + origin)


def _snap_to_rings(streets: np.ndarray, rings: np.ndarray) -> np.ndarray:
    """Streets whose vertices lie within :data:`RING_SNAP_M` of a boundary or community line snapped
    onto it (:func:`shapely.snap`): a street drawn along the boundary, a hair inside or outside it,
    runs on it, so that no noise-thin face between the two decides the blocks."""
    if len(streets) == 0 or len(rings) == 0:
        return streets
    near = np.unique(shapely.STRtree(rings).query(streets, predicate="dwithin", distance=RING_SNAP_M)[0])
    if len(near) == 0:
        return streets
    out = streets.copy()
    out[near] = shapely.snap(streets[near], shapely.multilinestrings(rings), RING_SNAP_M)
    return out


def _snapped_linework(linework: np.ndarray) -> np.ndarray:
    """The linework noded as the street network is: dangling ends within :data:`SNAP_M` of another
    line join it (a street stopping a few centimetres short of the boundary closes its block), so
    that near-misses smaller than the snap distance never decide whether a block exists."""
    from . import network as gn

    if len(linework) == 0:
        return linework
    try:
        parts, row, _ = gn._explode(linework)
        xy, part_of = shapely.get_coordinates(parts, return_index=True)
        p = gn._Parts(xy.copy(), part_of, row)
        dangling, junctions = gn._dangling_ends(p, gn._node_lines(p.geoms)[0], SNAP_M)
        joined = gn._snap_to_endpoints(p, dangling, junctions, SNAP_M)
        gn._snap_to_lines(p, np.setdiff1d(np.flatnonzero(dangling), joined), SNAP_M)
        lines = p.geoms[shapely.length(p.geoms) > 0]
        return gn._node_lines(lines)[0]
    except shapely.errors.GEOSException:  # pragma: no cover - depends on GEOS robustness
        return shapely.get_parts(_node_lines(linework))


def _canonical(faces: np.ndarray) -> np.ndarray:
    """Faces normalized (ring start and orientation fixed) in an order that depends on their shape
    and place only, never on the order of the input rows."""
    faces = shapely.normalize(faces)
    first = shapely.get_coordinates(shapely.get_point(shapely.get_exterior_ring(faces), 0))
    cen = shapely.get_coordinates(shapely.centroid(faces))
    return faces[np.lexsort((cen[:, 0], cen[:, 1], first[:, 0], first[:, 1]))]


def _check_cover(faces: np.ndarray, shape: shapely.Geometry, what: str) -> None:
    covered = float(shapely.area(shapely.union_all(faces))) if len(faces) else 0.0
    missing = shape.area - covered
    if missing > max(1.0, 1e-6 * shape.area):
        raise GeometryError(
            f"{what} cover {covered / 1e6:.3f} of {shape.area / 1e6:.3f} km²; the boundary could not be "
            "polygonized. Check that the boundary is valid (repair=True) and the layers are in the same CRS"
        )


def _blocks(district: District, *, min_area: float, min_thinness: float) -> tuple[np.ndarray, list[str]]:
    faces, origin, n_lines = _faces(district)
    notes = [f"blocks: polygonized {n_lines} street, boundary and community lines into {len(faces)} faces"]
    faces, merged, _ = _merge_slivers(faces, min_area=min_area, min_thinness=min_thinness)
    faces = _from_grid_frame(faces, origin)
    if merged:
        notes.append(
            f"blocks: merged {merged} slivers (area < {min_area:g} m² or Polsby-Popper < {min_thinness:g}) "
            "into the neighbour sharing the longest edge"
        )
    _check_cover(faces, district.shape, "street blocks")
    return faces, notes


def _given(
    district: District, polygons: Any, *, min_area: float, min_thinness: float
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Units from the user's polygons (e.g. residential compounds), the rest of the district as
    street blocks (or the pieces the boundary and community lines leave).  Returns the unit
    polygons, the position of the given polygon each comes from (-1: the rest) and notes."""
    from .crs import crs_label, to_crs

    if isinstance(polygons, gpd.GeoSeries):
        polygons = gpd.GeoDataFrame(geometry=polygons)
    if polygons.crs is None:
        raise CRSError(
            "the unit polygons have no CRS; set it (frame.set_crs(...); GCJ-02 files: "
            "gridplan.crs.to_crs(frame, 'EPSG:4326', source='GCJ-02'))"
        )
    if len(polygons) == 0:
        raise GeometryError("the unit polygons are empty; give at least one polygon, or use units='blocks'")
    geoms = np.asarray(to_crs(polygons, district.crs).geometry.values)
    notes = []
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    poly = np.isin(shapely.get_type_id(geoms), [3, 6])
    if (~bad & ~poly).any():
        rows = polygons.index[~bad & ~poly][:5].tolist()
        raise GeometryError(f"unit polygons must be (Multi)Polygons; rows {rows} are not")
    invalid = ~bad & ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = [shapely.union_all(_polygon_parts(np.array([shapely.make_valid(g)]))) for g in geoms[invalid]]
        notes.append(f"polygons: repaired {int(invalid.sum())} invalid polygon(s) (make_valid)")
    if bad.any():
        notes.append(f"polygons: left out {int(bad.sum())} empty or missing geometries (rows {polygons.index[bad][:5].tolist()})")
    clipped = shapely.intersection(geoms, district.shape)
    outside = ~bad & (shapely.area(clipped) <= 1.0)
    if outside.any():
        notes.append(
            f"polygons: {int(outside.sum())} lie outside the district ({crs_label(district.crs)}), "
            f"left out (rows {polygons.index[outside][:5].tolist()})"
        )
    use = np.flatnonzero(~bad & ~outside)
    if len(use) == 0:
        raise GeometryError(
            "none of the unit polygons lies inside the district; check their CRS (GCJ-02 data "
            "tagged EPSG:4326 must be converted with gridplan.crs.to_crs(..., source='GCJ-02'))"
        )
    clipped = clipped[use]
    faces, origin, _ = _faces(district, shapely.boundary(_polygon_parts(clipped)))
    # every face belongs to the first given polygon holding it (file order settles overlaps)
    pts = _from_grid_frame(shapely.point_on_surface(faces), origin)
    tree = shapely.STRtree(clipped)
    fi, gi = tree.query(pts, predicate="within")
    owner = np.full(len(faces), -1)
    order = np.lexsort((gi, fi))
    fi, gi = fi[order], gi[order]
    first = np.r_[True, fi[1:] != fi[:-1]] if len(fi) else np.zeros(0, bool)
    owner[fi[first]] = gi[first]
    overlapping = len(np.unique(fi)) < len(fi)
    if overlapping:
        area = float(shapely.area(faces[np.unique(fi[~first])]).sum())
        notes.append(f"polygons: the given polygons overlap ({area:,.0f} m²); each overlap went to the polygon listed first")
    held = np.unique(owner[owner >= 0])  # given polygons holding at least one face
    units = [shapely.coverage_union_all(faces[owner == g]) for g in held]
    rest = faces[owner < 0]
    all_faces = np.array(units + list(rest), dtype=object)
    src = np.r_[use[held], np.full(len(rest), -1)]
    merged_faces, merged, roots = _merge_slivers(all_faces, min_area=min_area, min_thinness=min_thinness, keep=src >= 0)
    merged_faces = _from_grid_frame(merged_faces, origin)
    what = "street blocks" if len(district.streets) else "pieces"
    notes.insert(
        0,
        f"polygons: {len(units)} given polygons as units, the rest of the district as "
        f"{int((src[roots] < 0).sum())} {what}" + (f" ({merged} slivers merged)" if merged else ""),
    )
    _check_cover(merged_faces, district.shape, "the polygons and the rest")
    return merged_faces, src[roots], notes


def _node_lines(lines: np.ndarray) -> shapely.Geometry:
    """Node linework so every crossing is a vertex (a union, robust on real data).

    ``shapely.node`` crashed GEOS 3.14 on real Xi'an roads clipped to a boundary that runs
    along them; the OverlayNG union falls back to snap-rounding where exact noding fails, and
    a 1 mm precision grid is the last resort.
    """
    if len(lines) == 0:
        return shapely.MultiLineString()
    try:
        return shapely.union_all(lines)
    except shapely.errors.GEOSException:  # pragma: no cover - depends on GEOS robustness
        return shapely.union_all(lines, grid_size=1e-3)


def _shared_lengths(
    geoms: np.ndarray, tol: float = _SHARED_TOL, *, minimum: float = _MIN_SHARED
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of polygons sharing more than ``minimum`` m of boundary, and the length.

    Lengths are rounded to ``QUANTUM["shared_m"]`` before they are compared with ``minimum``, so that
    floating-point noise never decides whether two units are neighbours."""
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tol)
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return left, right, np.zeros(0)
    rings = shapely.boundary(geoms)
    common = shapely.intersection(rings[left], rings[right])
    exact = _rounded(shapely.length(common), QUANTUM["shared_m"])
    # digitised layers (real communities) do not share vertices: measure within tol, minus the ends' overshoot,
    # on both outlines and only where neither is already shared exactly with another unit (a thin unit
    # between two others is not a contact of those two)
    approx = np.zeros(len(left))
    todo = np.flatnonzero(exact <= 0)
    if len(todo):
        free = _unshared_outlines(rings, left, right, common, exact > 0, np.union1d(left[todo], right[todo]))
        a, b = left[todo], right[todo]
        one = shapely.length(shapely.intersection(free[a], shapely.buffer(geoms[b], tol, quad_segs=2)))
        other = shapely.length(shapely.intersection(free[b], shapely.buffer(geoms[a], tol, quad_segs=2)))
        approx[todo] = np.maximum(np.minimum(one, other) - 2 * tol, 0.0)
    length = _rounded(np.where(exact > 0, exact, approx), QUANTUM["shared_m"])  # exact wherever the linework is noded
    keep = length > minimum
    return left[keep], right[keep], length[keep]


def _unshared_outlines(
    rings: np.ndarray, left: np.ndarray, right: np.ndarray, common: np.ndarray, noded: np.ndarray, units: np.ndarray
) -> np.ndarray:
    """Outlines of ``units`` less the stretches they share exactly (``common`` where ``noded``) with a neighbour."""
    free = rings.copy()
    owner = np.r_[left[noded], right[noded]]
    lines = np.r_[common[noded], common[noded]]
    order = np.argsort(owner, kind="stable")
    owner, lines = owner[order], lines[order]
    starts = np.searchsorted(owner, units)
    ends = np.searchsorted(owner, units, side="right")
    for unit, start, end in zip(units, starts, ends):
        if end > start:
            free[unit] = shapely.difference(rings[unit], shapely.union_all(lines[start:end]))
    return free


def _rounded(values: np.ndarray, quantum: float) -> np.ndarray:
    """``values`` rounded to multiples of ``quantum`` (a speck rounds to zero): the numbers thresholds
    and rankings are applied to."""
    return np.round(np.asarray(values, dtype=float) / quantum) * quantum


def _merge_slivers(
    faces: np.ndarray, *, min_area: float, min_thinness: float, keep: np.ndarray | None = None
) -> tuple[np.ndarray, int, np.ndarray]:
    """Merge faces that are too small or too thin into their longest-shared-edge neighbour.

    Faces flagged in ``keep`` are never merged away (others may merge into them).  Areas, outline
    lengths and shared lengths are rounded (:data:`QUANTUM`) before they are compared, and equal
    shared edges go to the larger neighbour, then to the first in the faces' order (which depends on
    their shape and place only, :func:`_canonical`), so noise never picks the neighbour.  A sliver
    whose contacts are all shorter than ``_MIN_SHARED`` (a speck at a crossing) goes to its longest
    contact rather than staying a unit of its own.  Returns the faces, the number merged and, per
    face returned, the input face it grew from."""
    total = 0
    roots = np.arange(len(faces))
    keep = np.zeros(len(faces), bool) if keep is None else np.asarray(keep, bool)
    for _ in range(10):  # merging can create new neighbours; a few rounds settle it
        area = _rounded(shapely.area(faces), QUANTUM["area_m2"])
        perimeter = _rounded(shapely.length(faces), QUANTUM["perimeter_m"])
        pp = _rounded(4 * np.pi * area / np.maximum(perimeter**2, 1e-12), 1e-9)
        small = ((area < min_area) | ((pp < min_thinness) & (area < 25 * min_area))) & ~keep
        if not small.any() or len(faces) < 2:
            break
        left, right, length = _shared_lengths(faces, minimum=0.0)
        # best neighbour for each sliver: a contact longer than _MIN_SHARED, preferring a non-sliver, the
        # longest shared edge, the larger neighbour, the first face
        cand = pd.DataFrame({"a": np.r_[left, right], "b": np.r_[right, left], "len": np.r_[length, length]})
        cand = cand[small[cand["a"].to_numpy()]]
        cand["edge"] = cand["len"] > _MIN_SHARED
        cand["target_ok"] = ~small[cand["b"].to_numpy()]
        cand["area_b"] = area[cand["b"].to_numpy()]
        cand = cand.sort_values(
            ["a", "edge", "target_ok", "len", "area_b", "b"], ascending=[True, False, False, False, False, True]
        )
        best = cand.drop_duplicates("a")
        if best.empty:
            break
        target = np.arange(len(faces))
        # merge only into non-slivers this round, or sliver pairs into the larger one, to avoid chains
        a, b = best["a"].to_numpy(), best["b"].to_numpy()
        ok = ~small[b] | (area[b] > area[a]) | ((area[b] == area[a]) & (b < a))
        target[a[ok]] = b[ok]
        # resolve chains (a -> b -> c) to their root
        for _ in range(len(faces)):
            nxt = target[target]
            if np.array_equal(nxt, target):
                break
            target = nxt
        if np.array_equal(target, np.arange(len(faces))):
            break
        total += int((target != np.arange(len(faces))).sum())
        order = np.argsort(target, kind="stable")
        groups = np.split(order, np.flatnonzero(np.diff(target[order])) + 1)
        faces = np.array([faces[g[0]] if len(g) == 1 else shapely.coverage_union_all(faces[g]) for g in groups])
        survivors = np.array([target[g[0]] for g in groups])
        roots, keep = roots[survivors], keep[survivors]
    return faces, total, roots


def _cells(district: District, size: float, shape_kind: str) -> np.ndarray:
    if size <= 0 or not np.isfinite(size):
        raise DataError(f"cell_size must be a positive number of metres, got {size!r}")
    shape = district.shape
    minx, miny, maxx, maxy = shape.bounds
    n_est = (maxx - minx) * (maxy - miny) / (size * size)
    if n_est > 2_000_000:
        raise DataError(f"cell_size={size:g} m would make ~{n_est:,.0f} cells; use a larger cell_size")
    if shape_kind == "square":
        xs = np.arange(minx, maxx + size, size)
        ys = np.arange(miny, maxy + size, size)
        gx, gy = np.meshgrid(xs[:-1], ys[:-1])
        cells = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + size, gy.ravel() + size)
    elif shape_kind == "hex":
        r = size / np.sqrt(3)  # size = distance between opposite edges (flat-to-flat)
        dx, dy = 1.5 * r, size
        cols = np.arange(minx - r, maxx + 2 * r, dx)
        rows = np.arange(miny - size, maxy + size, dy)
        cx, cy = np.meshgrid(cols, rows)
        cy = cy + (np.arange(len(cols)) % 2)[None, :] * dy / 2
        angles = np.deg2rad(np.arange(0, 360, 60))
        ring = np.stack([r * np.cos(angles), r * np.sin(angles)], axis=1)
        coords = np.stack([cx.ravel()[:, None] + ring[:, 0], cy.ravel()[:, None] + ring[:, 1]], axis=2)
        cells = shapely.polygons(coords)
    else:
        raise DataError(f"cell_shape must be 'square' or 'hex', got {shape_kind!r}")
    tree = shapely.STRtree(cells)
    hit = tree.query(shape, predicate="intersects")
    cells = cells[np.sort(hit)]
    inside = shapely.contains_properly(shape, cells)
    clipped = cells.copy()
    clipped[~inside] = shapely.intersection(cells[~inside], shape)
    return _absorb_specks(_polygon_parts(clipped), min_area=1e-6 * size * size)


def _absorb_specks(parts: np.ndarray, *, min_area: float) -> np.ndarray:
    """Union specks (area ≤ ``min_area``, e.g. a sharp boundary corner poking into a cell) into the
    neighbour they share the longest edge with; a speck that shares no edge stays a unit of its own.
    Nothing is dropped, so the units still tile the district exactly."""
    area = shapely.area(parts)
    specks = np.flatnonzero(area <= min_area)
    if not len(specks):
        return parts
    i, j = shapely.STRtree(parts).query(parts[specks], predicate="intersects")
    keep = ~np.isin(j, specks)
    i, j = i[keep], j[keep]
    shared = shapely.length(shapely.intersection(shapely.boundary(parts[specks[i]]), shapely.boundary(parts[j])))
    best = pd.DataFrame({"i": i, "j": j, "len": shared})
    best = best[best["len"] > 0].sort_values(["i", "len", "j"], ascending=[True, False, True]).drop_duplicates("i")
    target = np.arange(len(parts))
    target[specks[best["i"].to_numpy()]] = best["j"].to_numpy()
    out = parts.copy()
    for host, group in best.groupby("j")["i"]:
        members = np.r_[parts[host], parts[specks[group.to_numpy()]]]
        merged = shapely.union_all(members)  # an overlay union: clipped cells are not always exactly noded
        if merged.geom_type == "Polygon":
            out[host] = merged
        else:  # still apart: keep the specks as units of their own rather than lose them
            target[specks[group.to_numpy()]] = specks[group.to_numpy()]
    return out[target == np.arange(len(parts))]


def _order_units(geoms: np.ndarray) -> np.ndarray:
    """Deterministic unit order: west→east within bands north→south (by representative point)."""
    pts = shapely.point_on_surface(geoms)
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    if len(x) == 0:
        return np.arange(0)
    # rounded relative to the district's corner: a shifted copy sorts the same way.  A millimetre, not the
    # 1 cm grid: the point of a block between grid lines lies on half-centimetres, ties for a 1 cm rounding
    return np.lexsort((quantize(x - x.min(), _ORDER_M), -quantize(y - y.min(), _ORDER_M)))


# ---------------------------------------------------------------------- attributes
def _point_owner(units: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point index, unit index) with each point in at most one unit (lowest unit on shared edges)."""
    tree = shapely.STRtree(units)
    pidx, uidx = tree.query(points, predicate="intersects")
    order = np.lexsort((uidx, pidx))
    pidx, uidx = pidx[order], uidx[order]
    first = np.r_[True, pidx[1:] != pidx[:-1]] if len(pidx) else np.zeros(0, bool)
    return pidx[first], uidx[first]


def _street_lengths(units: np.ndarray, streets: np.ndarray, step: float = 20.0) -> np.ndarray:
    """Street length per unit; a street on the edge between two units counts half to each."""
    out = np.zeros(len(units))
    if len(streets) == 0:
        return out
    dense = shapely.segmentize(streets, step)
    coords, idx = shapely.get_coordinates(dense, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    seg_len = np.hypot(*(b - a).T)
    keep = seg_len > 0
    a, b, seg_len = a[keep], b[keep], seg_len[keep]
    mid = (a + b) / 2
    normal = np.column_stack([-(b - a)[:, 1], (b - a)[:, 0]]) / seg_len[:, None]
    sides = []
    for sign in (1.0, -1.0):
        owner = np.full(len(mid), -1)
        pidx, uidx = _point_owner(units, shapely.points(mid + sign * 0.5 * normal))
        owner[pidx] = uidx
        sides.append(owner)
    left, right = sides
    both = (left >= 0) & (right >= 0)
    share = np.where(both, 0.5, 1.0) * seg_len  # a street on the district edge belongs wholly to the inside
    for owner in (left, right):
        has = owner >= 0
        np.add.at(out, owner[has], share[has])
    return out


def _community_of(units: np.ndarray, communities: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    n = len(units)
    if len(communities) == 0:
        return np.full(n, "", dtype=object), np.full(n, "", dtype=object)
    codes = (communities["code"] if "code" in communities else pd.Series(communities.index)).astype(str).to_numpy()
    subs = (
        communities["subdistrict"].astype(str).to_numpy()
        if "subdistrict" in communities
        else np.full(len(communities), "", dtype=object)
    )
    pts = shapely.point_on_surface(units)
    pidx, cidx = _point_owner(np.asarray(communities.geometry.values), pts)
    comm = np.full(n, "", dtype=object)
    sub = np.full(n, "", dtype=object)
    comm[pidx] = codes[cidx]
    sub[pidx] = subs[cidx]
    return comm, sub


def _weights(frame: pd.DataFrame, weight: Any, has_population: bool) -> tuple[np.ndarray, str]:
    if weight is None:
        weight = "population" if has_population else "street_m"
        if not has_population and frame["street_m"].sum() <= 0:
            weight = "area_m2"
    if isinstance(weight, str):
        key = _FACTOR_NAMES.get(weight, weight)
        if key not in frame:
            raise DataError(
                f"weight={weight!r} is not a unit attribute; use 'population', 'street_length', 'area', "
                f"a dict of factors, or one of the unit columns {sorted(c for c in frame.columns if c != 'geometry')}"
            )
        values = pd.to_numeric(frame[key], errors="coerce").to_numpy(dtype=float)
        label = key if key != "street_m" else "street_length"
    elif isinstance(weight, Mapping):
        if not weight:
            raise DataError("weight={} has no factors; give e.g. {'population': 0.7, 'street_length': 0.3}")
        values = np.zeros(len(frame))
        parts = []
        for name, coef in weight.items():
            key = _FACTOR_NAMES.get(str(name), str(name))
            if key not in frame:
                raise DataError(f"weight factor {name!r} is not a unit attribute; use {list(FACTORS)} or a unit column")
            col = pd.to_numeric(frame[key], errors="coerce").to_numpy(dtype=float)
            total = np.nansum(col)
            if total <= 0:
                raise DataError(f"weight factor {name!r} is zero everywhere; drop it from the weight dict")
            values = values + float(coef) * col / total * len(frame)
            parts.append(f"{coef:g}×{name} share")
        label = " + ".join(parts)
    else:
        raise DataError(f"weight must be a factor name, a column name or a dict of factors, got {type(weight).__name__}")
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise DataError(
            f"unit weights ({label}) have {int(bad.sum())} NaN, infinite or negative values "
            f"(units {np.flatnonzero(bad)[:5].tolist()}); fix the source column"
        )
    if values.sum() <= 0:
        raise DataError(f"unit weights ({label}) are zero everywhere; choose another weight, e.g. weight='area'")
    return values, label


# ---------------------------------------------------------------------- adjacency and islands
def _adjacency(geoms: np.ndarray) -> sparse.csr_matrix:
    n = len(geoms)
    left, right, length = _shared_lengths(geoms)
    length = quantize(length, QUANTUM["shared_m"])
    adj = sparse.coo_matrix((np.r_[length, length], (np.r_[left, right], np.r_[right, left])), shape=(n, n))
    return adj.tocsr()


_ORDER_M = PRECISION / 10
"""Metres: units are ordered on their points rounded to this."""
_ISLAND_CONTACT = 0.2
"""Share of the shorter outline an island's nominal contact takes (when under ``_MIN_SHARED``): a fifth
of the outline rounded to a millimetre stays under a quarter of the outline itself for any polygon the
1 cm precision grid keeps."""
_PART_GAP_M = 5_000.0
"""Parts of a district further apart than this (m) are partitioned apart; nearer ones (islands off a coast,
across a river) are joined to their nearest unit, with a warning."""


def _district_parts(shape: shapely.Geometry, geoms: np.ndarray) -> np.ndarray:
    """Which separate part of the district each unit lies in (parts within ``_PART_GAP_M`` count as one)."""
    parts = np.asarray(shapely.get_parts(shape))
    if len(parts) <= 1 or len(geoms) == 0:
        return np.zeros(len(geoms), dtype=np.int64)
    a, b = shapely.STRtree(parts).query(parts, predicate="dwithin", distance=_PART_GAP_M)
    n_groups, group = connected_components(sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(len(parts),) * 2), directed=False)
    if n_groups <= 1:
        return np.zeros(len(geoms), dtype=np.int64)
    hit = shapely.STRtree(parts).query_nearest(shapely.point_on_surface(geoms), all_matches=False)
    out = np.zeros(len(geoms), dtype=np.int64)
    out[hit[0]] = group[hit[1]]
    return out


def _join_islands(
    geoms: np.ndarray, adj: sparse.csr_matrix, parts: np.ndarray | None = None
) -> tuple[sparse.csr_matrix, list[list[int]]]:
    """Connect every component but the largest of each district part to its nearest unit in that part.

    Separate parts of a multi-part district (``parts``, from :func:`_district_parts`) stay separate
    pieces of the graph, so no grid can span two parts."""
    if parts is not None and len(np.unique(parts)) > 1:
        adj = adj.tolil()
        islands: list[list[int]] = []
        for p in np.unique(parts):
            members = np.flatnonzero(parts == p)
            sub, found = _join_islands(geoms[members], sparse.csr_matrix(adj[members][:, members]))
            coo = sparse.triu(sub).tocoo()
            for i, j, v in zip(coo.row, coo.col, coo.data):
                adj[members[i], members[j]] = adj[members[j], members[i]] = v
            islands += [sorted(members[np.asarray(g)].tolist()) for g in found]
        return adj.tocsr(), islands
    n_comp, labels = connected_components(adj, directed=False)
    if n_comp <= 1:
        return adj, []
    sizes = np.bincount(labels, weights=_rounded(shapely.area(geoms), QUANTUM["area_m2"]))
    main = int(np.argmax(sizes))
    adj = adj.tolil()
    islands = []
    reached = labels == main
    # attach components one at a time, nearest first, so chains of islands are handled
    pending = [c for c in range(n_comp) if c != main]
    while pending:
        best = None
        tree = shapely.STRtree(geoms[reached])
        reached_idx = np.flatnonzero(reached)
        for c in pending:
            members = np.flatnonzero(labels == c)
            src, dst = tree.query_nearest(geoms[members], return_distance=False, all_matches=False)
            d = _rounded(shapely.distance(geoms[members[src]], geoms[reached_idx[dst]]), PRECISION)
            k = int(np.argmin(d))
            cand = (float(d[k]), c, int(members[src[k]]), int(reached_idx[dst[k]]))
            if best is None or cand < best:
                best = cand
        _, c, a, b = best  # type: ignore[misc]
        # a nominal contact, never longer than a quarter of either unit's outline (slivers can be tiny):
        # a fifth of the rounded outline, so floating-point noise never changes it
        outline = float(_rounded(shapely.length(geoms[[a, b]]), QUANTUM["perimeter_m"]).min())
        contact = min(_MIN_SHARED, _ISLAND_CONTACT * outline) or 1e-9  # never zero: a zero entry is no edge
        adj[a, b] = contact
        adj[b, a] = contact
        islands.append(sorted(np.flatnonzero(labels == c).tolist()))
        reached |= labels == c
        pending.remove(c)
    return adj.tocsr(), islands


def _workload_columns(
    geoms: np.ndarray, district: District, workload: Mapping[str, Any] | None, notes: list[str]
) -> dict[str, np.ndarray]:
    """Point workloads (case ledgers, ...) summed per unit: ``weight`` (else 1) per point."""
    if workload is None:
        return {}
    if not isinstance(workload, Mapping):
        raise DataError("workload= takes a dict of point layers, e.g. {'cases': ledger}")
    out: dict[str, np.ndarray] = {}
    for name, points in workload.items():
        if name in _COMPUTED:
            raise DataError(f"workload name {name!r} is a column gridplan computes; call it e.g. 'cases'")
        if not isinstance(points, gpd.GeoDataFrame):
            raise DataError(
                f"workload[{name!r}] must be a GeoDataFrame of points (read_ledger gives one), got {type(points).__name__}"
            )
        if points.crs is None:
            raise CRSError(f"workload[{name!r}] has no CRS; read it with gridplan.ledger.read_ledger or set_crs")
        w = (
            pd.to_numeric(points["weight"], errors="coerce").fillna(0.0).to_numpy(float)
            if "weight" in points
            else np.ones(len(points))
        )
        usable = ~(points.geometry.isna() | points.geometry.is_empty).to_numpy() & (w > 0)
        pts = np.asarray(points.to_crs(district.crs).geometry.values)[usable]
        counts = np.zeros(len(geoms))
        pidx, uidx = _point_owner(geoms, pts)
        np.add.at(counts, uidx, w[usable][pidx])
        out[name] = counts
        skipped = len(points) - int(usable.sum())
        notes.append(
            f"workload {name!r}: {len(pidx)} of {len(points)} points counted in units"
            + (f"; {skipped} rows without a usable point or with weight 0 (see their 'reason')" if skipped else "")
            + (f"; {int(usable.sum()) - len(pidx)} outside every unit" if int(usable.sum()) > len(pidx) else "")
        )
    return out


# ---------------------------------------------------------------------- entry point
def build_units(
    district: District,
    kind: str | None = None,
    *,
    weight: WeightLike | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    workload: Mapping[str, gpd.GeoDataFrame] | None = None,
    cell_size: float = 250.0,
    cell_shape: str = "square",
    min_area: float = 2_000.0,
    min_thinness: float = 0.05,
) -> Units:
    """Build the units of a district, with workloads and adjacency.

    Parameters
    ----------
    district : District
    kind : {"blocks", "communities", "cells"} or GeoDataFrame, optional
        Default ``"blocks"`` when the district has streets, else ``"communities"``
        when it has communities, else ``"cells"``.  A GeoDataFrame (or GeoSeries) of
        polygons in any CRS, such as old residential compounds (老旧小区) or parcels,
        makes each polygon (clipped to the district) one unit and the rest of the
        district street blocks (kind ``"polygons"``): the frame's ``polygon`` column
        names the source row ("" for the rest), and the polygons' own columns ride
        along (except those gridplan computes, such as ``population``: put a count of
        your own in another column and pass ``weight=`` its name).  Invalid polygons
        are repaired, overlaps go to the polygon listed first, and polygons outside
        the district are left out; the notes say so.
    weight : str or dict, optional
        The workload: ``"population"``, ``"street_length"``, ``"area"``,
        ``"incidents"``, any unit column, or a dict of factors such as
        ``{"population": 0.6, "street_length": 0.3, "area": 0.1}`` (each factor is
        taken as the unit's share of the district total, times the number of
        units, then weighted by its coefficient). Default: population where the
        district has it, otherwise street length (the choice is in ``weight_by``).
    incidents : GeoDataFrame of points, optional
        Expected or past incidents; counted per unit as ``incidents`` (a
        ``count`` or ``weight`` column is summed if present).
    workload : dict of GeoDataFrames, optional
        Point workloads counted per unit into a column of that name, e.g.
        ``{"cases": ledger}`` with a ledger read by :func:`gridplan.ledger.read_ledger`
        (its ``weight`` column is summed: 1 per usable case, or category weights from
        :func:`gridplan.ledger.weigh`; rows with a ``reason`` count 0 and the notes say
        how many). Balance on it with ``partition(..., balance={"cases": 0.1})``.
    cell_size : float
        Edge length (square) or flat-to-flat width (hex) of cells, metres.
    cell_shape : {"square", "hex"}
    min_area, min_thinness : float
        Blocks below ``min_area`` m², or thinner than Polsby-Popper ``min_thinness``
        (and below 25 × ``min_area``), are merged into a neighbour.

    Returns
    -------
    Units

    Raises
    ------
    DataError
        An unknown kind or weight, weights that are NaN/negative/all zero.
    GeometryError
        The boundary cannot be cut into blocks.
    """
    given = None
    if isinstance(kind, (gpd.GeoDataFrame, gpd.GeoSeries)):
        given, kind = kind, "polygons"
    cell_size = _validate.number(cell_size, "cell_size (metres)", above=0)
    _validate.choice(cell_shape, "cell_shape", ("square", "hex"))
    min_area = _validate.number(min_area, "min_area (m²)", minimum=0)
    min_thinness = _validate.number(min_thinness, "min_thinness (Polsby-Popper)", minimum=0, maximum=1)
    if incidents is not None and not isinstance(incidents, gpd.GeoDataFrame):
        raise DataError(f"incidents must be a GeoDataFrame of points, got {type(incidents).__name__}")
    if incidents is not None and incidents.crs is None:
        raise CRSError("the incidents have no CRS; set it with incidents.set_crs(...) (e.g. 'EPSG:4326')")
    if kind is None:
        kind = "blocks" if len(district.streets) else ("communities" if len(district.communities) else "cells")
    if given is None and kind not in UNIT_KINDS:
        raise DataError(
            f"units={kind!r} is not a unit kind; use one of {list(UNIT_KINDS)} or a GeoDataFrame of "
            "unit polygons (e.g. residential compounds)"
        )
    notes: list[str] = []
    source = None
    if given is not None:
        geoms, source, notes = _given(district, given, min_area=min_area, min_thinness=min_thinness)
    elif kind == "blocks":
        if len(district.streets) == 0:
            raise DataError("units='blocks' needs streets; this district has none. Use units='communities' or 'cells'")
        geoms, notes = _blocks(district, min_area=min_area, min_thinness=min_thinness)
    elif kind == "communities":
        if len(district.communities) == 0:
            raise DataError("units='communities' needs a communities layer; pass communities= to District.from_frames")
        geoms = shapely.intersection(np.asarray(district.communities.geometry.values), district.shape)
        geoms = _polygon_parts(geoms)
        geoms = geoms[shapely.area(geoms) > 1.0]
    else:
        geoms = _cells(district, cell_size, cell_shape)
        notes.append(f"cells: {len(geoms)} {cell_shape} cells of {cell_size:g} m clipped to the boundary")
    extra = None
    if given is not None:
        assert source is not None  # _given says where every unit came from
        own, row = source >= 0, np.maximum(source, 0)  # units from a given polygon, and its row

        def carried(values: np.ndarray, missing: Any) -> np.ndarray:
            return np.where(own, np.asarray(values, dtype=object)[row], missing)

        extra = pd.DataFrame({"polygon": pd.array(carried(given.index.astype(str), ""), dtype="str")})
        if isinstance(given, gpd.GeoDataFrame):  # the given attributes (names, ...) ride along
            for col in given.columns:
                if col != given.geometry.name and col not in _COMPUTED:
                    extra[col] = carried(given[col].to_numpy(), None)
    params = {
        "kind": kind,
        "weight": weight if not isinstance(weight, Mapping) else dict(weight),
        "cell_size": cell_size,
        "cell_shape": cell_shape,
        "min_area": min_area,
        "min_thinness": min_thinness,
        "workload": sorted(workload) if isinstance(workload, Mapping) else [],
    }
    return _assemble(
        district, geoms, kind=kind, weight=weight, incidents=incidents, extra=extra, notes=notes, params=params, workload=workload
    )


def _factors(district: District, geoms: np.ndarray, incidents: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """The workload factors of polygons: area, perimeter, residents, street length (and incidents)."""
    out = pd.DataFrame(
        {
            "area_m2": quantize(shapely.area(geoms), QUANTUM["area_m2"]),
            "perimeter_m": quantize(shapely.length(geoms), QUANTUM["perimeter_m"]),
        }
    )
    pop = np.zeros(len(geoms))
    if len(district.population):
        pidx, uidx = _point_owner(geoms, np.asarray(district.population.geometry.values))
        np.add.at(pop, uidx, district.population["population"].to_numpy(dtype=float)[pidx])
    out["population"] = pop
    out["street_m"] = (
        quantize(_street_lengths(geoms, np.asarray(district.streets.geometry.values)), QUANTUM["street_m"])
        if len(district.streets)
        else 0.0
    )
    if incidents is not None:
        counts = np.zeros(len(geoms))
        col = next((c for c in ("count", "weight") if c in incidents), None)
        vals = incidents[col].to_numpy(dtype=float) if col else np.ones(len(incidents))
        pidx, uidx = _point_owner(geoms, np.asarray(incidents.to_crs(district.crs).geometry.values))
        np.add.at(counts, uidx, vals[pidx])
        out["incidents"] = counts
        out.attrs["incidents_outside"] = len(incidents) - len(np.unique(pidx))
    return out


def _assemble(
    district: District,
    geoms: np.ndarray,
    *,
    kind: str,
    weight: Any,
    incidents: gpd.GeoDataFrame | None,
    extra: pd.DataFrame | None,
    notes: list[str],
    params: dict[str, Any],
    workload: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> Units:
    """Units from their polygons: ordered, with attributes, workload, adjacency and islands joined.
    ``extra`` holds columns aligned with ``geoms`` that ride along (given polygons' attributes);
    ``workload`` point layers are counted per unit (:func:`_workload_columns`)."""
    order = _order_units(geoms)
    geoms = geoms[order]
    frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries(geoms, crs=district.crs))
    frame.index.name = "unit"
    if extra is not None:
        for col in (c for c in extra.columns if c != "incidents"):
            values = extra[col].to_numpy()[order]
            frame[col] = pd.array(values, dtype="str") if col == "polygon" else pd.Series(values, index=frame.index)
    factors = _factors(district, geoms, incidents)
    for col in factors.columns:
        frame[col] = factors[col].to_numpy()
    if extra is not None and "incidents" in extra and "incidents" not in factors:
        frame["incidents"] = extra["incidents"].to_numpy(dtype=float)[order]
    notes = list(notes)
    n_out = factors.attrs.get("incidents_outside", 0)
    if n_out and incidents is not None:  # said, not silently left out of the weights
        notes.append(
            f"incidents: {n_out} of {len(incidents)} lie outside every unit (outside the district) and "
            "are not counted in any unit's weight"
        )
    for name, col in _workload_columns(geoms, district, workload, notes).items():
        frame[name] = col
    comm, sub = _community_of(geoms, district.communities)
    frame["community"] = pd.array(comm, dtype="str")
    frame["subdistrict"] = pd.array(sub, dtype="str")
    has_population = len(district.population) > 0 and frame["population"].sum() > 0
    values, label = _weights(frame, weight, has_population)
    frame["weight"] = values
    notes = [*notes, f"weight: {label}"]
    adj = _adjacency(geoms)
    parts = _district_parts(district.shape, geoms)
    adj, islands = _join_islands(geoms, adj, parts)
    if parts.max(initial=0) > 0:
        notes.append(
            f"the district has {int(parts.max()) + 1} parts more than {_PART_GAP_M / 1000:g} km apart; they are "
            "kept apart (grids are drawn part by part, none spans two parts)"
        )
    if islands:
        shown = "; ".join(str(i) for i in islands[:5]) + (" ..." if len(islands) > 5 else "")
        msg = (
            f"{len(islands)} groups of units were not connected to the rest (islands: units {shown}); "
            "each was joined to its nearest unit so grids can include it"
        )
        notes.append(msg)
        warnings.warn(msg, GridplanWarning, stacklevel=3)
    return Units(frame=frame, adjacency=adj, kind=kind, weight_by=label, params=params, notes=notes, islands=islands)


# ---------------------------------------------------------------------- heavy units
MIN_CELL_M = 10.0
"""Metres: heavy units are not cut into cells smaller than this (a single heavy point stays whole)."""


def _piece_weight(
    units: Units, district: District, pieces: np.ndarray, parent: np.ndarray, incidents: gpd.GeoDataFrame | None
) -> np.ndarray:
    """The workload of pieces of units, as :func:`build_units` weighs a unit: population, street
    length, area and incidents are measured on the piece; any other weight column is shared out by
    area."""
    f = units.frame
    spec = units.params.get("weight")
    if spec is None:
        spec = units.weight_by
    spec = "street_m" if spec == "street_length" else spec
    factors = _factors(district, pieces, incidents)
    if isinstance(spec, Mapping):
        out = np.zeros(len(pieces))
        for name, coef in spec.items():
            key = _FACTOR_NAMES.get(name, name)
            col = (
                factors[key].to_numpy()
                if key in factors
                else (f[key].to_numpy(float)[parent] * factors["area_m2"].to_numpy() / f["area_m2"].to_numpy(float)[parent])
            )
            out += float(coef) * col / np.nansum(f[key].to_numpy(float)) * len(f)
        return out
    key = _FACTOR_NAMES.get(spec, spec)
    if key in factors:
        return factors[key].to_numpy(dtype=float)
    return f[key].to_numpy(float)[parent] * factors["area_m2"].to_numpy() / f["area_m2"].to_numpy(float)[parent]


def _quadtree(
    units: Units, district: District, heavy: np.ndarray, target: float, incidents: gpd.GeoDataFrame | None
) -> tuple[np.ndarray, np.ndarray]:
    """Cut each heavy unit into square cells clipped to it, halving every cell heavier than
    ``target`` (down to :data:`MIN_CELL_M`); returns the pieces (polygon parts) and their unit.

    Cell corners lie whole numbers of :data:`PRECISION` (halved in integers) from a point half a step
    below and left of the unit's lower-left corner, so the lengths two cells share are whole
    centimetres (plain halving gives dyadic fractions such as 91.5775 m, exactly half-way between two
    rounded values, where floating-point noise decided how they rounded) and no cell edge runs through
    a point of the 1 cm grid."""
    geoms = np.asarray(units.frame.geometry.values)
    minx, miny, maxx, maxy = shapely.bounds(geoms[heavy]).T
    steps = np.round(np.maximum(maxx - minx, maxy - miny) / PRECISION).astype(np.int64) + 2  # covers the unit
    owner, done, done_owner = heavy.copy(), [], []
    # the cells' grid is offset half a step, so no cell edge runs through a point on the 1 cm grid
    # (residents, street vertices), where noise would decide which cell holds it
    x0, y0 = minx - PRECISION / 2, miny - PRECISION / 2
    i0, j0, i1, j1 = (np.zeros(len(heavy), np.int64), np.zeros(len(heavy), np.int64), steps, steps.copy())

    def cells() -> np.ndarray:
        return shapely.box(x0 + i0 * PRECISION, y0 + j0 * PRECISION, x0 + i1 * PRECISION, y0 + j1 * PRECISION)

    boxes = cells()
    while len(boxes):
        pieces = shapely.intersection(boxes, geoms[owner])
        parts, idx = shapely.get_parts(pieces, return_index=True)
        keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
        parts, idx = parts[keep], idx[keep]
        w = _piece_weight(units, district, parts, owner[idx], incidents)
        size = (i1 - i0) * PRECISION
        light = (w <= target) | (size[idx] / 2 < MIN_CELL_M)
        split = np.unique(idx[~light])  # a cell with one heavy part is halved whole
        final = ~np.isin(idx, split)
        done.append(parts[final])
        done_owner.append(owner[idx][final])
        if not len(split):
            break
        a0, b0, a1, b1 = i0[split], j0[split], i1[split], j1[split]
        ha, hb = (a0 + a1) // 2, (b0 + b1) // 2
        i0, i1 = np.concatenate([a0, ha, a0, ha]), np.concatenate([ha, a1, ha, a1])
        j0, j1 = np.concatenate([b0, b0, hb, hb]), np.concatenate([hb, hb, b1, b1])
        x0, y0, owner = np.tile(x0[split], 4), np.tile(y0[split], 4), np.tile(owner[split], 4)
        boxes = cells()
    return np.concatenate(done), np.concatenate(done_owner)


def _noded_with(
    units: Units, geoms: np.ndarray, heavy: np.ndarray, pieces: np.ndarray, owner: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The neighbours of split units, and the cells of split units next to other split units, with the
    cells' new corners on their outlines (snapped within a micrometre), so that shared boundaries are
    measured exactly on both sides.  Cells of two neighbouring split units are noded one unit after the
    other (the later unit onto the earlier one's noded cells), so both sides end with the same vertices:
    left unnoded, the length GEOS finds on a slanted shared edge depends on floating-point noise."""
    adj = units.adjacency.tocsr()
    pieces = pieces.copy()
    for h in heavy:
        near = adj.indices[adj.indptr[h] : adj.indptr[h + 1]]
        light, split = np.setdiff1d(near, heavy), np.intersect1d(near, heavy)
        mine = owner == h
        corners = shapely.multipoints(shapely.get_coordinates(pieces[mine]))
        if len(light):
            geoms[light] = shapely.snap(geoms[light], corners, 1e-6)
        if len(split):
            others = shapely.multipoints(shapely.get_coordinates(pieces[np.isin(owner, split)]))
            pieces[mine] = shapely.snap(pieces[mine], others, 1e-6)
    return geoms, pieces


def split_heavy_units(
    units: Units,
    district: District,
    *,
    n_grids: int,
    tolerance: float,
    share: float | None = None,
    incidents: gpd.GeoDataFrame | None = None,
) -> tuple[Units, list[str]]:
    """Units with every unit too heavy for a grid cut into cells clipped to it.

    A unit is too heavy when it alone weighs more than a grid may: ``(1 + tolerance)`` times the
    mean grid workload (the total over ``n_grids``), or more than ``share`` times the mean when
    given.  Its cells are square and as large as they
    can be while weighing at most ``tolerance`` times the mean (a quadtree: a cell heavier than
    that is halved, down to :data:`MIN_CELL_M`), so the grids can be balanced to the tolerance;
    the cells of one unit tile it exactly and carry its attributes.  Returns the new units and
    notes naming every unit split (its id, community and a point inside it) and any cell still
    too heavy (a single heavy point cannot be cut).

    Examples
    --------
    >>> import gridplan
    >>> d = gridplan.sample_district(seed=0)
    >>> u = build_units(d, "communities")
    >>> finer, notes = split_heavy_units(u, d, n_grids=40, tolerance=0.03)
    >>> len(finer) > len(u), bool(finer.frame["weight"].max() <= 1.03 * finer.frame["weight"].sum() / 40)
    (True, True)
    """
    total = float(units.frame["weight"].sum())
    share = 1 + tolerance if share is None else share
    limit, target = share * total / n_grids, tolerance * total / n_grids
    w = units.frame["weight"].to_numpy(dtype=float)
    heavy = np.flatnonzero(w > limit)
    if not len(heavy):
        return units, []
    pieces, owner = _quadtree(units, district, heavy, target, incidents)
    geoms, pieces = _noded_with(units, np.asarray(units.frame.geometry.values).copy(), heavy, pieces, owner)
    rest = np.setdiff1d(np.arange(len(geoms)), heavy)
    all_geoms = np.concatenate([geoms[rest], pieces])
    parent = np.concatenate([rest, owner])
    carried = [c for c in units.frame.columns if c not in _COMPUTED or c == "polygon"]
    extra = pd.DataFrame({c: units.frame[c].to_numpy()[parent] for c in carried}, index=np.arange(len(parent)))
    by_area = shapely.area(all_geoms) / units.frame["area_m2"].to_numpy(float)[parent]
    if "incidents" in units.frame and incidents is None:  # counted on points not at hand: shared out by area
        extra["incidents"] = units.frame["incidents"].to_numpy(float)[parent] * by_area
    for name in units.params.get("workload", []):  # point workloads (cases, ...): shared out by area, not copied
        extra[name] = units.frame[name].to_numpy(float)[parent] * by_area
    notes = []
    for h in heavy:
        pt = shapely.point_on_surface(geoms[h])
        comm = units.frame["community"].iloc[h]
        notes.append(
            f"heavy units: unit {h} ({w[h]:,.6g}, {w[h] * n_grids / total:.2f} x a grid's mean workload"
            f"{', community ' + comm if comm else ''}, around ({pt.x:.0f}, {pt.y:.0f})) was split into "
            f"{int((owner == h).sum())} cells clipped to it, none heavier than {target:,.6g} where the "
            "workload allows"
        )
    params = {
        **units.params,
        "split_heavy": {"n_grids": n_grids, "tolerance": tolerance, "share": share, "units": heavy.tolist()},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridplanWarning)  # islands are reported in the notes below
        out = _assemble(
            district,
            all_geoms,
            kind=units.kind,
            weight=units.params.get("weight"),
            incidents=incidents,
            extra=extra,
            notes=[n for n in units.notes if not n.startswith("weight:")],
            params=params,
        )
    if isinstance(units.params.get("weight"), Mapping):  # shares scaled by the number of units: keep the old
        out.frame["weight"] *= total / float(out.frame["weight"].sum())  # scale, so the cells weigh what their unit did
    new_w = out.frame["weight"].to_numpy(float)
    still = new_w > share * new_w.sum() / n_grids
    if still.any():
        notes.append(
            f"heavy units: {int(still.sum())} cells still weigh more than {share:.2f} x a grid's mean workload "
            f"({_label_ids(np.flatnonzero(still))}): "
            "their workload sits on points too close together to cut apart"
        )
    out.notes.extend(notes)
    return out, notes


def _label_ids(ids: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(i)) for i in ids[:limit])
    return f"units {shown}" + (f" and {len(ids) - limit} more" if len(ids) > limit else "")
