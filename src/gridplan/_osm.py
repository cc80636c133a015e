"""Streets from OpenStreetMap: ``District.from_osm`` (the ``[osm]`` extra).

Reader choice
-------------
A ``.osm.pbf`` extract is read with **pyrosm** (Cython over the PBF protobuf,
GeoDataFrames out, osmnx-like network filters ``walking``/``driving``/``all``,
one call per file, offline).  The alternatives: **osmnx** builds graphs from the
Overpass API or from OSM *XML* (``graph_from_xml``) but cannot read PBF, and
downloads by default; **pyosmium** reads PBF fast but is a low-level handler API
(ways, nodes and locations to be assembled into lines by hand).  A graph a user
already has from osmnx is accepted as it is (``source=`` a networkx
``MultiDiGraph``) and converted without importing osmnx.

What is kept: every way segment between OSM nodes (``osm_u``, ``osm_v`` are the
OSM node ids, ``osm_id`` the way), ``name``, ``highway`` (road class), ``oneway``,
``bridge``, ``tunnel`` (booleans), ``layer`` (integer, 0 when absent) and
``lanes``.  A two-way street is one line (walked both ways on foot); a dual
carriageway is mapped in OSM as two one-way ways, so it is two lines: two
streets to sweep, and its length counts twice in street length and workload.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import CRSError, DataError

if TYPE_CHECKING:  # pragma: no cover
    from .district import District

__all__ = ["NETWORK_TYPES", "read_osm_streets", "street_attributes"]

#: gridplan's network types and pyrosm's names for them.
NETWORK_TYPES = {"all": "all", "drive": "driving", "walk": "walking"}
#: Street attribute columns gridplan reads (from OSM, or from a vendor's layer through from_frames).
ATTRIBUTES = ("name", "highway", "oneway", "bridge", "tunnel", "layer", "lanes")
_TRUE = {"yes", "true", "1", "-1", "y", "t", "viaduct", "culvert", "building_passage", "movable", "covered"}
_FALSE = {"no", "false", "0", "n", "f", ""}


def _flag(values: pd.Series, column: str) -> np.ndarray:
    """OSM-style yes/no tags (and booleans) as booleans; anything else is an error naming the row."""
    if values.dtype == bool:
        return values.to_numpy()
    text = values.astype("string").str.strip().str.lower().fillna("")
    ok = text.isin(_TRUE | _FALSE)
    if not ok.all():
        i = int(np.flatnonzero(~ok.to_numpy())[0])
        raise DataError(
            f"street column {column!r} holds {values.iloc[i]!r} (row {values.index[i]!r}); use yes/no, true/false or 1/0"
        )
    return text.isin(_TRUE).to_numpy()


def street_attributes(streets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The streets with the attribute columns gridplan uses, in one form.

    ``oneway``, ``bridge``, ``tunnel`` become booleans (OSM ``yes``/``no``, ``true``/
    ``false``, ``1``/``0``; ``oneway=-1`` means one way against the drawing
    direction and is stored as True with the line reversed), ``layer`` an integer
    (0 when missing), ``lanes`` a number (NaN when missing), ``name`` and
    ``highway`` strings ("" when missing).  Columns that are absent are added with
    those defaults; a value that cannot be read is a :class:`DataError` naming
    the row.  Works for OpenStreetMap and for a vendor's layer passed to
    ``District.from_frames``.
    """
    out = streets.copy()
    for col in ("name", "highway"):
        out[col] = out[col].astype("string").fillna("") if col in out else ""
    reverse = np.zeros(len(out), bool)
    if "oneway" in out:
        raw = out["oneway"].astype("string").str.strip().str.lower()
        reverse = (raw == "-1").fillna(False).to_numpy()
        out["oneway"] = _flag(out["oneway"], "oneway")
    else:
        out["oneway"] = False
    for col in ("bridge", "tunnel"):
        out[col] = _flag(out[col], col) if col in out else False
    if "layer" in out:
        layer = pd.to_numeric(out["layer"].astype("string").str.split(";").str[0], errors="coerce")
        bad = layer.isna() & out["layer"].notna() & (out["layer"].astype("string").str.strip() != "")
        if bad.any():
            i = out.index[bad.to_numpy()][0]
            raise DataError(f"street column 'layer' holds {out.loc[i, 'layer']!r} (row {i!r}); use an integer such as -1, 0, 1")
        out["layer"] = layer.fillna(0).astype(int)
    else:
        out["layer"] = 0
    if "lanes" in out:
        out["lanes"] = pd.to_numeric(out["lanes"].astype("string").str.split(";").str[0], errors="coerce")
    else:
        out["lanes"] = np.nan
    if reverse.any():
        geoms = np.asarray(out.geometry.values)
        geoms[reverse] = shapely.reverse(geoms[reverse])
        out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))
    return out


