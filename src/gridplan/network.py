"""Street networks: a noded, undirected street graph in metres built from messy street lines.

Real street layers are rarely a clean graph. Streets end a few centimetres short
of (or past) the street they join, cross without a shared vertex, are drawn
twice, arrive as MultiLineStrings or closed rings. :meth:`StreetNetwork.from_lines`
turns such a layer into a graph whose nodes are real junctions and dead ends:

1. **explode** MultiLineStrings into parts (Z is ignored; parts of zero length
   are dropped and counted);
2. **snap** dangling endpoints (ends at a dead end of the network as drawn)
   within ``snap_tolerance`` metres: first onto nearby endpoints (a street
   stopping short of a junction joins the junction; ends facing each other
   across a gap meet at their midpoint; a nearly closed ring closes), then onto
   the nearest point of another line (T-junctions; a street overshooting a
   street by less than the tolerance is pulled back onto it);
3. **node** all lines where they cross or touch (lines on different levels --
   ``layer``, ``bridge``, ``tunnel`` -- only where they share a point), with GEOS
   snap-rounding on a 1 µm grid (``shapely.union_all(..., grid_size=1e-6)``), which also dissolves
   duplicated and overlapping segments into one piece; ends closer than 10 µm
   become one node, and nodes the rounding adds inside an overlap are removed
   again, so every node is a junction, a dead end or the end of an input line;
4. **map** every noded piece back to the input part it lies on (an STRtree
   query; among duplicates the row with the lowest index label wins) and orient it
   like that part;
5. number nodes 0..n-1 by ascending (x, y).

The result depends on the input only, never on chance nor on row order: rows
are taken in the order of their index labels, so among duplicated rows the one
with the lowest label gives its attributes (and direction) to the shared edge.

What each step did is counted in :attr:`StreetNetwork.noding_report`.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import LineString
>>> lines = gpd.GeoDataFrame(
...     {"name": ["east-west", "north-south"]},
...     geometry=[LineString([(0, 0), (10, 0)]), LineString([(5, -5), (5, 5)])],
...     crs="EPSG:32649",
... )
>>> net = StreetNetwork.from_lines(lines)
>>> net.n_nodes, net.n_edges, net.total_length_km
(5, 4, 0.02)
>>> print(net.edges[["u", "v", "length", "street", "name"]].to_string(index=False))
 u  v  length  street        name
 0  2     5.0       0   east-west
 1  2     5.0       1 north-south
 2  3     5.0       1 north-south
 2  4     5.0       0   east-west
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Literal, overload

import geopandas as gpd
import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from . import _validate
from .crs import crs_label
from .errors import CRSError, DataError, GeometryError, GridplanWarning, NetworkError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["StreetNetwork"]

_GRID = 1e-6
"""Noding precision in metres: every output coordinate lies on this grid (snap-rounding)."""
_TOUCH = _GRID / 2.0
"""An endpoint this close to another line is touching it already (noding joins it)."""
_COVER = 4.0 * _GRID
"""A noded piece is part of an input line when sample points on it are this close to the line."""
_MERGE = 10.0 * _GRID
"""Noded ends closer than this are one node; pieces shorter than this are dropped (zero length)."""
_SNAP_ROUNDS = 5
"""Rounds of endpoint-onto-line snapping (a second round re-snaps onto lines whose own end moved)."""
_LINE_TYPES = ("LineString", "MultiLineString", "LinearRing")
_RESERVED = ("u", "v", "key", "length", "street", "geometry")
_EXPECTED_CLASHES = ("length",)
"""Source columns renamed without a warning: real road layers carry their own ``length``."""
_SHOW = 5  # offending index labels named in error messages


def _run_starts(*keys: np.ndarray) -> np.ndarray:
    """Boolean mask of the first element of each run of equal keys in sorted arrays."""
    n = len(keys[0])
    first = np.zeros(n, dtype=bool)
    if n:
        first[0] = True
        for k in keys:
            first[1:] |= k[1:] != k[:-1]
    return first


def _labels(index: pd.Index, mask: np.ndarray) -> str:
    """Name the first few index labels where ``mask`` is true, e.g. ``'3, 7, 9 (and 12 more)'``."""
    bad = list(index[mask])
    text = ", ".join(repr(v) for v in bad[:_SHOW])
    if len(bad) > _SHOW:
        text += f" (and {len(bad) - _SHOW} more)"
    return text


def _check_crs(crs: Any) -> pyproj.CRS:
    fix = "reproject to a metric CRS first, e.g. lines = gridplan.crs.to_crs(lines, gridplan.crs.metric_crs(lines))"
    if crs is None:
        raise CRSError(
            "lines have no CRS, so their units are unknown; set the CRS the coordinates are in "
            f"(lines = lines.set_crs('EPSG:4326') for lon/lat) and {fix}"
        )
    crs = pyproj.CRS(crs)
    if crs.is_geographic:
        raise CRSError(f"lines are in {crs_label(crs)}, a lon/lat CRS in degrees; street lengths need metres: {fix}")
    units = {(axis.unit_name or "").lower() for axis in crs.axis_info[:2]}
    if not units or not units <= {"metre", "meter", "m"}:
        raise CRSError(f"lines are in {crs_label(crs)} with units {sorted(units)}, not metres; {fix}")
    return crs


def _check_tolerance(snap_tolerance: Any) -> float:
    return _validate.number(snap_tolerance, "snap_tolerance (metres; e.g. 1.0, or 0 to switch snapping off)", minimum=0)


def _check_lines(lines: Any) -> np.ndarray:
    """Validate ``lines`` and return its geometries as a numpy object array."""
    if not isinstance(lines, gpd.GeoDataFrame):
        hint = " (a GeoSeries: use series.to_frame())" if isinstance(lines, gpd.GeoSeries) else ""
        raise DataError(
            f"lines must be a geopandas.GeoDataFrame of LineStrings, got {type(lines).__name__}{hint}; "
            "e.g. geopandas.read_file('roads.gpkg') or "
            "geopandas.GeoDataFrame(geometry=[...], crs=...)"
        )
    if len(lines) == 0:
        raise NetworkError("lines is empty; a street network needs at least one street line")
    if not lines.index.is_unique:
        dup = lines.index.duplicated(keep=False)
        raise DataError(
            f"lines has duplicate index labels ({_labels(lines.index, dup)}); edges refer back to "
            "their street by index label, so labels must be unique: call "
            "lines.reset_index(drop=True) or set a unique id column as the index"
        )
    geoms = np.asarray(lines.geometry.values, dtype=object)
    missing = shapely.is_missing(geoms)
    kinds = pd.Series(np.asarray(lines.geometry.geom_type, dtype=object)).fillna("None").to_numpy()
    is_line = np.isin(kinds, _LINE_TYPES) & ~missing
    nonempty_line = is_line & ~shapely.is_empty(geoms)
    if not nonempty_line.any():
        found = ", ".join(f"{k} x{n}" for k, n in pd.Series(kinds).value_counts().items())
        raise NetworkError(
            f"lines has no line geometries at all (found {found}); a street network is built from LineStrings or MultiLineStrings"
        )
    empty = missing | shapely.is_empty(geoms)
    if empty.any():
        raise GeometryError(
            f"{int(empty.sum())} row(s) of lines have empty or missing geometry: rows "
            f"{_labels(lines.index, empty)}; drop them first with "
            "lines = lines[~(lines.geometry.isna() | lines.geometry.is_empty)]"
        )
    if not is_line.all():
        bad = ~is_line
        found = ", ".join(sorted(set(kinds[bad])))
        raise GeometryError(
            f"{int(bad.sum())} row(s) of lines are not lines ({found}): rows {_labels(lines.index, bad)}; "
            "keep only the lines with "
            "lines = lines[lines.geom_type.isin(['LineString', 'MultiLineString'])] "
            "(explode GeometryCollections first with lines = lines.explode(index_parts=True), which keeps "
            "every part's source row in a unique index)"
        )
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    finite = np.isfinite(coords).all(axis=1)
    if not finite.all():
        bad = np.zeros(len(geoms), dtype=bool)
        bad[owner[~finite]] = True
        raise GeometryError(
            f"{int(bad.sum())} row(s) of lines have NaN or infinite coordinates: rows "
            f"{_labels(lines.index, bad)}; fix or drop those rows (check the source data and any "
            "CRS transformation that failed)"
        )
    return geoms


class _Parts:
    """Exploded input lines as one flat coordinate array, so endpoints can move vectorised.

    Endpoint ``k`` is the start of part ``k // 2`` when ``k`` is even, its end when odd.
    """

    def __init__(self, xy: np.ndarray, part_of_coord: np.ndarray, row: np.ndarray) -> None:
        self.xy = xy  # (n_coords, 2)
        self.part_of_coord = part_of_coord  # part id of each coordinate
        self.row = row  # source row position of each part
        counts = np.bincount(part_of_coord, minlength=len(row))
        start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.end_coord = np.column_stack([start, start + counts - 1]).ravel()
        self.owner = np.repeat(np.arange(len(row)), 2)  # part of each endpoint
        self.geoms = shapely.linestrings(xy, indices=part_of_coord)

    @property
    def n(self) -> int:
        return len(self.row)

    @property
    def ends(self) -> np.ndarray:
        return self.xy[self.end_coord]

    def move(self, endpoints: np.ndarray, targets: np.ndarray) -> None:
        self.xy[self.end_coord[endpoints]] = targets
        self.geoms = shapely.linestrings(self.xy, indices=self.part_of_coord)


def _node_lines(geoms: np.ndarray, level: np.ndarray | None = None) -> tuple[np.ndarray, int, np.ndarray | None]:
    """Node and dissolve lines by snap-rounding on the :data:`_GRID`; drop slivers.

    With ``level`` (one number per line), lines are noded within their level only
    and joined across levels where they share a point (:func:`_node_levels`).
    Returns the pieces, the number of pieces shorter than :data:`_MERGE` dropped
    (rounding slivers, e.g. where a crossing lies a micrometre from a vertex) and
    the level of each piece (None without ``level``).
    """
    if level is None:
        noded = shapely.get_parts(shapely.union_all(geoms, grid_size=_GRID))
        noded = noded[shapely.get_type_id(noded) == 1]
        piece_level = None
    else:
        noded, piece_level = _node_levels(geoms, level)
    micro = shapely.length(noded) < _MERGE
    return noded[~micro], int(micro.sum()), None if piece_level is None else piece_level[~micro]


# ---------------------------------------------------------------------- grade separation
_LEVEL_COLUMNS = ("layer", "bridge", "tunnel")
"""Columns that say a street runs above or below the others (OpenStreetMap tags; vendor layers alike)."""
_NOT_A_STRUCTURE = {"", "no", "false", "0", "n", "f", "none", "nan"}
"""``bridge``/``tunnel`` values that mean "not a bridge/tunnel"; any other value (``yes``, ``viaduct``,
``culvert``, ``1``, True) means it is one, as OpenStreetMap reads them."""


def _structure_flag(values: pd.Series) -> np.ndarray:
    """A ``bridge``/``tunnel`` column as booleans: missing and ``no``-like values are False."""
    if values.dtype == bool:
        return values.to_numpy()
    text = values.astype("string").str.strip().str.lower().fillna("")
    return ~text.isin(_NOT_A_STRUCTURE).to_numpy()


def _numeric_levels(values: pd.Series, column: str, index: pd.Index) -> np.ndarray:
    """A level column as floats (NaN where missing); text that is no number is a DataError naming rows."""
    if values.dtype.kind in "biuf":
        return values.to_numpy(dtype=float, na_value=np.nan)  # nullable Int64/Float64 too
    text = values.astype("string").str.strip()
    first = text.str.split(";").str[0]  # OSM multi-values "1;2": the first stands, as in District.from_osm
    number = pd.to_numeric(first, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(number) & text.fillna("").ne("").to_numpy() & ~text.str.lower().isin(["nan", "none"]).fillna(False).to_numpy()
    if bad.any():
        raise DataError(
            f"column {column!r} of lines holds values that are not numbers in rows {_labels(index, bad)} "
            f"(e.g. {values.to_numpy()[bad][0]!r}); a street's level must be a number such as -1, 0, 1 "
            f"(empty for ground level): fix those rows, e.g. lines[{column!r}] = "
            f"pd.to_numeric(lines[{column!r}], errors='coerce'), or pass levels=False to node every crossing"
        )
    return number


def _street_levels(lines: gpd.GeoDataFrame, levels: Any) -> tuple[np.ndarray | None, str]:
    """The level of every row, or None when all rows are on one level; and what the levels were read from.

    ``levels=True`` reads OpenStreetMap conventions: ``layer`` (a number, 0 when
    missing), a bridge on layer 0 or without a layer is on layer 1, a tunnel on
    layer -1 (readers such as ``District.from_osm`` write 0 for a missing layer).
    ``levels="column"`` takes that numeric column as it is; ``False`` puts every
    row on one level.
    """
    if levels is False or levels is None:
        return None, "off"
    if isinstance(levels, str):
        if levels not in lines.columns:
            raise DataError(
                f"levels={levels!r} names no column of lines (columns: {list(lines.columns)}); pass the name of "
                "a numeric column of street levels, True to read layer/bridge/tunnel, or False"
            )
        level = _numeric_levels(lines[levels], levels, lines.index)
        source = levels
    elif levels is True:
        present = [c for c in _LEVEL_COLUMNS if c in lines.columns]
        if not present:
            return None, "none (no layer, bridge or tunnel column)"
        layer = _numeric_levels(lines["layer"], "layer", lines.index) if "layer" in lines.columns else np.full(len(lines), np.nan)
        ground = np.isnan(layer) | (layer == 0)
        level = np.where(np.isnan(layer), 0.0, layer)
        if "tunnel" in lines.columns:
            level[ground & _structure_flag(lines["tunnel"])] = -1.0
        if "bridge" in lines.columns:
            level[ground & _structure_flag(lines["bridge"])] = 1.0
        source = ", ".join(present)
    else:
        raise DataError(
            f"levels={levels!r}: use True (read layer/bridge/tunnel columns), False (node every crossing) "
            "or the name of a numeric column of street levels"
        )
    level = np.where(np.isnan(level), 0.0, level)
    if np.unique(level).size <= 1:
        return None, source
    return level, source


def _split_at_shared_points(pieces: np.ndarray, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut pieces where a line of another level really joins them.

    A point joins two levels when a vertex (an end included) of a piece of one
    level lies within :data:`_GRID` of a piece of another level, as where an
    OpenStreetMap ramp or bridge shares a node with the street it meets. Every
    piece passing through such a point is cut there, so both levels get a node
    at it; a plain crossing without a shared vertex is left alone.
    """
    xy, owner = shapely.get_coordinates(pieces, return_index=True)
    tree = shapely.STRtree(pieces)
    i, j = tree.query(shapely.points(xy), predicate="dwithin", distance=_GRID)
    other = level[owner[i]] != level[j]
    if not other.any():
        return pieces, level
    shared = np.unique(xy[i[other]], axis=0)
    k, q = tree.query(shapely.points(shared), predicate="dwithin", distance=_GRID)
    at = shapely.line_locate_point(pieces[q], shapely.points(shared[k]))
    inner = (at > _MERGE) & (at < shapely.length(pieces[q]) - _MERGE)
    k, q, at = k[inner], q[inner], at[inner]
    if q.size == 0:
        return pieces, level
    cut = np.unique(q)
    # the vertices of the pieces to cut, with their distance along the piece
    vxy, vown = shapely.get_coordinates(pieces[cut], return_index=True)
    step = np.r_[0.0, np.hypot(*np.diff(vxy, axis=0).T)]
    step[_run_starts(vown)] = 0.0
    run = np.cumsum(step)
    vat = run - run[_run_starts(vown)][np.cumsum(_run_starts(vown)) - 1]
    # each cut point ends one sub-piece (kind 1) and starts the next (kind 2)
    pos = np.searchsorted(cut, q)
    piece = np.r_[vown, pos, pos]
    along = np.r_[vat, at, at]
    kind = np.r_[np.zeros(len(vown), int), np.ones(len(q), int), np.full(len(q), 2)]
    coords = np.vstack([vxy, shared[k], shared[k]])
    order = np.lexsort((kind, along, piece))
    piece, kind, coords = piece[order], kind[order], coords[order]
    sub = np.cumsum(_run_starts(piece) | (kind == 2)) - 1
    subs = shapely.remove_repeated_points(shapely.linestrings(coords, indices=sub), 0.0)
    sub_piece = piece[_run_starts(sub)]
    keep = np.ones(len(pieces), dtype=bool)
    keep[cut] = False
    return np.r_[pieces[keep], subs], np.r_[level[keep], level[cut][sub_piece]]


