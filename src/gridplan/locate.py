"""Locate incidents: coordinates → grid, community, road chief and "7123" deadline.

:class:`GridIndex` answers "which grid is this point in?" exactly and fast, for one
point at a time or millions in a batch, from a :class:`~gridplan.grids.GridPlan` or
any GeoDataFrame of grid polygons. :meth:`GridIndex.assign` turns a table of
incidents into routed cases: grid, community, nearest street and its road chief,
the level that handles the case and its deadline under :class:`TimeLimits`
(the "7123" rule by default).

How the lookup works
--------------------
The grids' bounding box is covered by a raster of square cells. A cell that no
grid boundary touches lies wholly inside one grid (or wholly outside all of them),
so its answer is stored in the raster and a point in it costs one array read. For
each *boundary cell* the index keeps a reference point ``r`` whose grid is known
exactly and the boundary segments that touch the cell; a point ``p`` in that cell
belongs to grid ``g`` exactly when the segment ``r → p`` crosses ``g``'s boundary
an odd number of times if ``r`` is outside ``g`` (even if inside). The crossing
tests are decided only when every orientation is clearly non-zero (the point is
more than a few ulps of the coordinates away from every boundary line it could
touch); otherwise the point goes to shapely's exact predicates. The answer is
therefore the exact point-in-polygon answer in the grids' own coordinates.

Boundary rule
-------------
A point exactly on a boundary belongs to the grid with the **lowest position**
(row in the grids as given) among the grids whose closed polygon contains it. So a
point on the line between two grids gets exactly one of them, and a point on the
outer boundary of the district counts as inside.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> grids = gpd.GeoDataFrame({"code": ["A", "B"]},
...                          geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
...                          crs="EPSG:4545")
>>> index = GridIndex(grids)
>>> index.locate([50.0, 150.0, 100.0, 250.0], [50.0, 50.0, 50.0, 50.0]).tolist()
[0, 1, 0, -1]
>>> index.locate_one(150.0, 20.0), index.locate_one(300.0, 20.0)
('B', None)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import ndimage

from . import _times, _validate
from . import crs as _crs
from ._pointpath import UNSURE as _UNSURE
from ._pointpath import PointPath
from .errors import CRSError, DataError, GeometryError

if TYPE_CHECKING:  # pragma: no cover
    import dask.dataframe as dd

    from ._workclock import WorkCalendar
    from .catalogue import Catalogue
    from .district import District
    from .grids import GridPlan
    from .network import StreetNetwork
    from .routes import RoutePlan
    from .typing import ArrayLike, CRSLike, PathLike

__all__ = ["GridIndex", "TimeLimits", "TIME_LIMITS_7123", "OUTSIDE", "INVALID"]

OUTSIDE = -1
"""Position :meth:`GridIndex.locate` returns for a point outside every grid."""
INVALID = -2
"""Position :meth:`GridIndex.locate` returns for a NaN, infinite or out-of-range coordinate."""

_BATCH = 1 << 18  # points looked up at a time (about 10 MB of temporaries)
_CHUNK = 1 << 16  # boundary-cell points tested at a time (their segment pairs take ~0.3 kB each)
_MAX_CELLS = 1 << 23  # default raster size (32 MB of int32)
_MAX_SLOTS = 62  # grids per boundary cell tracked in an int64 parity mask
_NULL = np.array(None, dtype=object)  # None as a 0-d object array: the missing code np.where/np.append fill in
# reference-point offsets (in cell units) tried in turn, away from any boundary segment
_REF_OFFSETS = np.array(
    [
        [0.5, 0.5],
        [0.3137, 0.7271],
        [0.7919, 0.2113],
        [0.1571, 0.4423],
        [0.6283, 0.8659],
        [0.2718, 0.1414],
        [0.8660, 0.6180],
        [0.4142, 0.3333],
        [0.0731, 0.9127],
        [0.9431, 0.0577],
    ]
)


# ----------------------------------------------------------------------------- time limits
@dataclass(frozen=True)
class TimeLimits:
    """Who handles a case and by when, by severity: the "7123" rule by default.

    Jinan Lixia's "7123": face to face with the reporter within **7** minutes; small
    matters done within **1** day inside the grid; larger ones within **2** days by the
    community; hard ones within **3** days by the subdistrict.

    Parameters
    ----------
    respond : pandas.Timedelta
        Time to be face to face with the reporter (every case).
    levels : mapping
        Severity name → ``(level, limit)``: the level that handles it (``"grid"``,
        ``"community"``, ``"subdistrict"``, ...) and the time allowed.
    aliases : mapping
        Other spellings of the severities (numbers 1-3, Chinese, ...) → severity name.
    default : str
        Severity used when the incidents carry none.

    Examples
    --------
    >>> rule = TimeLimits()
    >>> rule.resolve(["small", 3, "较大", "x"])[0].tolist()
    ['grid', 'subdistrict', 'community', None]
    >>> rule.level("较大"), rule.limit("较大")
    ('community', Timedelta('2 days 00:00:00'))
    >>> TimeLimits(levels={"minor": ("grid", pd.Timedelta(hours=4))}, aliases={}, default="minor").limit("minor")
    Timedelta('0 days 04:00:00')
    """

    respond: pd.Timedelta = pd.Timedelta(minutes=7)
    levels: Mapping[str, tuple[str, pd.Timedelta]] = field(
        default_factory=lambda: {
            "small": ("grid", pd.Timedelta(days=1)),
            "larger": ("community", pd.Timedelta(days=2)),
            "hard": ("subdistrict", pd.Timedelta(days=3)),
        }
    )
    aliases: Mapping[Any, str] = field(
        default_factory=lambda: {
            1: "small",
            "1": "small",
            "minor": "small",
            "一般": "small",
            "小": "small",
            2: "larger",
            "2": "larger",
            "medium": "larger",
            "major": "larger",
            "较大": "larger",
            "大": "larger",
            3: "hard",
            "3": "hard",
            "difficult": "hard",
            "serious": "hard",
            "疑难": "hard",
            "难": "hard",
        }
    )
    default: str = "small"

    def __post_init__(self) -> None:
        if not self.levels:
            raise DataError("TimeLimits needs at least one severity level")
        bad = [a for a, s in self.aliases.items() if s not in self.levels]
        if self.default not in self.levels or bad:
            raise DataError(
                f"TimeLimits aliases/default must name one of the levels {sorted(self.levels)}; "
                f"unknown targets for {bad or [self.default]}"
            )

    def severity(self, value: object) -> str | None:
        """The severity name of ``value`` (a name, an alias, or None for the default)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.default
        if isinstance(value, str):
            key = value.strip()
            if key in self.levels:
                return key
            return self.aliases.get(key, self.aliases.get(key.lower()))
        if isinstance(value, (int, np.integer)) or (isinstance(value, (float, np.floating)) and float(value).is_integer()):
            return self.aliases.get(int(value))
        return None

    def limit(self, severity: object) -> pd.Timedelta:
        """Time allowed for a case of this severity."""
        name = self.severity(severity)
        if name is None:
            raise DataError(f"unknown severity {severity!r}; use one of {sorted(self.levels)} or an alias")
        return self.levels[name][1]

    def level(self, severity: object) -> str:
        """Level that handles a case of this severity (``"grid"``, ``"community"``, ...)."""
        name = self.severity(severity)
        if name is None:
            raise DataError(f"unknown severity {severity!r}; use one of {sorted(self.levels)} or an alias")
        return self.levels[name][0]

    def resolve(self, severities: Sequence[object] | pd.Series) -> tuple[np.ndarray, pd.TimedeltaIndex, np.ndarray]:
        """Level, time limit and an "unknown severity" mask for each severity given."""
        codes, uniques = pd.factorize(pd.Series(severities, dtype=object), use_na_sentinel=True)
        names = [self.severity(v) for v in uniques] + [self.default]  # code -1 (missing) → default
        known = np.array([n is not None for n in names])
        level = np.array([self.levels[n][0] if n else None for n in names], dtype=object)[codes]
        limit = pd.TimedeltaIndex([self.levels[n][1] if n else pd.NaT for n in names])[codes]
        unknown = ~known[codes]
        return level, limit, unknown