def _read_pbf(path: Path, network_type: str, bounding_box: Any) -> gpd.GeoDataFrame:
    try:
        import pyrosm
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DataError("reading .osm.pbf needs pyrosm: pip install 'gridplan[osm]'") from exc
    osm = pyrosm.OSM(str(path), bounding_box=bounding_box)
    with warnings.catch_warnings():  # "Could not find any edges": gridplan says it in its own error
        warnings.filterwarnings("ignore", message="Could not find any", category=UserWarning)
        nodes_edges = osm.get_network(network_type=NETWORK_TYPES[network_type], nodes=True, extra_attributes=["layer"])
    if nodes_edges is None:
        return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    _, edges = nodes_edges
    if edges is None or len(edges) == 0:
        return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    frame = edges.rename(columns={"id": "osm_id", "u": "osm_u", "v": "osm_v"})
    keep = ["osm_id", "osm_u", "osm_v", *[c for c in ATTRIBUTES if c in frame.columns]]
    frame = gpd.GeoDataFrame(frame[keep], geometry=frame.geometry.values, crs=edges.crs or "EPSG:4326")
    return frame.reset_index(drop=True)


def _first(value: Any) -> Any:
    """osmnx merges the tags of simplified edges into lists: the first value stands for them."""
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value


def _from_graph(graph: Any) -> gpd.GeoDataFrame:
    """Edges of an osmnx graph (networkx MultiDiGraph with node ``x``/``y`` and ``graph['crs']``)."""
    crs = graph.graph.get("crs")
    if crs is None:
        raise CRSError("the graph has no graph['crs']; osmnx graphs carry it (EPSG:4326 unless projected)")
    rows = []
    seen: set[tuple[Any, ...]] = set()
    for u, v, data in graph.edges(data=True):
        geom = data.get("geometry")
        if geom is None:
            a, b = graph.nodes[u], graph.nodes[v]
            geom = shapely.LineString([(a["x"], a["y"]), (b["x"], b["y"])])
        oneway = bool(_first(data.get("oneway", False)))
        # osmnx stores a two-way street as two opposite edges: keep one
        key = (min(u, v), max(u, v), str(data.get("osmid")), round(float(geom.length), 6))
        if not oneway:
            if key in seen:
                continue
            seen.add(key)
        rows.append(
            {
                "osm_id": _first(data.get("osmid")),
                "osm_u": u,
                "osm_v": v,
                **{c: _first(data.get(c)) for c in ATTRIBUTES if c != "oneway"},
                "oneway": oneway,
                "geometry": geom,
            }
        )
    if not rows:
        return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=crs))
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    for col in ("bridge", "tunnel"):  # osmnx keeps the raw tag value or NaN
        frame[col] = frame[col].astype("string").fillna("no")
    return frame


def _enclosed_area(lines: np.ndarray) -> shapely.Geometry:
    """The area the streets enclose: the largest connected union of the street blocks."""
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.node(shapely.multilinestrings(lines)))))
    if len(faces) == 0:
        return shapely.convex_hull(shapely.multilinestrings(lines))
    parts = shapely.get_parts(shapely.union_all(faces))
    return parts[int(np.argmax(shapely.area(parts)))]