def _level_key(node: np.ndarray, level: np.ndarray) -> np.ndarray:
    """One sortable key per (node, level) pair."""
    return np.rec.fromarrays([np.asarray(node, dtype=np.int64), np.asarray(level, dtype=float)]).astype(
        [("node", "<i8"), ("level", "<f8")]
    )


def _node_level_keys(u: np.ndarray, v: np.ndarray, piece_level: np.ndarray) -> np.ndarray:
    """The (node, level) pairs where an edge of that level ends at that node."""
    return np.unique(_level_key(np.r_[u, v], np.r_[piece_level, piece_level]))


def _grade_separated(geoms: np.ndarray, row: np.ndarray, level: np.ndarray, node_xy: np.ndarray, node_keys: np.ndarray) -> int:
    """Count pairs of input rows on different levels that meet somewhere without being joined there.

    Two lines are joined at a point when a node lies there (within :data:`_MERGE`)
    with edges of both their levels; a crossing (or a stretch drawn on top of each
    other) anywhere else is grade-separated.
    """
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pair = (i < j) & (level[i] != level[j])
    i, j = i[pair], j[pair]
    if i.size == 0:
        return 0
    parts, which = shapely.get_parts(shapely.intersection(geoms[i], geoms[j]), return_index=True)
    loose = shapely.get_type_id(parts) != 0  # shared stretches are never a joint
    point = np.flatnonzero(~loose)
    dist, node = cKDTree(node_xy).query(shapely.get_coordinates(parts[point]), distance_upper_bound=_MERGE)
    found = np.isfinite(dist)
    node = np.where(found, node, 0)
    joined = found.copy()
    for side in (i, j):
        joined &= np.isin(_level_key(node, level[side[which[point]]]), node_keys)
    loose[point[~joined]] = True
    a, b = row[i[which[loose]]], row[j[which[loose]]]
    return int(np.unique(np.column_stack([np.minimum(a, b), np.maximum(a, b)]), axis=0).shape[0])


