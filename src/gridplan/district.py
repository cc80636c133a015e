"""The district: boundary, streets, communities, population and existing grids, in metres.

:class:`District` is where every gridplan workflow starts. It takes the layers
a bureau has (in WGS84, CGCS2000, GCJ-02, BD-09 or any projected CRS), converts
them all into **one** local metric CRS (see :func:`gridplan.crs.metric_crs`),
validates them, and remembers the CRS the data came in so results can be
returned in it.

Examples
--------
>>> import geopandas as gpd, shapely
>>> boundary = gpd.GeoDataFrame(geometry=[shapely.box(107.20, 26.55, 107.26, 26.60)], crs="EPSG:4326")
>>> d = District.from_frames(boundary, crs="GCJ-02")
>>> d.crs.to_epsg(), round(d.area_km2, 1)
(4545, 33.1)
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from . import _io, _precision, _validate
from . import crs as gcrs
from .errors import CRSError, DataError, GeometryError, GridplanWarning

if TYPE_CHECKING:  # pragma: no cover
    import folium
    import networkx as nx
    from matplotlib.axes import Axes

    from .network import StreetNetwork
    from .typing import CRSLike, GeometryLike, PathLike

__all__ = ["District", "LAYERS", "PRECISION"]

PRECISION = _precision.PRECISION
"""Metres: every coordinate of a district lies on one grid of this spacing (1 cm); see
:meth:`District.from_frames` and the user guide's "precision grid"."""

LAYERS = ("boundary", "streets", "communities", "population", "grids")
"""The layers a district holds, in the order they are validated and saved."""

_KINDS = {
    "boundary": ("Polygon", "MultiPolygon"),
    "communities": ("Polygon", "MultiPolygon"),
    "grids": ("Polygon", "MultiPolygon"),
    "streets": ("LineString", "MultiLineString"),
    "population": ("Point", "MultiPoint"),
}
_LONLAT_LIMIT = 180.0


def _labels(index: pd.Index, mask: np.ndarray, limit: int = 5) -> str:
    picked = [repr(v) for v in index[mask][:limit]]
    more = int(mask.sum()) - len(picked)
    return ", ".join(picked) + (f" and {more} more" if more > 0 else "")


def _as_frame(name: str, layer: Any) -> gpd.GeoDataFrame:
    if isinstance(layer, gpd.GeoSeries):
        layer = gpd.GeoDataFrame(geometry=layer)
    if not isinstance(layer, gpd.GeoDataFrame):
        raise DataError(
            f"the {name} layer must be a GeoDataFrame, got {type(layer).__name__}; "
            "read files with geopandas.read_file or build one with geopandas.GeoDataFrame(..., geometry=...)"
        )
    return layer.copy()


def _check_geometries(name: str, frame: gpd.GeoDataFrame) -> None:
    geoms = frame.geometry.values
    missing = np.asarray(frame.geometry.isna()) | np.asarray(shapely.is_empty(geoms))
    if missing.any():
        raise GeometryError(
            f"the {name} layer has {int(missing.sum())} missing or empty geometries (rows {_labels(frame.index, missing)}); "
            f"drop them first, e.g. {name} = {name}[~{name}.geometry.is_empty & {name}.geometry.notna()]"
        )
    kinds = np.asarray(shapely.get_type_id(geoms))
    allowed = [int(shapely.GeometryType[k.upper()]) for k in _KINDS[name]]
    wrong = ~np.isin(kinds, allowed)
    if wrong.any():
        found = sorted({shapely.get_type_id(g) for g in geoms[wrong]})
        found_names = [shapely.GeometryType(t).name.title() for t in found]
        collection = int(shapely.GeometryType.GEOMETRYCOLLECTION) in found
        raise GeometryError(
            f"the {name} layer must hold {' or '.join(_KINDS[name])} geometries, but rows "
            f"{_labels(frame.index, wrong)} are {', '.join(found_names)}; filter or convert them "
            + (
                f"(explode collections first: {name} = {name}.explode(index_parts=True), which keeps each part's "
                f"row in a unique index, then keep the {' and '.join(_KINDS[name])} rows)"
                if collection
                else "(for areas given as points use a buffer, for population polygons use .representative_point())"
            )
        )
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        rows = np.zeros(len(frame), dtype=bool)
        rows[np.unique(idx[bad])] = True
        raise GeometryError(
            f"the {name} layer has NaN or infinite coordinates in rows {_labels(frame.index, rows)}; "
            "fix or drop those features (gridplan never guesses coordinates)"
        )