TIME_LIMITS_7123 = TimeLimits()
"""The "7123" rule of Jinan Lixia: 7 minutes, then 1 / 2 / 3 days by grid / community / subdistrict."""


# ----------------------------------------------------------------------------- helpers
def _grid_frame(grids: Any) -> tuple[gpd.GeoDataFrame, Any]:
    """The polygons of a GridPlan or GeoDataFrame, and the plan (or None)."""
    plan = None
    if hasattr(grids, "grids") and hasattr(grids, "units") and isinstance(grids.grids, gpd.GeoDataFrame):
        plan, grids = grids, grids.grids
    if isinstance(grids, gpd.GeoSeries):
        grids = gpd.GeoDataFrame(geometry=grids)
    if not isinstance(grids, gpd.GeoDataFrame):
        raise DataError(f"GridIndex needs a GridPlan or a GeoDataFrame of grid polygons, got {type(grids).__name__}")
    if grids.crs is None:
        raise CRSError("the grids have no CRS; set it with grids.set_crs(...) (e.g. 'EPSG:4326' or 'EPSG:4545')")
    if len(grids) == 0:
        raise GeometryError("the grid layer is empty; give at least one grid polygon")
    return grids, plan


def _name_rows(codes: np.ndarray, rows: np.ndarray, limit: int = 6) -> str:
    shown = ", ".join(repr(str(codes[i])) for i in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _check_polygons(geoms: np.ndarray, codes: np.ndarray) -> None:
    kind = shapely.get_type_id(geoms)
    none = np.array([g is None for g in geoms])
    empty = none | shapely.is_empty(geoms)
    if empty.any():
        raise GeometryError(
            f"{int(empty.sum())} grid(s) have no geometry: {_name_rows(codes, np.flatnonzero(empty))}; "
            "drop them or give them their polygons"
        )
    bad_type = ~np.isin(kind, (3, 6))
    if bad_type.any():
        raise GeometryError(f"grids must be Polygons or MultiPolygons; {_name_rows(codes, np.flatnonzero(bad_type))} are not")
    coords = shapely.get_coordinates(geoms)
    if not np.isfinite(coords).all():
        raise GeometryError("grid polygons contain NaN or infinite coordinates; fix or drop those grids")
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        rows = np.flatnonzero(invalid)
        why = shapely.is_valid_reason(geoms[rows[0]])
        raise GeometryError(
            f"{len(rows)} grid polygon(s) are invalid ({why} in {codes[rows[0]]!r}): "
            f"{_name_rows(codes, rows)}; repair them with shapely.make_valid or grids.make_valid()"
        )


def _resolve_overlaps(geoms: np.ndarray, codes: np.ndarray, overlaps: str) -> tuple[np.ndarray, list[str]]:
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if len(left) == 0:
        return geoms, []
    inner = shapely.relate_pattern(geoms[left], geoms[right], "2********")
    left, right = left[inner], right[inner]
    if len(left) == 0:
        return geoms, []
    pairs = ", ".join(f"{codes[a]!r}/{codes[b]!r}" for a, b in zip(left[:6], right[:6]))
    more = f" and {len(left) - 6} more" if len(left) > 6 else ""
    if overlaps == "raise":
        raise GeometryError(
            f"{len(left)} pair(s) of grids overlap: {pairs}{more}. A point must belong to one grid; fix the "
            "polygons, or pass overlaps='first' to give each overlap to the grid listed first"
        )
    if overlaps != "first":
        raise DataError(f"overlaps must be 'raise' or 'first', got {overlaps!r}")
    out = geoms.copy()
    for b in np.unique(right):
        earlier = shapely.union_all(out[left[right == b]])
        out[b] = shapely.make_valid(shapely.difference(out[b], earlier))
        parts = shapely.get_parts(out[b])
        out[b] = shapely.multipolygons(parts[shapely.get_type_id(parts) == 3])
    return out, [f"overlaps='first': {len(left)} overlapping pair(s) resolved in favour of the earlier grid: {pairs}{more}"]


def _ring_segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every boundary segment of every polygon: start (n, 2), end (n, 2), owning grid (n,)."""
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    owner = part_owner[ring_part]
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    return xy[:-1][same], xy[1:][same], owner[ring[:-1][same]]


def _segment_cells(a: np.ndarray, b: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(segment, cell) pairs for every raster cell a segment touches (conservatively).

    ``a`` and ``b`` are in cell units. Each segment is cut at column lines; in each
    column the rows between the segment's y-range ends (widened by a tiny margin)
    are touched, so no cell a segment passes through or along is missed.
    """
    eps = 1e-6
    swap = a[:, 0] > b[:, 0]
    p = np.where(swap[:, None], b, a)
    q = np.where(swap[:, None], a, b)
    c0 = np.floor(p[:, 0] - eps).astype(np.int64)
    c1 = np.floor(q[:, 0] + eps).astype(np.int64)
    ncol = c1 - c0 + 1
    seg = np.repeat(np.arange(len(p)), ncol)
    col = c0[seg] + (np.arange(len(seg)) - np.repeat(np.cumsum(ncol) - ncol, ncol))
    dx = q[seg, 0] - p[seg, 0]
    xa = np.clip(col.astype(float) - eps, p[seg, 0], q[seg, 0])
    xb = np.clip(col.astype(float) + 1 + eps, p[seg, 0], q[seg, 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(dx > 0, (q[seg, 1] - p[seg, 1]) / np.where(dx > 0, dx, 1.0), 0.0)
    ya = np.where(dx > 0, p[seg, 1] + (xa - p[seg, 0]) * slope, p[seg, 1])
    yb = np.where(dx > 0, p[seg, 1] + (xb - p[seg, 0]) * slope, q[seg, 1])
    r0 = np.floor(np.minimum(ya, yb) - eps).astype(np.int64)
    r1 = np.floor(np.maximum(ya, yb) + eps).astype(np.int64)
    nrow = r1 - r0 + 1
    seg2 = np.repeat(seg, nrow)
    row = np.repeat(r0, nrow) + (np.arange(len(seg2)) - np.repeat(np.cumsum(nrow) - nrow, nrow))
    col2 = np.repeat(col, nrow)
    ok = (row >= 0) & (row < height) & (col2 >= 0) & (col2 < width)
    n = max(len(a), 1)
    key = np.unique(row[ok] * (width * n) + col2[ok] * n + seg2[ok])
    return key // n, key % n


def _point_segment_distance(px: np.ndarray, py: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = b - a
    len2 = np.maximum((d * d).sum(axis=1), 1e-300)
    t = np.clip(((px - a[:, 0]) * d[:, 0] + (py - a[:, 1]) * d[:, 1]) / len2, 0.0, 1.0)
    return np.hypot(a[:, 0] + t * d[:, 0] - px, a[:, 1] + t * d[:, 1] - py)


def _cross(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    return ax * by - ay * bx


_ASSIGN_COLUMNS = (
    "grid",
    "community",
    "subdistrict",
    "street",
    "street_name",
    "road_chief",
    "level",
    "handler",
    "respond_by",
    "deadline",
    "reason",
)
_LONLAT_CHINA = (60.0, 0.0, 150.0, 60.0)  # lon/lat box around China and its neighbours (lon_min, lat_min, lon_max, lat_max)
_XY_NAMES = (("x", "y"), ("lon", "lat"), ("lng", "lat"), ("longitude", "latitude"), ("经度", "纬度"))


def _is_dask(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] in ("dask", "dask_geopandas", "dask_expr")


def _coordinates(frame: pd.DataFrame, x: str | None, y: str | None, crs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """x, y as floats (NaN where unusable), the reason per row ("" if fine), and the CRS."""
    why = np.full(len(frame), "", dtype=object)
    if x is None and y is None and isinstance(frame, gpd.GeoDataFrame):
        geoms = np.asarray(frame.geometry.values)
        point = shapely.get_type_id(geoms) == 0
        xs = np.where(point, shapely.get_x(geoms), np.nan)
        ys = np.where(point, shapely.get_y(geoms), np.nan)
        why[~point] = "geometry is not a point"
        if crs is None and frame.crs is not None:
            crs = frame.crs
    else:
        if (x is None) != (y is None):
            raise DataError(
                f"x= and y= go together: got only {'x' if y is None else 'y'}={x if y is None else y!r}; "
                "give both coordinate columns, or neither"
            )
        if x is None or y is None:
            lower = {str(c).lower(): c for c in frame.columns}
            pair = next(((lower[a], lower[b]) for a, b in _XY_NAMES if a in lower and b in lower), None)
            if pair is None:
                raise DataError(
                    f"cannot find coordinate columns among {list(frame.columns)}; pass x= and y= (e.g. x='lon', y='lat')"
                )
            x, y = pair
        for c in (x, y):
            _validate.column(frame, c, "coordinate")
        xs = pd.to_numeric(frame[x], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        ys = pd.to_numeric(frame[y], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        given = frame[x].notna().to_numpy() & frame[y].notna().to_numpy()
        why[given & (np.isnan(xs) | np.isnan(ys))] = "non-numeric coordinate"
    bad = ~(np.isfinite(xs) & np.isfinite(ys))
    why[(why == "") & bad] = "missing, NaN or infinite coordinate"
    return xs, ys, why, crs


@dataclass
class _Chiefs:
    """Road chiefs for :meth:`GridIndex.assign`: the patrolled edges, or a plain edge -> chief mapping."""

    edges: gpd.GeoDataFrame | None  # the routed network's edges with ``chief`` (and ``grid`` per grid)
    mapping: pd.Series | None  # edge id of the street network -> chief
    plan_grids: str | None  # the grid codes the patrols were made for ("|"-joined), when known


def _chiefs(routes: Any) -> _Chiefs | None:
    """Road chiefs from a RoutePlan, its saved file, its ``edges`` layer, or a mapping edge -> chief."""
    if routes is None:
        return None
    from pathlib import Path

    if isinstance(routes, (str, Path)):
        from .routes import RoutePlan

        routes = RoutePlan.read_file(routes)
    edges = getattr(routes, "edges", None)
    if isinstance(edges, pd.DataFrame) and "chief" in edges.columns:
        params = getattr(routes, "params", {}) or {}
        if not isinstance(edges, gpd.GeoDataFrame):
            return _Chiefs(None, edges["chief"], params.get("plan_grids"))
        return _Chiefs(edges, None, params.get("plan_grids"))
    if isinstance(routes, gpd.GeoDataFrame):
        if "chief" not in routes.columns:
            raise DataError(
                "routes= got a GeoDataFrame without a 'chief' column; pass a RoutePlan, the file saved by "
                "RoutePlan.to_file, or its 'edges' layer"
            )
        return _Chiefs(routes, None, None)
    if isinstance(routes, pd.Series):
        return _Chiefs(None, routes, None)
    if isinstance(routes, Mapping):
        return _Chiefs(None, pd.Series(dict(routes)), None)
    raise DataError(
        "routes must be a RoutePlan, the path of a file saved by RoutePlan.to_file, its 'edges' layer "
        "(a GeoDataFrame with 'chief'), or a mapping street edge id -> chief"
    )


def _check_chiefs_fit(chiefs: _Chiefs, codes: np.ndarray) -> None:
    """Refuse patrols made for another plan: grid codes that are not the index's."""
    mine = set(codes.tolist())
    if chiefs.plan_grids is not None and set(chiefs.plan_grids.split("|")) != mine:
        theirs = chiefs.plan_grids.split("|")
        raise DataError(
            f"the patrols were made for another plan (grids {theirs[:3]}{' ...' if len(theirs) > 3 else ''}, "
            f"{len(theirs)} in all) than this index ({len(mine)} grids); compute them for this plan with "
            "balance_routes(plan, ...)"
        )
    if chiefs.edges is not None and "grid" in chiefs.edges.columns:
        used = set(chiefs.edges["grid"].dropna().astype(str).tolist())
        if used - mine:
            extra = sorted(used - mine)
            raise DataError(
                f"the patrols' streets belong to grids {extra[:5]} that are not in this index: they were made "
                "for another plan or district; compute them for this plan with balance_routes(plan, ...)"
            )


# ----------------------------------------------------------------------------- the index
class GridIndex:
    """Exact, fast point → grid lookup for a GridPlan or any GeoDataFrame of grid polygons.

    Parameters
    ----------
    grids : GridPlan or GeoDataFrame
        The grids. A GeoDataFrame may be in any CRS (lon/lat too); its rows define the
        positions :meth:`locate` returns.
    code : str, optional
        Column with the grid codes. Default: ``"code"`` when the layer has it, else the index.
    streets : StreetNetwork, District or GeoDataFrame of lines, optional
        Streets for the ``street`` / ``road_chief`` of :meth:`assign` (a District also gives
        its communities).
    communities : GeoDataFrame, optional
        Community polygons with a ``code`` (else ``name``, else the index) and optional
        ``subdistrict`` column, for the ``community`` of :meth:`assign`. A GridPlan brings its
        own (from its units).
    routes : RoutePlan, path, GeoDataFrame or mapping, optional
        Road chiefs: a :class:`~gridplan.routes.RoutePlan`, the path of a file saved by its
        ``to_file``, or that file's ``edges`` layer (a GeoDataFrame with ``chief`` and, per
        grid, ``grid``); or a mapping street edge id (the index of the street network's
        ``edges``) → chief name. A complaint inside a grid then gets the chief of the nearest
        street *of that grid* that has a chief. Patrols made for another plan are refused
        with a :class:`~gridplan.errors.DataError`. Until given, ``road_chief`` is the
        nearest street edge id.
    overlaps : {"raise", "first"}
        Overlapping grid polygons raise a :class:`~gridplan.errors.GeometryError` naming the
        pairs; ``"first"`` gives every overlap to the grid listed first (and says so in
        :attr:`notes`).
    cell_size : float, optional
        Raster cell size in the grids' CRS units. Default: the bounding box over about 8.4
        million cells (32 MB); smaller cells send fewer points to the exact test and cost memory.

    Attributes
    ----------
    grids : GeoDataFrame
        The grid polygons (in their own CRS), one row per position.
    codes : ndarray of str
    crs : pyproj.CRS
        The index's own CRS (the grids' CRS): :meth:`locate`'s default input CRS.
    metric_crs : pyproj.CRS
        The projected CRS of the index's metric copy (the grids' CRS when it is projected).
    notes : list of str
    """

    def __init__(
        self,
        grids: GridPlan | gpd.GeoDataFrame | gpd.GeoSeries,
        *,
        code: str | None = None,
        streets: StreetNetwork | District | gpd.GeoDataFrame | None = None,
        communities: gpd.GeoDataFrame | None = None,
        routes: RoutePlan | PathLike | gpd.GeoDataFrame | pd.Series | Mapping[int, str] | None = None,
        overlaps: str = "raise",
        cell_size: float | None = None,
    ) -> None:
        frame, plan = _grid_frame(grids)
        if code is None:
            codes = frame["code"] if "code" in frame.columns else pd.Series(frame.index, index=frame.index)
        else:
            codes = frame[_validate.column(frame, code, "code=: the grids' code")]
        self.codes = np.asarray(codes.astype(str).to_numpy(), dtype=object)
        if len(set(self.codes)) != len(self.codes):
            dup = pd.Series(self.codes).duplicated(keep=False).to_numpy()
            raise DataError(f"grid codes are not unique: {_name_rows(self.codes, np.flatnonzero(dup))}")
        geoms = np.asarray(frame.geometry.values, dtype=object)
        _check_polygons(geoms, self.codes)
        self.notes: list[str] = []
        geoms, notes = _resolve_overlaps(geoms, self.codes, overlaps)
        self.notes += notes
        self.crs = pyproj.CRS(frame.crs)
        self.grids = gpd.GeoDataFrame({"code": self.codes}, geometry=gpd.GeoSeries(geoms, crs=self.crs))
        self.plan = plan
        self._geoms = geoms
        shapely.prepare(self._geoms)
        self._tree = shapely.STRtree(self._geoms)
        self._build_raster(cell_size)
        self.metric_crs = self.crs if self.crs.is_projected else _crs.metric_crs(self.grids)
        # per CRS key: (datum conversion to WGS84 or None, transformer to the index CRS or None, geographic?)
        self._transformers: dict[str | int, tuple[Callable[..., Any] | None, pyproj.Transformer | None, bool]] = {}
        self._paths: dict[Any, PointPath] = {}
        self._streets = streets
        self._communities = communities
        self._routes = _chiefs(routes)
        if self._routes is not None:
            _check_chiefs_fit(self._routes, self.codes)
        self._context: Any = None

    # ------------------------------------------------------------------ build
    def _build_raster(self, cell_size: float | None) -> None:
        xmin, ymin, xmax, ymax = shapely.total_bounds(self._geoms)
        span = max(xmax - xmin, ymax - ymin, 1e-12)
        if cell_size is None:
            cell_size = math.sqrt(max((xmax - xmin) * (ymax - ymin), span * span / _MAX_CELLS) / _MAX_CELLS)
        cell_size = _validate.number(cell_size, "cell_size", above=0)
        width = int(math.ceil((xmax - xmin) / cell_size)) + 4
        height = int(math.ceil((ymax - ymin) / cell_size)) + 4
        if width * height > 1 << 28:
            raise DataError(f"cell_size {cell_size} gives a {width}x{height} raster; pass a larger cell_size")
        self.cell_size, self.width, self.height = cell_size, width, height
        self._x0, self._y0 = xmin - 2 * cell_size, ymin - 2 * cell_size
        self._inv = 1.0 / cell_size
        # decisions closer than this to a boundary line go to shapely (coordinates' rounding scale)
        magnitude = max(abs(xmin), abs(xmax), abs(ymin), abs(ymax), span)
        self._tol = float(magnitude * 1e-12 + span * 1e-12)
        # |r - p| is at most a cell diagonal: the vertex-on-ray tolerance needs no per-point length
        self._tol_ray = self._tol * cell_size * 1.5

        a, b, owner = _ring_segments(self._geoms)
        origin = np.array([self._x0, self._y0])
        cell, seg = _segment_cells((a - origin) / cell_size, (b - origin) / cell_size, width, height)
        order = np.lexsort((owner[seg], cell))
        cell, seg = cell[order], seg[order]
        bcells, start = np.unique(cell, return_index=True)
        nb = len(bcells)
        bptr = np.append(start, len(cell)).astype(np.int64)
        bcell_of_entry = np.repeat(np.arange(nb), np.diff(bptr))

        # interior cells: connected regions untouched by any boundary share one answer
        raster = np.zeros(width * height, dtype=np.int32)
        boundary = np.zeros(width * height, dtype=bool)
        boundary[bcells] = True
        comp, ncomp = ndimage.label(~boundary.reshape(height, width))
        comp = comp.ravel()
        first = np.full(ncomp + 1, -1, dtype=np.int64)
        nz = np.flatnonzero(comp)
        first[comp[nz[::-1]]] = nz[::-1]
        rep = first[1:]
        cx = self._x0 + (rep % width + 0.5) * cell_size
        cy = self._y0 + (rep // width + 0.5) * cell_size
        comp_grid = self._exact(cx, cy)
        raster[:] = np.concatenate([[OUTSIDE], comp_grid])[comp].astype(np.int32)
        raster[bcells] = -3 - np.arange(nb, dtype=np.int32)

        # boundary cells: reference point away from every segment, its grids, slots
        ring_a, ring_b = a[seg], b[seg]
        ref = np.full((nb, 2), np.nan)
        todo = np.arange(nb)
        for off in _REF_OFFSETS:
            if len(todo) == 0:
                break
            rx = self._x0 + (bcells[todo] % width + off[0]) * cell_size
            ry = self._y0 + (bcells[todo] // width + off[1]) * cell_size
            pos = np.full(nb, -1)
            pos[todo] = np.arange(len(todo))
            e = np.flatnonzero(pos[bcell_of_entry] >= 0)
            d = _point_segment_distance(rx[pos[bcell_of_entry[e]]], ry[pos[bcell_of_entry[e]]], ring_a[e], ring_b[e])
            near = np.zeros(nb, dtype=bool)
            near[bcell_of_entry[e[d <= 1e-3 * cell_size]]] = True
            ok = todo[~near[todo]]
            ref[ok, 0], ref[ok, 1] = rx[~near[todo]], ry[~near[todo]]
            todo = todo[near[todo]]
        self._fallback_cells = np.zeros(nb, dtype=bool)
        self._fallback_cells[todo] = True
        ref[todo] = 0.0

        # candidates per cell: grids with a segment in it, plus the grids that contain r
        pt_idx, grid_idx = self._tree.query(shapely.points(ref), predicate="intersects")
        cand_cell = np.concatenate([bcell_of_entry, pt_idx])
        cand_grid = np.concatenate([owner[seg], grid_idx])
        ng = len(self._geoms)
        key = np.unique(cand_cell * ng + cand_grid)
        pair = np.stack([key // ng, key % ng])
        cptr = np.searchsorted(pair[0], np.arange(nb + 1))
        slot_of_pair = np.arange(pair.shape[1]) - cptr[pair[0]]
        too_many = np.diff(cptr) > _MAX_SLOTS
        self._fallback_cells |= too_many
        slot_entry = slot_of_pair[
            np.searchsorted(pair[0] * len(self._geoms) + pair[1], bcell_of_entry * len(self._geoms) + owner[seg])
        ]
        slot_ref = slot_of_pair[np.searchsorted(pair[0] * len(self._geoms) + pair[1], pt_idx * len(self._geoms) + grid_idx)]
        emask = np.where(slot_entry < _MAX_SLOTS, np.left_shift(np.int64(1), np.minimum(slot_entry, _MAX_SLOTS)), 0).astype(
            np.int64
        )
        init = np.zeros(nb, dtype=np.int64)
        okr = (slot_ref < _MAX_SLOTS) & ~self._fallback_cells[pt_idx]
        np.bitwise_or.at(init, pt_idx[okr], np.left_shift(np.int64(1), slot_ref[okr]))
        # a reference point in two grids means the grids overlap (by rounding): exact path
        self._fallback_cells |= (init & (init - 1)) != 0
        self._init = init
        self._cptr, self._cgrid = cptr.astype(np.int64), pair[1].astype(np.int64)

        # a segment two grids share is one entry that flips both grids' bits
        flip = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
        lo, hi = np.where(flip[:, None], b, a), np.where(flip[:, None], a, b)
        srt = np.lexsort((hi[:, 1], hi[:, 0], lo[:, 1], lo[:, 0]))
        new = np.r_[True, (np.diff(lo[srt], axis=0) != 0).any(axis=1) | (np.diff(hi[srt], axis=0) != 0).any(axis=1)]
        useg = np.empty(len(a), dtype=np.int64)
        useg[srt] = np.cumsum(new) - 1
        useg = useg[seg]
        order = np.lexsort((useg, bcell_of_entry))
        key_cell, key_seg, emask = bcell_of_entry[order], useg[order], emask[order]
        first_of = np.flatnonzero(np.r_[True, (np.diff(key_cell) != 0) | (np.diff(key_seg) != 0)])
        self._emask = np.bitwise_or.reduceat(emask, first_of) if len(first_of) else emask
        keep = order[first_of]
        ecell = bcell_of_entry[keep]
        bptr = np.searchsorted(ecell, np.arange(nb + 1)).astype(np.int64)
        # entry geometry relative to the cell's reference point: ax, ay, dx, dy, o1, tol * length
        rr = ref[ecell]
        ea, eb = ring_a[keep] - rr, ring_b[keep] - rr
        d = eb - ea
        self._entries = np.ascontiguousarray(
            np.c_[ea, d, _cross(ea[:, 0], ea[:, 1], eb[:, 0], eb[:, 1]), self._tol * np.hypot(d[:, 0], d[:, 1])]
        )
        self._bptr, self._ref = bptr, ref
        self._refx, self._refy = np.ascontiguousarray(ref[:, 0]), np.ascontiguousarray(ref[:, 1])
        self._raster = raster
        self.n_boundary_cells = nb
        self._make_views()

    def _make_views(self) -> None:
        # locate_one's constants in one tuple: one attribute lookup per call
        self._fast = (
            float(self._x0),
            float(self._y0),
            float(self._inv),
            self.width,
            self.height,
            memoryview(self._raster),  # type: ignore[arg-type]  # numpy stubs: __buffer__ 3.12+ only
            list(self.codes),
        )
        self._views = tuple(
            memoryview(np.ascontiguousarray(arr).ravel())  # type: ignore[arg-type]  # numpy stubs: __buffer__ 3.12+ only
            for arr in (
                self._entries,
                self._emask,
                self._init,
                self._bptr,
                self._cptr,
                self._ref,
                self._fallback_cells,
                self._cgrid,
            )
        )

    # ------------------------------------------------------------------ exact fallback
    def _exact(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Exact answer by shapely predicates: lowest grid whose closed polygon holds the point."""
        out = np.full(len(x), OUTSIDE, dtype=np.int32)
        if len(x) == 0:
            return out
        pts, grid = self._tree.query(shapely.points(x, y), predicate="intersects")
        if len(pts):
            best = np.full(len(x), np.iinfo(np.int64).max)
            np.minimum.at(best, pts, grid)
            hit = best < np.iinfo(np.int64).max
            out[hit] = best[hit]
        return out

    # ------------------------------------------------------------------ batch lookup
    def _locate_local(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        w, h = self.width, self.height
        # off-raster and NaN points clamp into the last column/row, which the margin keeps outside;
        # truncation toward zero maps (-1, 0) to column/row 0, also margin
        with np.errstate(invalid="ignore"):
            col = ((x - self._x0) * self._inv).astype(np.int64).view(np.uint64)
            row = ((y - self._y0) * self._inv).astype(np.int64).view(np.uint64)
        np.minimum(col, w - 1, out=col)
        np.minimum(row, h - 1, out=row)
        row *= np.uint64(w)
        row += col
        out = self._raster[row]
        if not math.isfinite(float(x.sum()) + float(y.sum())):
            bad = ~(np.isfinite(x) & np.isfinite(y))
            out[bad] = INVALID
        bnd = np.flatnonzero(out <= -3) if self.n_boundary_cells else np.zeros(0, np.int64)
        for s in range(0, len(bnd), _CHUNK):
            b = bnd[s : s + _CHUNK]
            out[b] = self._boundary(x[b], y[b], (-3 - out[b]).astype(np.int64))
        return out

    def _boundary(self, x: np.ndarray, y: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Exact grid of points in boundary cells ``b``: parity of crossings from the cell's reference point."""
        cnt = self._bptr[b + 1] - self._bptr[b]
        starts = np.cumsum(cnt) - cnt
        e = np.repeat(self._bptr[b] - starts, cnt) + np.arange(int(cnt.sum()))
        px = np.repeat(x - np.take(self._refx, b), cnt)
        py = np.repeat(y - np.take(self._refy, b), cnt)
        ax, ay, dx, dy, o1, tl = np.take(self._entries, e, axis=0).T
        o2 = dx * (py - ay) - dy * (px - ax)
        o3 = px * ay - py * ax
        o4 = o3 + (px * dy - py * dx)
        crossing = (o1 * o2 < 0) & (o3 * o4 < 0)
        # too close to a boundary line (or the ray through a vertex) to trust the signs: exact path
        tp = self._tol_ray
        near = np.flatnonzero((np.abs(o2) <= tl) | (np.abs(o3) <= tp) | (np.abs(o4) <= tp))
        mask = np.take(self._init, b) ^ np.bitwise_xor.reduceat(np.where(crossing, np.take(self._emask, e), 0), starts)
        slow = self._fallback_cells[b] | ((mask & (mask - 1)) != 0)
        slow[np.searchsorted(starts, near, side="right") - 1] = True
        slot = np.zeros(len(x), dtype=np.int64)
        hit = (mask != 0) & ~slow
        slot[hit] = np.log2(mask[hit].astype(np.float64)).astype(np.int64)
        res = np.where(hit, self._cgrid[self._cptr[b] + slot], OUTSIDE).astype(np.int32)
        if slow.any():
            res[slow] = self._exact(x[slow], y[slow])
        return res

    def _boundary_one(self, x: float, y: float, b: int) -> int:
        """:meth:`_boundary` for one point in plain Python floats (same arithmetic, same answer)."""
        ent, emask, init, bptr, cptr, ref, fallback, cgrid = self._views
        if not fallback[b]:
            px, py = x - ref[2 * b], y - ref[2 * b + 1]
            tp = self._tol_ray
            mask = init[b]
            for e in range(bptr[b], bptr[b + 1]):
                ax, ay, dx, dy, o1, tl = ent[6 * e : 6 * e + 6].tolist()
                o2 = dx * (py - ay) - dy * (px - ax)
                o3 = px * ay - py * ax
                o4 = o3 + (px * dy - py * dx)
                if abs(o2) <= tl or abs(o3) <= tp or abs(o4) <= tp:
                    break
                if o1 * o2 < 0 and o3 * o4 < 0:
                    mask ^= emask[e]
            else:
                if mask == 0:
                    return OUTSIDE
                if not mask & (mask - 1):
                    return cgrid[cptr[b] + mask.bit_length() - 1]
        return int(self._exact(np.array([x]), np.array([y]))[0])

    # ------------------------------------------------------------------ CRS handling
    def _transformer(self, crs: Any) -> tuple[Callable[..., Any] | None, pyproj.Transformer | None, bool]:
        """(datum conversion to WGS84 or None, pyproj transformer to the index CRS) for ``crs``."""
        if isinstance(crs, (str, int)):
            key = crs
        else:
            first = _crs.parse_crs(crs)  # a gridplan CRSError for anything pyproj cannot read
            key = first if isinstance(first, str) else first.to_wkt()
        if key not in self._transformers:
            parsed = _crs.parse_crs(crs)
            if isinstance(parsed, str):
                to_wgs = _crs.gcj02_to_wgs84 if parsed == _crs.GCJ02 else _crs.bd09_to_wgs84
                tr = pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
                self._transformers[key] = (to_wgs, tr, True)
            elif parsed.equals(self.crs):
                self._transformers[key] = (None, None, parsed.is_geographic)
            else:
                tr = pyproj.Transformer.from_crs(parsed, self.crs, always_xy=True)
                self._transformers[key] = (None, tr, parsed.is_geographic)
        return self._transformers[key]

    def to_index_crs(self, x: ArrayLike, y: ArrayLike, *, crs: CRSLike | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates in ``crs`` (default: the index CRS) converted to the index CRS.

        Lon/lat outside ±180/±90 and coordinates that cannot be transformed become NaN.
        """
        xs, ys = self._arrays(x, y)
        if crs is None:
            return xs, ys
        to_wgs, tr, geographic = self._transformer(crs)
        if geographic:
            bad = (np.abs(xs) > 180) | (np.abs(ys) > 90)
            if bad.any():
                xs, ys = np.where(bad, np.nan, xs), np.where(bad, np.nan, ys)
        if to_wgs is not None:
            xs, ys = to_wgs(xs, ys)
        if tr is not None:
            xs, ys = tr.transform(xs, ys, errcheck=False)
            xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        return xs, ys

    @staticmethod
    def _arrays(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        try:
            xs = np.asarray(x, dtype=np.float64).ravel()
            ys = np.asarray(y, dtype=np.float64).ravel()
        except (TypeError, ValueError) as exc:
            raise DataError(f"x and y must be numeric arrays of coordinates: {exc}") from None
        if xs.shape != ys.shape:
            raise DataError(f"x and y differ in length ({len(xs)} vs {len(ys)}); give one x and one y per point")
        return xs, ys

    def _check_lonlat_mistake(self, x: np.ndarray, y: np.ndarray, pos: np.ndarray, crs: Any) -> None:
        if crs is not None or not self.crs.is_projected or len(x) == 0:
            return
        # (0, 0) is a failed GPS fix, not lon/lat: only batches that look like lon/lat in or near China are refused
        finite = np.isfinite(x) & np.isfinite(y) & ~((x == 0) & (y == 0))
        china = (
            (x[finite] >= _LONLAT_CHINA[0])
            & (x[finite] <= _LONLAT_CHINA[2])
            & (y[finite] >= _LONLAT_CHINA[1])
            & (y[finite] <= _LONLAT_CHINA[3])
        )
        if (
            finite.any()
            and china.any()
            and (pos[finite] == OUTSIDE).all()
            and (np.abs(x[finite]) <= 180).all()
            and (np.abs(y[finite]) <= 90).all()
        ):
            raise CRSError(
                f"every point is outside the grids and all values look like lon/lat degrees, but the index "
                f"is in {_crs.crs_label(self.crs)} (metres); pass crs='EPSG:4326' (WGS84), 'EPSG:4490' "
                "(CGCS2000), 'GCJ-02' (Amap/Tencent) or 'BD-09' (Baidu) to say what the points are in"
            )

    # ------------------------------------------------------------------ public lookups
    def locate(self, x: ArrayLike, y: ArrayLike, *, crs: CRSLike | None = None) -> np.ndarray:
        """Grid position (row of :attr:`grids`) of every point.

        Parameters
        ----------
        x, y : array-like of float
            Coordinates, any length (scalars too).
        crs : str, int or pyproj.CRS, optional
            CRS of the points: ``"GCJ-02"``, ``"BD-09"``, ``"EPSG:4490"`` (CGCS2000), ``"EPSG:4326"``
            (WGS84), or any pyproj CRS. Default: the index CRS (the grids' CRS).

        Returns
        -------
        ndarray of int32
            Position per point; :data:`OUTSIDE` (-1) outside every grid, :data:`INVALID` (-2) for NaN,
            infinite or out-of-range coordinates. Every point gets exactly one value.

        Raises
        ------
        DataError
            Non-numeric or mismatched arrays.
        CRSError
            Unknown ``crs``; or lon/lat given to an index in metres without ``crs`` (every point
            outside and every value within ±180/±90).
        """
        x, y = self.to_index_crs(x, y, crs=crs)
        return self._positions(x, y, crs)

    def _positions(self, x: np.ndarray, y: np.ndarray, crs: Any) -> np.ndarray:
        """:meth:`locate` of points already in the index CRS, in batches of bounded memory."""
        out = np.empty(len(x), dtype=np.int32)
        found = False
        for s in range(0, len(x), _BATCH):
            part = out[s : s + _BATCH] = self._locate_local(x[s : s + _BATCH], y[s : s + _BATCH])
            found = found or bool(len(part) and part.max() >= 0)
        if not found:
            self._check_lonlat_mistake(x, y, out, crs)
        return out

    def codes_at(self, x: ArrayLike, y: ArrayLike, *, crs: CRSLike | None = None) -> np.ndarray:
        """Grid code of every point (``None`` outside or for invalid coordinates)."""
        pos = self.locate(x, y, crs=crs)
        return np.append(self.codes, _NULL)[np.where(pos >= 0, pos, len(self.codes))]

    def locate_one(self, x: float, y: float, *, crs: CRSLike | None = None) -> str | None:
        """Grid code of one point, or ``None`` outside every grid: the low-latency path.

        About a microsecond in the index CRS and a few with ``crs=`` (WGS84, GCJ-02, BD-09 ...):
        the conversion into the index CRS is built once per ``crs`` and most points are settled by
        an interpolation table with a measured error bound, without converting them exactly (see
        ``gridplan._pointpath``). The answer is always the one :meth:`locate` gives for the point.

        Returns
        -------
        str or None
            ``None`` outside every grid, and for NaN, infinite or out-of-range coordinates (lon/lat
            beyond ±180/±90 with a geographic ``crs``), as :meth:`locate` answers :data:`INVALID`.

        Raises
        ------
        DataError
            Coordinates that are not numbers.
        CRSError
            Unknown ``crs``; or lon/lat given to an index in metres without ``crs``.
        """
        if x.__class__ is not float or y.__class__ is not float:
            try:
                x, y = float(x), float(y)
            except (TypeError, ValueError):
                raise DataError(f"locate_one needs two numbers, got {x!r} and {y!r}") from None
        if crs is not None:
            path = self._paths.get(crs) if crs.__class__ in (str, int) else None
            if path is None:
                path = self._point_path(crs)
            code = path.fast(x, y)
            if code is not _UNSURE:
                return code
            if path.geographic and not (-180.0 <= x <= 180.0 and -90.0 <= y <= 90.0):
                return None  # NaN too
            # the few the table cannot settle (within its error bound of a grid line) go through locate's
            # own conversion: a scalar one may differ from it in the last bits and flip a point on a line
            return self.codes_at(np.array([x]), np.array([y]), crs=crs)[0]
        x0, y0, inv, width, height, raster, codes = self._fast
        u = (x - x0) * inv
        v = (y - y0) * inv
        if 0 <= u < width and 0 <= v < height:
            val = raster[int(v) * width + int(u)]
            if val >= 0:
                return codes[val]
            if val == OUTSIDE:
                return None
            pos = self._boundary_one(x, y, -3 - val)
            return None if pos < 0 else codes[pos]
        if crs is None and self.crs.is_projected and abs(x) <= 180 and abs(y) <= 90:
            self._check_lonlat_mistake(np.array([x]), np.array([y]), np.array([OUTSIDE]), None)
        return None  # outside the raster, NaN and infinite values included

    def _point_path(self, crs: Any) -> PointPath:
        """The single-point conversion from ``crs`` (built once per CRS; see ``gridplan._pointpath``)."""
        key = crs if isinstance(crs, (str, int)) else _crs._crs_key(pyproj.CRS.from_user_input(crs))
        if key not in self._paths:
            x0, y0, x1, y1 = shapely.total_bounds(self._geoms).tolist()
            self._paths[key] = PointPath(crs, self.crs, (x0, y0, x1, y1), self._fast)
        path = self._paths[key]
        if isinstance(crs, (str, int)):
            self._paths[crs] = path
        return path

    # ------------------------------------------------------------------ pickling (dask workers)
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_fast", "_views", "_tree", "_context", "_paths"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        shapely.prepare(self._geoms)
        self._tree = shapely.STRtree(self._geoms)
        self._context = None
        self._paths = {}
        self._make_views()

    # ------------------------------------------------------------------ incidents
    def assign(
        self,
        incidents: pd.DataFrame | dd.DataFrame,
        *,
        x: str | None = None,
        y: str | None = None,
        crs: CRSLike | None = None,
        severity: str | None = None,
        time: str | None = None,
        limits: TimeLimits = TIME_LIMITS_7123,
        category: str | None = None,
        catalogue: Catalogue | None = None,
        calendar: WorkCalendar | None = None,
        default_department: str | None = None,
        timezone: str = _times.DEFAULT_TIMEZONE,
    ) -> pd.DataFrame | dd.DataFrame:
        """Route incidents: grid, community, nearest street and road chief, level and deadline.

        Parameters
        ----------
        incidents : DataFrame, GeoDataFrame, or dask (-geopandas) DataFrame
            One row per incident. A dask frame is mapped partition by partition in parallel
            (extra ``[distributed]``) and gives the same rows as in memory.
        x, y : str, optional
            Coordinate columns. Default: the point geometry of a GeoDataFrame, else the first
            pair found among ``x/y``, ``lon/lat``, ``lng/lat``, ``longitude/latitude``.
        crs : optional
            CRS of the coordinates (``"GCJ-02"``, ``"BD-09"``, ``"EPSG:4490"``, ...). Default: the
            GeoDataFrame's CRS, else the index CRS.
        severity : str, optional
            Column with each case's severity (a name or alias of ``limits``: 1/2/3, "small",
            "larger", "hard", ...). Default: every case is ``limits.default``.
        time : str, optional
            Column with report timestamps; ``respond_by`` and ``deadline`` are then timestamps,
            otherwise the time allowed (Timedelta).
        limits : TimeLimits
            Who handles which severity by when ("7123" by default).
        category : str, optional
            Column with each case's category (a :mod:`gridplan.catalogue` id, a minor name such
            as ``"暴露垃圾"``, a city code or a gridplan type). Adds ``category_id``,
            ``category_name``, ``kind``, ``department`` and ``limit_rule``; with ``time`` the
            ``deadline`` is the category's own limit when the catalogue has one, else the
            severity's, in working time when a ``calendar`` is given. Unknown categories and
            categories without a department are kept, dispatched to ``default_department`` and
            given a reason.
        catalogue : Catalogue, optional
            Default :func:`gridplan.catalogue.load_catalogue`.
        calendar : WorkCalendar, optional
            Working days and hours for the deadlines (severity limits then count working days).
        default_department : str, optional
            Where cases of unknown category go (default ``catalogue.DEFAULT_DEPARTMENT``).
        timezone : str
            The district's time zone (default ``"Asia/Shanghai"``): times without a zone are local
            time there; times with one (``"+08:00"``, ``"Z"``, a tz-aware column) are converted to it,
            and ``attrs["notes"]`` says how many. Unreadable or missing times get a ``reason``.

        Returns
        -------
        Same type as ``incidents``
            The same rows in the same order with the same index, plus ``grid`` (code),
            ``community``, ``subdistrict``, ``street`` (nearest street within the grid),
            ``street_name`` (that street's ``name`` where the streets have one, e.g. from OpenStreetMap),
            ``road_chief`` (that street's chief when routes are known, else the street id),
            ``level``, ``handler`` (the grid code, community or subdistrict that handles it),
            ``respond_by``, ``deadline`` and ``reason`` (why a row could not be routed, else
            missing; several reasons are joined by "; "). No row is ever dropped.
        """
        if _is_dask(incidents):  # partition by partition, the index shipped once per worker
            from ._dask import assign_partitions

            kw = {
                "x": x,
                "y": y,
                "crs": crs,
                "severity": severity,
                "time": time,
                "limits": limits,
                "category": category,
                "catalogue": catalogue,
                "calendar": calendar,
                "default_department": default_department,
                "timezone": timezone,
            }
            return assign_partitions(self, incidents, kw)
        if not isinstance(incidents, pd.DataFrame):
            raise DataError(f"assign needs a DataFrame or GeoDataFrame of incidents, got {type(incidents).__name__}")
        if not isinstance(limits, TimeLimits):
            raise DataError(f"limits must be a TimeLimits (e.g. TIME_LIMITS_7123), got {type(limits).__name__}")
        _times.check_timezone(timezone)
        clash = [c for c in _ASSIGN_COLUMNS if c in incidents.columns and c not in (x, y, severity, time)]
        if clash:
            raise DataError(f"incidents already have column(s) {clash} that assign adds; rename or drop them first")
        for what, col in (("severity", severity), ("time", time)):
            _validate.column(incidents, col, f"{what}=: the incidents' {what}", allow_none=True)
        sev = incidents[severity] if severity is not None else pd.Series([None] * len(incidents), dtype=object)
        xs, ys, why, crs = _coordinates(incidents, x, y, crs)
        with np.errstate(invalid="ignore"):
            px, py = self.to_index_crs(xs, ys, crs=crs)
        pos = self._positions(px, py, crs)
        why = np.where((why == "") & (pos == INVALID), f"coordinate out of range for {_crs.crs_label(crs or self.crs)}", why)
        zero = (xs == 0) & (ys == 0) & (pos < 0)
        why = np.where((why == "") & zero, "at (0, 0): a failed GPS fix?", why)
        why = np.where((why == "") & (pos == OUTSIDE), "outside every grid", why)
        out = incidents.copy()
        located = pos >= 0
        out["grid"] = pd.array(np.where(located, np.append(self.codes, _NULL)[pos], _NULL), dtype="string")
        comm, sub = self._communities_at(px, py, located)
        out["community"], out["subdistrict"] = comm, sub
        street, chief, name = self._streets_at(px, py, pos)
        out["street"], out["street_name"], out["road_chief"] = street, pd.array(name, dtype="string"), chief
        level, limit, unknown = limits.resolve(sev.to_numpy(dtype=object))
        why = np.where(unknown, np.where(why == "", "unknown severity", why + "; unknown severity"), why)
        out["level"] = pd.array(level, dtype="string")
        grid_code = out["grid"].to_numpy(dtype=object)
        handler = np.where(
            level == "grid",
            grid_code,
            np.where(level == "community", np.asarray(comm, dtype=object), np.asarray(sub, dtype=object)),
        )
        # a community- or subdistrict-level case where no community is known: its grid handles it, and says so
        orphan = np.flatnonzero(located & pd.isna(handler))
        if len(orphan):
            handler[orphan] = grid_code[orphan]
            msg = np.char.add(np.char.add("no ", np.asarray(level[orphan], dtype=str)), " known here: handled by its grid")
            old = np.asarray(why[orphan], dtype=str)
            why = why.astype(object)
            why[orphan] = np.where(old == "", msg, np.char.add(np.char.add(old, "; "), msg))
        out["handler"] = pd.array(np.where(located, handler, _NULL), dtype="string")
        local = None
        if time is not None:  # zoned times converted to local time (said in attrs["notes"]); unreadable ones get a reason
            local, bad_time, converted = _times.local_times(incidents[time], timezone)
            why = np.where(bad_time == "", why, np.where(why == "", bad_time, why + "; " + bad_time))
            t0 = local.to_numpy()
            out["respond_by"] = t0 + np.timedelta64(limits.respond)
            out["deadline"] = t0 + limit.to_numpy()
            if converted:
                out.attrs["notes"] = [f"{converted} report times carried a time zone and were converted to {timezone} local time"]
        else:
            out["respond_by"] = pd.to_timedelta(np.full(len(out), limits.respond))
            out["deadline"] = limit.to_numpy()
        if category is not None:  # the standard case model: category, department, deadline (gridplan.catalogue)
            why = self._dispatch(
                out,
                incidents,
                why,
                category=category,
                reported=local,
                severity=severity,
                limits=limits,
                catalogue=catalogue,
                calendar=calendar,
                default_department=default_department,
            )
        out["reason"] = pd.array(np.where(why == "", _NULL, why), dtype="string")
        return out

    @staticmethod
    def _dispatch(
        out: pd.DataFrame,
        incidents: pd.DataFrame,
        why: np.ndarray,
        *,
        category: str,
        reported: pd.Series | None,
        severity: str | None,
        limits: TimeLimits,
        catalogue: Any,
        calendar: Any,
        default_department: str | None,
    ) -> np.ndarray:
        """Add the catalogue's columns to ``out`` (see :func:`gridplan.catalogue.dispatch`); the reasons joined.
        ``reported``: the report times in the district's local time (None without ``time=``)."""
        from . import catalogue as _catalogue

        if category not in incidents.columns:
            raise DataError(f"category column {category!r} is not in the incidents; columns are {list(incidents.columns)}")
        added = ("category_id", "category_name", "kind", "department", "limit_rule")
        clash = [c for c in added if c in incidents.columns and c != category]
        if clash:
            raise DataError(f"incidents already have column(s) {clash} that assign adds; rename or drop them first")
        d = _catalogue.dispatch(
            incidents[category].to_numpy(dtype=object),
            reported=None if reported is None else reported.to_numpy(),
            severity=None if severity is None else incidents[severity].to_numpy(dtype=object),
            catalogue=catalogue,
            calendar=calendar,
            limits=limits,
            default_department=default_department or _catalogue.DEFAULT_DEPARTMENT,
        )
        for c in added:
            out[c] = d[c].array
        if reported is not None:
            out["respond_by"] = d["respond_by"].array
            out["deadline"] = d["deadline"].array
        more = d["reason"].to_numpy(dtype=object, na_value="")
        return np.where(more == "", why, np.where(why == "", more, why + "; " + more))

    def _communities_at(self, x: np.ndarray, y: np.ndarray, located: np.ndarray) -> tuple[Any, Any]:
        ctx = self._lookup_context()
        comm = np.full(len(x), None, dtype=object)
        sub = np.full(len(x), None, dtype=object)
        if ctx["communities"] is not None:
            index, names, subs = ctx["communities"]
            at = index.locate(x, y, crs=None if index.crs.equals(self.crs) else self.crs)
            hit = at >= 0
            comm[hit], sub[hit] = names[at[hit]], subs[at[hit]]
        comm[~located] = sub[~located] = None
        return pd.array(comm, dtype="string"), pd.array(sub, dtype="string")

    def _streets_at(self, x: np.ndarray, y: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest street of each point's grid (id), its chief (the nearest street of the grid that has one) and
        its name (None where the streets have no names)."""
        ctx = self._lookup_context()
        street = np.full(len(x), None, dtype=object)
        chief = np.full(len(x), None, dtype=object)
        name = np.full(len(x), None, dtype=object)
        if ctx["streets"] is None:
            return street, chief, name
        edges, tr, per_grid, trees, chiefs = ctx["streets"]
        mx, my = (x, y) if tr is None else tr.transform(x, y)
        pts = shapely.points(np.asarray(mx), np.asarray(my))
        edge = np.full(len(x), -1, dtype=np.int64)
        for g in np.unique(pos[pos >= 0]):
            rows = np.flatnonzero(pos == g)
            cand = per_grid.get(int(g))
            if cand is None or len(cand) == 0:
                continue  # no street of this grid: neither street nor chief (never another grid's)
            if int(g) not in trees:
                trees[int(g)] = shapely.STRtree(np.asarray(edges.geometry.values)[cand])
            hit_pt, hit_edge = trees[int(g)].query_nearest(pts[rows], all_matches=False)
            edge[rows[hit_pt]] = cand[hit_edge]
        ok = edge >= 0
        ids = edges["street"].to_numpy(dtype=object) if "street" in edges.columns else edges.index.to_numpy(dtype=object)
        street[ok] = ids[edge[ok]]
        if "name" in edges.columns:  # the street's own name (OpenStreetMap, a vendor layer)
            name[ok] = edges["name"].to_numpy(dtype=object)[edge[ok]]
        if chiefs is not None:
            chief[ok] = chiefs[edge[ok]]
        else:
            chief[ok] = street[ok]
        return street, chief, name

    def _lookup_context(self) -> dict[str, Any]:
        """Communities and streets for :meth:`assign`, built once on first use."""
        if self._context is not None:
            return self._context
        ctx: dict[str, Any] = {"communities": None, "streets": None}
        communities = self._communities
        district = self._streets if hasattr(self._streets, "communities") and hasattr(self._streets, "network") else None
        if communities is None and self.plan is not None:
            units = self.plan.units
            ctx["communities"] = (
                GridIndex(units[[units.geometry.name]].reset_index(drop=True)),
                units["community"].astype(str).to_numpy(dtype=object),
                units["subdistrict"].astype(str).to_numpy(dtype=object),
            )
        elif communities is None and district is not None and len(district.communities):
            communities = district.communities
        if communities is not None and ctx["communities"] is None:
            c = communities
            name_col = "code" if "code" in c.columns else "name" if "name" in c.columns else None
            names = (c[name_col] if name_col else pd.Series(c.index, index=c.index)).astype(str).to_numpy(dtype=object)
            subs = (c["subdistrict"].astype(str) if "subdistrict" in c.columns else pd.Series([None] * len(c))).to_numpy(
                dtype=object
            )
            ctx["communities"] = (GridIndex(c[[c.geometry.name]].reset_index(drop=True), overlaps="first"), names, subs)
        streets = self._streets
        if district is not None:
            streets = district.network
        chiefs = self._routes
        if chiefs is not None and chiefs.edges is not None:
            streets = chiefs.edges  # the patrolled network (per grid: the streets cut at grid lines) and its chiefs
        if streets is not None:
            ctx["streets"] = self._street_context(streets, chiefs)
        self._context = ctx
        return ctx

    def _street_context(self, streets: Any, chiefs: _Chiefs | None) -> tuple[Any, ...]:
        """Street edges (metric), the transformer to them, per grid the candidate edges, trees, chiefs."""
        edges = streets.edges if hasattr(streets, "edges") and isinstance(streets.edges, gpd.GeoDataFrame) else streets
        if not isinstance(edges, gpd.GeoDataFrame):
            raise DataError("streets must be a StreetNetwork, a District or a GeoDataFrame of lines")
        if edges.crs is None:
            raise CRSError("the streets have no CRS; set it with streets.set_crs(...)")
        if not pyproj.CRS(edges.crs).is_projected:
            edges = edges.to_crs(self.metric_crs)
        ecrs = pyproj.CRS(edges.crs)
        tr = None if ecrs.equals(self.crs) else pyproj.Transformer.from_crs(self.crs, ecrs, always_xy=True)
        grids_m = self._geoms if tr is None else np.asarray(self.grids.to_crs(ecrs).geometry.values)
        chief = None
        if chiefs is not None:
            if chiefs.edges is not None:
                table = chiefs.edges["chief"]
            else:
                assert chiefs.mapping is not None
                table = chiefs.mapping.reindex(edges.index)
            chief = np.asarray(pd.Series(table).astype(object).where(pd.Series(table).notna(), None).to_numpy(), dtype=object)
        if chief is not None and "grid" in edges.columns:  # per-grid patrols: a grid's own streets with a chief
            code_of = pd.Series(np.arange(len(self.codes)), index=pd.Index(self.codes))
            gpos = code_of.reindex(edges["grid"].astype(object).where(edges["grid"].notna(), None)).to_numpy()
            has = np.array([c is not None for c in chief]) & ~np.isnan(gpos.astype(float))
            e_idx = np.flatnonzero(has)
            g_idx = gpos[e_idx].astype(np.int64)
        else:
            g_idx, e_idx = shapely.STRtree(np.asarray(edges.geometry.values)).query(grids_m, predicate="intersects")
            if chief is not None:  # only streets somebody patrols
                keep = np.array([c is not None for c in chief])[e_idx]
                g_idx, e_idx = g_idx[keep], e_idx[keep]
        order = np.lexsort((e_idx, g_idx))
        g_idx, e_idx = g_idx[order], e_idx[order]
        per_grid = {int(g): e_idx[g_idx == g] for g in np.unique(g_idx)}
        return edges, tr, per_grid, {}, chief

    # ------------------------------------------------------------------ facts
    @property
    def memory_bytes(self) -> int:
        """Bytes held by the lookup structures (raster, boundary cells, segments)."""
        arrays = (
            self._raster,
            self._init,
            self._cptr,
            self._cgrid,
            self._emask,
            self._entries,
            self._bptr,
            self._ref,
            self._fallback_cells,
        )
        return int(sum(a.nbytes for a in arrays))

    def summary(self) -> pd.Series:
        """Size of the index: grids, raster, boundary cells, memory."""
        return pd.Series(
            {
                "grids": len(self.codes),
                "crs": _crs.crs_label(self.crs),
                "cell_size": self.cell_size,
                "raster": f"{self.width} x {self.height}",
                "boundary_cells": self.n_boundary_cells,
                "boundary_share": self.n_boundary_cells / (self.width * self.height),
                "segment_entries": len(self._entries),
                "memory_mb": self.memory_bytes / 2**20,
            },
            name="GridIndex",
        )

    def __repr__(self) -> str:
        return (
            f"GridIndex({len(self.codes)} grids, {_crs.crs_label(self.crs)}, "
            f"{self.width}x{self.height} cells of {self.cell_size:.3g}, {self.memory_bytes / 2**20:.1f} MB)"
        )

    def _repr_html_(self) -> str:
        return "<b>GridIndex</b>" + self.summary().to_frame().to_html()