def _node_levels(geoms: np.ndarray, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Node every level on its own (as :func:`_node_lines` does), then join levels at shared points."""
    pieces, piece_level = [], []
    for g in np.unique(level):
        noded = shapely.get_parts(shapely.union_all(geoms[level == g], grid_size=_GRID))
        noded = noded[shapely.get_type_id(noded) == 1]
        pieces.append(noded)
        piece_level.append(np.full(len(noded), g))
    return _split_at_shared_points(np.concatenate(pieces), np.concatenate(piece_level))


def _number_nodes(pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nodes from piece ends: merge ends closer than :data:`_MERGE`, number them by (x, y).

    Piece ends are moved onto their node's coordinates, so every edge starts and
    ends exactly at its nodes; a piece that thereby shrinks below :data:`_MERGE`
    (a micrometre loop) is dropped. Returns ``(pieces, node_xy, u, v, kept)`` where
    ``kept`` indexes the input pieces that remain.
    """
    m = len(pieces)
    xy, owner = shapely.get_coordinates(pieces, return_index=True)
    counts = np.bincount(owner, minlength=m)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    last = first + counts - 1
    uniq, inverse = np.unique(np.vstack([xy[first], xy[last]]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    pairs = cKDTree(uniq).query_pairs(_MERGE, output_type="ndarray")
    if len(pairs):
        k = len(uniq)
        adj = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(k, k))
        _, cluster = csgraph.connected_components(adj, directed=False)
        rep = np.full(cluster.max() + 1, k)
        np.minimum.at(rep, cluster, np.arange(k))  # lowest (x, y) of each cluster represents it
        keep = np.zeros(k, dtype=bool)
        keep[rep] = True
        inverse = (np.cumsum(keep) - 1)[rep[cluster]][inverse]
        uniq = uniq[keep]
    u, v = inverse[:m], inverse[m:]
    xy[first] = uniq[u]
    xy[last] = uniq[v]
    out = shapely.linestrings(xy, indices=owner)
    kept = np.flatnonzero(shapely.length(out) >= _MERGE)
    if 0 < kept.size < m:
        out, uniq, u, v, again = _number_nodes(out[kept])
        return out, uniq, u, v, kept[again]
    return out, uniq, u, v, np.arange(m)


def _dangling_ends(parts: _Parts, pieces: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Find the dead ends and the firm junctions of the parts noded as they are.

    Returns a mask of the endpoints at a dead end (a degree-1 node) and the
    coordinates of firm junctions: nodes of degree 3 or more (crossings without a
    shared vertex included) where no line through the node has a dangling end
    within ``tol`` of it. Junctions made only by near-miss ends overshooting each
    other are therefore not snapping targets. Judging by degree rather than by
    "touches another line" makes the ends of a duplicated line dangling too, and
    keeps ends on T-junctions, end-to-end joins and closed rings fixed. ``pieces``
    are the parts noded by :func:`_node_lines`.
    """
    if len(pieces) == 0:
        return np.zeros(2 * parts.n, dtype=bool), np.empty((0, 2))
    _, node_xy, u, v, _ = _number_nodes(pieces)
    degree = np.bincount(np.r_[u, v], minlength=len(node_xy))
    ends = parts.ends
    dist, node = cKDTree(node_xy).query(ends, distance_upper_bound=_MERGE)
    found = np.isfinite(dist)
    dangling = np.zeros(len(node), dtype=bool)
    dangling[found] = degree[node[found]] == 1
    junction = np.flatnonzero(degree >= 3)
    if junction.size:
        j, part = shapely.STRtree(parts.geoms).query(shapely.points(node_xy[junction]), predicate="dwithin", distance=_MERGE)
        loose = np.zeros(junction.size, dtype=bool)
        for k in (2 * part, 2 * part + 1):  # the start and the end of each line through the node
            near = np.hypot(*(ends[k] - node_xy[junction[j]]).T) <= tol
            loose[j[dangling[k] & near]] = True
        junction = junction[~loose]
    return dangling, node_xy[junction]


def _snap_to_endpoints(parts: _Parts, dangling: np.ndarray, junctions: np.ndarray, tol: float) -> np.ndarray:
    """Join dangling endpoints to nearby endpoints or junctions within ``tol``; return those moved.

    Points are grouped by single linkage: a dangling endpoint links to every
    endpoint and junction within ``tol`` (the other end of its own line only when
    that line is longer than ``2 * tol``, so short stubs are not folded onto
    themselves). In a group that holds a fixed point (an endpoint that is not
    dangling, or a junction such as a crossing) each dangling endpoint moves onto
    the nearest fixed point within ``tol``; a group of dangling endpoints only
    (ends facing each other across a gap, jittered ends around a crossing) meets
    at its centroid. No endpoint moves more than ``tol``; the ones that would are
    left to :func:`_snap_to_lines`.
    """
    n_end = 2 * parts.n
    if not dangling.any() or n_end + len(junctions) < 2:
        return np.empty(0, dtype=int)
    # junctions join as fixed points owned by no part
    ends = np.vstack([parts.ends, junctions])
    owner = np.r_[parts.owner, -1 - np.arange(len(junctions))]
    dangling = np.r_[dangling, np.zeros(len(junctions), dtype=bool)]
    n_pts = len(ends)
    pairs = cKDTree(ends).query_pairs(tol, output_type="ndarray")
    if len(pairs) == 0:
        return np.empty(0, dtype=int)
    a, b = pairs[:, 0], pairs[:, 1]
    long_part = shapely.length(parts.geoms) > 2.0 * tol
    same_part = owner[a] == owner[b]  # only ever true for two ends of one part
    keep = (dangling[a] | dangling[b]) & (~same_part | long_part[np.maximum(owner[a], 0)])
    a, b = a[keep], b[keep]
    if a.size == 0:
        return np.empty(0, dtype=int)
    adj = sparse.coo_matrix((np.ones(a.size), (a, b)), shape=(n_pts, n_pts))
    _, group = csgraph.connected_components(adj, directed=False)
    target = np.full((n_pts, 2), np.nan)

    # groups with a fixed endpoint: dangling ends go to the nearest fixed end within tol
    d = np.hypot(*(ends[a] - ends[b]).T)
    src, dst, dd = np.r_[a, b], np.r_[b, a], np.r_[d, d]
    to_fixed = dangling[src] & ~dangling[dst]
    src, dst, dd = src[to_fixed], dst[to_fixed], dd[to_fixed]
    order = np.lexsort((dst, dd, src))
    src, dst = src[order], dst[order]
    first = _run_starts(src)
    target[src[first]] = ends[dst[first]]
    linked = np.union1d(a, b)
    has_fixed = np.zeros(group.max() + 1, dtype=bool)
    has_fixed[group[linked[~dangling[linked]]]] = True

    # groups of dangling ends only: meet at the centroid
    free = linked[~has_fixed[group[linked]]]
    if free.size:
        g = group[free]
        count = np.maximum(np.bincount(g), 1)
        cx = np.bincount(g, weights=ends[free, 0]) / count
        cy = np.bincount(g, weights=ends[free, 1]) / count
        target[free] = np.column_stack([cx[g], cy[g]])

    moved = np.flatnonzero(~np.isnan(target[:n_end, 0]))
    moved = moved[np.hypot(*(ends[moved] - target[moved]).T) <= tol]
    moved = moved[(ends[moved] != target[moved]).any(axis=1)]
    if moved.size:
        parts.move(moved, target[moved])
    return moved


def _snap_to_lines(parts: _Parts, candidates: np.ndarray, tol: float, level: np.ndarray | None = None) -> np.ndarray:
    """Move endpoints ``candidates`` onto the nearest point of another line within ``tol``.

    Lines closer than :data:`_TOUCH` (a duplicate the end already lies on) are not
    targets, nor lines on another ``level`` (one per part; a street ending under a
    bridge does not climb onto it). When a target line's own end moves in the same pass, endpoints that
    sat on the moved stretch are projected onto it again (a few rounds at most).
    """
    if candidates.size == 0:
        return candidates
    pts = shapely.points(parts.ends[candidates])
    i, p = shapely.STRtree(parts.geoms).query(pts, predicate="dwithin", distance=tol)
    d = shapely.distance(pts[i], parts.geoms[p])
    keep = (p != parts.owner[candidates[i]]) & (d > _TOUCH)
    if level is not None:
        keep &= level[p] == level[parts.owner[candidates[i]]]
    i, p, d = i[keep], p[keep], d[keep]
    if i.size == 0:
        return np.empty(0, dtype=int)
    order = np.lexsort((p, d, i))  # per endpoint: nearest line, ties to the lowest part id
    i, p = i[order], p[order]
    first = _run_starts(i)
    ends, target = candidates[i[first]], p[first]
    todo = np.ones(ends.size, dtype=bool)
    for _ in range(_SNAP_ROUNDS):
        pts = shapely.points(parts.ends[ends[todo]])
        nearest = shapely.get_coordinates(shapely.shortest_line(pts, parts.geoms[target[todo]]))[1::2]
        parts.move(ends[todo], nearest)
        off = shapely.distance(shapely.points(parts.ends[ends]), parts.geoms[target]) > _TOUCH
        if not off.any():
            break
        todo = off
    return ends


def _map_pieces(
    pieces: np.ndarray,
    parts: np.ndarray,
    part_row: np.ndarray,
    piece_level: np.ndarray | None = None,
    part_level: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Map noded pieces back to the input parts they lie on, and orient them like those parts.

    A part covers a piece when the piece's two ends and its points at 25/50/75 %
    of its length all lie within :data:`_COVER` of the part (the noding moves
    coordinates by about one grid cell at most). Among covering parts, the one
    from the lowest row position wins, then the lowest part id.

    With levels, a piece maps only onto parts of its own level.

    Returns the oriented pieces, the winning part of each piece, the number of
    parts covering it (>= 1) and an id of the set of covering parts.
    """
    n = len(pieces)
    samples = [shapely.line_interpolate_point(pieces, f, normalized=True) for f in (0.5, 0.0, 0.25, 0.75, 1.0)]
    tree = shapely.STRtree(parts)
    pc, sc = tree.query(samples[0], predicate="dwithin", distance=_COVER)
    ok = np.ones(len(pc), dtype=bool)
    for pts in samples[1:]:
        ok &= shapely.dwithin(pts[pc], parts[sc], _COVER)
    if piece_level is not None and part_level is not None:
        ok &= piece_level[pc] == part_level[sc]
    pc, sc = pc[ok], sc[ok]
    orphan = np.setdiff1d(np.arange(n), pc)
    if orphan.size:  # numerically odd pieces: fall back to the nearest part(s)
        if piece_level is None or part_level is None:
            oi, os_ = tree.query_nearest(samples[0][orphan], all_matches=True)
            pc, sc = np.r_[pc, orphan[oi]], np.r_[sc, os_]
        else:  # ... of the piece's own level
            for g in np.unique(piece_level[orphan]):
                mine, same = orphan[piece_level[orphan] == g], np.flatnonzero(part_level == g)
                oi, os_ = shapely.STRtree(parts[same]).query_nearest(samples[0][mine], all_matches=True)
                pc, sc = np.r_[pc, mine[oi]], np.r_[sc, same[os_]]
    order = np.lexsort((sc, part_row[sc], pc))
    pc, sc = pc[order], sc[order]
    source = sc[_run_starts(pc)]
    n_cover = np.bincount(pc, minlength=n)
    # id of each piece's set of covering parts: rows of a padded (piece x part) table
    by_part = np.lexsort((sc, pc))
    pcs, scs = pc[by_part], sc[by_part]
    starts = _run_starts(pcs)
    rank = np.arange(len(pcs)) - np.flatnonzero(starts)[np.cumsum(starts) - 1]
    table = np.full((n, int(n_cover.max())), -1)
    table[pcs, rank] = scs
    cover_set = np.unique(table, axis=0, return_inverse=True)[1].ravel()
    flip = shapely.line_locate_point(parts[source], samples[2]) > shapely.line_locate_point(parts[source], samples[3])
    pieces = pieces.copy()
    pieces[flip] = shapely.reverse(pieces[flip])
    return pieces, source, n_cover, cover_set


def _merge_false_nodes(
    pieces: np.ndarray,
    cover_set: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    node_xy: np.ndarray,
    part_ends: np.ndarray,
) -> tuple[np.ndarray, int, np.ndarray]:
    """Join pieces across nodes that the noding put inside a dissolved overlap.

    Snap-rounding nodes a line at every vertex of a line overlapping it, so the
    overlap of two copies of a street is cut at each vertex. Such a node has
    degree 2, the same input parts cover the pieces on both sides, and it is no
    input line's end; the pieces meeting there are merged back. Returns the pieces,
    how many nodes were removed and, for each piece returned, one input piece it
    was made of.
    """
    n_node = len(node_xy)
    degree = np.bincount(np.r_[u, v], minlength=n_node)
    dist, _ = cKDTree(part_ends).query(node_xy, distance_upper_bound=_MERGE)
    at_part_end = np.isfinite(dist)
    end_node = np.r_[u, v]
    end_piece = np.r_[np.arange(len(u)), np.arange(len(v))]
    cand = (degree[end_node] == 2) & ~at_part_end[end_node]
    node, piece = end_node[cand], end_piece[cand]
    order = np.lexsort((piece, node))
    node, piece = node[order], piece[order]
    a, b = piece[0::2], piece[1::2]  # degree 2: exactly two entries per candidate node
    false = (a != b) & (cover_set[a] == cover_set[b])
    a, b = a[false], b[false]
    if a.size == 0:
        return pieces, 0, np.arange(len(pieces))
    m = len(pieces)
    adj = sparse.coo_matrix((np.ones(a.size), (a, b)), shape=(m, m))
    _, group = csgraph.connected_components(adj, directed=False)
    size = np.bincount(group)
    multi = size[group] > 1
    idx = np.flatnonzero(multi)
    grp_ids, grp_of = np.unique(group[idx], return_inverse=True)
    merged = shapely.line_merge(shapely.multilinestrings(pieces[idx], indices=grp_of))
    # keep a merge only if it is one line whose ends are real nodes (not a loop rotated
    # onto a false node)
    good = shapely.get_type_id(merged) == 1
    real = np.ones(n_node, dtype=bool)
    real[node[0::2][false]] = False
    ends_xy = np.column_stack(
        [shapely.get_coordinates(shapely.get_point(merged, 0)), shapely.get_coordinates(shapely.get_point(merged, -1))]
    ).reshape(-1, 2)
    ok_xy = np.isfinite(ends_xy).all(axis=1)
    d_end, n_end = cKDTree(node_xy).query(np.where(ok_xy[:, None], ends_xy, 0.0), distance_upper_bound=_MERGE)
    end_real = ok_xy & np.isfinite(d_end) & real[np.minimum(n_end, n_node - 1)]
    good &= end_real[0::2] & end_real[1::2]
    if not good.any():
        return pieces, 0, np.arange(len(pieces))
    out = list(pieces[~multi])
    keep_group = np.zeros(len(grp_ids), dtype=bool)
    keep_group[good] = True
    out += list(merged[good])
    out += list(pieces[idx[~keep_group[grp_of]]])
    first_of_group = np.full(len(grp_ids), m)
    np.minimum.at(first_of_group, grp_of, idx)
    origin = np.r_[np.flatnonzero(~multi), first_of_group[good], idx[~keep_group[grp_of]]]
    removed = int(size[grp_ids[good]].sum() - good.sum())
    return np.array(out, dtype=object), removed, origin


def _explode(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Explode to single lines; return (parts, source row position, number of parts incl. empty)."""
    parts, row = shapely.get_parts(geoms, return_index=True)
    n_parts = len(parts)
    keep = ~shapely.is_empty(parts)
    return parts[keep], row[keep], n_parts


def _canonical_rows(index: pd.Index) -> np.ndarray:
    """Row positions sorted by index label (labels of mixed types: by type name, then text)."""
    try:
        return np.asarray(index.argsort(kind="stable"))
    except TypeError:
        keys = [(type(v).__name__, str(v)) for v in index]
        return np.asarray(sorted(range(len(keys)), key=keys.__getitem__))


def _rename_reserved(columns: list[str]) -> dict[str, str]:
    taken = set(columns) | set(_RESERVED)
    renames: dict[str, str] = {}
    for col in columns:
        if col in _RESERVED:
            new = f"{col}_source"
            while new in taken:
                new += "_"
            taken.add(new)
            renames[col] = new
    return renames


class StreetNetwork:
    """A noded, undirected street graph in metres.

    Build one with :meth:`from_lines`. Nodes are numbered 0..n-1 by ascending
    (x, y); every edge is a piece of one input street between two nodes, drawn in
    the direction of that street's geometry.

    Attributes
    ----------
    graph : networkx.MultiGraph
        Nodes carry ``x``, ``y``; edges carry ``length`` (m), ``geometry`` (running
        from the edge's ``u`` to ``v`` in :attr:`edges`), ``street`` (index label of
        the source row) and the source row's other columns. ``graph.graph["crs"]``
        is the CRS. Treat it as read-only: it is not synchronised back.
    edges : geopandas.GeoDataFrame
        One row per edge, index ``edge``: ``u``, ``v``, ``key``, ``length``,
        ``street``, the source columns, ``geometry``.
    nodes : geopandas.GeoDataFrame
        Index = node id: ``x``, ``y``, ``degree``, ``component``, ``geometry``.
    crs : pyproj.CRS
    noding_report : dict
        What :meth:`from_lines` did: ``input_rows``, ``exploded_parts``,
        ``zero_length_dropped``, ``endpoints_snapped``, ``junctions_noded`` (nodes
        placed inside an input line: crossings, T-junctions, ends of overlaps),
        ``duplicate_pieces_removed``, ``overlap_length_removed_m``, ``output_edges``,
        ``nodes``, ``snap_tolerance``, ``levels`` (what levels were read from) and
        ``grade_separated`` (pairs of rows crossing on different levels without a
        junction).
    """

    def __init__(
        self,
        edges: gpd.GeoDataFrame,
        node_xy: np.ndarray,
        *,
        crs: pyproj.CRS,
        noding_report: dict[str, Any] | None = None,
    ) -> None:
        # Internal: use StreetNetwork.from_lines. ``edges`` has u, v, key, length, street,
        # source columns and geometry; ``node_xy`` holds node coordinates by id.
        self._edges = edges
        self._xy = np.asarray(node_xy, dtype=float).reshape(-1, 2)
        self._crs = crs
        self.noding_report: dict[str, Any] = dict(noding_report or {})
        n = len(self._xy)
        u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
        self._degree = np.bincount(u, minlength=n) + np.bincount(v, minlength=n)
        adj = sparse.coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
        n_comp, label = csgraph.connected_components(adj, directed=False)
        comp_len = np.bincount(label[u], weights=edges["length"].to_numpy(), minlength=n_comp)
        first_node = np.full(n_comp, n)
        np.minimum.at(first_node, label, np.arange(n))
        order = np.lexsort((first_node, -comp_len))  # longest first; ties to the lowest node id
        rank = np.empty(n_comp, dtype=int)
        rank[order] = np.arange(n_comp)
        self._component = rank[label]
        self._graph: nx.MultiGraph | None = None
        self._csr: sparse.csr_matrix | None = None
        self._kdtree: cKDTree | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_lines(cls, lines: gpd.GeoDataFrame, *, snap_tolerance: float = 1.0, levels: bool | str = True) -> StreetNetwork:
        """Build a noded street network from street lines in a projected metric CRS.

        Parameters
        ----------
        lines : geopandas.GeoDataFrame
            LineStrings and/or MultiLineStrings (LinearRings are read as closed
            lines) in a projected CRS in metres, with a unique index. Z values are
            ignored. Columns other than the geometry are carried onto the edges;
            columns named ``u``, ``v``, ``key``, ``length``, ``street`` or
            ``geometry`` would clash with edge fields and are kept as
            ``<name>_source`` (``noding_report["renamed_columns"]`` lists them; a
            :class:`~gridplan.errors.GridplanWarning` for all but ``length``, which
            real road layers usually have).
        snap_tolerance : float, default 1.0
            Metres. A dangling endpoint (one touching no other line) within this
            distance of another endpoint moves onto it; failing that, within this
            distance of another line it moves onto the nearest point of that line.
            ``0`` switches snapping off (lines closer than 0.5 µm are still joined by
            the noding grid).
        levels : bool or str, default True
            Which lines run above or below the others, so that their crossings are
            not junctions. ``True`` reads the OpenStreetMap columns when ``lines``
            has any of them: ``layer`` (a number; missing = 0), ``bridge`` and
            ``tunnel`` (``yes``, ``viaduct``, ``1``, True... mean yes; missing,
            ``no``, ``0``, False mean no). A bridge without a layer, or on layer 0,
            is on layer 1; a tunnel so on layer -1. A column name takes that
            numeric column as the level. ``False`` nodes every crossing as drawn.

        Returns
        -------
        StreetNetwork

        Raises
        ------
        DataError
            ``lines`` is not a GeoDataFrame, its index has duplicates,
            ``snap_tolerance`` is negative or not a number, a ``layer`` (or
            ``levels=``) column holds text that is not a number (the rows are
            named), or ``levels=`` names no column.
        CRSError
            ``lines`` has no CRS, a lon/lat CRS, or units other than metres.
        NetworkError
            ``lines`` is empty, has no line geometries, or all lines have zero length.
        GeometryError
            Some rows are not lines, are empty/None, or have NaN/infinite coordinates.

        Notes
        -----
        Lines on one level are noded wherever they cross. Lines on different
        levels are joined only where they really share a point: a vertex (an end
        included) of one lying on the other within the 1 µm grid, as where an
        OpenStreetMap ramp or bridge shares a node with its approach; a plain
        crossing is grade-separated, no junction, and counted in
        ``noding_report["grade_separated"]`` (pairs of rows). Dangling ends are not
        snapped onto lines of another level (nor are other-level lines drawn on
        top of each other dissolved), so total length is that of
        ``levels=False`` up to what snapping moves. Without level columns every
        crossing is a junction as drawn in 2-D. Every end of
        an input line stays a node (also where two lines simply continue each
        other); degree-2 nodes are not merged away. Duplicated or overlapping
        pieces become one edge whose attributes and direction come from the row
        with the lowest index label; the number of pieces and the length removed are
        in :attr:`noding_report`. Coordinates are rounded to 1 µm.

        Examples
        --------
        A street that stops 0.4 m short of another is joined to it:

        >>> import geopandas as gpd
        >>> from shapely import LineString
        >>> lines = gpd.GeoDataFrame(
        ...     geometry=[LineString([(0, 0), (100, 0)]), LineString([(50, 0.4), (50, 80)])],
        ...     crs="EPSG:4547",
        ... )
        >>> net = StreetNetwork.from_lines(lines, snap_tolerance=1.0)
        >>> net.n_components, net.noding_report["endpoints_snapped"], net.n_edges
        (1, 1, 3)
        """
        geoms = _check_lines(lines)
        crs = _check_crs(lines.crs)
        order = _canonical_rows(lines.index)  # every tie below is broken by index label, never by row order
        lines, geoms = lines.iloc[order], geoms[order]
        tol = _check_tolerance(snap_tolerance)
        row_level, level_source = _street_levels(lines, levels)
        report: dict[str, Any] = {"input_rows": len(lines)}

        parts, row, n_parts = _explode(geoms)
        report["exploded_parts"] = n_parts
        xy, part_of_coord = shapely.get_coordinates(parts, return_index=True)
        nonzero = shapely.length(parts) > 0
        zero_dropped = n_parts - int(nonzero.sum())
        keep_coord = nonzero[part_of_coord]
        new_id = np.cumsum(nonzero) - 1
        if not nonzero.any():
            raise NetworkError(
                "every line in lines has zero length (all its points coincide); a street network needs lines with length"
            )
        p = _Parts(xy[keep_coord].copy(), new_id[part_of_coord[keep_coord]], row[nonzero])
        part_level = None if row_level is None else row_level[p.row]

        snapped = np.empty(0, dtype=int)
        noded: tuple[np.ndarray, int, np.ndarray | None] | None = None
        if tol > 0:
            noded = _node_lines(p.geoms, part_level)
            dangling, junctions = _dangling_ends(p, noded[0], tol)
            joined = _snap_to_endpoints(p, dangling, junctions, tol)
            rest = np.setdiff1d(np.flatnonzero(dangling), joined)
            snapped = np.union1d(joined, _snap_to_lines(p, rest, tol, part_level))
        report["endpoints_snapped"] = int(snapped.size)
        alive = shapely.length(p.geoms) > 0
        zero_dropped += int((~alive).sum())
        src_geoms, src_row = p.geoms[alive], p.row[alive]
        src_level = None if part_level is None else part_level[alive]
        part_ends = p.ends.reshape(-1, 2, 2)[alive].reshape(-1, 2)

        if noded is None or snapped.size or not alive.all():
            noded = _node_lines(src_geoms, src_level)
        pieces, micro, piece_level = noded
        report["zero_length_dropped"] = zero_dropped + micro
        if len(pieces) == 0:
            raise NetworkError("noding left no line longer than 10 µm; check the coordinates' units")
        pieces, source, n_cover, cover_set = _map_pieces(pieces, src_geoms, src_row, piece_level, src_level)
        n_pieces = len(pieces)
        pieces, node_xy, u, v, kept = _number_nodes(pieces)
        loops = n_pieces - kept.size
        source, n_cover, cover_set = source[kept], n_cover[kept], cover_set[kept]
        piece_level = None if piece_level is None else piece_level[kept]
        pieces, n_false, origin = _merge_false_nodes(pieces, cover_set, u, v, node_xy, part_ends)
        if n_false:
            piece_level = None if piece_level is None else piece_level[origin]
            pieces, source, n_cover, _ = _map_pieces(pieces, src_geoms, src_row, piece_level, src_level)
            n_pieces = len(pieces)
            pieces, node_xy, u, v, kept = _number_nodes(pieces)
            loops += n_pieces - kept.size
            source, n_cover = source[kept], n_cover[kept]
            piece_level = None if piece_level is None else piece_level[kept]
        report["zero_length_dropped"] += loops
        # pieces that only became identical when nearby ends were merged into one node
        # (on one level: a tunnel drawn under a street is a street of its own)
        key = pd.DataFrame({"wkb": shapely.to_wkb(shapely.normalize(pieces))})
        if piece_level is not None:
            key["level"] = piece_level
        same = key.iloc[np.lexsort((np.arange(len(key)), src_row[source]))].duplicated()
        twins = np.sort(same.index[same.to_numpy()].to_numpy())
        if twins.size:
            keep = np.ones(len(pieces), dtype=bool)
            keep[twins] = False
            pieces, source, n_cover, u, v = (a[keep] for a in (pieces, source, n_cover, u, v))
            piece_level = None if piece_level is None else piece_level[keep]
        piece_len = shapely.length(pieces)
        report["duplicate_pieces_removed"] = int((n_cover - 1).sum()) + int(twins.size)
        report["overlap_length_removed_m"] = float(shapely.length(src_geoms).sum() - piece_len.sum())

        # nodes placed inside an input line (not at one of its ends)
        node_pts = shapely.points(node_xy)
        ni, si = shapely.STRtree(src_geoms).query(node_pts, predicate="dwithin", distance=_MERGE)
        if piece_level is not None and src_level is not None:
            node_on = _node_level_keys(u, v, piece_level)
            on_level = np.isin(_level_key(ni, src_level[si]), node_on)  # the line has an edge at the node
            ni, si = ni[on_level], si[on_level]
        ends_of = part_ends.reshape(-1, 2, 2)[si]
        inside = (np.hypot(*(node_xy[ni] - ends_of[:, 0]).T) > _MERGE) & (np.hypot(*(node_xy[ni] - ends_of[:, 1]).T) > _MERGE)
        report["junctions_noded"] = int(np.unique(ni[inside]).size)
        report["levels"] = level_source
        report["grade_separated"] = (
            0
            if piece_level is None or src_level is None
            else _grade_separated(src_geoms, src_row, src_level, node_xy, _node_level_keys(u, v, piece_level))
        )

        edges = cls._edge_frame(lines, pieces, piece_len, u, v, src_row[source], crs, report)
        report["output_edges"] = len(edges)
        report["nodes"] = len(node_xy)
        report["snap_tolerance"] = tol
        return cls(edges, node_xy, crs=crs, noding_report=report)

    @classmethod
    def _from_noded_pieces(cls, lines: gpd.GeoDataFrame) -> StreetNetwork:
        """Internal: a network of LineStrings that meet only at their ends (pieces of a noded network).

        Nothing is snapped nor noded: ends within 10 µm are one node, so a piece
        crossing another (a bridge over a street) stays unjoined. Used where a
        network with grade-separated crossings is cut into pieces again.
        """
        crs = _check_crs(lines.crs)
        geoms = np.asarray(lines.geometry.values, dtype=object)
        pieces, node_xy, u, v, kept = _number_nodes(geoms)
        length = shapely.length(pieces)
        report: dict[str, Any] = {"input_rows": len(lines), "zero_length_dropped": len(geoms) - kept.size}
        edges = cls._edge_frame(lines, pieces, length, u, v, kept, crs, report)
        report["output_edges"] = len(edges)
        report["nodes"] = len(node_xy)
        return cls(edges, node_xy, crs=crs, noding_report=report)

    @staticmethod
    def _edge_frame(
        lines: gpd.GeoDataFrame,
        geoms: np.ndarray,
        length: np.ndarray,
        u: np.ndarray,
        v: np.ndarray,
        row: np.ndarray,
        crs: pyproj.CRS,
        report: dict[str, Any],
    ) -> gpd.GeoDataFrame:
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        order = np.lexsort((row, length, hi, lo))
        geoms, length, u, v, row, lo, hi = (a[order] for a in (geoms, length, u, v, row, lo, hi))
        new_pair = _run_starts(lo, hi)
        start = np.maximum.accumulate(np.where(new_pair, np.arange(len(u)), 0))
        key = np.arange(len(u)) - start
        attrs = pd.DataFrame(lines.drop(columns=lines.geometry.name)).iloc[row].reset_index(drop=True)
        renames = _rename_reserved(list(attrs.columns))
        report["renamed_columns"] = dict(renames)
        # a source ``length`` (most real road layers have one) is expected: kept as length_source and
        # said in the noding report; other clashes are surprising and warn
        surprising = {a: b for a, b in renames.items() if a not in _EXPECTED_CLASHES}
        if surprising:
            warnings.warn(
                "columns of lines clash with edge fields and were kept under new names: "
                + ", ".join(f"{a!r} -> {b!r}" for a, b in surprising.items())
                + "; rename or drop them before StreetNetwork.from_lines to silence this",
                GridplanWarning,
                stacklevel=3,
            )
        attrs = attrs.rename(columns=renames)
        core = pd.DataFrame(
            {
                "u": u.astype(np.int64),
                "v": v.astype(np.int64),
                "key": key.astype(np.int64),
                "length": length.astype(float),
                "street": pd.Series(np.asarray(lines.index[row], dtype=object)).infer_objects(),
            }
        )
        frame = pd.concat([core, attrs], axis=1)
        frame.index = pd.RangeIndex(len(frame), name="edge")
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs=crs)

    # ------------------------------------------------------------------ basic properties
    @property
    def crs(self) -> pyproj.CRS:
        """The network's projected CRS (metres)."""
        return self._crs

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self._xy)

    @property
    def n_edges(self) -> int:
        """Number of edges (parallel edges and self-loops count once each)."""
        return len(self._edges)

    @property
    def total_length_km(self) -> float:
        """Total edge length in kilometres."""
        return float(self._edges["length"].sum()) / 1000.0

    @property
    def edges(self) -> gpd.GeoDataFrame:
        """One row per edge (a copy): ``u``, ``v``, ``key``, ``length``, ``street``, source columns, geometry."""
        return self._edges.copy()

    @property
    def nodes(self) -> gpd.GeoDataFrame:
        """One row per node, index = node id: ``x``, ``y``, ``degree``, ``component``, geometry."""
        index = pd.RangeIndex(self.n_nodes, name="node")
        return gpd.GeoDataFrame(
            {
                "x": self._xy[:, 0],
                "y": self._xy[:, 1],
                "degree": self._degree.astype(np.int64),
                "component": self._component.astype(np.int64),
            },
            index=index,
            geometry=gpd.GeoSeries(shapely.points(self._xy), index=index),
            crs=self._crs,
        )

    @property
    def graph(self) -> nx.MultiGraph:
        """The network as a :class:`networkx.MultiGraph` (built on first use, then cached)."""
        if self._graph is None:
            g = nx.MultiGraph(crs=self._crs)
            g.add_nodes_from((i, {"x": float(x), "y": float(y)}) for i, (x, y) in enumerate(self._xy))
            data = self._edges.drop(columns=["u", "v", "key"])
            records = data.to_dict(orient="records")
            g.add_edges_from(
                (int(a), int(b), int(k), rec)
                for a, b, k, rec in zip(self._edges["u"], self._edges["v"], self._edges["key"], records)
            )
            self._graph = g
        return self._graph

    # ------------------------------------------------------------------ connectivity
    @property
    def n_components(self) -> int:
        """Number of connected components."""
        return int(self._component.max()) + 1 if self.n_nodes else 0

    def components(self) -> pd.DataFrame:
        """Connected components, longest first.

        Returns
        -------
        pandas.DataFrame
            One row per component: ``component`` (the id used in :attr:`nodes`),
            ``n_nodes``, ``n_edges``, ``length_km``, ``share_of_length``.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import LineString
        >>> lines = gpd.GeoDataFrame(
        ...     geometry=[LineString([(0, 0), (30, 0)]), LineString([(0, 10), (10, 10)])],
        ...     crs="EPSG:32650",
        ... )
        >>> StreetNetwork.from_lines(lines).components()
           component  n_nodes  n_edges  length_km  share_of_length
        0          0        2        1       0.03             0.75
        1          1        2        1       0.01             0.25
        """
        n = self.n_components
        edge_comp = self._component[self._edges["u"].to_numpy()]
        length = np.bincount(edge_comp, weights=self._edges["length"].to_numpy(), minlength=n)
        total = length.sum()
        return pd.DataFrame(
            {
                "component": np.arange(n, dtype=np.int64),
                "n_nodes": np.bincount(self._component, minlength=n).astype(np.int64),
                "n_edges": np.bincount(edge_comp, minlength=n).astype(np.int64),
                "length_km": length / 1000.0,
                "share_of_length": length / total if total > 0 else np.zeros(n),
            }
        )

    def largest_component(self) -> StreetNetwork:
        """A new network holding only the longest connected component (nodes renumbered 0..k-1).

        Its :attr:`noding_report` is the parent's, with ``output_edges`` and ``nodes``
        updated and ``components_dropped``, ``edges_dropped``, ``nodes_dropped`` added.
        """
        keep_node = self._component == 0
        new_id = np.cumsum(keep_node) - 1
        u = self._edges["u"].to_numpy()
        edges = self._edges[keep_node[u]].copy()
        edges["u"] = new_id[edges["u"].to_numpy()]
        edges["v"] = new_id[edges["v"].to_numpy()]
        edges.index = pd.RangeIndex(len(edges), name="edge")
        report = dict(self.noding_report)
        report.update(
            components_dropped=self.n_components - 1,
            edges_dropped=self.n_edges - len(edges),
            nodes_dropped=int((~keep_node).sum()),
            output_edges=len(edges),
            nodes=int(keep_node.sum()),
        )
        return type(self)(edges, self._xy[keep_node], crs=self._crs, noding_report=report)

    def require_connected(self) -> StreetNetwork:
        """Return ``self`` if the network is connected, else raise :class:`~gridplan.errors.NetworkError`.

        The message lists the component sizes and how to fix the network.
        """
        n = self.n_components
        if n <= 1:
            return self
        comps = self.components()
        sizes = ", ".join(f"{r.n_nodes} nodes/{r.length_km:.3f} km" for r in comps.head(_SHOW).itertuples())
        more = f" and {n - _SHOW} smaller" if n > _SHOW else ""
        raise NetworkError(
            f"the street network has {n} connected components ({sizes}{more}); the largest holds "
            f"{comps['share_of_length'].iloc[0]:.1%} of the length. Keep only it with "
            "net = net.largest_component(), or connect the pieces: add the missing street lines, "
            "or rebuild with a larger snap_tolerance if the gaps are near-misses"
        )

    # ------------------------------------------------------------------ routing helpers
    @overload
    def nearest_nodes(self, x: npt.ArrayLike, y: npt.ArrayLike, *, return_dist: Literal[False] = ...) -> np.ndarray: ...
    @overload
    def nearest_nodes(
        self, x: npt.ArrayLike, y: npt.ArrayLike, *, return_dist: Literal[True]
    ) -> tuple[np.ndarray, np.ndarray]: ...
    def nearest_nodes(
        self, x: npt.ArrayLike, y: npt.ArrayLike, *, return_dist: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Ids of the nodes nearest to points (vectorised, KD-tree).

        Parameters
        ----------
        x, y : float or array-like
            Coordinates in the network's CRS; broadcast together.
        return_dist : bool, default False
            Also return the distances in metres.

        Returns
        -------
        numpy.ndarray of int
            Same shape as the broadcast ``x``/``y`` (0-d for scalars); with
            ``return_dist``, a tuple ``(ids, distances)``.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import LineString
        >>> net = StreetNetwork.from_lines(
        ...     gpd.GeoDataFrame(geometry=[LineString([(0, 0), (10, 0)])], crs="EPSG:32650"))
        >>> net.nearest_nodes([1.0, 9.0], [0.5, -2.0]).tolist()
        [0, 1]
        """
        try:
            xs, ys = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        except (TypeError, ValueError) as exc:
            raise GeometryError(
                "x and y must be numbers or numeric arrays of broadcastable shapes; pass coordinates in the network's CRS"
            ) from exc
        if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
            raise GeometryError("x and y contain NaN or infinite values; drop or fix those points first")
        if self._kdtree is None:
            self._kdtree = cKDTree(self._xy)
        dist, idx = self._kdtree.query(np.column_stack([xs.ravel(), ys.ravel()]))
        ids = np.asarray(idx, dtype=np.int64).reshape(xs.shape)
        if return_dist:
            return ids, np.asarray(dist, dtype=float).reshape(xs.shape)
        return ids

    def to_sparse(self) -> sparse.csr_matrix:
        """Symmetric CSR adjacency matrix (n_nodes x n_nodes) of edge lengths in metres.

        Parallel edges keep their minimum length; self-loops are left out (they never
        shorten a path). The result is cached; do not modify it in place.
        """
        if self._csr is None:
            u = self._edges["u"].to_numpy()
            v = self._edges["v"].to_numpy()
            w = self._edges["length"].to_numpy()
            keep = u != v
            a, b, w = np.minimum(u, v)[keep], np.maximum(u, v)[keep], w[keep]
            order = np.lexsort((w, b, a))
            a, b, w = a[order], b[order], w[order]
            first = _run_starts(a, b)
            a, b, w = a[first], b[first], w[first]
            n = self.n_nodes
            self._csr = sparse.csr_matrix((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(n, n))
        return self._csr

    def shortest_path_lengths(self, sources: npt.ArrayLike, *, cutoff: float | None = None) -> np.ndarray:
        """Shortest-path lengths (m) from each source node to every node.

        Parameters
        ----------
        sources : int or array-like of int
            Node ids.
        cutoff : float, optional
            Metres; longer paths are reported as ``inf``.

        Returns
        -------
        numpy.ndarray
            Shape ``(len(sources), n_nodes)``; ``inf`` where a node is unreachable.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import LineString
        >>> net = StreetNetwork.from_lines(gpd.GeoDataFrame(
        ...     geometry=[LineString([(0, 0), (3, 0), (3, 4)])], crs="EPSG:32650"))
        >>> net.shortest_path_lengths([0])
        array([[0., 7.]])
        """
        src = np.atleast_1d(np.asarray(sources))
        if src.ndim != 1 or (src.size and not np.issubdtype(src.dtype, np.integer)):
            raise DataError(
                f"sources must be node ids (integers), got {src.dtype} of shape {src.shape}; "
                "use net.nearest_nodes(x, y) to find node ids"
            )
        bad = (src < 0) | (src >= self.n_nodes)
        if bad.any():
            raise DataError(
                f"sources {src[bad][:_SHOW].tolist()} are not node ids of this network "
                f"(0..{self.n_nodes - 1}); use net.nearest_nodes(x, y) to find node ids"
            )
        cutoff = _validate.number(cutoff, "cutoff (metres)", minimum=0, allow_none=True)
        if src.size == 0:
            return np.empty((0, self.n_nodes))
        limit = np.inf if cutoff is None else float(cutoff)
        out = csgraph.dijkstra(self.to_sparse(), directed=False, indices=src, limit=limit)
        return np.asarray(out, dtype=float).reshape(len(src), self.n_nodes)

    # ------------------------------------------------------------------ display
    def summary(self) -> pd.Series:
        """Key figures: nodes, edges, length, components, largest component's share, dead ends, CRS.

        ``grade_separated`` (pairs of streets crossing on different levels without a
        junction, see :meth:`from_lines`) is shown when there are any.
        """
        comps = self.components()
        figures = pd.Series(
            {
                "nodes": self.n_nodes,
                "edges": self.n_edges,
                "length_km": round(self.total_length_km, 3),
                "components": self.n_components,
                "largest_component_share": round(float(comps["share_of_length"].iloc[0]), 4) if len(comps) else 0.0,
                "dead_ends": int((self._degree == 1).sum()),
                "crs": crs_label(self._crs),
            },
            name="StreetNetwork",
            dtype=object,
        )
        grade_separated = int(self.noding_report.get("grade_separated", 0) or 0)
        if grade_separated:
            figures = pd.concat(
                [figures.iloc[:-1], pd.Series({"grade_separated": grade_separated}, dtype=object), figures.iloc[-1:]]
            ).rename("StreetNetwork")
        return figures

    def __repr__(self) -> str:
        return (
            f"<StreetNetwork: {self.n_nodes} nodes, {self.n_edges} edges, "
            f"{self.total_length_km:.3f} km, {self.n_components} component(s), {crs_label(self._crs)}>"
        )

    def _repr_html_(self) -> str:
        return self.summary().to_frame().to_html()

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Draw the edges; coloured by component when there is more than one.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new figure is made when omitted.
        **kwargs
            Passed to :meth:`geopandas.GeoDataFrame.plot` (e.g. ``linewidth``).

        Returns
        -------
        matplotlib.axes.Axes
        """
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        edges = self._edges[["u", "geometry"]]
        kwargs.setdefault("linewidth", 0.8)
        if self.n_components > 1:
            comp = pd.Categorical(self._component[edges["u"].to_numpy()])
            edges = edges.assign(component=comp)
            kwargs.setdefault("cmap", "tab20")
            edges.plot(ax=ax, column="component", categorical=True, **kwargs)
        else:
            kwargs.setdefault("color", "0.2")
            edges.plot(ax=ax, **kwargs)
        ax.set_aspect("equal")
        ax.set_title(f"{self.n_edges} edges, {self.total_length_km:.2f} km, {self.n_components} component(s)")
        return ax