def _crs_string(crs: str | pyproj.CRS) -> str:
    """A string :func:`gridplan.crs.parse_crs` reads back: 'GCJ-02', 'EPSG:4326' or WKT."""
    if isinstance(crs, str):
        return crs
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def _looks_lonlat(frame: gpd.GeoDataFrame) -> bool:
    minx, miny, maxx, maxy = frame.total_bounds
    return bool(-_LONLAT_LIMIT <= minx <= maxx <= _LONLAT_LIMIT and -90 <= miny <= maxy <= 90)


def _resolve_crs(name: str, frame: gpd.GeoDataFrame, crs: Any) -> str | pyproj.CRS:
    """The CRS the layer's coordinates are really in (GCJ-02/BD-09 or a pyproj CRS)."""
    parsed = gcrs.parse_crs(crs) if crs is not None else None
    if isinstance(parsed, str):  # GCJ-02 or BD-09: the datum of the lon/lat layers
        if frame.crs is not None and not pyproj.CRS(frame.crs).is_geographic:
            # GCJ-02/BD-09 data are always lon/lat: a layer tagged with a projected CRS is used as tagged
            return _resolve_crs(name, frame, None)
        if not _looks_lonlat(frame):
            raise CRSError(
                f"crs={parsed!r} says lon/lat, but the {name} layer's coordinates {tuple(np.round(frame.total_bounds, 1))} "
                "are not degrees; check which CRS the data are in"
            )
        return parsed
    if frame.crs is None:
        if parsed is None:
            raise CRSError(
                f"the {name} layer has no CRS, so gridplan cannot tell degrees from metres; set it with "
                f"{name}.set_crs('EPSG:4326') (or its true CRS), or pass crs= to District.from_frames "
                "(e.g. crs='GCJ-02' for Amap/Tencent data, crs='EPSG:4490' for CGCS2000)"
            )
        found = parsed
    else:
        found = pyproj.CRS(frame.crs)
    if not found.is_geographic and _looks_lonlat(frame) and frame.total_bounds[2] - frame.total_bounds[0] < 10:
        raise CRSError(
            f"the {name} layer is tagged {gcrs.crs_label(found)} (metres) but its coordinates "
            f"{tuple(np.round(frame.total_bounds, 4))} look like lon/lat degrees; tag it with its real CRS, "
            f"e.g. {name}.set_crs('EPSG:4326', allow_override=True)"
        )
    if found.is_geographic and not _looks_lonlat(frame):
        raise CRSError(
            f"the {name} layer is tagged {gcrs.crs_label(found)} (degrees) but its coordinates "
            f"{tuple(np.round(frame.total_bounds, 1))} are out of the lon/lat range; they look like metres: "
            f"tag it with its projected CRS, e.g. {name}.set_crs('EPSG:4545', allow_override=True)"
        )
    return found


def _layer_crs(crs: Any, layer: str) -> Any:
    """The ``crs=`` that applies to one layer: the mapping's entry, or the one CRS for all."""
    if isinstance(crs, Mapping):
        return crs.get(layer)
    return crs


def _names_datum(crs: Any) -> bool:
    """True for ``"GCJ-02"``/``"BD-09"`` (and their aliases)."""
    return crs is not None and isinstance(gcrs.parse_crs(crs), str)


def _check_crs_option(crs: Any, frames: Mapping[str, gpd.GeoDataFrame]) -> None:
    if isinstance(crs, Mapping):
        unknown = sorted(set(crs) - set(LAYERS))
        if unknown:
            raise DataError(
                f"crs= names layers {unknown} that a district does not have; use some of {list(LAYERS)}, "
                "e.g. crs={'streets': 'GCJ-02', 'population': 'EPSG:4545'}"
            )
        return
    parsed = gcrs.parse_crs(crs) if crs is not None else None
    if isinstance(parsed, str):
        lonlat = [k for k, f in frames.items() if len(f) and (f.crs is None or pyproj.CRS(f.crs).is_geographic)]
        if not lonlat:
            tags = ", ".join(f"{k} {gcrs.crs_label(f.crs)}" for k, f in frames.items() if len(f))
            raise CRSError(
                f"crs={parsed!r} names the datum of the lon/lat layers, but every layer is tagged with a projected "
                f"CRS ({tags}); GCJ-02/BD-09 data are always lon/lat. Give the layers their true CRS tags, or pass "
                "crs= per layer, e.g. crs={'streets': 'GCJ-02'}"
            )