def read_osm_streets(
    source: Any, *, network_type: str = "all", boundary: Any = None, crs: Any = None
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Streets (WGS84 or the graph's CRS) from a .osm.pbf path or an osmnx graph, and notes."""
    if network_type not in NETWORK_TYPES:
        raise DataError(f"network_type={network_type!r}: use one of {list(NETWORK_TYPES)}")
    notes = []
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise DataError(f"OpenStreetMap file {str(path)!r} does not exist")
        if not path.name.endswith(".pbf"):
            raise DataError(
                f"{path.name!r}: District.from_osm reads .osm.pbf extracts (e.g. from Geofabrik or "
                "BBBike); for .osm XML use osmnx.graph_from_xml and pass the graph"
            )
        bbox = None
        if boundary is not None:
            bbox = shapely.box(*_boundary_frame(boundary, crs).to_crs("EPSG:4326").total_bounds)
        streets = _read_pbf(path, network_type, bbox)
        notes.append(
            f"streets: {len(streets)} OpenStreetMap way segments read from {path.name} with pyrosm "
            f"(network_type={network_type!r})"
        )
    elif hasattr(source, "edges") and hasattr(source, "graph"):
        streets = _from_graph(source)
        if network_type != "all":
            drive = streets["highway"].astype("string").isin(_DRIVE)
            streets = streets[drive if network_type == "drive" else ~streets["highway"].astype("string").isin(_NO_WALK)]
        notes.append(f"streets: {len(streets)} edges of the osmnx graph (two-way streets once)")
    else:
        raise DataError(f"District.from_osm takes a .osm.pbf path or an osmnx graph, got {type(source).__name__}")
    if len(streets) == 0 and boundary is not None:
        raise DataError(
            "no OpenStreetMap street lies within the boundary: the extract and the boundary do not "
            "overlap (check the boundary's CRS and the extract's area)"
        )
    if len(streets) == 0:
        raise DataError(f"no {network_type!r} streets in the OpenStreetMap data; check the extract, or use network_type='all'")
    return street_attributes(streets), notes


_DRIVE = {
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "living_street",
    "motorway_link",
    "trunk_link",
    "primary_link",
    "secondary_link",
    "tertiary_link",
    "service",
    "road",
}
_NO_WALK = {"motorway", "motorway_link", "trunk", "trunk_link"}


def _boundary_frame(boundary: Any, crs: Any) -> gpd.GeoDataFrame:
    """The boundary as a GeoDataFrame with a CRS (a GCJ-02 or BD-09 boundary converted to WGS84)."""
    if isinstance(boundary, gpd.GeoDataFrame):
        frame = boundary
    elif isinstance(boundary, gpd.GeoSeries):
        frame = gpd.GeoDataFrame(geometry=boundary)
    elif isinstance(boundary, shapely.Geometry):
        frame = gpd.GeoDataFrame(geometry=[boundary], crs="EPSG:4326" if crs is None else None)
    else:
        raise DataError(f"boundary must be a GeoDataFrame, GeoSeries or shapely polygon, got {type(boundary).__name__}")
    if crs is not None:
        from . import crs as gcrs

        parsed = gcrs.parse_crs(crs)
        if isinstance(parsed, str):  # GCJ-02 / BD-09: PROJ does not know them
            return gcrs.to_crs(frame.set_crs("EPSG:4326", allow_override=True), "EPSG:4326", source=parsed)
        return frame.set_crs(parsed, allow_override=True)
    if frame.crs is None:
        raise CRSError("the boundary has no CRS; set one or pass crs= (e.g. 'EPSG:4326', 'GCJ-02')")
    return frame


def district_from_osm(
    cls: type[District], source: Any, *, boundary: Any = None, network_type: str = "all", crs: Any = None, **kwargs: Any
) -> District:
    """See :meth:`gridplan.district.District.from_osm`."""
    streets, notes = read_osm_streets(source, network_type=network_type, boundary=boundary, crs=crs)
    if boundary is None:
        lines = np.asarray(streets.to_crs(streets.estimate_utm_crs()).geometry.values)
        area = gpd.GeoSeries([_enclosed_area(lines)], crs=streets.estimate_utm_crs()).to_crs(streets.crs)
        bframe = gpd.GeoDataFrame(geometry=area)
        notes.append("boundary: none given; the area the streets enclose (the largest union of street blocks)")
    else:
        bframe = _boundary_frame(boundary, crs)
        shape = shapely.union_all(bframe.to_crs(streets.crs).geometry.values)
        inside = shapely.intersects(np.asarray(streets.geometry.values), shape)
        if not inside.any():
            raise DataError(
                "no OpenStreetMap street lies within the boundary; the extract and the boundary do "
                "not overlap (check the boundary's CRS and the extract's area)"
            )
        notes.append(f"streets: {int(inside.sum())} of {len(streets)} within the boundary kept")
        streets = streets[inside]
    district = cls.from_frames(bframe, streets=streets.reset_index(drop=True), **kwargs)
    district.notes.extend(notes)
    return district
