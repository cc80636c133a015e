"""门前三包 (frontage responsibility): shops and institutions answer for the street in front of them.

Under "门前三包" every shop, institution or household on a street is responsible for the stretch
in front of it (cleanliness, order, appearance); Gongyi's 杜甫路街道 (seed 003) enforces it with
daily patrols, weekly inspections and monthly assessments, and rates merchants with red and black
flags (文明商户"红黑旗"). gridplan models it in three steps:

1. :func:`assign_frontage`: every frontage unit (a points layer of shops; or
   :func:`sample_frontage_units`, synthetic and labelled so) gets the **stretch of its nearest
   street** in front of it: ``frontage_m`` metres (a column, else the default) centred on the
   unit's projection onto the street, cut at the midpoint to its neighbours on the same street
   so that no two units share a metre.
2. :meth:`Frontage.attribute`: a case of a frontage category (:data:`FRONTAGE_CATEGORIES`) within
   ``max_distance_m`` of a stretch is attributed to that unit (the nearest stretch).
3. :meth:`Frontage.flags`: per month, units with no attributed case get a red flag and units
   with at least ``black_min`` cases a black flag (the thresholds are assumptions; Gongyi's
   rules are not in the article).

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import LineString, Point
>>> streets = gpd.GeoDataFrame({"street": ["s1"]}, geometry=[LineString([(0, 0), (100, 0)])], crs=4545)
>>> shops = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[Point(20, 8), Point(30, 8)], crs=4545)
>>> f = assign_frontage(shops, streets, frontage_m=20)
>>> [round(g.length, 1) for g in f.units.geometry]  # cut at the midpoint 25 m
[15.0, 15.0]
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .catalogue import load_catalogue
from .errors import CRSError, DataError, GeometryError

if TYPE_CHECKING:  # pragma: no cover
    import folium
    from matplotlib.axes import Axes

    from .district import District
    from .network import StreetNetwork
    from .routes import RoutePlan
    from .typing import PathLike

__all__ = ["FRONTAGE_CATEGORIES", "Frontage", "assign_frontage", "sample_frontage_units"]

FRONTAGE_CATEGORIES = ("E0102", "E0104", "E0201", "E0501", "E0504", "E0506", "E0507")
"""Catalogue ids of the problems a frontage unit answers for (gridplan's reading of 门前三包:
exposed garbage, unclean road, small ads, vending / business outside the shop, parked bikes,
piled materials)."""
DEFAULT_FRONTAGE_M = 12.0  # an assumption: a typical shop front


def _streets_frame(streets: Any) -> gpd.GeoDataFrame:
    if hasattr(streets, "network"):  # a District
        streets = streets.network
    if hasattr(streets, "edges") and isinstance(streets.edges, gpd.GeoDataFrame):  # a StreetNetwork / RoutePlan
        streets = streets.edges
    if not isinstance(streets, gpd.GeoDataFrame):
        raise DataError("streets must be a District, a StreetNetwork or a GeoDataFrame of lines")
    if streets.crs is None or not streets.crs.is_projected:
        raise CRSError("the streets must be in a projected (metric) CRS; call District.to_metric() or to_crs() first")
    return streets


def assign_frontage(
    units: gpd.GeoDataFrame,
    streets: District | StreetNetwork | RoutePlan | gpd.GeoDataFrame,
    *,
    frontage_m: float = DEFAULT_FRONTAGE_M,
    max_distance_m: float = 60.0,
) -> Frontage:
    """The street stretch in front of every frontage unit (see the module docstring).

    Parameters
    ----------
    units : GeoDataFrame of points
        Shops, institutions, ...; a ``frontage_m`` column overrides the default width per unit;
        a ``synthetic`` column (from :func:`sample_frontage_units`) is kept.
    streets : District, StreetNetwork or GeoDataFrame of lines (metric CRS)
    frontage_m : float
        Width of a unit's front when it has no ``frontage_m`` (default 12 m, an assumption).
    max_distance_m : float
        A unit farther than this from every street gets no stretch (kept, with a reason).

    Returns
    -------
    Frontage
        ``units``: the input rows (index preserved) with the stretch as geometry, ``street``,
        ``point`` (the original location as WKT), ``reason`` (why a unit has no stretch).

    Raises
    ------
    GeometryError, CRSError, DataError
    """
    street = _streets_frame(streets)
    if not isinstance(units, gpd.GeoDataFrame) or units.crs is None:
        raise CRSError("frontage units must be a GeoDataFrame of points with a CRS")
    pts = units.to_crs(street.crs) if not units.crs.equals(street.crs) else units
    geoms = np.asarray(pts.geometry.values)
    bad = ~(shapely.get_type_id(geoms) == 0) | shapely.is_empty(geoms)
    if bad.any():
        raise GeometryError(f"frontage units must be points; rows {units.index[bad][:5].tolist()} are not")
    width = (
        pd.to_numeric(units["frontage_m"], errors="coerce").fillna(frontage_m).to_numpy(float)
        if "frontage_m" in units
        else np.full(len(units), float(frontage_m))
    )
    if (width <= 0).any():
        raise DataError(f"frontage_m must be > 0; not so in rows {units.index[width <= 0][:5].tolist()}")
    lines = np.asarray(street.geometry.values)
    tree = shapely.STRtree(lines)
    (pi, li), dist = tree.query_nearest(geoms, all_matches=False, return_distance=True)
    edge = np.full(len(units), -1, dtype=np.int64)
    edge[pi] = li
    d = np.full(len(units), np.inf)
    d[pi] = dist
    near = d <= max_distance_m
    pos = np.full(len(units), np.nan)
    pos[near] = shapely.line_locate_point(lines[edge[near]], geoms[near])
    lo, hi = pos - width / 2, pos + width / 2
    order = np.lexsort((pos, edge))
    for a, b in zip(order[:-1], order[1:]):  # neighbours on the same street: cut at the midpoint
        if near[a] and near[b] and edge[a] == edge[b]:
            mid = (pos[a] + pos[b]) / 2
            hi[a], lo[b] = min(hi[a], mid), max(lo[b], mid)
    stretch = np.full(len(units), None, dtype=object)
    from shapely.ops import substring

    for i in np.flatnonzero(near):
        line = lines[edge[i]]
        stretch[i] = substring(line, max(lo[i], 0.0), min(hi[i], line.length))
    ids = street["street"].astype(str).to_numpy(dtype=object) if "street" in street else street.index.astype(str).to_numpy()
    out = units.drop(columns=units.geometry.name).copy()
    nothing = np.empty((), dtype=object)  # None, kept as one object by np.where
    out["street"] = np.where(near, ids[np.maximum(edge, 0)], nothing)
    out["point"] = shapely.to_wkt(geoms, rounding_precision=3)
    out["reason"] = pd.array(np.where(near, nothing, f"no street within {max_distance_m:g} m"), dtype="string")
    frame = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(stretch, index=units.index, crs=street.crs))
    params = {
        "frontage_m": float(frontage_m),
        "max_distance_m": float(max_distance_m),
        "units": len(units),
        "synthetic": bool(units["synthetic"].any()) if "synthetic" in units else False,
    }
    return Frontage(frame, params=params)


def sample_frontage_units(
    streets: District | StreetNetwork | RoutePlan | gpd.GeoDataFrame,
    n: int,
    *,
    seed: int = 0,
    setback_m: float = 8.0,
    prefix: str = "商户",
) -> gpd.GeoDataFrame:
    """``n`` synthetic frontage units along the streets (uniform by length, ``setback_m`` to one side).

    **Synthetic**: labelled ``synthetic=True``; use a real layer of shops when there is one.
    """
    street = _streets_frame(streets)
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise DataError(f"n must be an integer >= 1, got {n!r}")
    rng = np.random.default_rng(seed)
    lines = np.asarray(street.geometry.values)
    length = shapely.length(lines)
    cdf = np.cumsum(length)
    k = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(lines) - 1)
    s = rng.random(n) * length[k]
    p = shapely.line_interpolate_point(lines[k], s)
    q = shapely.line_interpolate_point(lines[k], np.minimum(s + 1.0, length[k]))
    pxy, qxy = shapely.get_coordinates(p), shapely.get_coordinates(q)
    dx, dy = (qxy - pxy).T
    norm = np.hypot(dx, dy)
    norm[norm == 0] = 1.0
    side = np.where(rng.random(n) < 0.5, 1.0, -1.0) * setback_m
    xy = pxy + np.c_[-dy / norm * side, dx / norm * side]
    return gpd.GeoDataFrame(
        {"name": [f"{prefix}{i + 1:04d}" for i in range(n)], "synthetic": True}, geometry=shapely.points(xy), crs=street.crs
    )


class Frontage:
    """Frontage units with their street stretches (made by :func:`assign_frontage`).

    Attributes
    ----------
    units : GeoDataFrame
        One row per unit (the input's index), the stretch as geometry.
    cases : DataFrame or None
        After :meth:`attribute`: the attributed cases with their ``unit``.
    params : dict
    """

    def __init__(self, units: gpd.GeoDataFrame, *, params: dict[str, Any], cases: pd.DataFrame | None = None) -> None:
        self.units = units
        self.params = dict(params)
        self.cases = cases

    def attribute(
        self,
        cases: gpd.GeoDataFrame,
        *,
        category: str | None = None,
        categories: Sequence[str] = FRONTAGE_CATEGORIES,
        max_distance_m: float = 15.0,
    ) -> pd.Series:
        """The unit each case is attributed to (None where none), index = the cases' index.

        A case counts when its category (``category`` column, else ``category_id``, else
        ``type`` through the catalogue) is one of ``categories`` and it lies within
        ``max_distance_m`` of a stretch (the nearest one). Stores the attributed cases in
        :attr:`cases`.
        """
        if not isinstance(cases, gpd.GeoDataFrame) or cases.crs is None:
            raise CRSError("cases must be a GeoDataFrame of points with a CRS")
        col = category or next((c for c in ("category_id", "category", "type") if c in cases.columns), None)
        if col is None:
            raise DataError("cases need a category: a 'category_id', 'category' or 'type' column (or pass category=)")
        ids, _ = load_catalogue().lookup(cases[col].to_numpy(dtype=object))
        relevant = np.isin(np.asarray(ids, dtype=object), np.asarray(list(categories), dtype=object))
        pts = cases.to_crs(self.units.crs) if not cases.crs.equals(self.units.crs) else cases
        geoms = np.asarray(pts.geometry.values)
        has = self.units.geometry.notna().to_numpy() & ~self.units.geometry.is_empty.to_numpy()
        stretches = np.asarray(self.units.geometry.values)[has]
        unit_ids = self.units.index.to_numpy()[has]
        out = np.full(len(cases), None, dtype=object)
        sel = np.flatnonzero(relevant & ~shapely.is_empty(geoms))
        if len(sel) and len(stretches):
            tree = shapely.STRtree(stretches)
            (pi, si), _ = tree.query_nearest(geoms[sel], max_distance=max_distance_m, all_matches=False, return_distance=True)
            out[sel[pi]] = unit_ids[si]
        unit = pd.Series(out, index=cases.index, name="unit", dtype=object)
        attributed = cases.loc[unit.notna()].assign(unit=unit[unit.notna()])
        self.cases = pd.DataFrame(attributed.drop(columns=attributed.geometry.name))
        self.params.update({"categories": list(categories), "attribution_m": float(max_distance_m)})
        return unit

    def monthly(self, *, time: str = "reported", period: str = "M") -> pd.DataFrame:
        """Attributed cases per unit and period (every unit, zeros included)."""
        if self.cases is None:
            raise DataError("attribute cases first: frontage.attribute(ledger)")
        t = pd.to_datetime(self.cases[time], errors="coerce")
        per = t.dt.to_period(period).astype(str)
        counts = self.cases.assign(period=per).groupby(["period", "unit"]).size()
        periods = sorted(per.dropna().unique())
        idx = pd.MultiIndex.from_product([periods, self.units.index], names=["period", "unit"])
        return counts.reindex(idx, fill_value=0).rename("cases").to_frame()

    def flags(self, *, period: str = "M", black_min: int = 2, time: str = "reported") -> pd.DataFrame:
        """Monthly red/black flag list: red = no attributed case, black = at least ``black_min`` (assumptions)."""
        m = self.monthly(time=time, period=period)
        m["flag"] = np.where(m["cases"] == 0, "red", np.where(m["cases"] >= black_min, "black", ""))
        names = self.units["name"] if "name" in self.units else pd.Series(self.units.index, index=self.units.index)
        m["name"] = names.reindex(m.index.get_level_values("unit")).to_numpy()
        m["street"] = self.units["street"].reindex(m.index.get_level_values("unit")).to_numpy()
        self.params["black_min"] = int(black_min)
        return m

    def summary(self) -> pd.Series:
        u = self.units
        return pd.Series(
            {
                "units": len(u),
                "with_stretch": int(u["reason"].isna().sum()),
                "stretch_m": float(u.geometry.length.sum()),
                "synthetic": self.params.get("synthetic", False),
                "attributed_cases": 0 if self.cases is None else len(self.cases),
            }
        )

    def plot(self, ax: Axes | None = None, *, period: str | None = None, title: str | None = None) -> Axes:
        """Stretches coloured by the last (or given) period's flag: red, black, grey."""
        from . import plot as _plot

        ax = _plot.axes(ax)
        colour = pd.Series("grey", index=self.units.index)
        if self.cases is not None and len(self.cases):
            f = self.flags()
            per = period or sorted(f.index.get_level_values("period").unique())[-1]
            sub = f.xs(per, level="period")["flag"]
            colour = sub.map({"red": "#d62728", "black": "black"}).fillna("#9e9e9e").reindex(self.units.index)
        has = self.units.geometry.notna()
        self.units[has].plot(ax=ax, color=colour[has].tolist(), linewidth=3)
        return _plot.finish(ax, title or _plot.label(f"门前三包 (frontage): {int(has.sum())} stretches, red / black flags"))

    def explore(self, **kw: Any) -> folium.Map:
        return self.units[self.units.geometry.notna()].explore(**kw)

    def to_file(self, path: PathLike) -> Path:
        from . import _io

        frames = {"units": self.units}
        if self.cases is not None:
            frames["cases"] = _io.table_layer(self.cases, self.units.crs)
        return _io.write_frames(path, "Frontage", frames, self.params)

    @classmethod
    def read_file(cls, path: PathLike) -> Frontage:
        from . import _io

        frames, params = _io.read_frames(path, "Frontage")
        cases = _io.plain_table(frames["cases"]) if "cases" in frames else None
        return cls(frames["units"], params=params, cases=cases)

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"<Frontage: {s['units']} units{' (synthetic)' if s['synthetic'] else ''}, {s['with_stretch']} with a "
            f"stretch ({s['stretch_m']:,.0f} m), {s['attributed_cases']} cases attributed>"
        )

    def _repr_html_(self) -> str:
        return f"<div><b>{html.escape(repr(self)[1:-1])}</b>{self.summary().to_frame('value').to_html()}</div>"