def _metric_target(boundary: gpd.GeoDataFrame, source: str | pyproj.CRS, requested: Any) -> tuple[pyproj.CRS, str]:
    if requested is not None:
        target = gcrs.parse_crs(requested)
        if isinstance(target, str) or target.is_geographic:
            raise CRSError(
                f"metric_crs={requested!r} is not a projected CRS in metres; pass e.g. 'EPSG:4545' "
                "or leave it out to let gridplan choose"
            )
        units = {a.unit_name for a in target.axis_info}
        if not units <= {"metre", "meter"}:
            raise CRSError(
                f"metric_crs={requested!r} ({gcrs.crs_label(target)}) measures in {', '.join(sorted(units))}, not "
                "metres, and gridplan's distances, areas and tolerances are metres; pass a CRS in metres (e.g. the "
                "CGCS2000 Gauss-Krüger zone 'EPSG:4545') or leave metric_crs out to let gridplan choose"
            )
        return target, f"metric CRS {gcrs.crs_label(target)} as requested"
    if not isinstance(source, str) and not source.is_geographic and source.axis_info[0].unit_name in ("metre", "meter"):
        return source, f"kept the data's own metric CRS {gcrs.crs_label(source)}"
    lonlat = gcrs.to_crs(boundary, "EPSG:4326", source=source)
    target = gcrs.metric_crs(tuple(lonlat.total_bounds))
    kind = "the CGCS2000 3-degree Gauss-Krüger zone" if 4534 <= (target.to_epsg() or 0) <= 4554 else "the UTM zone"
    return target, f"picked {gcrs.crs_label(target)}, {kind} of the district, for metric work"


def _on_precision_grid(frames: dict[str, gpd.GeoDataFrame], notes: list[str]) -> dict[str, gpd.GeoDataFrame]:
    """Every layer rounded to the :data:`~gridplan._precision.PRECISION` grid (one origin for all);
    rows that collapse on it are dropped and named in ``notes`` (and a warning)."""
    # lines and polygons set the grid (points take no part in noding; many random ones would hide it)
    geoms = [np.asarray(f.geometry.values) for k, f in frames.items() if len(f) and k != "population"]
    origin = _precision.grid_origin(shapely.get_coordinates(np.concatenate(geoms)) if geoms else np.empty((0, 2)))
    notes.append(
        f"precision: coordinates rounded to a {_precision.PRECISION * 100:g} cm grid (origin "
        f"({origin[0] * 1e3:.3f}, {origin[1] * 1e3:.3f}) mm, the circular mean of the coordinates modulo "
        "1 cm) before noding, so float noise and shifts give the same units and plans"
    )
    out = {}
    for key, frame in frames.items():
        if not len(frame):
            out[key] = frame
            continue
        snapped = _precision.snap_geometries(np.asarray(frame.geometry.values), origin)
        frame = frame.copy()
        frame[frame.geometry.name] = gpd.GeoSeries(snapped, index=frame.index, crs=frame.crs)
        collapsed = np.asarray(shapely.is_empty(snapped))
        if collapsed.any():
            if key == "boundary" and collapsed.all():
                raise GeometryError(
                    "the boundary collapses on the 1 cm precision grid (it is thinner than 1 cm); "
                    "check the boundary's CRS and units"
                )
            if key == "streets" and collapsed.all():
                raise DataError("every street is shorter than the 1 cm precision grid; check the street layer's CRS")
            what = {"streets": "shorter than", "population": "at"}.get(key, "thinner than")
            msg = (
                f"{key}: dropped {int(collapsed.sum())} of {len(frame)} rows that collapse on the "
                f"{_precision.PRECISION * 100:g} cm precision grid ({what} 1 cm): rows {_labels(frame.index, collapsed)}"
            )
            notes.append(msg)
            warnings.warn(msg, GridplanWarning, stacklevel=4)
            frame = frame[~collapsed]
        out[key] = frame
    return out


class District:
    """A district's layers in one local metric CRS, validated.

    Build one with :meth:`from_frames`, :meth:`from_file`, :meth:`read_file` or
    :func:`gridplan.datasets.sample_district`; do not call the constructor directly.

    Attributes
    ----------
    boundary, streets, communities, population, grids : GeoDataFrame
        The layers in :attr:`crs` (empty GeoDataFrames where not given).
    crs : pyproj.CRS
        The projected metric CRS all layers are in.
    source_crs : str
        The CRS the data came in (``"GCJ-02"``, ``"BD-09"``, ``"EPSG:4326"`` or WKT),
        used by :meth:`to_source_crs` to return results the way they came.
    name, code : str
        District name and administrative code (adcode), where known.
    notes : list of str
        What gridplan did on the way in: CRS choice, reprojections, repairs, outliers.
    synthetic : bool
        True for generated data (e.g. the sample district): its streets are not real.
    """

    def __init__(
        self,
        layers: Mapping[str, gpd.GeoDataFrame],
        *,
        crs: pyproj.CRS,
        source_crs: str,
        name: str = "",
        code: str = "",
        notes: list[str] | None = None,
        synthetic: bool = False,
    ) -> None:
        self.crs = pyproj.CRS(crs)
        for layer in LAYERS:
            frame = layers.get(layer)
            if frame is None:
                frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=self.crs))
            setattr(self, layer, frame)
        self.boundary: gpd.GeoDataFrame
        self.streets: gpd.GeoDataFrame
        self.communities: gpd.GeoDataFrame
        self.population: gpd.GeoDataFrame
        self.grids: gpd.GeoDataFrame
        self.source_crs = source_crs
        self.name = name
        self.code = code
        self.notes = list(notes or [])
        self.synthetic = synthetic
        self._network: StreetNetwork | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frames(
        cls,
        boundary: gpd.GeoDataFrame,
        streets: gpd.GeoDataFrame | None = None,
        communities: gpd.GeoDataFrame | None = None,
        population: gpd.GeoDataFrame | None = None,
        grids: gpd.GeoDataFrame | None = None,
        *,
        crs: CRSLike | Mapping[str, CRSLike] | None = None,
        metric_crs: CRSLike | None = None,
        population_column: str = "population",
        name: str | None = None,
        code: str | None = None,
        grid_code: str = "code",
        repair: bool = False,
        synthetic: bool = False,
    ) -> District:
        """Build a district from GeoDataFrames, converting all of them to one metric CRS.

        Parameters
        ----------
        boundary : GeoDataFrame
            The district outline (Polygon/MultiPolygon rows; several rows are allowed).
        streets : GeoDataFrame, optional
            Street centrelines (LineString/MultiLineString).
        communities : GeoDataFrame, optional
            Community (社区) polygons; ``name``/``code``/``subdistrict`` columns are kept.
        population : GeoDataFrame, optional
            Points with a ``population_column`` of residents per point (each point
            counts 1 if the column is absent).
        grids : GeoDataFrame, optional
            Existing management grids (the "before" of a redraw).
        crs : CRS-like or dict, optional
            The CRS the coordinates are in, where the layers' own tags do not say it:
            ``"GCJ-02"`` or ``"BD-09"`` names the datum of the lon/lat layers (vendor
            data tagged EPSG:4326, or untagged), any pyproj CRS applies to untagged
            layers. Layers tagged with a projected CRS are used as tagged (a population
            layer in CGCS2000 Gauss-Krüger beside GCJ-02 roads), and the notes say so.
            A dict gives each layer its own, e.g. ``{"streets": "GCJ-02", "population":
            "EPSG:4545"}`` (layers it leaves out follow their tags).
        metric_crs : CRS-like, optional
            Force the working CRS; by default data already in metres stay in their CRS,
            lon/lat data go to :func:`gridplan.crs.metric_crs` of the boundary.
        population_column : str
            Column of residents per population point.
        name, code : str, optional
            District name and adcode; taken from the boundary's ``name``/``adcode``/``code``
            columns when not given.
        grid_code : str, default "code"
            The column of ``grids`` holding the existing grids' own codes.  They are kept
            (as ``grids["code"]``; a different column named ``code`` is kept as ``code_source``)
            and a redraw (:func:`gridplan.grids.resplit`) keeps them for every grid that
            continues an old one.
        repair : bool
            Repair invalid polygons with :func:`shapely.make_valid` (reported in
            :attr:`notes`) instead of raising :class:`~gridplan.errors.GeometryError`.

        synthetic : bool
            Mark generated data (its streets are said to be synthetic everywhere).

        Returns
        -------
        District

        Raises
        ------
        CRSError
            A layer without CRS, lon/lat mistaken for metres, an unknown CRS.
        GeometryError
            Empty, invalid (unless ``repair=True``), wrong-type or NaN geometries.
        DataError
            Streets entirely outside the boundary, a street layer with no lines,
            negative or NaN population, missing or repeated grid codes, every street
            shorter than the precision.

        Notes
        -----
        Every layer is put on one grid of :data:`PRECISION` (1 cm) in the metric CRS, whose
        origin is the circular mean of the coordinates modulo 1 cm (:mod:`gridplan._precision`),
        so that floating-point noise and constant shifts give the same units and plans. Rows
        that collapse on the grid (a street shorter than 1 cm, a polygon thinner than 1 cm) are
        dropped; :attr:`notes` and a :class:`~gridplan.errors.GridplanWarning` name them.
        """
        given = {"boundary": boundary, "streets": streets, "communities": communities, "population": population, "grids": grids}
        frames = {k: _as_frame(k, v) for k, v in given.items() if v is not None}
        notes: list[str] = []
        if len(frames["boundary"]) == 0:
            raise GeometryError("the boundary layer is empty; pass at least one Polygon of the district outline")
        if "streets" in frames and len(frames["streets"]) == 0:
            raise DataError("the street layer has no lines; pass street centrelines or leave streets=None")
        for key, frame in frames.items():
            if len(frame):
                _check_geometries(key, frame)
        _check_crs_option(crs, frames)
        sources = {k: _resolve_crs(k, f, _layer_crs(crs, k)) for k, f in frames.items() if len(f)}
        target, note = _metric_target(frames["boundary"], sources["boundary"], metric_crs)
        notes.append(note)
        source_label = _crs_string(sources["boundary"])
        for key, frame in frames.items():
            src = sources.get(key)
            if src is None:
                frames[key] = frame.set_crs(target, allow_override=True)
                continue
            same = not isinstance(src, str) and pyproj.CRS(src).equals(target)
            if _names_datum(_layer_crs(crs, key)) and not isinstance(src, str):
                notes.append(
                    f"{key}: tagged with the projected {gcrs.crs_label(src)}, used as tagged "
                    f"(crs={_layer_crs(crs, key)!r} names the datum of the lon/lat layers)"
                )
            if not same:
                frames[key] = gcrs.to_crs(frame, target, source=src)
                if _crs_string(src) != source_label:
                    notes.append(f"{key}: reprojected from {gcrs.crs_label(src)}")
            elif frame.crs is None:
                frames[key] = frame.set_crs(target)
        if isinstance(sources["boundary"], str):
            notes.append(f"converted {sources['boundary']} lon/lat to WGS84 before projecting")
        for key in ("boundary", "communities", "grids"):
            if key in frames and len(frames[key]):
                frames[key] = cls._validate_polygons(key, frames[key], repair=repair, notes=notes)
        frames = _on_precision_grid(frames, notes)
        if "grids" in frames:
            frames["grids"] = cls._grid_codes(frames["grids"], grid_code, notes)
        district_shape = frames["boundary"].geometry.union_all()
        if "streets" in frames:
            cls._check_streets(frames["streets"], district_shape, notes)
        if "population" in frames and len(frames["population"]):
            frames["population"] = cls._check_population(frames["population"], district_shape, population_column, notes)
        b = frames["boundary"]
        name = name if name is not None else (str(b["name"].iloc[0]) if "name" in b else "")
        if code is None:
            code = next((str(b[c].iloc[0]) for c in ("adcode", "code") if c in b), "")
        return cls(frames, crs=target, source_crs=source_label, name=name, code=code, notes=notes, synthetic=synthetic)

    @staticmethod
    def _validate_polygons(key: str, frame: gpd.GeoDataFrame, *, repair: bool, notes: list[str]) -> gpd.GeoDataFrame:
        geoms = frame.geometry.values
        invalid = ~np.asarray(shapely.is_valid(geoms))
        if invalid.any():
            reasons = [shapely.is_valid_reason(g) for g in geoms[invalid][:3]]
            if not repair:
                raise GeometryError(
                    f"the {key} layer has {int(invalid.sum())} invalid polygons (rows {_labels(frame.index, invalid)}: "
                    f"{'; '.join(reasons)}); fix them in your GIS or pass repair=True to repair with shapely.make_valid"
                )
            fixed = shapely.make_valid(geoms[invalid])
            polys = []
            for g in fixed:
                parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
                polys.append(shapely.union_all(parts) if parts else shapely.Polygon())
            before = shapely.area(geoms[invalid]).sum()
            frame = frame.copy()
            frame.loc[frame.index[invalid], frame.geometry.name] = polys
            after = float(np.sum(shapely.area(np.array(polys))))
            notes.append(
                f"{key}: repaired {int(invalid.sum())} invalid polygons (rows {_labels(frame.index, invalid)}; "
                f"{'; '.join(reasons)}) with make_valid; area {before / 1e6:.4f} -> {after / 1e6:.4f} km2"
            )
            if any(shapely.is_empty(p) for p in polys):
                raise GeometryError(f"the {key} layer: repairing rows {_labels(frame.index, invalid)} left nothing polygonal")
        zero = np.asarray(shapely.area(frame.geometry.values)) <= 0
        if zero.any():
            raise GeometryError(f"the {key} layer has polygons of zero area (rows {_labels(frame.index, zero)}); drop them")
        return frame

    @staticmethod
    def _grid_codes(grids: gpd.GeoDataFrame, column: str, notes: list[str]) -> gpd.GeoDataFrame:
        """The grids layer with the user's codes in ``code`` (checked: present and unique)."""
        if column == "code" and "code" not in grids:
            return grids
        if column not in grids:
            raise DataError(
                f"grid_code={column!r} is not a column of the grids layer; its columns are "
                f"{[c for c in grids.columns if c != grids.geometry.name]}"
            )
        values = grids[column]
        missing = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
        dup = values.astype(str).duplicated(keep=False).to_numpy() & ~missing
        if missing.any() or dup.any():
            raise DataError(
                f"the grids layer's {column!r} codes must be present and unique: rows "
                f"{_labels(grids.index, missing | dup)} have none or share one; fix the codes or "
                "pass grid_code= for the column that holds them"
            )
        if column == "code":
            return grids
        grids = grids.copy()
        if "code" in grids:
            grids = grids.rename(columns={"code": "code_source"})
            notes.append(f"grids: the 'code' column is kept as 'code_source'; codes come from {column!r} (grid_code=)")
        grids["code"] = values.astype(str).to_numpy()
        return grids

    @staticmethod
    def _check_streets(streets: gpd.GeoDataFrame, shape: shapely.Geometry, notes: list[str]) -> None:
        hits = np.asarray(shapely.intersects(streets.geometry.values, shape))
        if not hits.any():
            raise DataError(
                "no street touches the district boundary: the street layer lies entirely outside it; "
                "check that both layers are in the same CRS (GCJ-02 vs WGS84 shifts by ~500 m, lon/lat "
                "vs metres by far more) and that they belong to the same district"
            )
        if (~hits).any():
            notes.append(f"streets: {int((~hits).sum())} of {len(streets)} lie entirely outside the boundary (kept)")

    @staticmethod
    def _check_population(
        population: gpd.GeoDataFrame, shape: shapely.Geometry, column: str, notes: list[str]
    ) -> gpd.GeoDataFrame:
        if column not in population and column != "population":  # a misspelt column is refused, not counted as 1s
            _validate.column(population, column, "population_column=: the population")
        if column not in population:
            population = population.copy()
            population[column] = 1
            notes.append(f"population: no {column!r} column, each of {len(population)} points counts as 1 resident")
        values = pd.to_numeric(population[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            raise DataError(
                f"population column {column!r} has {int(bad.sum())} missing, non-numeric, infinite or negative "
                f"values (rows {_labels(population.index, bad)}); fix them or pass population_column= for the right column"
            )
        if column != "population":
            population = population.rename(columns={column: "population"})
        pts = population.geometry.values
        inside = np.asarray(shapely.covers(shape, pts)) if len(pts) else np.zeros(0, bool)
        n_out = int((~inside).sum())
        if n_out:
            people = float(values[~inside].sum())
            share = people / max(values.sum(), 1e-12)
            msg = (
                f"population: {n_out} of {len(population)} points ({people:,.0f} people, {share:.1%}) lie outside the "
                "boundary; they are kept in district.population but left out of in-district totals "
                "(see district.population_outside)"
            )
            notes.append(msg)
            warnings.warn(msg, GridplanWarning, stacklevel=4)
        return population

    @classmethod
    def from_osm(
        cls,
        source: PathLike | nx.MultiDiGraph,
        *,
        boundary: GeometryLike | None = None,
        network_type: str = "all",
        crs: CRSLike | None = None,
        **kwargs: Any,
    ) -> District:
        """A district whose streets come from OpenStreetMap (the ``[osm]`` extra).

        Parameters
        ----------
        source : str, Path or networkx.MultiDiGraph
            A ``.osm.pbf`` extract (read with pyrosm) or a graph made by osmnx.
        boundary : GeoDataFrame, GeoSeries or shapely polygon, optional
            The district outline; streets outside it are left out (and none inside is a
            :class:`~gridplan.errors.DataError`).  Default: the area the streets enclose.
        network_type : {"all", "drive", "walk"}
            Which ways count as streets (pyrosm's ``all``, ``driving``, ``walking`` filters).
        crs : CRS-like, optional
            The boundary's CRS when it carries none (e.g. ``"GCJ-02"``).
        **kwargs
            Passed to :meth:`from_frames` (``name``, ``code``, ``communities``, ...).

        Returns
        -------
        District
            Streets keep ``osm_id``, ``osm_u``/``osm_v`` (OSM node ids), ``name``, ``highway``,
            ``oneway``, ``bridge``, ``tunnel``, ``layer`` and ``lanes`` (see
            ``docs/streets.md``).
        """
        from ._osm import district_from_osm

        return district_from_osm(cls, source, boundary=boundary, network_type=network_type, crs=crs, **kwargs)

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        layers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> District:
        """Build a district from layers of a GeoPackage (or any vector file pyogrio reads).

        Parameters
        ----------
        path : str or Path
        layers : dict, optional
            Maps district layer names (``boundary``, ``streets``, ``communities``,
            ``population``, ``grids``) to the file's layer names. By default the
            file's layers of those exact names are used; ``boundary`` is required.
        **kwargs
            Passed to :meth:`from_frames` (``crs=``, ``metric_crs=``, ``repair=``, ...).

        Raises
        ------
        LayerNotFoundError
            A named layer is not in the file (the message lists the layers there are).
        """
        available = _io.list_layers(path)
        if layers is None:
            layers = {k: k for k in LAYERS if k in available}
            if "boundary" not in layers:
                raise _io.LayerNotFoundError(
                    f"{str(path)!r} has no 'boundary' layer (it has {available}); say which layer is which, "
                    "e.g. layers={'boundary': 'district', 'streets': 'roads'}"
                )
        if not isinstance(layers, Mapping):
            raise DataError(
                f"layers must map district layers to the file's layer names, e.g. "
                f"{{'boundary': 'district', 'streets': 'roads'}}, got {layers!r}"
            )
        unknown = set(layers) - set(LAYERS)
        if unknown:
            raise DataError(f"unknown district layers {sorted(unknown)}; use some of {list(LAYERS)}")
        frames = {key: _io.read_layer(path, lyr) for key, lyr in layers.items()}
        if "boundary" not in frames:
            raise DataError("layers= must name the file's 'boundary' layer")
        return cls.from_frames(**frames, **kwargs)

    # ------------------------------------------------------------------ persistence
    def to_file(self, path: str | Path) -> Path:
        """Save every layer and the district's metadata to a GeoPackage, losslessly.

        :meth:`read_file` gives back an equal district (CRS, columns, dtypes, index, notes).
        """
        return _io.write_frames(path, "District", *self._stored())

    @classmethod
    @_io.guarded_read
    def read_file(cls, path: str | Path) -> District:
        """Load a district saved with :meth:`to_file`."""
        return cls._restored(*_io.read_frames(path, "District"))

    def _stored(self) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, Any]]:
        """The layers and metadata a saved district holds (also inside a plan saved with its district)."""
        frames = {k: getattr(self, k) for k in LAYERS}
        params = {
            "name": self.name,
            "code": self.code,
            "source_crs": self.source_crs,
            "crs": self.crs.to_wkt(),
            "notes": self.notes,
            "synthetic": self.synthetic,
        }
        return frames, params

    @classmethod
    def _restored(cls, frames: dict[str, gpd.GeoDataFrame], params: dict[str, Any]) -> District:
        """The district :meth:`_stored` describes."""
        crs = pyproj.CRS.from_wkt(params["crs"])
        return cls(
            {k: f.set_crs(crs, allow_override=True) for k, f in frames.items()},
            crs=crs,
            source_crs=params["source_crs"],
            name=params["name"],
            code=params["code"],
            notes=params["notes"],
            synthetic=params["synthetic"],
        )

    # ------------------------------------------------------------------ derived facts
    @property
    def shape(self) -> shapely.Geometry:
        """The district as one (Multi)Polygon in :attr:`crs`."""
        return self.boundary.geometry.union_all()

    @property
    def area_km2(self) -> float:
        """Area inside the boundary, km²."""
        return float(self.shape.area / 1e6)

    @property
    def population_outside(self) -> gpd.GeoDataFrame:
        """Population points that lie outside the boundary (kept, but not counted as residents)."""
        if len(self.population) == 0:
            return self.population
        inside = shapely.covers(self.shape, self.population.geometry.values)
        return self.population[~np.asarray(inside)]

    @property
    def population_total(self) -> float:
        """Residents inside the boundary."""
        if len(self.population) == 0:
            return 0.0
        inside = shapely.covers(self.shape, self.population.geometry.values)
        return float(self.population["population"].to_numpy(dtype=float)[np.asarray(inside)].sum())

    @property
    def network(self) -> StreetNetwork:
        """The noded street network (:class:`gridplan.network.StreetNetwork`), built once."""
        if self._network is None:
            from .network import StreetNetwork

            if len(self.streets) == 0:
                from .errors import NetworkError

                raise NetworkError("this district has no streets; pass streets= to District.from_frames")
            self._network = StreetNetwork.from_lines(self.streets)
        return self._network

    def to_source_crs(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Return a frame of this district (in :attr:`crs`) in the CRS the data came in.

        For GCJ-02 and BD-09 sources the result is lon/lat in that datum, tagged EPSG:4326
        as map vendors expect.
        """
        if not isinstance(frame, (gpd.GeoDataFrame, gpd.GeoSeries)):
            raise DataError(f"to_source_crs needs a GeoDataFrame of this district, got {type(frame).__name__}")
        return gcrs.to_crs(frame, self.source_crs)

    @property
    def params(self) -> dict[str, Any]:
        """What the district is (the result protocol's ``params``): name, code, CRS, the CRS it came in, synthetic."""
        return {
            "name": self.name,
            "code": self.code,
            "crs": self.crs.to_string() if self.crs is not None else None,
            "source_crs": str(self.source_crs) if self.source_crs is not None else None,
            "synthetic": bool(self.synthetic),
        }

    def summary(self) -> pd.Series:
        """Key facts as a Series: area, population, streets, communities, grids, CRS."""
        street_km = float(self.streets.length.sum() / 1e3) if len(self.streets) else 0.0
        facts = {
            "name": self.name or "(unnamed)",
            "code": self.code or "",
            "area_km2": round(self.area_km2, 3),
            "population": int(round(self.population_total)),
            "population_points": len(self.population),
            "street_segments": len(self.streets),
            "street_km": round(street_km, 2),
            "communities": len(self.communities),
            "subdistricts": int(self.communities["subdistrict"].nunique()) if "subdistrict" in self.communities else 0,
            "existing_grids": len(self.grids),
            "crs": gcrs.crs_label(self.crs),
            "source_crs": gcrs.crs_label(self.source_crs),
            "streets_are": "synthetic" if self.synthetic else "as given",
        }
        return pd.Series(facts, name="district", dtype=object)

    def __repr__(self) -> str:
        s = self.summary()
        tag = ", synthetic" if self.synthetic else ""
        return (
            f"<District {s['name']!s} {s['area_km2']} km², {s['population']:,} people, "
            f"{s['street_segments']} street segments, {s['communities']} communities, "
            f"{s['existing_grids']} grids, {s['crs']}{tag}>"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in self.summary().items()
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (
            f"<div><b>gridplan District</b><table>{rows}</table>"
            + (f"<details><summary>notes ({len(self.notes)})</summary><ul>{notes}</ul></details>" if notes else "")
            + "</div>"
        )

    def explore(self, **kwargs: Any) -> folium.Map:
        """Interactive folium map: boundary, communities, existing grids and streets (``[explore]`` extra).

        Keyword arguments go to :meth:`geopandas.GeoDataFrame.explore` of the boundary layer
        (e.g. ``tiles=``).
        """
        try:
            import folium
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("District.explore needs folium: pip install 'gridplan[explore]'") from exc
        m = self.boundary.explore(style_kwds={"fill": False, "color": "black", "weight": 3}, name="boundary", **kwargs)
        layers = [
            ("communities", {"fill": False, "color": "#6a51a3", "dashArray": "6"}),
            ("grids", {"fillOpacity": 0.15, "color": "#d62728"}),
            ("streets", {"color": "#555555", "weight": 1}),
        ]
        for name, style in layers:
            frame = getattr(self, name)
            if len(frame):
                frame.explore(m=m, style_kwds=style, name=name)
        folium.LayerControl().add_to(m)
        return m

    def plot(self, ax: Axes | None = None, *, population: bool = True, title: str | None = None) -> Axes:
        """Draw the district: communities, existing grids, streets and population density.

        Returns the matplotlib Axes.
        """
        from . import plot as gplot

        ax = gplot.axes(ax, bounds=self.boundary.total_bounds)
        if population and len(self.population):
            gplot.density(ax, self.population, weight="population")
        if len(self.communities):
            self.communities.boundary.plot(ax=ax, color="#6a51a3", linewidth=0.9, linestyle="--", zorder=3)
        if len(self.grids):
            self.grids.boundary.plot(ax=ax, color="#d62728", linewidth=1.6, zorder=4)
        if len(self.streets):
            gplot.streets(ax, self.streets)
        self.boundary.boundary.plot(ax=ax, color="black", linewidth=1.8, zorder=5)
        label = title or f"{self.name or 'district'} ({self.area_km2:.1f} km²)"
        if self.synthetic:
            label += " — synthetic streets"
        gplot.finish(
            ax, label, legend=[("boundary", "black", "-"), ("community", "#6a51a3", "--"), ("existing grid", "#d62728", "-")]
        )
        return ax
